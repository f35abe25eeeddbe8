"""Numeric quantities: the formulas of :mod:`costmodel.formulas`, evaluated.

Every function takes an :class:`~costmodel.Architecture` (and a
:class:`~costmodel.Hardware` where a device is involved) plus workload sizes
that may be numpy arrays; the result broadcasts over them. Units are SI base
units: FLOP, byte, second. Inputs are checked here, at the boundary, so the
numeric core never sees a negative batch or a NaN.

Book sections: ``sec_memory`` (bytes), ``sec_roofline`` (FLOPs and time).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from . import formulas as F
from .architecture import Architecture
from .catalog import Hardware, load_hardware, load_model
from .dtypes import bytes_per_element, canonical_dtype

__all__ = [
    "weight_bytes",
    "kv_cache_bytes",
    "kv_cache_bytes_per_token",
    "forward_flops",
    "prefill_flops",
    "activation_bytes",
    "training_state_bytes",
    "roofline_time_s",
    "arithmetic_intensity",
    "ridge_intensity",
    "phase_roofline",
    "memory_fit_table",
]


#: Largest workload size accepted (tokens, batch, context...): 1e15 covers a
#: 15e12-token training run; beyond it an input is surely a mistake and
#: products would overflow float64.
MAX_SIZE = 1e15


def _arr(name: str, value, *, minimum: float = 0.0, integer: bool = False, maximum: float = MAX_SIZE):
    """Validate a workload size: finite, in [minimum, maximum], whole when ``integer``."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise ValueError(f"{name}={value!r} must be a number, not a boolean")
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a number or an array of numbers") from None
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}={value!r} must be finite (got NaN or infinity)")
    if np.any(a < minimum):
        bad = a[a < minimum].flat[0]
        raise ValueError(f"{name}={bad:g} must be at least {minimum:g}")
    if np.any(a > maximum):
        bad = a[a > maximum].flat[0]
        raise ValueError(f"{name}={bad:g} exceeds the largest accepted value {maximum:g}")
    if integer and np.any(a != np.round(a)):
        bad = a[a != np.round(a)].flat[0]
        raise ValueError(f"{name}={bad:g} must be a whole number")
    return a


def _check_arch(arch) -> Architecture:
    if isinstance(arch, str):
        return load_model(arch)
    if not isinstance(arch, Architecture):
        raise ValueError(f"arch={arch!r} must be an Architecture (or a catalog model id)")
    return arch


def _check_hw(hw) -> Hardware:
    if isinstance(hw, str):
        return load_hardware(hw)
    if not isinstance(hw, Hardware):
        raise ValueError(f"hardware={hw!r} must be a Hardware (or a catalog hardware id)")
    return hw


def _call(expr, arch: Architecture, **workload):
    vals = arch.symbol_values()
    vals.update(workload)
    fn = F.numeric(expr)
    return fn(**{a: vals[a] for a in fn.args})


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def weight_bytes(arch, dtype: str = "bf16", *, group_size=None, scale_dtype: str = "fp16", n_params=None):
    """Bytes to store the weights in ``dtype`` (int4 = 0.5 byte).

    With ``group_size`` (e.g. 128 for GPTQ/AWQ-style int4), one scale of
    ``scale_dtype`` per group is added: N (b_w + b_sc / G). All parameters are
    counted at ``dtype``; pass ``n_params`` to override N (e.g. active ones).
    Formula: :data:`costmodel.formulas.WEIGHT_BYTES` (book ``sec_memory``).
    """
    arch = _check_arch(arch)
    b_w = bytes_per_element(dtype)
    if group_size is None:
        g, b_sc = 1.0, 0.0
    else:
        g = _arr("group_size", group_size, minimum=1, integer=True)
        b_sc = bytes_per_element(scale_dtype, "scale_dtype")
    n = arch.n_params if n_params is None else _arr("n_params", n_params)
    return F.numeric(F.WEIGHT_BYTES)(N=n, b_w=b_w, b_sc=b_sc, G=g)


def kv_cache_bytes(arch, tokens, dtype: str = "bf16", batch=1):
    """KV-cache bytes of ``batch`` sequences of ``tokens`` tokens each.

    GQA/MQA cache 2 K d_h elements per token and block, MLA its latent plus
    rotary key (r_kv + d_rope); sliding-window blocks keep at most W tokens.
    Broadcasts over ``tokens`` and ``batch``. Formula:
    :data:`costmodel.formulas.KV_CACHE_BYTES` (book ``sec_memory``).
    """
    arch = _check_arch(arch)
    s = _arr("tokens", tokens, integer=True)
    b = _arr("batch", batch, integer=True)
    return _call(F.KV_CACHE_BYTES, arch, s=s, B=b, b_kv=bytes_per_element(dtype))


def kv_cache_bytes_per_token(arch, dtype: str = "bf16"):
    """KV-cache bytes one token adds while the context is within every window."""
    arch = _check_arch(arch)
    return float(arch.n_layers * arch.symbol_values()["e_kv"] * bytes_per_element(dtype))


def activation_bytes(arch, seq_len, batch=1, dtype: str = "bf16", *, flash_attention: bool = True,
                     dropout: bool = False):
    """Activations all blocks store for the backward pass (no recomputation).

    Korthikanti et al. (2022) generalised to GQA and gated MLPs; MoE blocks
    count the k routed experts plus the shared ones as the MLP width. With
    ``flash_attention=False`` and ``dropout=True`` on a GPT-style block this is
    S B D (34 + 5 H S / D) bytes per block in 16 bit. Book ``sec_memory``.
    """
    arch = _check_arch(arch)
    s = _arr("seq_len", seq_len, minimum=1, integer=True)
    b = _arr("batch", batch, minimum=1, integer=True)
    common = dict(s=s, B=b, b_a=bytes_per_element(dtype), p_drop=float(dropout), phi_fa=float(flash_attention))
    v = arch.symbol_values()
    if arch.is_mla:  # per-head Q/K of width d_nope + d_rope and V of d_v, all H heads
        v = dict(v, n_kv=arch.n_heads, d_h=arch.qk_nope_head_dim + arch.qk_rope_head_dim)
    else:
        v = dict(v, d_v=arch.head_dim)
    fn = F.numeric(F.ACTIVATION_BYTES_PER_BLOCK)
    dense = fn(**{a: {**v, **common}[a] for a in fn.args})
    out = (arch.n_layers - arch.n_moe_layers) * dense
    if arch.is_moe:
        f_moe = arch.n_experts_per_token * arch.d_ff_expert + arch.d_ff_shared
        moe = fn(**{a: {**v, "f": f_moe, **common}[a] for a in fn.args})
        out = out + arch.n_moe_layers * moe
    return out


def training_state_bytes(arch, weight_dtype: str = "bf16", grad_dtype: str = "bf16", optimizer_bytes_per_param=12.0):
    """Weights, gradients and optimizer state for training, without sharding.

    The default is mixed-precision Adam: 2 + 2 + 12 = 16 bytes per parameter
    (fp32 master weights, momentum and variance; Rajbhandari et al. 2020).
    """
    arch = _check_arch(arch)
    opt = _arr("optimizer_bytes_per_param", optimizer_bytes_per_param)
    return F.numeric(F.TRAINING_STATE_BYTES)(
        N=arch.n_params, b_w=bytes_per_element(weight_dtype, "weight_dtype"),
        b_g=bytes_per_element(grad_dtype, "grad_dtype"), b_opt=opt,
    )


# ----------------------------------------------------------------------
# FLOPs
# ----------------------------------------------------------------------
def forward_flops(arch, tokens, context=0):
    """Forward FLOPs of ``tokens`` tokens that each attend to ``context`` positions.

    2 FLOP per multiply-add with every matmul weight a token uses (N_mm: LM
    head included, embedding lookup, biases and norms excluded; for MoE only
    the k routed experts) plus 4 w_a FLOP per attended position and block
    (Q K^T and the weighted sum of values); sliding-window blocks attend to
    at most W positions. A decode step at cache length c is
    ``forward_flops(arch, 1, c + 1)``. For a causal pass use
    :func:`prefill_flops`. Formula: :data:`costmodel.formulas.FORWARD_FLOPS`.
    """
    arch = _check_arch(arch)
    t = _arr("tokens", tokens, integer=True)
    c = _arr("context", context, integer=True)
    return _call(F.FORWARD_FLOPS, arch, T=t, C=c, N_mm=arch.n_matmul_weights_active)


def prefill_flops(arch, prompt_tokens, cached_tokens=0):
    """Forward FLOPs of a causal pass over ``prompt_tokens`` new tokens after
    ``cached_tokens`` already cached (each token attends to the cache, the
    earlier new tokens and itself, capped at W in sliding-window blocks).
    Formula: :data:`costmodel.formulas.PREFILL_FLOPS`."""
    arch = _check_arch(arch)
    t = _arr("prompt_tokens", prompt_tokens, integer=True)
    c0 = _arr("cached_tokens", cached_tokens, integer=True)
    return _call(F.PREFILL_FLOPS, arch, T=t, C_0=c0, N_mm=arch.n_matmul_weights_active)


# ----------------------------------------------------------------------
# Roofline
# ----------------------------------------------------------------------
def _eta(name: str, v):
    a = _arr(name, v)
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError(f"{name}={v!r} must be in (0, 1]")
    return a


def roofline_time_s(flop, bytes_moved, hardware, dtype: str = "bf16", *, eta_compute=1.0, eta_memory=1.0):
    """Seconds for an operation of ``flop`` FLOP moving ``bytes_moved`` bytes:
    max(F / (pi eta_c), M / (beta eta_m)) (Williams et al. 2009).
    Formula: :data:`costmodel.formulas.ROOFLINE_TIME` (book ``sec_roofline``)."""
    hw = _check_hw(hardware)
    return F.numeric(F.ROOFLINE_TIME)(
        F_op=_arr("flop", flop, maximum=1e30), M_op=_arr("bytes_moved", bytes_moved, maximum=1e30), pi=hw.peak_flops(dtype),
        beta_mem=hw.memory_bandwidth_bytes_per_s, eta_c=_eta("eta_compute", eta_compute),
        eta_m=_eta("eta_memory", eta_memory),
    )


def arithmetic_intensity(flop, bytes_moved):
    """FLOP per byte moved."""
    m = _arr("bytes_moved", bytes_moved, maximum=1e30)
    if np.any(m <= 0):
        raise ValueError(f"bytes_moved={bytes_moved!r} must be positive")
    return F.numeric(F.ARITHMETIC_INTENSITY)(F_op=_arr("flop", flop, maximum=1e30), M_op=m)


def ridge_intensity(hardware, dtype: str = "bf16", *, eta_compute=1.0, eta_memory=1.0):
    """FLOP per byte at which ``hardware`` is equally compute- and memory-bound."""
    hw = _check_hw(hardware)
    return F.numeric(F.RIDGE_INTENSITY)(
        pi=hw.peak_flops(dtype), beta_mem=hw.memory_bandwidth_bytes_per_s,
        eta_c=_eta("eta_compute", eta_compute), eta_m=_eta("eta_memory", eta_memory),
    )


def _weights_read_params(arch: Architecture, batch):
    """Parameters read from memory by one step over ``batch`` tokens: every
    weight but the input embedding tables (a lookup reads only ``batch`` rows;
    a tied table is read whole as the LM head), and of the routed experts
    only the distinct ones the batch touches."""
    lookup_rows = np.minimum(batch, arch.vocab_size) * arch.d_model
    untied = arch.n_embedding_params - int(arch.tied_embeddings) * arch.vocab_size * arch.d_model
    dense = arch.n_params - untied + lookup_rows
    if not arch.is_moe:
        return np.asarray(dense, dtype=np.float64)
    v = arch.symbol_values()
    touched = F.numeric(F.EXPERTS_TOUCHED)(E=v["E"], k_e=v["k_e"], B=batch)
    per_expert = arch._eval_int(F.PER_EXPERT_PARAMS)
    return dense - arch.n_moe_layers * (arch.n_experts - touched) * per_expert


def phase_roofline(arch, hardware, *, prompt_tokens=1024, context=None, batch=1, weight_dtype: str = "bf16",
                   kv_dtype: str = "bf16", compute_dtype: str | None = None, eta_compute=1.0, eta_memory=1.0,
                   check_fit: bool = True) -> pd.DataFrame:
    """Where prefill and one decode step land on ``hardware``'s roofline.

    Prefill: a causal pass over ``prompt_tokens`` for each of ``batch``
    sequences; it reads the weights once and writes the KV cache. Decode: one
    new token per sequence at cache length ``context`` (default
    ``prompt_tokens``); it reads the weights (for MoE only the experts the
    batch touches) and every sequence's KV cache. Activation traffic is
    ignored. ``compute_dtype`` defaults to ``weight_dtype``; int4/fp4 weights
    on a device without such a peak are taken as weight-only quantisation
    computed in bf16. ``batch`` may be an array. Returns a tidy DataFrame, one row per
    phase and batch. Raises ``ValueError`` if weights plus KV cache do not fit
    in the device memory (unless ``check_fit=False``). Book ``sec_roofline``.
    """
    arch = _check_arch(arch)
    hw = _check_hw(hardware)
    compute_dtype = canonical_dtype(compute_dtype or weight_dtype, "compute_dtype")
    if compute_dtype in ("int4", "fp4") and not hw.has_peak(compute_dtype):
        compute_dtype = "bf16"
    b = np.atleast_1d(_arr("batch", batch, minimum=1, integer=True))
    p = _arr("prompt_tokens", prompt_tokens, minimum=1, integer=True)
    c = p if context is None else _arr("context", context, integer=True)
    w_bytes = weight_bytes(arch, weight_dtype)
    kv_final = kv_cache_bytes(arch, c + 1, kv_dtype, b)
    need = w_bytes + kv_final
    if check_fit and not math.isfinite(hw.memory_bytes):
        raise ValueError(
            f"hardware {hw.id!r} has no published memory_bytes, so whether {arch.name} fits cannot be "
            "checked; pass check_fit=False to compute the roofline anyway"
        )
    if check_fit and np.any(need > hw.memory_bytes):
        worst = float(np.max(need))
        raise ValueError(
            f"{arch.name} does not fit on {hw.id}: weights ({weight_dtype}) + KV cache need {worst / 1e9:.1f} GB "
            f"but memory_bytes is {hw.memory_bytes / 1e9:.1f} GB; reduce batch/context, quantise, or shard"
        )
    rows = []
    bpw = bytes_per_element(weight_dtype)
    for phase in ("prefill", "decode"):
        if phase == "prefill":
            flop = b * prefill_flops(arch, p)
            moved = _weights_read_params(arch, b * p) * bpw + kv_cache_bytes(arch, p, kv_dtype, b)
            tokens = b * p
        else:
            flop = b * forward_flops(arch, 1, c + 1)
            moved = _weights_read_params(arch, b) * bpw + kv_cache_bytes(arch, c, kv_dtype, b)
            tokens = b
        t_c = flop / (hw.peak_flops(compute_dtype) * _eta("eta_compute", eta_compute))
        t_m = moved / (hw.memory_bandwidth_bytes_per_s * _eta("eta_memory", eta_memory))
        t = roofline_time_s(flop, moved, hw, compute_dtype, eta_compute=eta_compute, eta_memory=eta_memory)
        rows.append(pd.DataFrame({
            "model": arch.name, "hardware": hw.id, "phase": phase, "batch": b,
            "tokens": np.broadcast_to(tokens, b.shape), "flop": flop, "bytes": moved,
            "intensity_flop_per_byte": flop / moved, "time_compute_s": t_c, "time_memory_s": t_m,
            "time_s": t, "bound": np.where(t_c >= t_m, "compute", "memory"),
            "tokens_per_s": np.broadcast_to(tokens, b.shape) / t,
        }))
    return pd.concat(rows, ignore_index=True)


def memory_fit_table(models: Iterable = None, hardware: Iterable = None, *, weight_dtype: str = "bf16",
                     context=4096, batch=1, kv_dtype: str = "bf16") -> pd.DataFrame:
    """Which models fit on which single devices: weights plus the KV cache of
    ``batch`` sequences of ``context`` tokens, against device memory.
    One row per (model, device). Book ``sec_memory``."""
    from .catalog import list_hardware, list_models

    archs = [_check_arch(m) for m in (models if models is not None else list_models())]
    hws = [_check_hw(h) for h in (hardware if hardware is not None else list_hardware())]
    rows = []
    for a in archs:
        w = float(weight_bytes(a, weight_dtype))
        kv = float(kv_cache_bytes(a, context, kv_dtype, batch))
        for h in hws:
            cap = h.memory_bytes
            rows.append({
                "model": a.name, "n_params": a.n_params, "hardware": h.id, "category": h.category,
                "weight_bytes": w, "kv_cache_bytes": kv, "total_bytes": w + kv, "memory_bytes": cap,
                "fraction_of_memory": (w + kv) / cap if math.isfinite(cap) else math.nan,
                "fits": bool(w + kv <= cap) if math.isfinite(cap) else False,
            })
    return pd.DataFrame(rows)
