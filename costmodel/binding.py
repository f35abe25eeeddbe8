"""Evaluate any formula for a model, a device and a workload, in one line.

An :class:`~costmodel.Architecture` binds the architecture, derived and
count symbols (:attr:`Architecture.symbols`); a
:class:`~costmodel.Hardware` binds the peak ``pi`` (for a compute dtype) and
the bandwidth ``beta_mem``; the caller gives the workload and precision
symbols by their Python names. :func:`evaluate` is numeric (float64, numpy
broadcasting, through :func:`costmodel.formulas.numeric`) and
:func:`substitute` is exact (sympy). Defined in :ref:`sec_notation`.

    >>> import costmodel as cm
    >>> from costmodel import formulas as F
    >>> cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", s=4096, B=1, b_kv=2)
    2147483648.0
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy as sp

from . import _validate as V
from .formulas import numeric
from .symbols import SYMBOLS

__all__ = ["symbol_values", "evaluate", "substitute"]


def symbol_values(arch: V.ArchLike | None = None, hardware: V.HardwareLike | None = None, *,
                  compute_dtype: str = "bf16", **workload: Any) -> dict[str, Any]:
    """The values of every symbol that ``arch``, ``hardware`` and the
    workload bind: a dict keyed by symbol name. Workload names must be
    symbols of :mod:`costmodel.symbols` that no architecture binds."""
    vals: dict[str, Any] = {}
    if arch is not None:
        vals.update(V.as_arch(arch).symbols)
    if hardware is not None:
        hw = V.as_hardware(hardware)
        vals.update(pi=hw.peak_flops(V.dtype("compute_dtype", compute_dtype)), beta_mem=hw.memory_bandwidth_bytes_per_s)
    for k, v in workload.items():
        sym = SYMBOLS.get(k)
        if sym is None:
            raise ValueError(f"{k}={v!r} is not a symbol of costmodel.symbols (see costmodel.notation_table())")
        if sym.attr and arch is not None:
            raise ValueError(f"{k}={v!r}: {k} is bound by the architecture ({sym.attr}); change the model instead")
        vals[k] = V.size(k, v, maximum=1e30)
    return vals


def evaluate(expr: sp.Expr, arch: V.ArchLike | None = None, hardware: V.HardwareLike | None = None, *,
             compute_dtype: str = "bf16", **workload: Any):
    """``expr`` evaluated numerically (float, or an array broadcast over the
    workload arrays). A symbol left without a value raises ``ValueError``
    naming it. Defined in :ref:`sec_notation`."""
    vals = symbol_values(arch, hardware, compute_dtype=compute_dtype, **workload)
    fn = numeric(expr)
    missing = [a for a in fn.args if a not in vals]
    if missing:
        raise ValueError(f"no value for {missing} in {expr}: pass them as keywords (symbol names)")
    V.broadcast(**{a: vals[a] for a in fn.args})
    return fn(**{a: vals[a] for a in fn.args})


def _exact(v: Any) -> sp.Expr:
    a = np.asarray(v)
    if a.ndim:
        raise ValueError(f"substitute takes scalars, got an array of shape {a.shape}")
    x = a.item()
    return sp.Integer(x) if float(x).is_integer() else sp.nsimplify(x, rational=True)


def substitute(expr: sp.Expr, arch: V.ArchLike | None = None, *, hardware: V.HardwareLike | None = None,
               compute_dtype: str = "bf16", **workload: Any) -> sp.Expr:
    """``expr`` with the symbols that ``arch`` (and the workload) bind
    replaced by exact rationals; symbols left free stay symbolic. Defined in
    :ref:`sec_notation`."""
    vals: Mapping[str, Any] = symbol_values(arch, hardware, compute_dtype=compute_dtype, **workload)
    subs = {SYMBOLS[k].symbol: _exact(v) for k, v in vals.items() if SYMBOLS[k].symbol in expr.free_symbols}
    return expr.subs(subs)
