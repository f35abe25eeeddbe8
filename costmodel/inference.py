"""The inference step model: prefill, decode and serving on one or many devices.

One step (a prefill pass or a decode step of a batch) is split into
components, each with its FLOPs and the bytes it moves per device:

* ``matmul``: the dense weight matrices (attention projections, dense MLPs,
  shared experts, router, LM head), their weights read once per step in the
  checkpoint's format (:mod:`costmodel.formats`), the embedding rows looked
  up, and the activations each matmul reads and writes;
* ``experts``: the routed experts of MoE blocks, of which a step reads only
  the distinct ones its tokens touch;
* ``attention``: scores and weighted values over the KV cache (MLA in its
  absorbed form for decode), the cache read and the new entries written;
* ``communication``: tensor-parallel all-reduces (two per block),
  expert-parallel all-to-alls and pipeline hand-offs over the interconnect.

Every latency comes in two figures. The **ideal bound** puts the whole step
at 100 % of peak compute and bandwidth with no overhead:
max(sum F / pi, sum M / beta, communication), which no measurement can beat.
The **expected** value rooflines each component at the achieved fractions
of peak of an :class:`EfficiencyProfile` and sums them, plus a fixed
overhead per step: at a large batch the weight matmuls are compute-bound
while attention over the cache stays memory-bound, and only the sum sees
both. Efficiency profiles are fitted to published measurements
(:mod:`costmodel.calibrate`, ``data/efficiency.csv``).

All numeric arguments broadcast as numpy arrays. Defined in
:ref:`sec_inference`.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F
from .architecture import Architecture
from .catalog import Hardware
from .dtypes import bytes_per_element
from .formats import Checkpoint, WeightFormat, checkpoint, weight_format
from ._validate import ArchLike, ArrayLike, HardwareLike

__all__ = [
    "EfficiencyProfile",
    "IDEAL",
    "StepResult",
    "Layout",
    "DEFAULT_MEMORY_FRACTION",
    "prefill",
    "decode",
    "serving_throughput",
    "serving_point",
    "min_devices",
    "memory_per_device",
    "weight_bytes_stored",
    "phase_roofline",
]

#: Fraction of device memory a serving engine uses for weights, KV cache and
#: activations by default: vLLM's ``gpu_memory_utilization`` default of 0.9
#: (vLLM engine arguments documentation); the rest is left to the runtime.
DEFAULT_MEMORY_FRACTION = 0.9
#: Tokens of one prefill chunk in continuous batching, which sizes the
#: activation workspace: TensorRT-LLM's default ``max_num_tokens`` of 8192.
DEFAULT_PREFILL_CHUNK_TOKENS = 8192


# ----------------------------------------------------------------------
# Efficiency profiles
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class EfficiencyProfile:
    """Achieved fractions of peak compute (``eta_compute``) and memory
    bandwidth (``eta_memory``), a fixed overhead per block and step
    (``layer_overhead_s``: kernel launches, synchronisation, small-matrix
    inefficiency), a latency per message of a collective (``link_latency_s``,
    alpha of the ring formulas) and the achieved fraction of the
    interconnect's bandwidth (``eta_link``; None: ``eta_memory``, as profiles
    without it assume). ``eta_expert`` scales both efficiencies of the routed
    experts alone (few tokens per expert, routing and permutation kernels,
    scattered weight reads): they run at ``eta_expert * eta_compute`` and
    ``eta_expert * eta_memory`` (None: at the dense efficiencies, as profiles
    without it assume). :data:`IDEAL` is 1, 1, 0, 0, 1: the ideal bound.
    Defined in :ref:`sec_inference`."""

    name: str
    eta_compute: float
    eta_memory: float
    layer_overhead_s: float = 0.0
    link_latency_s: float = 0.0
    source: str = ""
    eta_link: float | None = None
    eta_expert: float | None = None

    def __post_init__(self):
        for k in ("eta_compute", "eta_memory", "eta_link", "eta_expert"):
            v = getattr(self, k)
            if k in ("eta_link", "eta_expert") and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ValueError(f"efficiency profile {self.name!r}: {k}={v!r} must be in (0, 1]")
        for k in ("layer_overhead_s", "link_latency_s"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"efficiency profile {self.name!r}: {k}={v!r} must be a nonnegative number")

    @property
    def link_efficiency(self) -> float:
        """The achieved fraction of interconnect bandwidth: ``eta_link``, or
        ``eta_memory`` where the profile has none."""
        return self.eta_memory if self.eta_link is None else self.eta_link


#: 100 % of peak, no overhead: the ideal bound.
IDEAL = EfficiencyProfile("ideal", 1.0, 1.0, 0.0, 0.0, "definition: the roofline bound")


#: Fitted profiles already looked up, by the identities of the efficiency table
#: and the device and the engine: a profile is frozen, and a new table (its
#: cache cleared) gives new keys.
_PROFILES: dict = {}


def _profile(efficiency, hw: Hardware) -> EfficiencyProfile:
    if isinstance(efficiency, EfficiencyProfile):
        return efficiency
    from .calibrate import efficiency_profile, efficiency_table  # the fitted profiles live one layer up in data

    if efficiency is None or isinstance(efficiency, str):
        table = efficiency_table()
        key = (id(table), efficiency, id(hw))
        hit = _PROFILES.get(key)
        if hit is not None and hit[0] is table and hit[2] is hw:
            return hit[1]
        prof = efficiency_profile(efficiency, hw)
        if len(_PROFILES) > 256:
            _PROFILES.clear()
        # the table and the device are held, so their ids are not reused while the entry lives
        _PROFILES[key] = (table, prof, hw)
        return prof
    raise ValueError(f"efficiency={efficiency!r} must be an EfficiencyProfile, an engine name or None")


# ----------------------------------------------------------------------
# Layout over devices
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """How a model is split over ``n_devices``: tensor parallel (``tensor``,
    heads and matrix columns split), pipeline parallel (``pipeline``, blocks
    split into stages) and expert parallel (``expert``, routed experts
    split). Their product is the number of devices. Defined in
    :ref:`sec_inference`."""

    tensor: int = 1
    pipeline: int = 1
    expert: int = 1

    @property
    def n_devices(self) -> int:
        return self.tensor * self.pipeline * self.expert


def _layout(arch: Architecture, n_devices, tensor_parallel, pipeline_parallel, expert_parallel) -> Layout:
    n = int(V.size("n_devices", n_devices, minimum=1, integer=True, maximum=1e6))
    pp = int(V.size("pipeline_parallel", pipeline_parallel, minimum=1, integer=True, maximum=1e6))
    ep = int(V.size("expert_parallel", expert_parallel, minimum=1, integer=True, maximum=1e6))
    if tensor_parallel is None:
        if n % (pp * ep):
            raise ValueError(f"n_devices={n} is not a multiple of pipeline_parallel={pp} x expert_parallel={ep}")
        tp = n // (pp * ep)
    else:
        tp = int(V.size("tensor_parallel", tensor_parallel, minimum=1, integer=True, maximum=1e6))
    if tp * pp * ep != n:
        raise ValueError(f"tensor_parallel={tp} x pipeline_parallel={pp} x expert_parallel={ep} = {tp * pp * ep} "
                         f"must equal n_devices={n}")
    if arch.n_heads % tp:
        raise ValueError(f"{arch.name}: num_attention_heads={arch.n_heads} does not divide by tensor_parallel={tp}")
    if not arch.is_mla and arch.n_kv_heads > tp and arch.n_kv_heads % tp:
        raise ValueError(f"{arch.name}: num_key_value_heads={arch.n_kv_heads} does not divide by tensor_parallel={tp}")
    if arch.n_layers % pp:
        raise ValueError(f"{arch.name}: num_hidden_layers={arch.n_layers} does not divide by pipeline_parallel={pp}")
    if ep > 1 and (not arch.is_moe or arch.n_experts % ep):
        raise ValueError(f"{arch.name}: experts={arch.n_experts} do not divide by expert_parallel={ep}")
    return Layout(tp, pp, ep)


# ----------------------------------------------------------------------
# Weights in a checkpoint format
# ----------------------------------------------------------------------
# The bytes of each kind of tensor in a checkpoint format live with the formats.
_Weights = Checkpoint
_weights = checkpoint


def weight_bytes_stored(arch: ArchLike, weight_dtype: str = "bf16") -> float:
    """Bytes a checkpoint in ``weight_dtype`` stores: the same as
    :func:`costmodel.weight_bytes` with a format name (kept as the name the
    inference chapter uses). Defined in :ref:`sec_inference`."""
    from .quantities import weight_bytes

    return weight_bytes(arch, weight_dtype)


# ----------------------------------------------------------------------
# The step
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Setup:
    arch: Architecture
    hw: Hardware
    layout: Layout
    fmt: WeightFormat
    weights: _Weights
    compute_dtype: str | None  # None: the device publishes no compute peak
    b_a: float
    b_kv: float
    # the formulas of a step with the model's values bound (_Bound), made once per setup
    kv_bytes: Any = field(default=None, compare=False, repr=False)  # (s, B)
    attention_flops: Any = field(default=None, compare=False, repr=False)  # {decode: (T, C_0)}
    experts_touched: Any = field(default=None, compare=False, repr=False)  # (B,)
    kv_dtype: str = field(default="", compare=False)  # the dtype of the KV cache by name
    allreduce: Any = field(default=None, compare=False, repr=False)  # (M_op, alpha_link)
    alltoall: Any = field(default=None, compare=False, repr=False)  # (M_op, alpha_link)
    peak_flop_per_s: float = field(default=math.nan, compare=False)  # of compute_dtype (NaN: None)


def _activation_dtype(hw: Hardware) -> str | None:
    for d in ("bf16", "fp16", "fp32"):
        if hw.has_peak(d):
            return d
    return None


#: Setups already built, by the identity of the model and the device and the
#: other arguments when they are plain ints and strings (a setup is frozen;
#: the entry holds the model and device, so their ids are not reused).
_SETUPS: dict = {}
_PLAIN = (int, str, type(None))


def _setup(arch, hw, n_devices, tensor_parallel, pipeline_parallel, expert_parallel, weight_dtype, kv_dtype,
           compute_dtype) -> _Setup:
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    rest = (n_devices, tensor_parallel, pipeline_parallel, expert_parallel, weight_dtype, kv_dtype, compute_dtype)
    if not all(type(x) in _PLAIN for x in rest):  # arrays, floats, bools: validated every time
        return _build_setup(arch, hw, *rest)
    key = (id(arch), id(hw), rest)
    hit = _SETUPS.get(key)
    if hit is not None and hit.arch is arch and hit.hw is hw:
        return hit
    s = _build_setup(arch, hw, *rest)
    if len(_SETUPS) > 1024:
        _SETUPS.clear()
    _SETUPS[key] = s
    return s


def _build_setup(arch: Architecture, hw: Hardware, n_devices, tensor_parallel, pipeline_parallel, expert_parallel,
                 weight_dtype, kv_dtype, compute_dtype) -> _Setup:
    fmt = weight_format(weight_dtype)
    layout = _layout(arch, n_devices, tensor_parallel, pipeline_parallel, expert_parallel)
    act = _activation_dtype(hw)
    if compute_dtype is not None:
        c = V.dtype("compute_dtype", compute_dtype)
        if not hw.has_peak(c) and any(math.isfinite(v) for v in hw.peaks_flop_per_s.values()):
            hw.peak_flops(c)  # raises, naming the device and the peaks it has
        if not hw.has_peak(c):
            c = None
    elif fmt.compute == "native" and hw.has_peak(fmt.dtype):
        c = fmt.dtype
    else:
        c = act
    if kv_dtype is not None:
        kv = V.dtype("kv_dtype", kv_dtype)
    else:  # fp8 checkpoints cache in fp8 (TensorRT-LLM's fp8 recipe), others in 16 bit (or fp32 for fp32)
        kv = fmt.dtype if fmt.dtype in ("fp8", "fp16", "fp32") else (act if act in ("bf16", "fp16") else "bf16")
    b_kv = bytes_per_element(kv)
    attention = {}
    for decode in (False, True):
        vals = {**arch.symbols, "N_mm": 0.0}
        if decode and arch.is_mla:
            vals["w_a"] = arch.evaluate(F.MLA_ABSORBED_ATTENTION_WIDTH)
        attention[decode] = _Bound(F.PREFILL_FLOPS, vals, ("T", "C_0"))
    return _Setup(arch, hw, layout, fmt, _weights(arch, fmt), c, bytes_per_element(act or "bf16"), b_kv,
                  _Bound(F.KV_CACHE_BYTES, {**arch.symbols, "b_kv": b_kv}, ("s", "B")), attention,
                  _Bound(F.EXPERTS_TOUCHED, {"E": arch.n_experts, "k_e": arch.n_experts_per_token}, ("B",)), kv,
                  _Bound(F.ALLREDUCE_TIME, {"n_t": layout.tensor, "beta_link": _link_bandwidth(hw)},
                         ("M_op", "alpha_link")),
                  _Bound(F.ALLTOALL_TIME, {"n_ep": layout.expert, "beta_link": _link_bandwidth(hw)},
                         ("M_op", "alpha_link")),
                  hw.peak_flops(c) if c else math.nan)


class _Bound:
    """A formula of :mod:`costmodel.formulas` with some symbols bound to
    values, called with the others in the order ``free`` names them. The same
    lambdified function and the same float64 inputs as
    :func:`costmodel.formulas.numeric`, without its per-call lookups."""

    def __init__(self, expr, values: Mapping[str, Any], free: tuple[str, ...]):
        num = F.numeric(expr)
        self._fn = num._fn
        # the same generated code with numpy's minimum and maximum replaced by their scalar
        # definitions, for the scalar path (a ufunc call costs a microsecond on a scalar)
        fn = self._fn
        self._scalar_fn = types.FunctionType(fn.__code__, {**fn.__globals__, "minimum": _minimum, "maximum": _maximum},
                                             fn.__name__, fn.__defaults__, fn.__closure__)
        self._template = [None if a in free else np.asarray(values[a], dtype=np.float64) for a in num.args]
        # the same values as Python floats and numpy float64 scalars, for a call whose free inputs
        # are all scalars (one point): the same IEEE double arithmetic without the overhead of 0-d arrays
        scalar = all(v is None or v.ndim == 0 for v in self._template)
        self._floats = [None if v is None else float(v) for v in self._template] if scalar else None
        self._scalars = [None if v is None else np.float64(v) for v in self._template] if scalar else None
        # each free symbol is one of the expression's own (index raises otherwise), so numpy
        # broadcasts the result to the inputs' shape by itself
        self._slots = [num.args.index(a) for a in free]

    def __call__(self, *free):
        if self._floats is not None and all(type(v) in _SCALAR_TYPES for v in free):  # one point: a float64 scalar
            vals = list(self._floats)
            for i, v in zip(self._slots, free):
                vals[i] = float(v)
            try:
                r = self._scalar_fn(*vals)
            except ArithmeticError:  # Python floats raise where numpy returns inf or NaN (x / 0, overflow)
                r = None
            if type(r) in _FLOAT_RESULTS:
                return np.float64(r)
            vals = list(self._scalars)  # numpy scalars: numpy's inf, NaN and warnings
            for i, v in zip(self._slots, free):
                vals[i] = np.float64(v)
            return np.float64(self._scalar_fn(*vals))
        vals = list(self._template)
        for i, v in zip(self._slots, free):
            vals[i] = _float64(v)
        return _float64(self._fn(*vals))


#: Inputs a :class:`_Bound` evaluates as float64 scalars rather than arrays.
_SCALAR_TYPES = frozenset({float, int, np.float64})
#: Results of the Python-float evaluation taken as they are (a complex number, from a negative
#: base to a fractional power, is evaluated again with numpy scalars, which give NaN).
_FLOAT_RESULTS = frozenset({float, np.float64})


def _minimum(a, b):
    """``np.minimum`` of two scalars as numpy computes it for floats: ``a``
    where ``a < b`` or ``a`` is NaN, else ``b`` (so NaN propagates, and of
    two equal values, zeros of either sign included, ``b`` is returned)."""
    return a if a < b or a != a else b


def _maximum(a, b):
    """``np.maximum`` of two scalars: ``a`` where ``a > b`` or ``a`` is NaN, else ``b``."""
    return a if a > b or a != a else b


def _max(a, b):
    """``np.maximum(a, b)``; for two scalars (not both ints) the same float64 without a ufunc call."""
    ta, tb = type(a), type(b)
    if ta in _SCALAR_TYPES and tb in _SCALAR_TYPES and not (ta is int and tb is int):
        return np.float64(_maximum(a, b))
    return np.maximum(a, b)


def _min(a, b):
    """``np.minimum(a, b)``, as :func:`_max`."""
    ta, tb = type(a), type(b)
    if ta in _SCALAR_TYPES and tb in _SCALAR_TYPES and not (ta is int and tb is int):
        return np.float64(_minimum(a, b))
    return np.minimum(a, b)


def _float64(v):
    """``v`` as float64: a numpy array, or a lazy array (dask) left lazy."""
    if isinstance(v, np.ndarray) or not hasattr(v, "__array_function__"):
        return np.asarray(v, dtype=np.float64)
    return v if v.dtype == np.float64 else v.astype(np.float64)


def _kv_share(s: _Setup) -> float:
    """Fraction of the KV cache one device holds under tensor parallelism:
    K heads split n_tp ways, replicated when K < n_tp; an MLA latent is shared
    by all heads and replicated."""
    if s.arch.is_mla:
        return 1.0
    k, tp = s.arch.n_kv_heads, s.layout.tensor
    return math.ceil(k / tp) / k if k >= 1 else 1.0


def _kv_bytes(s: _Setup, tokens, batch):
    """KV-cache bytes of ``batch`` sequences of ``tokens`` tokens, whole model."""
    return s.kv_bytes(tokens, batch)


def _attention_flops(s: _Setup, new_tokens, cached, decode: bool):
    """Attention FLOPs (scores and weighted values) of one sequence, whole model."""
    return s.attention_flops[decode](new_tokens, cached)


def _step(s: _Setup, batch, new_tokens, cached, *, decode: bool, logits_all: bool):
    """Per-device FLOPs, bytes and communication bytes of one step, by component."""
    a, w, L = s.arch, s.weights, s.layout
    tp, pp, ep = L.tensor, L.pipeline, L.expert
    tokens = batch * new_tokens
    logit_tokens = tokens if logits_all else batch
    shards = tp * pp
    # dense matmuls (the LM head only for the logit tokens)
    lm_flops = 2.0 * logit_tokens * a.vocab_size * a.d_model
    dense_flops = 2.0 * tokens * (a.n_matmul_weights_active - a.vocab_size * a.d_model
                                  - a.n_moe_layers * a.n_experts_per_token * w.per_expert_params)
    lookup = _min(tokens, a.vocab_size) * w.embedding_row_bytes
    matmul_bytes = (w.dense_matmul_bytes + w.lm_head_bytes + w.other_bytes) / shards + lookup / pp
    matmul_bytes = matmul_bytes + tokens * w.act_elems_dense * s.b_a / shards
    comp = {"matmul": ((dense_flops + lm_flops) / shards, matmul_bytes)}
    # routed experts: the distinct experts the tokens touch
    if a.is_moe:
        touched = s.experts_touched(tokens)
        e_flops = 2.0 * tokens * a.n_moe_layers * a.n_experts_per_token * w.per_expert_params
        e_bytes = (a.n_moe_layers * touched * w.per_expert_bytes
                   + tokens * a.n_experts_per_token * w.act_elems_expert * s.b_a)
        comp["experts"] = (e_flops / (shards * ep), e_bytes / (shards * ep))
    # attention over the cache
    att_flops = batch * _attention_flops(s, new_tokens, cached, decode)
    kv_read = _kv_bytes(s, cached, batch)
    kv_write = _kv_bytes(s, cached + new_tokens, batch) - kv_read
    comp["attention"] = (att_flops / shards, (kv_read + kv_write) * _kv_share(s) / pp)
    # communication (bytes per device; times below)
    act_bytes = tokens * a.d_model * s.b_a
    ar = 2.0 * (a.n_layers / pp) * act_bytes if tp > 1 else 0.0
    a2a = 2.0 * (a.n_moe_layers / pp) * tokens * a.n_experts_per_token * a.d_model * s.b_a if ep > 1 else 0.0
    p2p = (pp - 1) * act_bytes
    return comp, (ar, a2a, p2p)


def _link_bandwidth(hw: Hardware) -> float:
    """Per-direction bandwidth of one device's interconnect: the catalog
    states total bidirectional figures (NVLink 900 GB/s = 450 each way)."""
    return hw.interconnect_bandwidth_bytes_per_s / 2


def _times(s: _Setup, comp, comm, eff: EfficiencyProfile, *, decode: bool):
    """(expected, bound, compute time, memory time, communication time) of
    a step; arrays broadcast."""
    hw, L = s.hw, s.layout
    beta = hw.memory_bandwidth_bytes_per_s
    pi = s.peak_flop_per_s
    ar, a2a, p2p = comm
    n_comm = (L.tensor > 1) or (L.expert > 1) or (L.pipeline > 1)
    layers = s.arch.n_layers / L.pipeline
    if n_comm:
        link = _link_bandwidth(hw)
        if not math.isfinite(link):
            raise ValueError(f"hardware {hw.id!r} has no published interconnect bandwidth; it cannot be split over "
                             f"{L.n_devices} devices in this model")

        def comm(alpha):  # two all-reduces per block, two all-to-alls per MoE block, one hand-off per stage
            moe = s.arch.n_moe_layers / L.pipeline
            t = 2 * layers * s.allreduce(ar / (2 * layers), alpha) if L.tensor > 1 else 0.0
            if L.expert > 1 and moe:
                t = t + 2 * moe * s.alltoall(a2a / (2 * moe), alpha)
            return t + p2p / link + (L.pipeline - 1) * alpha

        t_comm_ideal = comm(0.0)
        t_comm_latency = comm(eff.link_latency_s) - t_comm_ideal
    else:
        t_comm_ideal = t_comm_latency = 0.0
    sum_f = sum(f for f, _ in comp.values())
    sum_m = sum(m for _, m in comp.values())
    t_mem = sum_m / beta
    if s.compute_dtype is None:
        if not decode:
            raise ValueError(f"hardware {hw.id!r} publishes no compute peak, so a prefill time cannot be computed "
                             "(decode is bandwidth-bound and works); pass compute_dtype for a device that has one")
        t_cmp = np.zeros(np.shape(t_mem))
    else:
        t_cmp = sum_f / pi
    bound = _max(_max(t_cmp, t_mem), t_comm_ideal) * L.pipeline
    expected = 0.0
    for name, (f, m) in comp.items():
        eta_c, eta_m = eff.eta_compute, eff.eta_memory
        if name == "experts" and eff.eta_expert is not None:  # None: the dense efficiencies, bit for bit
            eta_c, eta_m = eta_c * eff.eta_expert, eta_m * eff.eta_expert
        tc = f / (pi * eta_c) if s.compute_dtype else 0.0
        expected = expected + _max(tc, m / (beta * eta_m))
    expected = expected + t_comm_ideal / eff.link_efficiency + t_comm_latency + layers * eff.layer_overhead_s
    expected = expected * L.pipeline
    return expected, bound, t_cmp, t_mem, t_comm_ideal


#: The binding resource of a step, by the code :func:`_resource_code` gives.
RESOURCES = ("compute", "memory", "communication")


def _resource_code(t_cmp, t_mem, t_comm):
    """0, 1, 2 (an index of :data:`RESOURCES`): communication where it takes
    at least as long as compute and memory, else the larger of those two."""
    return np.where((t_comm >= t_cmp) & (t_comm >= t_mem), 2, np.where(t_cmp >= t_mem, 0, 1))


_RESOURCE_NAMES = np.array(RESOURCES)


def _resource(t_cmp, t_mem, t_comm):
    """The binding resource of a step by name."""
    return _RESOURCE_NAMES[_resource_code(t_cmp, t_mem, t_comm)]


@dataclass(frozen=True)
class StepResult:
    """A prefill pass or a decode step: expected and ideal-bound latency,
    tokens per second, the binding resource, and the inputs they were
    computed for (:meth:`to_frame` gives a tidy DataFrame with a column for
    every input). Defined in :ref:`sec_inference`."""

    phase: str
    model: str
    hardware: str
    inputs: Mapping[str, Any] = field(repr=False)
    latency_s: Any
    bound_latency_s: Any
    tokens_per_s: Any
    bound_tokens_per_s: Any
    bound: Any
    flop: Any = field(repr=False)
    bytes_moved: Any = field(repr=False)
    compute_time_s: Any = field(repr=False)
    memory_time_s: Any = field(repr=False)
    communication_time_s: Any = field(repr=False)
    memory_per_device_bytes: Any = field(repr=False)
    fits: Any = field(repr=False)
    efficiency: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per broadcast input point."""
        cols = {**self.inputs, "latency_s": self.latency_s, "bound_latency_s": self.bound_latency_s,
                "tokens_per_s": self.tokens_per_s, "bound_tokens_per_s": self.bound_tokens_per_s,
                "bound": self.bound, "flop_per_device": self.flop, "bytes_per_device": self.bytes_moved,
                "compute_time_s": self.compute_time_s, "memory_time_s": self.memory_time_s,
                "communication_time_s": self.communication_time_s,
                "memory_per_device_bytes": self.memory_per_device_bytes, "fits": self.fits}
        arrays = {k: np.asarray(v) for k, v in cols.items()}
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        df = pd.DataFrame({k: np.broadcast_to(a, shape).ravel() for k, a in arrays.items()})
        df.insert(0, "hardware", self.hardware)
        df.insert(0, "model", self.model)
        df.insert(0, "phase", self.phase)
        df["efficiency"] = self.efficiency
        return df


def _scalar(x):
    a = np.asarray(x)
    return a.item() if a.ndim == 0 else a


def _memory_per_device(s: _Setup, batch, context, workspace_tokens):
    """Weights, the KV cache of ``batch`` sequences of ``context`` tokens and
    the activation workspace, per device."""
    w, L = s.weights, s.layout
    experts = w.per_expert_bytes * w.n_experts_total / L.expert
    weights = (w.dense_matmul_bytes + w.lm_head_stored_bytes + w.other_bytes + w.embedding_bytes + experts) / (
        L.tensor * L.pipeline)
    kv = _kv_bytes(s, context, batch) * _kv_share(s) / L.pipeline
    return weights, kv, _workspace(s, batch, workspace_tokens)


def _workspace(s: _Setup, batch, workspace_tokens):
    """The activation workspace per device of a pass over ``workspace_tokens``
    tokens for ``batch`` sequences."""
    a, L = s.arch, s.layout
    # the largest live activations of a pass: the residual stream, the MLP
    # hidden (gate and up) and fp32 logits of the last tokens
    width = max(a.d_ff, a.n_experts_per_token * a.d_ff_expert + a.d_ff_shared)
    return workspace_tokens * (4 * a.d_model + 2 * width / L.tensor) * s.b_a + batch * a.vocab_size * 4 / L.tensor


def _fit_check(s: _Setup, need, memory_fraction, scalar: bool):
    cap = s.hw.memory_bytes
    if not math.isfinite(cap):
        return np.zeros(np.shape(need), bool)
    usable = cap * memory_fraction
    fits = need <= usable
    if scalar and not np.all(fits):
        raise ValueError(
            f"{s.arch.name} does not fit on {s.layout.n_devices} x {s.hw.id}: needs {float(np.max(need)) / 1e9:.1f} GB "
            f"per device, has {usable / 1e9:.1f} GB ({memory_fraction:.0%} of {cap / 1e9:.1f} GB); add devices, "
            "quantise, or reduce batch or context"
        )
    return fits


def _warn_context(s: _Setup, context, stacklevel: int):
    """Warn when a context exceeds the positions the model was trained on."""
    m = s.arch.max_position_embeddings
    if m and (context > m if type(context) is np.float64 else np.any(context > m)):
        import warnings

        warnings.warn(f"{s.arch.name}: context {int(np.max(context))} exceeds the trained context "
                      f"max_position_embeddings={s.arch.max_position_embeddings}", stacklevel=stacklevel)


def _run(phase, arch, hw, *, batch, new_tokens, cached, n_devices, tensor_parallel, pipeline_parallel,
         expert_parallel, weight_dtype, kv_dtype, compute_dtype, efficiency, memory_fraction, logits, inputs,
         check_fit=True, workspace_tokens=None):
    s = _setup(arch, hw, n_devices, tensor_parallel, pipeline_parallel, expert_parallel, weight_dtype, kv_dtype,
               compute_dtype)
    frac = float(V.fraction("memory_fraction", memory_fraction))
    if logits not in ("last", "all"):
        raise ValueError(f"logits={logits!r} must be 'last' (serving) or 'all' (training, scoring)")
    V.broadcast(**{k: v for k, v in inputs.items()})
    batch, new_tokens, cached = _unwrap(batch), _unwrap(new_tokens), _unwrap(cached)
    decode = phase == "decode"
    _warn_context(s, cached + new_tokens, stacklevel=4)
    eff = _profile(efficiency, s.hw)
    comp, comm = _step(s, batch, new_tokens, cached, decode=decode, logits_all=logits == "all")
    expected, bound, t_c, t_m, t_x = _times(s, comp, comm, eff, decode=decode)
    resource = _resource(t_c, t_m, t_x)
    # engines prefill in chunks of at most DEFAULT_PREFILL_CHUNK_TOKENS tokens: that sizes the workspace
    chunk = _min(batch * new_tokens, DEFAULT_PREFILL_CHUNK_TOKENS)
    w, kv, ws = _memory_per_device(s, batch, cached + new_tokens, chunk if workspace_tokens is None else workspace_tokens)
    need = w + kv + ws
    scalar = all(np.ndim(v) == 0 for v in inputs.values())
    fits = _fit_check(s, need, frac, scalar and check_fit)
    tokens = batch * new_tokens
    # NaN where the configuration is known not to fit; a device without a capacity figure keeps its times
    known = math.isfinite(s.hw.memory_bytes)
    nan = np.where(fits, 1.0, np.nan) if check_fit and known and not scalar else 1.0
    return StepResult(
        phase=phase, model=s.arch.name, hardware=s.hw.id,
        inputs={**inputs, "n_devices": s.layout.n_devices, "tensor_parallel": s.layout.tensor,
                "pipeline_parallel": s.layout.pipeline, "expert_parallel": s.layout.expert,
                "weight_dtype": s.fmt.name, "compute_dtype": s.compute_dtype or "unknown"},
        latency_s=_scalar(expected * nan), bound_latency_s=_scalar(bound * nan),
        tokens_per_s=_scalar(tokens / expected * nan), bound_tokens_per_s=_scalar(tokens / bound * nan),
        bound=_scalar(resource), flop=_scalar(sum(f for f, _ in comp.values())),
        bytes_moved=_scalar(sum(m for _, m in comp.values())), compute_time_s=_scalar(t_c),
        memory_time_s=_scalar(t_m), communication_time_s=_scalar(t_x), memory_per_device_bytes=_scalar(need),
        fits=_scalar(fits), efficiency=eff.name,
    )


def prefill(arch: ArchLike, hw: HardwareLike, *, batch: ArrayLike = 1, prompt_tokens: ArrayLike,
            cached_tokens: ArrayLike = 0, n_devices: int = 1, weight_dtype: str = "bf16", kv_dtype: str | None = None,
            compute_dtype: str | None = None, tensor_parallel: int | None = None, pipeline_parallel: int = 1,
            expert_parallel: int = 1, efficiency: EfficiencyProfile | str | None = None,
            memory_fraction: float = DEFAULT_MEMORY_FRACTION, logits: str = "last") -> StepResult:
    """A prefill pass: ``batch`` sequences of ``prompt_tokens`` new tokens
    after ``cached_tokens`` already cached, on ``n_devices`` devices of ``hw``.

    ``latency_s`` is the expected time to first token (the pass, at the
    efficiency profile's fractions of peak plus its overhead) and
    ``bound_latency_s`` the ideal bound; ``tokens_per_s`` counts prompt
    tokens. ``weight_dtype`` is a :mod:`costmodel.formats` name; weight-only
    formats compute in the activation dtype (``compute_dtype`` overrides, e.g.
    ``"int8"`` for w8a8); ``kv_dtype`` defaults to fp8 for fp8 weights, to
    fp16 or fp32 for those weights, and to the device's 16-bit activation
    type otherwise. ``logits="last"`` computes the LM head for the last
    token of each sequence only, as serving engines do. The activation
    workspace is that of one prefill chunk of at most
    :data:`DEFAULT_PREFILL_CHUNK_TOKENS` tokens. A configuration that
    does not fit raises for scalar inputs and comes back with ``fits`` False
    and NaN times for arrays. Defined in :ref:`sec_inference`.
    """
    b = V.size("batch", batch, minimum=1, integer=True)
    p = V.size("prompt_tokens", prompt_tokens, minimum=1, integer=True)
    c0 = V.size("cached_tokens", cached_tokens, integer=True)
    return _run("prefill", arch, hw, batch=b, new_tokens=p, cached=c0, n_devices=n_devices,
                tensor_parallel=tensor_parallel, pipeline_parallel=pipeline_parallel,
                expert_parallel=expert_parallel, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
                compute_dtype=compute_dtype, efficiency=efficiency, memory_fraction=memory_fraction, logits=logits,
                inputs={"batch": b, "prompt_tokens": p, "cached_tokens": c0})


def decode(arch: ArchLike, hw: HardwareLike, *, batch: ArrayLike = 1, context: ArrayLike, n_devices: int = 1,
           weight_dtype: str = "bf16", kv_dtype: str | None = None, compute_dtype: str | None = None,
           tensor_parallel: int | None = None, pipeline_parallel: int = 1, expert_parallel: int = 1,
           efficiency: EfficiencyProfile | str | None = None,
           memory_fraction: float = DEFAULT_MEMORY_FRACTION) -> StepResult:
    """One decode step: one new token for each of ``batch`` sequences whose
    cache holds ``context`` tokens. ``latency_s`` is the expected time per
    output token, ``tokens_per_s`` the output tokens per second of the batch.
    A device without a published compute peak still decodes: the step is
    bandwidth-bound and its compute time is taken as 0 (``compute_dtype``
    "unknown" in the result). Otherwise as :func:`prefill`. Defined in
    :ref:`sec_inference`."""
    b = V.size("batch", batch, minimum=1, integer=True)
    c = V.size("context", context, integer=True)
    return _run("decode", arch, hw, batch=b, new_tokens=np.float64(1.0), cached=c, n_devices=n_devices,
                tensor_parallel=tensor_parallel, pipeline_parallel=pipeline_parallel,
                expert_parallel=expert_parallel, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
                compute_dtype=compute_dtype, efficiency=efficiency, memory_fraction=memory_fraction,
                logits="last", inputs={"batch": b, "context": c})


# ----------------------------------------------------------------------
# Memory, fit and serving
# ----------------------------------------------------------------------
def memory_per_device(arch: ArchLike, hw: HardwareLike, *, batch: ArrayLike = 1, context: ArrayLike,
                      n_devices: int = 1, weight_dtype: str = "bf16", kv_dtype: str | None = None,
                      tensor_parallel: int | None = None, pipeline_parallel: int = 1,
                      expert_parallel: int = 1, workspace_tokens: ArrayLike | None = None) -> pd.DataFrame:
    """Bytes one device holds: weights (in the checkpoint format, sharded),
    the KV cache of ``batch`` sequences of ``context`` tokens, and the
    activation workspace of a pass over ``workspace_tokens`` tokens (default
    ``batch``), next to its capacity. Defined in :ref:`sec_inference`."""
    b = V.size("batch", batch, minimum=1, integer=True)
    c = V.size("context", context, integer=True)
    wt = b if workspace_tokens is None else V.size("workspace_tokens", workspace_tokens, integer=True)
    s = _setup(arch, hw, n_devices, tensor_parallel, pipeline_parallel, expert_parallel, weight_dtype, kv_dtype,
               None)
    w, kv, ws = _memory_per_device(s, b, c, wt)
    shape = np.broadcast_shapes(np.shape(b), np.shape(c), np.shape(kv))
    return pd.DataFrame({
        "model": s.arch.name, "hardware": s.hw.id, "n_devices": s.layout.n_devices,
        "batch": np.broadcast_to(b, shape).ravel(), "context": np.broadcast_to(c, shape).ravel(),
        "weight_bytes": w, "kv_cache_bytes": np.broadcast_to(kv, shape).ravel(),
        "workspace_bytes": np.broadcast_to(ws, shape).ravel(),
        "total_bytes": np.broadcast_to(w + kv + ws, shape).ravel(), "memory_bytes": s.hw.memory_bytes,
    })


def _unwrap(a):
    """A validated 0-d array as a float64 scalar (the same arithmetic as the
    array, without its overhead); other values as they are."""
    return a[()] if type(a) is np.ndarray and a.ndim == 0 else a


def _max_batch(s: _Setup, context, prefill_tokens, frac: float):
    """Largest batch whose weights, KV caches at ``context`` and the workspace
    of a prefill chunk of ``prefill_tokens`` fit."""
    cap = s.hw.memory_bytes * frac
    w, kv1, _ = _memory_per_device(s, 1.0, context, 0.0)
    ws = _workspace(s, 1.0, prefill_tokens)
    per_seq = kv1 + s.arch.vocab_size * 4 / s.layout.tensor  # cache plus its fp32 logits row
    free = cap - w - (ws - s.arch.vocab_size * 4 / s.layout.tensor)
    return np.floor(_max(free, 0.0) / per_seq)


def serving_point(arch: ArchLike, hw: HardwareLike, input_tokens: ArrayLike, output_tokens: ArrayLike, *,
                  n_devices: int = 1, weight_dtype: str = "bf16", kv_dtype: str | None = None,
                  batch: ArrayLike | None = None, ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
                  tensor_parallel: int | None = None, pipeline_parallel: int = 1, expert_parallel: int = 1,
                  efficiency: EfficiencyProfile | str | None = None,
                  memory_fraction: float = DEFAULT_MEMORY_FRACTION,
                  prefill_chunk_tokens: int = DEFAULT_PREFILL_CHUNK_TOKENS) -> pd.DataFrame:
    """The steady operating point of a stream of requests of
    ``input_tokens`` in and ``output_tokens`` out, continuously batched on
    ``n_devices`` devices (one model replica over all of them).

    ``batch`` running requests (default: the largest that fits: weights, the
    cache of every request at its full length, the workspace, within
    ``memory_fraction`` of each device; prompts are prefilled in chunks of
    ``prefill_chunk_tokens``, which sizes the activation workspace) share the
    devices: in the time one request is served, the group runs one prefill
    of every running prompt and ``output_tokens`` decode steps at the mean
    context. A new request's time to first token is the prefill of its
    prompt plus the decode step of the running batch it is scheduled beside
    (chunked prefill). Returns one row per
    input point: batch, TTFT, TPOT, end-to-end latency, output tokens/s of
    the group, per device and per user, the memory breakdown, the binding
    resource of decode, and, with ``ttft_slo_s``/``tpot_slo_s``, the largest
    batch that meets them (``slo_batch``, 0 when none does) and the
    throughput there. Defined in :ref:`sec_inference`."""
    s = _setup(arch, hw, n_devices, tensor_parallel, pipeline_parallel, expert_parallel, weight_dtype, kv_dtype,
               None)
    n_in = V.size("input_tokens", input_tokens, minimum=1, integer=True)
    n_out = V.size("output_tokens", output_tokens, minimum=1, integer=True)
    frac = float(V.fraction("memory_fraction", memory_fraction))
    chunk = V.size("prefill_chunk_tokens", prefill_chunk_tokens, minimum=1, integer=True)
    # a single value computes as a float64 scalar: the same arithmetic as a 0-d array, without its overhead
    n_in, n_out, chunk = _unwrap(n_in), _unwrap(n_out), _unwrap(chunk)
    b_max = _max_batch(s, n_in + n_out, chunk, frac)
    if batch is None:
        b = b_max
    else:
        b = _unwrap(V.size("batch", batch, minimum=1, integer=True))
    scalar = type(n_in) is np.float64 and type(n_out) is np.float64 and type(b) is np.float64
    shape = () if scalar else np.broadcast_shapes(np.shape(n_in), np.shape(n_out), np.shape(b))
    r = _serving(s, efficiency, n_in, n_out, b, b_max, chunk, stacklevel=4)
    fits, b_ok, ttft, tpot = r["fits"], r["batch"], r["ttft_s"], r["tpot_s"]
    group_tps = b_ok * n_out / r["cycle_s"]
    out = {
        "model": s.arch.name, "hardware": s.hw.id, "n_devices": s.layout.n_devices, "weight_dtype": s.fmt.name,
        "input_tokens": n_in, "output_tokens": n_out, "batch": b_ok, "max_batch": b_max, "fits": fits,
        "ttft_s": ttft, "tpot_s": tpot, "e2e_latency_s": ttft + (n_out - 1) * tpot,
        "output_tokens_per_s": np.where(fits, group_tps, np.nan),
        "output_tokens_per_s_per_device": np.where(fits, group_tps / s.layout.n_devices, np.nan),
        "output_tokens_per_s_per_user": np.where(fits, 1 / tpot, np.nan),
        "bound_output_tokens_per_s": np.where(fits, b_ok * n_out / (r["prefill_bound_s"] + n_out * r["tpot_bound_s"]),
                                              np.nan),
        "decode_bound": _RESOURCE_NAMES[r["decode_bound"]],
        "weight_bytes": r["weight_bytes"], "kv_cache_bytes": r["kv_cache_bytes"],
        "workspace_bytes": r["workspace_bytes"], "total_bytes": r["total_bytes"], "memory_bytes": s.hw.memory_bytes,
    }
    if ttft_slo_s is not None or tpot_slo_s is not None:
        common = dict(n_devices=n_devices, tensor_parallel=s.layout.tensor, pipeline_parallel=pipeline_parallel,
                      expert_parallel=expert_parallel, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
                      compute_dtype=None, efficiency=efficiency, memory_fraction=1.0, check_fit=False)
        out.update(_slo_batch(s, n_in, n_out, b_max, ttft_slo_s, tpot_slo_s, common, shape))
    if shape == ():  # one point
        return _point_frame(out)
    return _frame({k: np.broadcast_to(np.asarray(v), shape).flatten() for k, v in out.items()})


#: The dtype pandas gives a column of Python or numpy strings (its default string dtype).
_STR_DTYPE = pd.Series(np.array(["a"])).dtype


def _frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """A DataFrame of 1-D arrays of one length, each owned by the frame (the
    caller hands them over): the frame ``pd.DataFrame(columns)`` builds, in a
    fraction of its time. The columns go straight into pandas' blocks (one 2-D
    block per numpy dtype, as the constructor consolidates them, through
    ``pandas.api.internals.create_dataframe_from_blocks``), so no column's
    type is inferred again; strings become pandas' default string dtype as
    they would. Falls back to the constructor where pandas lacks that API or
    for other kinds of columns."""
    arrays = list(columns.values())
    if _from_blocks is None or not arrays or any(v.dtype.kind not in "fiubU" or v.ndim != 1 for v in arrays):
        return pd.DataFrame(columns, copy=False)
    n = len(arrays[0])
    blocks, by_dtype = [], {}
    for i, v in enumerate(arrays):
        if v.dtype.kind == "U":
            blocks.append((_strings(v), np.array([i])))
        else:
            by_dtype.setdefault(v.dtype, []).append(i)
    for positions in by_dtype.values():
        block = np.stack([arrays[i] for i in positions]) if len(positions) > 1 else arrays[positions[0]][None, :]
        blocks.append((block, np.array(positions)))
    return _from_blocks(blocks, index=pd.RangeIndex(n), columns=_columns(tuple(columns)))


#: The numpy dtype ``np.array(v, ndmin=1)`` gives a scalar of each type, by the
#: type (a kind of :func:`_point_frame`'s blocks; "U": a string).
_POINT_KINDS = {float: np.dtype(np.float64), np.float64: np.dtype(np.float64), bool: np.dtype(bool),
                np.bool_: np.dtype(bool), int: np.array(0).dtype, np.int64: np.dtype(np.int64), str: "U", np.str_: "U"}
#: The blocks of one-row frames, by their column names and the kind of each.
_POINT_PLANS: dict = {}


def _point_frame(values: Mapping[str, Any]) -> pd.DataFrame:
    """The one-row frame of scalar (or 0-d) ``values``: the frame
    ``_frame({k: np.array(v, ndmin=1) ...})`` builds, without making a
    one-element array of each value first. The columns of each numpy dtype
    form one block in column order, as there."""
    vals = [v[()] if type(v) is np.ndarray and v.ndim == 0 else v for v in values.values()]
    kinds = tuple(_POINT_KINDS.get(type(v)) for v in vals)
    # (``None in kinds`` would not do: a numpy dtype compares equal to None, the default float64)
    if _from_blocks is None or any(k is None for k in kinds) or any(type(v) is int and not -2**62 < v < 2**62
                                                                    for v in vals):
        return _frame({k: np.array(v, ndmin=1) for k, v in values.items()})
    names = tuple(values)
    plan = _POINT_PLANS.get((names, kinds))
    if plan is None:
        by_kind: dict = {}
        for i, k in enumerate(kinds):
            by_kind.setdefault(k, []).append(i)
        plan = [(k, pos, np.array(pos)) for k, pos in by_kind.items()]
        if len(_POINT_PLANS) > 256:
            _POINT_PLANS.clear()
        _POINT_PLANS[(names, kinds)] = plan
    blocks = []
    for kind, positions, placement in plan:
        if kind == "U":
            blocks += [(_strings(np.array([vals[i]])), np.array([i])) for i in positions]
        else:
            blocks.append((np.array([vals[i] for i in positions], dtype=kind)[:, None], placement.copy()))
    return _from_blocks(blocks, index=pd.RangeIndex(1), columns=_columns(names))


try:
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pandas before 2.3: the constructor
    _from_blocks = None

#: Column indexes and one-value string arrays already built, by their names
#: and values; each frame gets a shallow copy of its own (an index's name and
#: a frame's values can be changed in place).
_COLUMNS: dict = {}
_STRINGS: dict = {}


def _columns(names: tuple) -> pd.Index:
    index = _COLUMNS.get(names)
    if index is None:
        if len(_COLUMNS) > 256:
            _COLUMNS.clear()
        index = _COLUMNS[names] = pd.Index(list(names))
    return index._view() if hasattr(index, "_view") else index.copy()


def _strings(v: np.ndarray):
    """A numpy string column as pandas' default string array."""
    if len(v) != 1:
        return pd.array(v, dtype=_STR_DTYPE)
    key = str(v[0])
    hit = _STRINGS.get(key)
    if hit is None:
        if len(_STRINGS) > 1024:
            _STRINGS.clear()
        hit = _STRINGS[key] = pd.array(v, dtype=_STR_DTYPE)
    return hit.copy()


def _serving(s: _Setup, efficiency, n_in, n_out, b, b_max, chunk, *, stacklevel: int | None) -> dict:
    """The arrays of a serving point (:func:`serving_point`) from validated
    inputs that broadcast: the batch as run and whether it fits; the prefill
    of the batch's prompts, TPOT at the mean context and the time one
    request holds its slot (``cycle_s``: the batch's prefill and
    ``n_out`` decode steps), each expected and as an ideal bound; TTFT (a
    request's own prefill beside one decode step); the binding resource of
    decode (a code of :data:`RESOURCES`) and the memory per device. Each
    result keeps the shape of the inputs it depends on (a sweep passes an
    open grid, numpy or dask arrays). ``stacklevel`` None: the caller has
    checked the lengths and warned about contexts beyond the trained one (a
    sweep does, once)."""
    b_ok = _max(b, 1.0)
    fits = (b >= 1) & (b <= b_max)
    ctx = n_in + np.floor((n_out - 1) / 2)
    full = n_in + n_out
    if stacklevel is not None:
        if (full if type(full) is np.float64 else np.max(full)) > V.MAX_SIZE:
            V.size("context", full, integer=True)  # raises, as the memory check of a point does
        _warn_context(s, n_in, stacklevel)
    eff = _profile(efficiency, s.hw)
    comp, comm = _step(s, b_ok, n_in, 0.0, decode=False, logits_all=False)
    pre, pre_bound, _, _, _ = _times(s, comp, comm, eff, decode=False)
    if stacklevel is not None:
        _warn_context(s, ctx + 1.0, stacklevel)
    comp, comm = _step(s, b_ok, np.float64(1.0), ctx, decode=True, logits_all=False)
    tpot, tpot_bound, t_c, t_m, t_x = _times(s, comp, comm, eff, decode=True)
    if stacklevel is not None:
        _warn_context(s, n_in, stacklevel)
    # a new request's prompt is prefilled in one iteration beside the running batch's decode step
    # (chunked prefill, as TensorRT-LLM and vLLM schedule it); the batch's work per request lifetime is
    # one prefill of every prompt and output_tokens decode steps
    comp, comm = _step(s, np.float64(1.0), n_in, 0.0, decode=False, logits_all=False)
    one, _, _, _, _ = _times(s, comp, comm, eff, decode=False)
    w, kv, ws = _memory_per_device(s, b_ok, full, _min(n_in * b_ok, chunk))
    return {"batch": b_ok, "fits": fits, "ttft_s": one + tpot, "tpot_s": tpot, "prefill_s": pre,
            "cycle_s": pre + n_out * tpot, "prefill_bound_s": pre_bound, "tpot_bound_s": tpot_bound,
            "decode_bound": _resource_code(t_c, t_m, t_x), "weight_bytes": w, "kv_cache_bytes": kv,
            "workspace_bytes": ws, "total_bytes": w + kv + ws}


def _slo_batch(s, n_in, n_out, b_max, ttft_slo, tpot_slo, common, shape):
    ttft_slo = math.inf if ttft_slo is None else float(V.size("ttft_slo_s", ttft_slo, maximum=1e9))
    tpot_slo = math.inf if tpot_slo is None else float(V.size("tpot_slo_s", tpot_slo, maximum=1e9))
    best = np.zeros(shape)
    n_in_b, n_out_b, bmax_b = (np.broadcast_to(x, shape) for x in (n_in, n_out, b_max))
    for idx in np.ndindex(shape):
        lo, hi = 0, int(bmax_b[idx])
        while lo < hi:  # latency grows with batch: bisect the largest batch within both targets
            mid = (lo + hi + 1) // 2
            b = np.float64(mid)
            t2 = _run("decode", s.arch, s.hw, batch=b, new_tokens=np.float64(1.0),
                      cached=np.float64(n_in_b[idx] + (n_out_b[idx] - 1) // 2), logits="last", inputs={"batch": b},
                      **common).latency_s
            t1 = _run("prefill", s.arch, s.hw, batch=np.float64(1), new_tokens=np.float64(n_in_b[idx]),
                      cached=np.float64(0), logits="last", inputs={"batch": b}, **common).latency_s + t2
            if t1 <= ttft_slo and t2 <= tpot_slo:
                lo = mid
            else:
                hi = mid - 1
        best[idx] = lo
    return {"slo_batch": best}


def serving_throughput(arch: ArchLike, hw: HardwareLike, input_tokens: ArrayLike, output_tokens: ArrayLike, *,
                       n_devices: int = 1, weight_dtype: str = "bf16", kv_dtype: str | None = None,
                       efficiency: EfficiencyProfile | str | None = None, **kwargs):
    """Steady-state output tokens per second of the whole group of
    ``n_devices`` (the figure engines' throughput benchmarks report) for
    requests of ``input_tokens`` in and ``output_tokens`` out, at the largest
    batch that fits, with continuous batching (:func:`serving_point`). A
    float for scalar inputs (NaN when nothing fits), an array otherwise.
    Defined in :ref:`sec_inference`."""
    df = serving_point(arch, hw, input_tokens, output_tokens, n_devices=n_devices, weight_dtype=weight_dtype,
                       kv_dtype=kv_dtype, efficiency=efficiency, **kwargs)
    shape = np.broadcast_shapes(np.shape(input_tokens), np.shape(output_tokens))
    out = df["output_tokens_per_s"].to_numpy().reshape(shape)
    return float(out) if out.ndim == 0 else out


def min_devices(arch: ArchLike, hw: HardwareLike, *, batch: int = 1, context: int = 4096,
                weight_dtype: str = "bf16", kv_dtype: str | None = None,
                memory_fraction: float = DEFAULT_MEMORY_FRACTION, max_devices: int = 1024) -> int:
    """The fewest devices of ``hw`` (tensor parallel, a degree that divides the
    heads) that hold the weights and the KV cache of ``batch`` sequences of
    ``context`` tokens within ``memory_fraction`` of each. Raises when no
    degree up to ``max_devices`` does. Defined in :ref:`sec_inference`."""
    a, h = V.as_arch(arch), V.as_hardware(hw)
    if not math.isfinite(h.memory_bytes):
        raise ValueError(f"hardware {h.id!r} has no published memory_bytes")
    frac = float(V.fraction("memory_fraction", memory_fraction))
    b = V.size("batch", batch, minimum=1, integer=True)
    c = V.size("context", context, integer=True)
    linked = math.isfinite(h.interconnect_bandwidth_bytes_per_s)
    for n in range(1, int(max_devices) + 1):
        if a.n_heads % n or (not a.is_mla and a.n_kv_heads > n and a.n_kv_heads % n):
            continue
        if n > 1 and not linked:
            raise ValueError(f"{a.name} does not fit on one {h.id} at batch {batch}, context {context}, and "
                             f"{h.id} has no published interconnect to split it over several")
        s = _setup(a, h, n, None, 1, 1, weight_dtype, kv_dtype, None)
        w, kv, ws = _memory_per_device(s, b, c, b)
        if np.all(w + kv + ws <= h.memory_bytes * frac):
            return n
    raise ValueError(f"{a.name} does not fit on up to {max_devices} x {h.id} at batch {batch}, context {context}")


# ----------------------------------------------------------------------
# The roofline view
# ----------------------------------------------------------------------
def phase_roofline(arch: ArchLike, hardware: HardwareLike, *, prompt_tokens: ArrayLike = 1024,
                   context: ArrayLike | None = None, batch: ArrayLike = 1, weight_dtype: str = "bf16",
                   kv_dtype: str = "bf16", compute_dtype: str | None = None, eta_compute: ArrayLike = 1.0,
                   eta_memory: ArrayLike = 1.0, check_fit: bool = True) -> pd.DataFrame:
    """Where a prefill pass and a decode step land on ``hardware``'s roofline:
    a view on the step model of :func:`prefill` and :func:`decode` that sums
    their components into one operation (FLOP, bytes moved, intensity) and
    times it with one roofline, max(F / (pi eta_c), M / (beta eta_m)).

    Prefill: a causal pass over ``prompt_tokens`` for each of ``batch``
    sequences (logits of the last token). Decode: one new token per sequence
    at cache length ``context`` (default ``prompt_tokens``). Bytes count the
    weights read in ``weight_dtype`` (a :mod:`costmodel.formats` name; for MoE
    only the experts the batch touches), the KV cache read and written, and
    the activations each matmul reads and writes. ``batch``, ``prompt_tokens``
    and ``context`` broadcast; one row per phase and input point, with a
    column for each input, the memory weights, cache and workspace need
    (``memory_needed_bytes``) and whether it ``fits`` (False where the device
    publishes no capacity). Raises ``ValueError`` if it does not fit (unless
    ``check_fit=False``). For latencies with per-component rooflines and
    fitted efficiencies use :func:`prefill` and :func:`decode`. Defined in
    :ref:`sec_roofline`.
    """
    s = _setup(arch, hardware, 1, None, 1, 1, weight_dtype, kv_dtype, compute_dtype)
    if s.compute_dtype is None:
        s.hw.peak_flops(V.dtype("compute_dtype", compute_dtype or "bf16"))  # raises, naming the device
    b = V.size("batch", batch, minimum=1, integer=True)
    p = V.size("prompt_tokens", prompt_tokens, minimum=1, integer=True)
    c = p if context is None else V.size("context", context, integer=True)
    check_fit = V.flag("check_fit", check_fit)
    eta_c, eta_m = V.fraction("eta_compute", eta_compute), V.fraction("eta_memory", eta_memory)
    shape = V.broadcast(batch=b, prompt_tokens=p, context=c)
    b, p, c = (np.broadcast_to(x, shape) for x in (b, p, c))
    w, kv, ws = _memory_per_device(s, b, c + 1, b * p)
    need = np.broadcast_to(w + kv + ws, shape)
    if check_fit and not math.isfinite(s.hw.memory_bytes):
        raise ValueError(f"hardware {s.hw.id!r} has no published memory_bytes, so whether {s.arch.name} fits cannot "
                         "be checked; pass check_fit=False to compute the roofline anyway")
    fits = _fit_check(s, need, 1.0, False)
    if check_fit and not np.all(fits):
        raise ValueError(f"{s.arch.name} does not fit on {s.hw.id}: weights ({s.fmt.name}) + KV cache + workspace "
                         f"need {float(np.max(need)) / 1e9:.1f} GB but memory_bytes is {s.hw.memory_bytes / 1e9:.1f} GB; "
                         "reduce batch/context, quantise, or shard")
    pi, beta = s.hw.peak_flops(s.compute_dtype), s.hw.memory_bandwidth_bytes_per_s
    frames = []
    for phase, new, cached, tokens in (("prefill", p, np.zeros(shape), b * p), ("decode", np.ones(shape), c, b)):
        comp, _ = _step(s, b, new, cached, decode=phase == "decode", logits_all=False)
        flop = np.broadcast_to(sum(f for f, _ in comp.values()), shape)
        moved = np.broadcast_to(sum(m for _, m in comp.values()), shape)
        t_c, t_m = flop / (pi * eta_c), moved / (beta * eta_m)
        t = np.maximum(t_c, t_m)
        frames.append(pd.DataFrame({
            "model": s.arch.name, "hardware": s.hw.id, "phase": phase, "batch": b.ravel(),
            "prompt_tokens": p.ravel(), "context": c.ravel(), "weight_dtype": s.fmt.name,
            "compute_dtype": s.compute_dtype, "tokens": np.broadcast_to(tokens, shape).ravel(),
            "flop": flop.ravel(), "bytes": moved.ravel(), "intensity_flop_per_byte": (flop / moved).ravel(),
            "time_compute_s": np.broadcast_to(t_c, shape).ravel(), "time_memory_s": np.broadcast_to(t_m, shape).ravel(),
            "time_s": np.broadcast_to(t, shape).ravel(),
            "bound": np.where(np.broadcast_to(t_c >= t_m, shape), "compute", "memory").ravel(),
            "tokens_per_s": (np.broadcast_to(tokens, shape) / np.broadcast_to(t, shape)).ravel(),
            "memory_needed_bytes": need.ravel(), "fits": np.broadcast_to(fits, shape).ravel(),
        }))
    return pd.concat(frames, ignore_index=True)
