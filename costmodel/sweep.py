"""Sweeps: the serving model over a Cartesian product of configurations, as
one tidy table, and the questions a planner asks of it.

:func:`sweep` evaluates :func:`costmodel.serving_point` (a given running
batch, continuous batching) for every combination of models, devices,
weight formats, KV-cache dtypes, device counts, batches, prompt lengths and
output lengths. It loops over the setups (model x device x format x KV dtype
x device count) and, inside each, evaluates the step model once over the
open grid batch x prompt x output with numpy broadcasting (terms that do not
depend on an axis are computed once along it), so a row costs a few
nanoseconds. :func:`sweep_chunks` streams a grid larger than memory as
DataFrames of at most ``chunk_rows`` rows; ``backend="dask"`` evaluates the
same expressions on dask arrays.

Money and energy per output token come from the cost module's one function
(:func:`costmodel.cost_per_million_output_tokens`, whose kernel a sweep calls
on every block). The price per device-hour is ``price_per_device_hour_usd``
(a number, or a mapping of device ids) or, with ``date``, the cheapest dated
offer the price catalog lists for each device (:func:`costmodel.cheapest_offer`;
NaN for a device with none at that date); ``power_w`` defaults to the
catalog's ``tdp_w``.

:func:`feasible`, :func:`pareto_front` and :func:`cheapest` query a result;
:func:`optimal_batch` treats the batch as a continuous axis and solves it
with scipy. Defined in :ref:`sec_sweeps`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from itertools import product
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import inference as I
from .architecture import Architecture
from .catalog import Hardware
from .cost import per_million_output_tokens
from .formats import weight_format
from .prices import _catalog_date, _offer_or_reason

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "DEFAULT_CHUNK_ROWS",
    "sweep",
    "sweep_chunks",
    "sweep_size",
    "feasible",
    "pareto_front",
    "cheapest",
    "optimal_batch",
]

#: Rows :func:`sweep` returns in one DataFrame at most (about 0.7 GB at
#: 140 bytes a row); a larger grid streams through :func:`sweep_chunks`.
MAX_ROWS = 5_000_000
#: Rows of each DataFrame :func:`sweep_chunks` yields by default.
DEFAULT_CHUNK_ROWS = 1_000_000
#: Rows evaluated at once: bounds the temporaries of the step model
#: (about 40 float64 arrays of this length) and keeps them in cache.
_BLOCK_ROWS = 1 << 16

#: The columns of a sweep, in order.
COLUMNS = (
    "model", "hardware", "weight_dtype", "kv_dtype", "n_devices", "batch", "prompt_tokens", "output_tokens",
    "memory_per_device_bytes", "max_batch", "fits", "ttft_s", "tpot_s", "e2e_latency_s", "output_tokens_per_s",
    "output_tokens_per_s_per_device", "decode_bound", "price_per_device_hour_usd", "power_w",
    "usd_per_1m_output_tokens", "j_per_1m_output_tokens",
)
_LABELS = ("model", "hardware", "weight_dtype", "kv_dtype")
_DTYPES = {"n_devices": np.int64, "fits": np.bool_, "decode_bound": np.int8}


# ----------------------------------------------------------------------
# Validation: every axis, before any work
# ----------------------------------------------------------------------
def _items(name: str, value, single: tuple) -> list:
    if value is None or isinstance(value, single):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{name}={value!r} must be a value or a list of values") from None
    if not items:
        raise ValueError(f"{name} is empty: pass at least one value")
    return items


def _catalog_items(name: str, value, kind: type, resolve) -> list:
    """Models or devices: each entry a catalog id or an object, resolved; an
    unknown one raises naming its position and value."""
    out = []
    for i, v in enumerate(_items(name, value, (str, kind))):
        try:
            out.append(resolve(v, name))
        except ValueError as e:
            raise ValueError(f"{name}[{i}]={v!r}: {e}") from None
    return out


def _numbers(name: str, value, minimum: float, maximum: float = V.MAX_SIZE) -> np.ndarray:
    a = V.size(name, value, minimum=minimum, integer=True, maximum=maximum)
    return np.ascontiguousarray(a.ravel())


def _per_device(name: str, value, hws: list[Hardware], default) -> dict[int, float]:
    """A number per device (by position in ``hws``) from a scalar, a mapping
    of device ids to numbers (devices it lacks get NaN), or None (``default``)."""
    out = {}
    for i, h in enumerate(hws):
        if value is None:
            v = default(h)
        elif isinstance(value, Mapping):
            v = value.get(h.id)
            v = math.nan if v is None else float(V.size(f"{name}[{h.id!r}]", v, maximum=1e12))
        else:
            v = float(V.size(name, value, maximum=1e12))
        out[i] = v
    return out


def _dated_price(hw: Hardware, date: str | None) -> float:
    """The cheapest catalog offer for ``hw`` at ``date``, NaN without a date or an offer."""
    offer = None if date is None else _offer_or_reason(hw, date)[0]
    return math.nan if offer is None else offer.usd_per_device_hour


@dataclass(frozen=True)
class _Entry:
    setup: Any  # inference._Setup
    codes: tuple[int, int, int, int]  # model, hardware, weight_dtype, kv_dtype
    price: float
    power: float


@dataclass(frozen=True)
class _Plan:
    entries: tuple[_Entry, ...]
    categories: Mapping[str, tuple[str, ...]]
    batch: np.ndarray
    prompt: np.ndarray
    output: np.ndarray
    efficiency: Any
    frac: float
    chunk: np.ndarray
    backend: str

    @property
    def rows_per_setup(self) -> int:
        return self.batch.size * self.prompt.size * self.output.size

    @property
    def n_rows(self) -> int:
        return len(self.entries) * self.rows_per_setup


def _plan(models, hardware, *, batch, prompt_tokens, output_tokens, weight_dtype, kv_dtype, n_devices,
          price_per_device_hour_usd, date, power_w, efficiency, memory_fraction, prefill_chunk_tokens,
          backend) -> _Plan:
    archs = _catalog_items("models", models, Architecture, V.as_arch)
    hws = _catalog_items("hardware", hardware, Hardware, V.as_hardware)
    fmts = [weight_format(w, "weight_dtype") for w in _items("weight_dtype", weight_dtype, (str,))]
    kvs = [None if k is None else V.dtype("kv_dtype", k) for k in _items("kv_dtype", kv_dtype, (str,))]
    devices = _numbers("n_devices", n_devices, 1, maximum=1e6)
    b = _numbers("batch", batch, 1)
    p = _numbers("prompt_tokens", prompt_tokens, 1)
    o = _numbers("output_tokens", output_tokens, 1)
    if p.max() + o.max() > V.MAX_SIZE:
        raise ValueError(f"prompt_tokens={p.max():g} + output_tokens={o.max():g} exceeds the largest accepted "
                         f"context {V.MAX_SIZE:g}")
    frac = float(V.fraction("memory_fraction", memory_fraction))
    chunk = V.size("prefill_chunk_tokens", prefill_chunk_tokens, minimum=1, integer=True)
    if backend not in ("numpy", "dask"):
        raise ValueError(f"backend={backend!r} must be 'numpy' or 'dask'")
    if backend == "dask":
        _dask()
    date = _catalog_date(price_per_device_hour_usd, date)
    prices = _per_device("price_per_device_hour_usd", price_per_device_hour_usd, hws, lambda h: _dated_price(h, date))
    powers = _per_device("power_w", power_w, hws, lambda h: h.tdp_w)
    for h in hws:
        I._profile(efficiency, h)  # an unknown engine raises here, before any work

    names = {"model": _unique(a.name for a in archs), "hardware": _unique(h.id for h in hws),
             "weight_dtype": _unique(f.name for f in fmts)}
    entries, kv_names = [], []
    for arch, (hi, hw), fmt, kv, n in product(archs, enumerate(hws), fmts, kvs, devices):
        n = int(n)
        try:
            s = I._setup(arch, hw, n, None, 1, 1, fmt.name, kv, None)
        except ValueError as e:
            raise ValueError(f"n_devices={n} for model {arch.name!r} on {hw.id!r}: {e}") from None
        if s.compute_dtype is None:
            raise ValueError(f"hardware[{hi}]={hw.id!r} publishes no compute peak, so the time to first token "
                             "cannot be computed; drop it from hardware")
        if n > 1 and not math.isfinite(I._link_bandwidth(hw)):
            raise ValueError(f"n_devices={n} on hardware {hw.id!r}: the device has no published interconnect "
                             "bandwidth, so it cannot be split over devices; sweep n_devices=1 for it")
        if s.kv_dtype not in kv_names:
            kv_names.append(s.kv_dtype)
        entries.append((s, (names["model"].index(arch.name), hi, names["weight_dtype"].index(fmt.name),
                            s.kv_dtype), prices[hi], powers[hi]))
    names["kv_dtype"] = tuple(kv_names)
    _warn_contexts(archs, p, o)
    return _Plan(tuple(_Entry(s, (c[0], c[1], c[2], kv_names.index(c[3])), pr, pw) for s, c, pr, pw in entries),
                 names, b, p, o, efficiency, frac, chunk, backend)


def _unique(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _warn_contexts(archs, p, o) -> None:
    """One warning per model whose longest context exceeds its trained one
    (the point API warns on each call)."""
    longest = max(p.max(), p.max() + np.floor((o.max() - 1) / 2) + 1)
    for a in {a.name: a for a in archs}.values():
        if a.max_position_embeddings and longest > a.max_position_embeddings:
            warnings.warn(f"{a.name}: context {int(longest)} exceeds the trained context "
                          f"max_position_embeddings={a.max_position_embeddings}", stacklevel=4)


def _dask():
    try:
        import dask.array as da
    except ImportError:
        raise ValueError("backend='dask' needs dask: pip install 'costmodel[sweep]'") from None
    return da


# ----------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------
def _blocks(nb: int, np_: int, no: int, rows: int) -> Iterator[tuple[slice, slice, slice]]:
    """Slices of the grid batch x prompt x output, in row (C) order, of at
    most ``rows`` rows each."""
    if nb * np_ * no <= rows:
        yield slice(0, nb), slice(0, np_), slice(0, no)
    elif np_ * no <= rows:
        step = rows // (np_ * no)
        for i in range(0, nb, step):
            yield slice(i, min(i + step, nb)), slice(0, np_), slice(0, no)
    elif no <= rows:
        step = rows // no
        for i in range(nb):
            for j in range(0, np_, step):
                yield slice(i, i + 1), slice(j, min(j + step, np_)), slice(0, no)
    else:
        for i in range(nb):
            for j in range(np_):
                for k in range(0, no, rows):
                    yield slice(i, i + 1), slice(j, j + 1), slice(k, min(k + rows, no))


def _evaluate(plan: _Plan, e: _Entry, b, p, o) -> dict:
    """The numeric columns of one block: the serving point of
    :func:`costmodel.serving_point` with ``batch`` given, over the open grid
    ``b`` (batch, 1, 1) x ``p`` (1, prompt, 1) x ``o`` (1, 1, output)."""
    s = e.setup
    b_max = I._max_batch(s, p + o, plan.chunk, plan.frac)
    r = I._serving(s, plan.efficiency, p, o, b, b_max, plan.chunk, stacklevel=None)
    fits, b_ok, ttft, tpot = r["fits"], r["batch"], r["ttft_s"], r["tpot_s"]
    n = s.layout.n_devices
    group_tps = b_ok * o / r["cycle_s"]
    tps = np.where(fits, group_tps, np.nan)
    usd, joules = per_million_output_tokens(tps, n, e.price, e.power, 1.0, 1.0)
    return {
        "batch": b_ok, "prompt_tokens": p, "output_tokens": o, "memory_per_device_bytes": r["total_bytes"],
        "max_batch": b_max, "fits": fits, "ttft_s": ttft, "tpot_s": tpot, "e2e_latency_s": ttft + (o - 1) * tpot,
        "output_tokens_per_s": tps, "output_tokens_per_s_per_device": np.where(fits, group_tps / n, np.nan),
        "decode_bound": r["decode_bound"], "usd_per_1m_output_tokens": usd, "j_per_1m_output_tokens": joules,
    }


def _evaluate_dask(plan: _Plan, e: _Entry, b, p, o) -> dict:
    """:func:`_evaluate` on dask arrays (the batch axis split over the
    workers), computed on dask's local threaded scheduler."""
    import dask

    da = _dask()
    workers = os.cpu_count() or 1
    lazy = _evaluate(plan, e, da.from_array(b, chunks=(max(1, -(-b.shape[0] // workers)), 1, 1)),
                     da.from_array(p, chunks=p.shape), da.from_array(o, chunks=o.shape))
    keys = list(lazy)
    values = dask.compute(*(lazy[k] for k in keys), scheduler="threads")
    return dict(zip(keys, values))


class _Chunk:
    """Preallocated columns of ``rows`` rows that blocks are written into."""

    def __init__(self, plan: _Plan, rows: int):
        self.plan, self.rows, self.filled = plan, rows, 0
        self.cols = {c: np.empty(rows, dtype=_DTYPES.get(c, np.float64)) for c in COLUMNS if c not in _LABELS}
        self.codes = {c: np.empty(rows, dtype=np.int16) for c in _LABELS}

    def write(self, e: _Entry, values: Mapping[str, Any], shape: tuple[int, int, int]) -> None:
        n = shape[0] * shape[1] * shape[2]
        lo, hi = self.filled, self.filled + n
        for c, v in values.items():
            self.cols[c][lo:hi].reshape(shape)[...] = v
        for c, code in zip(_LABELS, e.codes):
            self.codes[c][lo:hi] = code
        self.cols["n_devices"][lo:hi] = e.setup.layout.n_devices
        self.cols["price_per_device_hour_usd"][lo:hi] = e.price
        self.cols["power_w"][lo:hi] = e.power
        self.filled = hi

    def frame(self, start: int) -> pd.DataFrame:
        n = self.filled
        data = {}
        for c in COLUMNS:
            if c in _LABELS:
                data[c] = pd.Categorical.from_codes(self.codes[c][:n], categories=self.plan.categories[c])
            elif c == "decode_bound":
                data[c] = pd.Categorical.from_codes(self.cols[c][:n], categories=I.RESOURCES)
            else:
                data[c] = self.cols[c][:n]
        return pd.DataFrame(data, index=pd.RangeIndex(start, start + n), copy=False)


def _chunks(plan: _Plan, chunk_rows: int, progress: bool) -> Iterator[pd.DataFrame]:
    bar = _progress(plan.n_rows) if progress else None
    evaluate = _evaluate_dask if plan.backend == "dask" else _evaluate
    block_rows = min(chunk_rows, _BLOCK_ROWS if plan.backend == "numpy" else 1 << 20)
    b3, p3, o3 = plan.batch[:, None, None], plan.prompt[None, :, None], plan.output[None, None, :]
    start, chunk = 0, None
    try:
        for e in plan.entries:
            for bs, ps, os_ in _blocks(b3.shape[0], p3.shape[1], o3.shape[2], block_rows):
                b, p, o = b3[bs], p3[:, ps], o3[:, :, os_]
                shape = (b.shape[0], p.shape[1], o.shape[2])
                n = shape[0] * shape[1] * shape[2]
                if chunk is not None and chunk.filled + n > chunk.rows:
                    yield chunk.frame(start)
                    start += chunk.filled
                    chunk = None
                if chunk is None:
                    chunk = _Chunk(plan, min(chunk_rows, plan.n_rows - start))
                chunk.write(e, evaluate(plan, e, b, p, o), shape)
                if bar is not None:
                    bar.update(n)
        if chunk is not None and chunk.filled:
            yield chunk.frame(start)
    finally:
        if bar is not None:
            bar.close()


def _progress(total: int):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("progress=True needs tqdm (pip install 'costmodel[sweep]'); sweeping without a progress bar",
                      stacklevel=4)
        return None
    return tqdm(total=total, unit="row", unit_scale=True, desc="sweep")


# ----------------------------------------------------------------------
# The public sweep
# ----------------------------------------------------------------------
_SWEEP_DOC = """``models`` (catalog ids or :class:`~costmodel.Architecture`),
    ``hardware`` (catalog ids or :class:`~costmodel.Hardware`),
    ``weight_dtype`` (:mod:`costmodel.formats` names), ``kv_dtype`` (dtype
    names; None: the default of :func:`costmodel.serving_point`),
    ``n_devices`` (tensor parallel over that many devices), ``batch``
    (running requests), ``prompt_tokens`` and ``output_tokens`` each take a
    value or a list or array of values; the rows are their Cartesian
    product, in that order. ``price_per_device_hour_usd`` and ``power_w``
    (default: the catalog's ``tdp_w``) are a number for every device or a
    mapping of device ids to numbers; instead of a price, ``date`` takes each
    device's cheapest offer in the price catalog at that date
    (:func:`costmodel.cheapest_offer`, NaN where there is none)."""


def sweep_size(models, hardware, *, batch, prompt_tokens, output_tokens, weight_dtype="bf16", kv_dtype=None,
               n_devices=1) -> int:
    """The number of rows a sweep of these axes has (the product of their
    lengths), without validating or evaluating anything. Defined in
    :ref:`sec_sweeps`.

    >>> sweep_size(["llama-3-8b", "qwen2-7b"], "h100-sxm", batch=[1, 8, 64], prompt_tokens=1024,
    ...            output_tokens=[128, 512])
    12
    """
    def n(value, single):
        return 1 if value is None or isinstance(value, single) else int(np.size(np.asarray(value, dtype=object)))

    return (n(models, (str, Architecture)) * n(hardware, (str, Hardware)) * n(weight_dtype, (str,))
            * n(kv_dtype, (str,)) * n(n_devices, (int, float)) * n(batch, (int, float))
            * n(prompt_tokens, (int, float)) * n(output_tokens, (int, float)))


def sweep_chunks(models, hardware, *, batch, prompt_tokens, output_tokens, weight_dtype="bf16", kv_dtype=None,
                 n_devices=1, price_per_device_hour_usd=None, date=None, power_w=None, efficiency=None,
                 memory_fraction: float = I.DEFAULT_MEMORY_FRACTION,
                 prefill_chunk_tokens: int = I.DEFAULT_PREFILL_CHUNK_TOKENS, backend: str = "numpy",
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: bool = False) -> Iterator[pd.DataFrame]:
    """:func:`sweep` streamed: DataFrames of at most ``chunk_rows`` rows,
    in row order (their index continues from one to the next), so that a
    grid larger than memory is evaluated with bounded peak memory. Reduce
    each chunk as it comes (:func:`feasible`, :func:`pareto_front`). Every
    argument is validated before the first chunk is computed; with
    ``progress=True`` a tqdm bar counts rows (when tqdm is installed).
    Defined in :ref:`sec_sweeps`."""
    plan = _plan(**_plan_args(locals()))
    rows = int(V.size("chunk_rows", chunk_rows, minimum=1, integer=True))
    return _chunks(plan, rows, V.flag("progress", progress))


def _plan_args(arguments: Mapping[str, Any]) -> dict:
    """The arguments of :func:`sweep` or :func:`sweep_chunks` that say what to sweep."""
    return {k: v for k, v in arguments.items() if k not in ("chunk_rows", "max_rows", "progress")}


def sweep(models, hardware, *, batch, prompt_tokens, output_tokens, weight_dtype="bf16", kv_dtype=None,
          n_devices=1, price_per_device_hour_usd=None, date=None, power_w=None, efficiency=None,
          memory_fraction: float = I.DEFAULT_MEMORY_FRACTION,
          prefill_chunk_tokens: int = I.DEFAULT_PREFILL_CHUNK_TOKENS, backend: str = "numpy",
          max_rows: int = MAX_ROWS, progress: bool = False) -> pd.DataFrame:
    """The serving point of every configuration of a grid, one row each.

    Each row is :func:`costmodel.serving_point` ``(model, hardware,
    prompt_tokens, output_tokens, batch=batch, n_devices=n_devices,
    weight_dtype=weight_dtype, kv_dtype=kv_dtype)``: ``batch`` requests
    running at once with continuous batching, one model replica over
    ``n_devices`` devices. Columns (:data:`COLUMNS`): the configuration,
    ``memory_per_device_bytes`` (weights, KV caches at full length,
    workspace), ``max_batch`` and ``fits`` (within ``memory_fraction`` of
    each device), ``ttft_s``, ``tpot_s``, ``e2e_latency_s``,
    ``output_tokens_per_s`` of the replica and ``..._per_device``, the
    binding resource of decode (``decode_bound``), the price and power used,
    and ``usd_per_1m_output_tokens`` and ``j_per_1m_output_tokens``
    (:func:`costmodel.cost_per_million_output_tokens` at full utilisation,
    devices alone; NaN without a price or power).
    A configuration that does not fit has ``fits`` False and NaN throughput,
    cost and energy. Labels are categorical columns.

    {axes}

    Every axis is checked before any work: an empty axis, a batch below 1, an
    unknown format, dtype, model or device, heads that ``n_devices`` does not
    divide, a device without a compute peak raise ``ValueError`` naming the
    axis and the value. A grid of more than ``max_rows`` rows raises too,
    saying how to stream it with :func:`sweep_chunks`. ``backend="dask"``
    evaluates the same expressions on dask arrays (dask's local threaded
    scheduler); the results are the same. Defined in :ref:`sec_sweeps`.

    >>> df = sweep("llama-3-8b", "h100-sxm", batch=[1, 64], prompt_tokens=1024, output_tokens=256,
    ...            price_per_device_hour_usd=3.0)
    >>> df[["batch", "fits"]].values.tolist()
    [[1.0, True], [64.0, True]]
    >>> bool(df["usd_per_1m_output_tokens"].iloc[1] < df["usd_per_1m_output_tokens"].iloc[0])
    True
    """
    plan = _plan(**_plan_args(locals()))
    limit = int(V.size("max_rows", max_rows, minimum=1, integer=True))
    progress = V.flag("progress", progress)
    if plan.n_rows > limit:
        raise ValueError(
            f"the grid has {plan.n_rows:,} rows ({len(plan.entries):,} setups x {plan.rows_per_setup:,} batch x "
            f"prompt x output points), more than max_rows={limit:,} (about {plan.n_rows * 140 / 1e9:.1f} GB as "
            f"one DataFrame); stream it with costmodel.sweep_chunks(..., chunk_rows={DEFAULT_CHUNK_ROWS:_}) and "
            "reduce each chunk (feasible, pareto_front), or pass a larger max_rows")
    frames = list(_chunks(plan, plan.n_rows, progress))
    return frames[0]


sweep.__doc__ = sweep.__doc__.replace("{axes}", _SWEEP_DOC)
sweep_chunks.__doc__ += "\n\n    " + _SWEEP_DOC


# ----------------------------------------------------------------------
# Queries on a result
# ----------------------------------------------------------------------
def _require(df: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a DataFrame of costmodel.sweep, got {type(df).__name__}")
    missing = [c for c in columns if c not in df]
    if missing:
        raise ValueError(f"{what} needs the columns {missing} of costmodel.sweep; df has {list(df)}")


def _replicas(df: pd.DataFrame, demand: float) -> pd.DataFrame:
    """Replicas that serve ``demand`` requests/s: a replica completes
    ``output_tokens_per_s / output_tokens`` requests per second (its batch
    divided by the time one request holds a slot, TTFT + output x TPOT), so
    ``ceil(demand / that)``: Little's law with the batch as the concurrency."""
    per_replica = df["output_tokens_per_s"] / df["output_tokens"]
    replicas = np.ceil(demand / per_replica)
    devices = replicas * df["n_devices"]
    return df.assign(requests_per_s_per_replica=per_replica, replicas=replicas, devices_total=devices,
                     usd_per_hour=devices * df["price_per_device_hour_usd"])


def feasible(df: pd.DataFrame, *, ttft_s: float | None = None, tpot_s: float | None = None,
             demand_requests_per_s: float | None = None, max_devices: int | None = None,
             max_usd_per_1m_output_tokens: float | None = None) -> pd.DataFrame:
    """The rows of a :func:`sweep` that fit and meet every target given:
    time to first token at most ``ttft_s``, time per output token at most
    ``tpot_s``, cost at most ``max_usd_per_1m_output_tokens``. With
    ``demand_requests_per_s`` the rows gain the replicas that serve it
    (``replicas``, ``devices_total``, ``usd_per_hour``; see
    :func:`cheapest`), and ``max_devices`` keeps those that need at most
    that many devices in all. Defined in :ref:`sec_sweeps`."""
    _require(df, ("fits", "ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens", "n_devices"), "feasible")
    keep = df["fits"].to_numpy(dtype=bool).copy()
    for name, col, limit in (("ttft_s", "ttft_s", ttft_s), ("tpot_s", "tpot_s", tpot_s),
                             ("max_usd_per_1m_output_tokens", "usd_per_1m_output_tokens",
                              max_usd_per_1m_output_tokens)):
        if limit is not None:
            _require(df, (col,), "feasible")
            keep &= df[col].to_numpy() <= float(V.size(name, limit, maximum=1e12))
    out = df[keep]
    if demand_requests_per_s is not None:
        demand = float(V.size("demand_requests_per_s", demand_requests_per_s, maximum=1e12))
        _require(df, ("price_per_device_hour_usd",), "feasible with a demand")
        out = _replicas(out, demand)
        if max_devices is not None:
            out = out[out["devices_total"] <= float(V.size("max_devices", max_devices, minimum=1, integer=True))]
    elif max_devices is not None:
        raise ValueError("max_devices needs demand_requests_per_s: the devices in all depend on the replicas")
    return out


def _front_2d(cost: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Mask of the points no other point dominates (lower or equal cost and
    latency, one of them lower); equal points are all kept."""
    order = np.lexsort((latency, cost))
    c, lat = cost[order], latency[order]
    keep = np.zeros(len(c), dtype=bool)
    # within equal cost, only the lowest latency; across costs, a latency
    # below every latency of the cheaper points
    first = np.r_[True, c[1:] != c[:-1]]
    group = np.cumsum(first) - 1
    group_min = lat[first]  # sorted: each group's first row has its lowest latency
    best_before = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]
    keep_sorted = (lat == group_min[group]) & (lat < best_before[group])
    keep[order] = keep_sorted
    return keep


def pareto_front(df: pd.DataFrame, cost: str = "usd_per_1m_output_tokens", latency: str = "tpot_s",
                 quality: str | None = None) -> pd.DataFrame:
    """The rows of ``df`` that no other row beats on both ``cost`` and
    ``latency`` (lower is better for both), sorted by cost; with ``quality``
    (the name of a score column, higher is better, e.g. a benchmark score
    joined on ``model``) the front is over all three. Rows with a NaN in
    those columns (configurations that do not fit, unknown prices) are left
    out. Defined in :ref:`sec_sweeps`."""
    cols = [cost, latency] + ([quality] if quality is not None else [])
    _require(df, cols, "pareto_front")
    valid = np.ones(len(df), dtype=bool)
    for c in cols:
        valid &= np.isfinite(df[c].to_numpy(dtype=np.float64))
    d = df[valid]
    c, lat = d[cost].to_numpy(dtype=np.float64), d[latency].to_numpy(dtype=np.float64)
    if quality is None:
        keep = _front_2d(c, lat)
    else:
        q = d[quality].to_numpy(dtype=np.float64)
        keep = np.zeros(len(d), dtype=bool)
        above_c, above_l = np.empty(0), np.empty(0)  # the front of the rows of higher quality
        for level in np.unique(q)[::-1]:
            idx = np.flatnonzero(q == level)
            idx = idx[_front_2d(c[idx], lat[idx])]
            if above_c.size:  # a row of higher quality with lower or equal cost and latency dominates
                order = np.argsort(above_c, kind="stable")
                best = np.minimum.accumulate(above_l[order])
                pos = np.searchsorted(above_c[order], c[idx], side="right") - 1
                dominated = (pos >= 0) & (best[np.maximum(pos, 0)] <= lat[idx])
                idx = idx[~dominated]
            keep[idx] = True
            above_c, above_l = np.r_[above_c, c[idx]], np.r_[above_l, lat[idx]]
    return d[keep].sort_values([cost, latency], kind="stable")


def cheapest(df: pd.DataFrame, demand_requests_per_s, ttft_slo_s: float, tpot_slo_s: float) -> pd.DataFrame:
    """The cheapest configuration of a :func:`sweep` that serves
    ``demand_requests_per_s`` within the targets: an exact search over every
    row that fits with TTFT at most ``ttft_slo_s`` and TPOT at most
    ``tpot_slo_s``, each replicated ``ceil(demand / requests per second of a
    replica)`` times (a replica completes ``batch / (TTFT + output x TPOT)``
    requests per second, the equivalent of ``ceil(demand x latency /
    batch)``), costed at its devices x price per hour. Ties go to fewer
    devices, then lower TPOT. One row per demand (a number or an array),
    with ``demand_requests_per_s``, ``replicas``, ``devices_total`` and
    ``usd_per_hour``. Raises when no row meets the targets or none has a
    price. The batch is a continuous axis of the model: :func:`optimal_batch`
    solves it. Defined in :ref:`sec_sweeps`."""
    _require(df, ("fits", "ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens", "n_devices",
                  "price_per_device_hour_usd"), "cheapest")
    demands = V.size("demand_requests_per_s", demand_requests_per_s, maximum=1e12).ravel()
    if np.any(demands <= 0):
        raise ValueError(f"demand_requests_per_s={demands[demands <= 0][0]:g} must be positive")
    ok = feasible(df, ttft_s=ttft_slo_s, tpot_s=tpot_slo_s)
    if ok.empty:
        fit = df[df["fits"].to_numpy(dtype=bool)]
        best = (f"the fastest that fit have TTFT {fit['ttft_s'].min():.3g} s and TPOT {fit['tpot_s'].min():.3g} s"
                if len(fit) else "no configuration fits")
        raise ValueError(f"no configuration meets ttft_slo_s={ttft_slo_s:g} and tpot_slo_s={tpot_slo_s:g}: {best}")
    ok = ok[np.isfinite(ok["price_per_device_hour_usd"].to_numpy(dtype=np.float64))]
    if ok.empty:
        raise ValueError("no configuration that meets the targets has a price: pass price_per_device_hour_usd")
    per_replica = (ok["output_tokens_per_s"] / ok["output_tokens"]).to_numpy()
    n = ok["n_devices"].to_numpy(dtype=np.float64)
    price = ok["price_per_device_hour_usd"].to_numpy(dtype=np.float64)
    tpot = ok["tpot_s"].to_numpy()
    rows = []
    for demand in demands:
        replicas = np.ceil(demand / per_replica)
        usd = replicas * n * price
        i = np.lexsort((tpot, replicas * n, usd))[0]
        rows.append(ok.iloc[[i]].assign(demand_requests_per_s=demand, requests_per_s_per_replica=per_replica[i],
                                        replicas=replicas[i], devices_total=replicas[i] * n[i], usd_per_hour=usd[i]))
    return pd.concat(rows, ignore_index=True)


def optimal_batch(model, hardware, prompt_tokens, output_tokens, *, ttft_slo_s: float | None = None,
                  tpot_slo_s: float | None = None, n_devices: int = 1, weight_dtype: str = "bf16",
                  kv_dtype: str | None = None, efficiency=None, memory_fraction: float = I.DEFAULT_MEMORY_FRACTION,
                  prefill_chunk_tokens: int = I.DEFAULT_PREFILL_CHUNK_TOKENS) -> int:
    """The largest batch that fits and meets both latency targets (0 when
    even one request misses them): a replica is cheapest per token at that
    batch, since throughput grows with the batch and latency does too. The
    batch is treated as a continuous axis: scipy's ``brentq`` finds where
    the slower of TTFT / ``ttft_slo_s`` and TPOT / ``tpot_slo_s`` crosses 1,
    and the whole batches on either side are checked exactly (the same
    answer as the bisection behind :func:`costmodel.serving_point`'s
    ``slo_batch``). Defined in :ref:`sec_sweeps`."""
    try:
        from scipy.optimize import brentq
    except ImportError:
        raise ValueError("optimal_batch needs scipy: pip install 'costmodel[sweep]'") from None

    s = I._setup(model, hardware, n_devices, None, 1, 1, weight_dtype, kv_dtype, None)
    p = V.size("prompt_tokens", prompt_tokens, minimum=1, integer=True)
    o = V.size("output_tokens", output_tokens, minimum=1, integer=True)
    if p.ndim or o.ndim:
        raise ValueError("optimal_batch takes one prompt_tokens and one output_tokens; sweep() for grids")
    ttft_slo = math.inf if ttft_slo_s is None else float(V.size("ttft_slo_s", ttft_slo_s, maximum=1e9))
    tpot_slo = math.inf if tpot_slo_s is None else float(V.size("tpot_slo_s", tpot_slo_s, maximum=1e9))
    frac = float(V.fraction("memory_fraction", memory_fraction))
    chunk = V.size("prefill_chunk_tokens", prefill_chunk_tokens, minimum=1, integer=True)
    b_max = float(I._max_batch(s, p + o, chunk, frac))

    def times(b: float) -> tuple[float, float]:
        r = I._serving(s, efficiency, p, o, np.float64(b), b_max, chunk, stacklevel=None)
        return float(r["ttft_s"]), float(r["tpot_s"])

    def meets(b: float) -> bool:
        t1, t2 = times(b)
        return t1 <= ttft_slo and t2 <= tpot_slo

    def slack(b: float) -> float:  # the slower target's ratio, less 1: > 0 where one is missed
        t1, t2 = times(b)
        return max(t1 / ttft_slo, t2 / tpot_slo) - 1.0

    if not b_max >= 1 or not meets(1.0):  # NaN: the device publishes no capacity
        return 0
    if meets(b_max):
        return int(b_max)
    b = math.floor(brentq(slack, 1.0, b_max, xtol=1e-6))
    while b + 1 <= b_max and meets(b + 1):  # the root is known to within xtol: settle the whole batch
        b += 1
    while b > 1 and not meets(b):
        b -= 1
    return int(b)
