"""Numeric quantities: the formulas of :mod:`costmodel.formulas`, evaluated.

Every function takes an :class:`~costmodel.Architecture` (or a catalog model
id) and, where a device is involved, a :class:`~costmodel.Hardware` (or a
catalog device id), plus workload sizes that may be numpy arrays; the result
broadcasts over them and is a Python float for scalar inputs. Units are SI:
FLOP, byte, second. Public functions validate their inputs once, through
:mod:`costmodel._validate`, and then call private kernels (``_kv``,
``_weights``...) that never check again; composite functions such as
:func:`memory_fit_table` compose the kernels. The step model of inference
(and :func:`costmodel.phase_roofline`, a view on it) is in
:mod:`costmodel.inference`.

Book sections: ``sec_memory`` (bytes), ``sec_roofline`` (FLOPs and time),
``sec_hardware`` (device tables).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F
from .architecture import Architecture
from .catalog import Hardware, list_hardware, list_models
from .dtypes import bytes_per_element
from .formats import checkpoint, weight_format
from ._validate import ArchLike, ArrayLike, HardwareLike

__all__ = [
    "weight_bytes",
    "kv_cache_bytes",
    "kv_cache_bytes_per_token",
    "forward_flops",
    "prefill_flops",
    "activation_bytes",
    "training_state_bytes",
    "roofline_time_s",
    "attainable_flop_per_s",
    "arithmetic_intensity",
    "ridge_intensity",
    "ridge_table",
    "memory_fit_table",
    "devices_needed",
    "kv_tokens_that_fit",
    "matmul_table",
]

#: Kept for callers of the old private name; see :data:`costmodel._validate.MAX_SIZE`.
MAX_SIZE = V.MAX_SIZE


def _call(expr, arch: Architecture, **workload):
    """Kernel: ``expr`` at ``arch``'s symbols and the (validated) workload."""
    vals = arch.symbols
    fn = F.numeric(expr)
    return fn(**{a: workload[a] if a in workload else vals[a] for a in fn.args})


# ----------------------------------------------------------------------
# Kernels (validated inputs only)
# ----------------------------------------------------------------------
def _weights(arch: Architecture, b_w: float, G=1.0, b_sc=0.0, n=None):
    return F.numeric(F.WEIGHT_BYTES)(N=arch.n_params if n is None else n, b_w=b_w, b_sc=b_sc, G=G)


def _kv(arch: Architecture, s, B, b_kv: float):
    return _call(F.KV_CACHE_BYTES, arch, s=s, B=B, b_kv=b_kv)


def _forward(arch: Architecture, T, C):
    return _call(F.FORWARD_FLOPS, arch, T=T, C=C)


def _prefill(arch: Architecture, T, C_0):
    return _call(F.PREFILL_FLOPS, arch, T=T, C_0=C_0)


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def weight_bytes(arch: ArchLike, dtype: str = "bf16", *, group_size: ArrayLike | None = None,
                 scale_dtype: str = "fp16", n_params: ArrayLike | None = None):
    """Bytes M_weights a checkpoint of the model stores in ``dtype``, a
    numeric format (``"bf16"``, ``"fp8"``...) or a checkpoint format of
    :mod:`costmodel.formats` (``"int4"``: GPTQ/AWQ, group 128, fp16 scale
    and 4-bit zero point per group; ``"q4_0"``, ``"q8_0"``, ``"q4_k_m"``:
    llama.cpp; ``"nvfp4"``, ``"mxfp4"``), each kind of tensor as real
    checkpoints store it: quantised formats keep the token embedding and LM
    head in 16 bit (llama.cpp: its output tensor at 6.5625 bits), norms and
    biases in 16 (GGUF: 32) bit.

    With ``group_size`` G, the block matrices are stored at b_w bytes plus
    one ``scale_dtype`` scale of b_sc bytes per group of G weights,
    N_mat (b_w + b_sc / G), the rest as the format stores it. With
    ``n_params`` (e.g. active ones), that many parameters are counted at
    b_w (+ b_sc / G) each, with no structure. Formula
    :data:`costmodel.formulas.WEIGHT_BYTES`. Defined in :ref:`sec_memory`.
    """
    arch = V.as_arch(arch)
    fmt = weight_format(dtype, "dtype")
    b_w = bytes_per_element(fmt.dtype)
    if group_size is None:
        g, b_sc = 1.0, 0.0
    else:
        g = V.size("group_size", group_size, minimum=1, integer=True)
        b_sc = bytes_per_element(V.dtype("scale_dtype", scale_dtype))
    if n_params is not None:
        return _weights(arch, b_w, g, b_sc, V.size("n_params", n_params))
    cp = checkpoint(arch, fmt)
    if group_size is None:
        return float(cp.total_bytes)
    return F.numeric(F.WEIGHT_BYTES)(N=cp.matrix_params, b_w=b_w, b_sc=b_sc, G=g) + (cp.total_bytes - cp.matrix_bytes)


def kv_cache_bytes(arch: ArchLike, tokens: ArrayLike, dtype: str = "bf16", batch: ArrayLike = 1):
    """KV-cache bytes M_kv of ``batch`` (B) sequences of ``tokens`` (S) tokens each, in ``dtype`` (b_kv).

    GQA/MQA cache 2 K d_h elements per token and block, MLA its latent plus
    rotary key (r_kv + d_rope); sliding-window blocks keep at most W tokens.
    Broadcasts over ``tokens`` and ``batch``. Formula
    :data:`costmodel.formulas.KV_CACHE_BYTES`. Defined in :ref:`sec_memory`.
    """
    arch = V.as_arch(arch)
    s = V.size("tokens", tokens, integer=True)
    b = V.size("batch", batch, integer=True)
    V.broadcast(tokens=s, batch=b)
    return _kv(arch, s, b, bytes_per_element(V.dtype("dtype", dtype)))


def kv_cache_bytes_per_token(arch: ArchLike, dtype: str = "bf16") -> float:
    """KV-cache bytes one token adds while the context is within every
    window: L e_kv b_kv (:meth:`Architecture.kv_bytes_per_token`, for a model
    given by id). Defined in :ref:`sec_memory`."""
    return V.as_arch(arch).kv_bytes_per_token(V.dtype("dtype", dtype))


def activation_bytes(arch: ArchLike, seq_len: ArrayLike, batch: ArrayLike = 1, dtype: str = "bf16", *,
                     flash_attention: bool = True, dropout: bool = False):
    """Activations all blocks store for the backward pass (no recomputation), in bytes.

    Korthikanti et al. (2022) generalised to GQA and gated MLPs, with
    ``seq_len`` S, ``batch`` B and activations in ``dtype`` (b_a); MoE blocks
    count the k routed experts plus the shared ones as the MLP width. With
    ``flash_attention=False`` and ``dropout=True`` on a GPT-style block this
    is S B D (34 + 5 H S / D) bytes per block in 16 bit. Both switches take
    ``True`` or ``False`` only. Formula
    :data:`costmodel.formulas.ACTIVATION_BYTES_PER_BLOCK`. Defined in
    :ref:`sec_memory`.
    """
    arch = V.as_arch(arch)
    s = V.size("seq_len", seq_len, minimum=1, integer=True)
    b = V.size("batch", batch, minimum=1, integer=True)
    V.broadcast(seq_len=s, batch=b)
    common = dict(s=s, B=b, b_a=bytes_per_element(V.dtype("dtype", dtype)),
                  p_drop=float(V.flag("dropout", dropout)), phi_fa=float(V.flag("flash_attention", flash_attention)))
    out = (arch.n_layers - arch.n_moe_layers) * _call(F.ACTIVATION_BYTES_PER_BLOCK, arch, **common)
    if arch.is_moe:
        f_moe = arch.n_experts_per_token * arch.d_ff_expert + arch.d_ff_shared
        out = out + arch.n_moe_layers * _call(F.ACTIVATION_BYTES_PER_BLOCK, arch, f=f_moe, **common)
    return out


def training_state_bytes(arch: ArchLike, weight_dtype: str = "bf16", grad_dtype: str = "bf16",
                         optimizer_bytes_per_param: ArrayLike = 12.0):
    """Weights, gradients and optimizer state for training, without sharding, in bytes:
    N (b_w + b_g + b_opt).

    The default is mixed-precision Adam: 2 + 2 + 12 = 16 bytes per parameter
    (fp32 master weights, momentum and variance; Rajbhandari et al. 2020).
    Formula :data:`costmodel.formulas.TRAINING_STATE_BYTES`. Defined in
    :ref:`sec_memory`.
    """
    arch = V.as_arch(arch)
    opt = V.size("optimizer_bytes_per_param", optimizer_bytes_per_param)
    return F.numeric(F.TRAINING_STATE_BYTES)(
        N=arch.n_params, b_w=bytes_per_element(V.dtype("weight_dtype", weight_dtype)),
        b_g=bytes_per_element(V.dtype("grad_dtype", grad_dtype)), b_opt=opt,
    )


# ----------------------------------------------------------------------
# FLOPs
# ----------------------------------------------------------------------
def forward_flops(arch: ArchLike, tokens: ArrayLike, context: ArrayLike = 0):
    """Forward FLOPs of ``tokens`` (T) tokens that each attend to ``context`` (C) positions.

    2 FLOP per multiply-add with every matmul weight a token uses (N_mm: LM
    head included, embedding lookup, biases and norms excluded; for MoE only
    the k routed experts) plus 4 w_a FLOP per attended position and block
    (Q K^T and the weighted sum of values); sliding-window blocks attend to
    at most W positions. A decode step at cache length c is
    ``forward_flops(arch, 1, c + 1)``. For a causal pass use
    :func:`prefill_flops`. Formula :data:`costmodel.formulas.FORWARD_FLOPS`.
    Defined in :ref:`sec_roofline`.
    """
    arch = V.as_arch(arch)
    t = V.size("tokens", tokens, integer=True)
    c = V.size("context", context, integer=True)
    V.broadcast(tokens=t, context=c)
    return _forward(arch, t, c)


def prefill_flops(arch: ArchLike, prompt_tokens: ArrayLike, cached_tokens: ArrayLike = 0):
    """Forward FLOPs of a causal pass over ``prompt_tokens`` (T) new tokens
    after ``cached_tokens`` (C_0) already cached (each token attends to the
    cache, the earlier new tokens and itself, capped at W in sliding-window
    blocks). Formula :data:`costmodel.formulas.PREFILL_FLOPS`. Defined in
    :ref:`sec_roofline`."""
    arch = V.as_arch(arch)
    t = V.size("prompt_tokens", prompt_tokens, integer=True)
    c0 = V.size("cached_tokens", cached_tokens, integer=True)
    V.broadcast(prompt_tokens=t, cached_tokens=c0)
    return _prefill(arch, t, c0)


def matmul_table(arch: ArchLike) -> pd.DataFrame:
    """The model's weight matrices, one row per matmul record of
    :mod:`costmodel.formulas`: the block it sits in, its input and output
    widths, copies stored and used per token in one block, the number of
    such blocks, and the parameters, stored weights and forward FLOP per
    token summed over the model. The ``params`` column plus the
    embeddings and norms is ``n_params``; twice the ``active_weights``
    column is the 2 N_mm of :func:`forward_flops`. Defined in
    :ref:`sec_roofline`."""
    arch = V.as_arch(arch)
    attention = F.MLA if arch.is_mla else F.ATTENTION
    groups = [("attention", attention, arch.n_layers), ("mlp", F.MLP, arch.n_layers - arch.n_moe_layers),
              ("moe", F.MOE, arch.n_moe_layers), ("lm head", (F.LM_HEAD,), 1)]
    rows = []
    for block, records, n_blocks in groups:
        if not n_blocks:
            continue
        for r in records:
            copies = arch.evaluate(r.copies)
            active = copies if r.active is None else arch.evaluate(r.active)
            if not copies and not active:
                continue
            rows.append({
                "model": arch.name, "block": block, "matmul": r.name, "d_in": arch.count(r.d_in),
                "d_out": arch.count(r.d_out), "copies_per_block": int(copies), "active_per_block": int(active),
                "blocks": n_blocks, "params": n_blocks * arch.count(r.params),
                "weights": n_blocks * arch.count(r.weights), "active_weights": n_blocks * arch.count(r.active_weights),
                "forward_flop_per_token": n_blocks * arch.count(r.forward_flops_per_token),
            })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Roofline
# ----------------------------------------------------------------------
def roofline_time_s(flop: ArrayLike, bytes_moved: ArrayLike, hardware: HardwareLike, dtype: str = "bf16", *,
                    eta_compute: ArrayLike = 1.0, eta_memory: ArrayLike = 1.0):
    """Seconds for an operation of ``flop`` (F_op) FLOP moving ``bytes_moved``
    (M_op) bytes on ``hardware`` at the ``dtype`` peak pi:
    max(F / (pi eta_c), M / (beta eta_m)) (Williams et al. 2009). Formula
    :data:`costmodel.formulas.ROOFLINE_TIME`. Defined in :ref:`sec_roofline`."""
    hw = V.as_hardware(hardware)
    f = V.size("flop", flop, maximum=1e30)
    m = V.size("bytes_moved", bytes_moved, maximum=1e30)
    V.broadcast(flop=f, bytes_moved=m)
    return F.numeric(F.ROOFLINE_TIME)(
        F_op=f, M_op=m, pi=hw.peak_flops(V.dtype("dtype", dtype)), beta_mem=hw.memory_bandwidth_bytes_per_s,
        eta_c=V.fraction("eta_compute", eta_compute), eta_m=V.fraction("eta_memory", eta_memory),
    )


def attainable_flop_per_s(hardware: HardwareLike, intensity: ArrayLike, dtype: str = "bf16", *,
                          eta_compute: ArrayLike = 1.0, eta_memory: ArrayLike = 1.0):
    """The roof: FLOP/s attainable at arithmetic intensity ``intensity`` (I,
    FLOP/byte), min(pi eta_c, beta eta_m I). Formula
    :data:`costmodel.formulas.ATTAINABLE_FLOP_PER_S`. Defined in
    :ref:`sec_roofline`."""
    hw = V.as_hardware(hardware)
    return F.numeric(F.ATTAINABLE_FLOP_PER_S)(
        I=V.size("intensity", intensity, maximum=1e30), pi=hw.peak_flops(V.dtype("dtype", dtype)),
        beta_mem=hw.memory_bandwidth_bytes_per_s, eta_c=V.fraction("eta_compute", eta_compute),
        eta_m=V.fraction("eta_memory", eta_memory),
    )


def arithmetic_intensity(flop: ArrayLike, bytes_moved: ArrayLike):
    """FLOP per byte moved, F_op / M_op. Defined in :ref:`sec_roofline`."""
    m = V.size("bytes_moved", bytes_moved, maximum=1e30)
    if np.any(m <= 0):
        raise ValueError(f"bytes_moved={bytes_moved!r} must be positive")
    f = V.size("flop", flop, maximum=1e30)
    V.broadcast(flop=f, bytes_moved=m)
    return F.numeric(F.ARITHMETIC_INTENSITY)(F_op=f, M_op=m)


def ridge_intensity(hardware: HardwareLike, dtype: str = "bf16", *, eta_compute: ArrayLike = 1.0,
                    eta_memory: ArrayLike = 1.0):
    """FLOP per byte at which ``hardware`` is equally compute- and
    memory-bound: pi eta_c / (beta eta_m). Formula
    :data:`costmodel.formulas.RIDGE_INTENSITY`. Defined in :ref:`sec_roofline`."""
    hw = V.as_hardware(hardware)
    return F.numeric(F.RIDGE_INTENSITY)(
        pi=hw.peak_flops(V.dtype("dtype", dtype)), beta_mem=hw.memory_bandwidth_bytes_per_s,
        eta_c=V.fraction("eta_compute", eta_compute), eta_m=V.fraction("eta_memory", eta_memory),
    )


def ridge_table(hardware: Iterable[HardwareLike] | None = None, dtype: str = "bf16") -> pd.DataFrame:
    """Peak, bandwidth, capacity and ridge intensity (FLOP/byte) of every
    device (default: the catalog) that publishes a dense ``dtype`` peak,
    sorted by ridge, highest first; devices without one are left out. One
    row per device. Defined in :ref:`sec_hardware`."""
    key = V.dtype("dtype", dtype)
    hws = [V.as_hardware(h) for h in (list_hardware() if hardware is None else _as_list(hardware, "hardware"))]
    rows = [{
        "hardware": hw.id, "name": hw.name, "category": hw.category, "peak_flop_per_s": hw.peak_flops(key),
        "memory_bandwidth_bytes_per_s": hw.memory_bandwidth_bytes_per_s, "memory_bytes": hw.memory_bytes,
        "ridge_flop_per_byte": hw.peak_flops(key) / hw.memory_bandwidth_bytes_per_s,
    } for hw in hws if hw.has_peak(key)]
    cols = ["hardware", "name", "category", "peak_flop_per_s", "memory_bandwidth_bytes_per_s", "memory_bytes",
            "ridge_flop_per_byte"]
    return pd.DataFrame(rows, columns=cols).sort_values("ridge_flop_per_byte", ascending=False, ignore_index=True)


# ----------------------------------------------------------------------
# What fits where
# ----------------------------------------------------------------------
def _as_list(values, name: str) -> list:
    """A list of ids or objects; a single string is one id, not its letters."""
    if isinstance(values, (str, Architecture, Hardware)):
        return [values]
    try:
        return list(values)
    except TypeError:
        raise ValueError(f"{name}={values!r} must be an id, an object or a list of them") from None


def memory_fit_table(models: Iterable[ArchLike] | ArchLike | None = None,
                     hardware: Iterable[HardwareLike] | HardwareLike | None = None, *, weight_dtype: str = "bf16",
                     context: int = 4096, batch: int = 1, kv_dtype: str = "bf16") -> pd.DataFrame:
    """Which models fit on which single devices: weights plus the KV cache of
    ``batch`` sequences of ``context`` tokens, against device memory.
    One row per (model, device); ``fits`` is False where the device publishes
    no capacity (``fraction_of_memory`` is then NaN). Defined in
    :ref:`sec_memory`."""
    archs = [V.as_arch(m, "models") for m in (list_models() if models is None else _as_list(models, "models"))]
    hws = [V.as_hardware(h) for h in (list_hardware() if hardware is None else _as_list(hardware, "hardware"))]
    ctx = V.size("context", context, integer=True)
    bat = V.size("batch", batch, integer=True)
    if ctx.ndim or bat.ndim:
        raise ValueError(f"context={context!r} and batch={batch!r} must be single numbers (one table per value)")
    fmt = weight_format(weight_dtype)
    b_kv = bytes_per_element(V.dtype("kv_dtype", kv_dtype))
    rows = []
    for a in archs:
        w = checkpoint(a, fmt).total_bytes
        kv = _kv(a, ctx, bat, b_kv)
        for h in hws:
            cap = h.memory_bytes
            rows.append({
                "model": a.name, "n_params": a.n_params, "hardware": h.id, "category": h.category,
                "weight_bytes": w, "kv_cache_bytes": kv, "total_bytes": w + kv, "memory_bytes": cap,
                "fraction_of_memory": (w + kv) / cap if math.isfinite(cap) else math.nan,
                "fits": bool(w + kv <= cap) if math.isfinite(cap) else False,
            })
    return pd.DataFrame(rows)


def devices_needed(nbytes: ArrayLike, hardware: HardwareLike):
    """How many devices of ``hardware`` hold ``nbytes`` bytes when split
    evenly: ceil(bytes / capacity), an int (an int64 array for array input). Only a capacity count: sharding that
    needs no replication (ZeRO-3, tensor parallelism) is assumed. Defined in
    :ref:`sec_memory`."""
    hw = V.as_hardware(hardware)
    if not math.isfinite(hw.memory_bytes):
        raise ValueError(f"hardware {hw.id!r} has no published memory_bytes")
    out = np.ceil(V.size("nbytes", nbytes, maximum=1e30) / hw.memory_bytes).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def kv_tokens_that_fit(arch: ArchLike, hardware: HardwareLike, weight_dtype: str = "bf16",
                       kv_dtype: str = "bf16") -> int:
    """Tokens of KV cache (over all sequences) that fit beside the weights
    on one device, within every sliding window: floor(free / (L e_kv b_kv)),
    0 when the weights alone do not fit; an int. Defined in :ref:`sec_memory`."""
    arch, hw = V.as_arch(arch), V.as_hardware(hardware)
    if not math.isfinite(hw.memory_bytes):
        raise ValueError(f"hardware {hw.id!r} has no published memory_bytes")
    free = hw.memory_bytes - checkpoint(arch, weight_format(weight_dtype)).total_bytes
    return int(max(free, 0.0) // kv_cache_bytes_per_token(arch, kv_dtype))
