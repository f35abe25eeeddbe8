"""Fine-tuning: full, LoRA, QLoRA, distillation, RLHF (PPO), DPO and federated rounds.

One function per technique, each returning a tidy DataFrame with one row per
broadcast input point and the same core columns: the trainable parameters,
bytes per device by component (frozen base, trainable weights, gradients,
optimizer state, activations) against the device's capacity, FLOPs per token
(model and hardware, i.e. with recomputation), the time at a utilisation,
device-hours, dollars (a dated price, :mod:`costmodel.prices`) and energy.

* :func:`full_finetune` is training (:func:`costmodel.training_memory`,
  :func:`costmodel.training_flops`) on a fine-tuning set.
* :func:`lora_finetune` freezes the base and trains rank-r adapters
  B A on the matmul records named in ``targets`` (``"q"``, ``"k"``, ``"v"``,
  ``"o"``, ``"gate"``, ``"up"``, ``"down"``, ``"expert_up"``... as in
  :func:`costmodel.matmul_table`; ``"all-linear"`` adapts every block matrix
  but the router): r (d_in + d_out) parameters each (Hu et al. 2021). The
  frozen weights need no gradient and no optimizer state, but the backward
  pass still computes the activation gradients through them: about 4 N
  instead of 6 N FLOP per token, plus 6 per adapter parameter
  (:data:`costmodel.formulas.LORA_FLOPS_PER_TOKEN`).
* :func:`qlora_finetune` is LoRA over a 4-bit NormalFloat base with double
  quantisation, 4 + 8/64 + 32/(64 x 256) = 4.127 bits per block weight
  (Dettmers et al. 2023; embeddings and LM head stay in 16 bit), 16-bit
  adapters, a paged 32-bit AdamW and gradient checkpointing.
* :func:`distillation`: a teacher's forward pass plus the student's training.
* :func:`rlhf_ppo`: actor, critic, reference and reward models; generation
  timed with the inference step model (:func:`costmodel.prefill`,
  :func:`costmodel.decode`). :func:`dpo`: policy and reference on preference pairs.
* :func:`federated_finetune`: bytes a client sends per round for the full
  weights or the LoRA adapters over its link, local training time and memory
  on an edge device of the catalog.

Not modelled: communication between devices (a run split over several is
timed at the utilisation only; :func:`costmodel.training_run` has the step
model for large full fine-tunes), the dequantisation work of a quantised
base, memory fragmentation and framework buffers. Activations are counted
as in full training (Korthikanti et al. 2022), an upper bound for a frozen
base, whose matmuls need not keep their inputs. Every numeric argument
takes numpy arrays. Defined in :ref:`sec_finetune`.

    >>> import costmodel as cm
    >>> r = cm.lora_finetune("llama-2-7b", "a100-sxm-80gb", 1e8, 2048, rank=8, targets=("q", "v"))
    >>> int(r["trainable_params"].iloc[0])   # 32 blocks x 2 x 8 x (4096 + 4096)
    4194304
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F
from .architecture import Architecture
from .catalog import Hardware
from .dtypes import bytes_per_element
from .formats import WEIGHT_FORMATS, WeightFormat
from .inference import _weights as _stored_weights
from .inference import decode, prefill
from .prices import price_per_device_hour
from .quantities import kv_cache_bytes, matmul_table
from .training import (
    RECOMPUTE,
    _RHO,
    Parallelism,
    _as_parallelism,
    _choice,
    _degrees,
    _eval,
    _optimizer_bytes,
    default_mfu,
    training_energy_kwh,
    training_flops,
    training_memory,
)
from ._validate import ArchLike, ArrayLike, HardwareLike

__all__ = [
    "NF4_LAYOUT",
    "NF4_DQ_LAYOUT",
    "NF4_BITS",
    "NF4_DQ_BITS",
    "BASE_FORMATS",
    "QLORA_BASE_FORMATS",
    "ALL_LINEAR",
    "lora_targets",
    "lora_params",
    "full_finetune",
    "lora_finetune",
    "qlora_finetune",
    "QLORA_OPTIMIZER_BYTES",
    "FEDERATED_METHODS",
    "distillation",
    "rlhf_ppo",
    "dpo",
    "federated_finetune",
]

#: NF4's layout (Dettmers et al. 2023, section 3) in the symbols of
#: :data:`costmodel.formulas.QUANT_BITS_PER_PARAM`: 4-bit values in blocks of
#: G = 64 with one fp32 absmax constant each (k_c1 = 32, no second level).
NF4_LAYOUT: Mapping[str, float] = MappingProxyType({"k_q": 4.0, "k_c1": 32.0, "k_c2": 0.0, "G": 64.0, "G_2": 256.0})
#: With double quantisation: the absmax constants in 8 bits (k_c1), in blocks
#: of G_2 = 256 that share one fp32 constant (k_c2 = 32).
NF4_DQ_LAYOUT: Mapping[str, float] = MappingProxyType({**NF4_LAYOUT, "k_c1": 8.0, "k_c2": 32.0})
#: Bits per weight of NF4: 4 + 32/64 = 4.5.
NF4_BITS = float(F.numeric(F.QUANT_BITS_PER_PARAM)(**NF4_LAYOUT))
#: Bits per weight of NF4 with double quantisation: 4 + 8/64 + 32/(64 x 256) = 4.127.
NF4_DQ_BITS = float(F.numeric(F.QUANT_BITS_PER_PARAM)(**NF4_DQ_LAYOUT))

_QLORA_SOURCE = ("Dettmers et al. 2023 (QLoRA), section 3: NF4 blocks of 64, fp32 or double-quantised constants; "
                 "bitsandbytes quantises the block linear layers, embeddings and LM head stay in 16 bit")
#: Formats a frozen base can be fine-tuned through: 16-bit and fp32 (LoRA),
#: bitsandbytes' LLM.int8 (8-bit LoRA) and NF4 with or without double
#: quantisation (QLoRA). Checkpoint formats for inference only (GPTQ/AWQ
#: ``int4``, llama.cpp, MX) are not among them.
BASE_FORMATS: Mapping[str, WeightFormat] = MappingProxyType({
    "bf16": WEIGHT_FORMATS["bf16"], "fp16": WEIGHT_FORMATS["fp16"], "fp32": WEIGHT_FORMATS["fp32"],
    "int8": WEIGHT_FORMATS["int8"],
    "nf4": WeightFormat("nf4", "int4", NF4_BITS, 16, 16, 16, "activation", _QLORA_SOURCE),
    "nf4-dq": WeightFormat("nf4-dq", "int4", NF4_DQ_BITS, 16, 16, 16, "activation", _QLORA_SOURCE),
})
#: The quantised bases of :func:`qlora_finetune`.
QLORA_BASE_FORMATS: tuple[str, ...] = ("nf4-dq", "nf4", "int8")
_LORA_BASE_FORMATS: tuple[str, ...] = ("bf16", "fp16", "fp32")

#: ``targets="all-linear"``: every matrix of the blocks but the MoE router
#: and the shared-expert gate (PEFT's ``all-linear`` leaves the LM head out too).
ALL_LINEAR = "all-linear"
_NOT_LINEAR_TARGETS = ("router", "shared_gate")


# ----------------------------------------------------------------------
# Targets and adapter parameters
# ----------------------------------------------------------------------
def _block_matrices(arch: Architecture) -> pd.DataFrame:
    t = matmul_table(arch)
    return t[(t["block"] != "lm head") & (t["d_in"] > 0)].reset_index(drop=True)


def _normalise_target(name: Any) -> str:
    if not isinstance(name, str):
        raise ValueError(f"targets: {name!r} must be a matmul name such as 'q', 'v' or 'down'")
    key = name.strip().lower().split(".")[-1]
    return key[:-5] if key.endswith("_proj") else key


def lora_targets(arch: ArchLike, targets: str | Iterable[str] = ("q", "v")) -> tuple[str, ...]:
    """The matmul records of ``arch`` that ``targets`` names, validated:
    record names of :func:`costmodel.matmul_table` (``"q"``, ``"k"``,
    ``"v"``, ``"o"``, ``"gate"``, ``"up"``, ``"down"``, ``"expert_up"``...;
    Hugging Face names such as ``"q_proj"`` are accepted) or ``"all-linear"``.
    A name the architecture does not have (``"gate"`` in a model without a
    gated MLP, ``"q"`` in an MLA model with a query bottleneck) raises
    ``ValueError`` naming it and listing those it has.
    Defined in :ref:`sec_finetune`."""
    arch = V.as_arch(arch)
    have = list(dict.fromkeys(_block_matrices(arch)["matmul"]))
    if isinstance(targets, str):
        if targets.strip().lower() == ALL_LINEAR:
            return tuple(n for n in have if n not in _NOT_LINEAR_TARGETS)
        targets = (targets,)
    try:
        names = [_normalise_target(t) for t in targets]
    except TypeError:
        raise ValueError(f"targets={targets!r} must be 'all-linear' or a list of matmul names") from None
    if not names:
        raise ValueError("targets=() names no matrix to adapt")
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(f"targets={missing[0]!r}: {arch.name} has no such matrix; it has {have} "
                         f"(or pass {ALL_LINEAR!r})")
    return tuple(dict.fromkeys(names))


def _rank(arch: Architecture, targets: tuple[str, ...], rank: Any) -> np.ndarray:
    r = V.size("rank", rank, minimum=1, integer=True, maximum=1e6)
    mats = _block_matrices(arch)
    mats = mats[mats["matmul"].isin(targets)]
    smallest = mats.assign(width=np.minimum(mats["d_in"], mats["d_out"])).sort_values("width").iloc[0]
    if np.any(r > smallest["width"]):
        raise ValueError(f"rank={float(np.max(r)):g} is larger than the {smallest['matmul']!r} matrix of "
                         f"{arch.name} ({smallest['d_in']} x {smallest['d_out']}): a rank-r adapter needs "
                         f"r <= min(d_in, d_out) = {smallest['width']}")
    return r


def _adapter_params(arch: Architecture, targets: tuple[str, ...], r, active: bool = False):
    expr = F.lora_params(tuple(sorted(targets)), arch.is_mla, active)
    return _eval(expr, arch, r_lora=r)


def lora_params(arch: ArchLike, rank: ArrayLike = 8, targets: str | Iterable[str] = ("q", "v")):
    """N_A: parameters of rank-``rank`` (r) LoRA adapters on the matrices
    named in ``targets`` in every block, r (d_in + d_out) per stored matrix
    (Hu et al. 2021; routed experts each get their own). Broadcasts over
    ``rank``; a rank above min(d_in, d_out) of a targeted matrix raises
    ``ValueError``. Formula :func:`costmodel.formulas.lora_params`.

    >>> import costmodel as cm
    >>> int(cm.lora_params("llama-2-7b", 16, "all-linear"))
    39976960

    Defined in :ref:`sec_finetune`.
    """
    arch = V.as_arch(arch)
    t = lora_targets(arch, targets)
    return _adapter_params(arch, t, _rank(arch, t, rank))


# ----------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------
def _base_format(name: Any, allowed: tuple[str, ...], technique: str) -> WeightFormat:
    if not isinstance(name, str) or name.strip().lower() not in allowed:
        known = f"; {technique} takes {allowed}"
        if isinstance(name, str) and name.strip().lower() in WEIGHT_FORMATS:
            raise ValueError(f"base_format={name!r} is a checkpoint format for inference: no fine-tuning library "
                             f"trains adapters through it{known}")
        raise ValueError(f"base_format={name!r} is not a base {technique} can fine-tune through{known}")
    return BASE_FORMATS[name.strip().lower()]


def _price(hw: Hardware, price_per_device_hour_usd, price_date, provider, region, pricing_model):
    if price_per_device_hour_usd is not None:
        return V.size("price_per_device_hour_usd", price_per_device_hour_usd, maximum=1e6)
    if price_date is not None:
        return price_per_device_hour(hw, price_date, provider=provider, region=region, pricing_model=pricing_model)
    return math.nan


def _utilisation(hfu):
    return default_mfu().value if hfu is None else V.fraction("hfu", hfu)


def _money(hw: Hardware, hfu, price: tuple, pue=None, electricity=None) -> dict:
    """The utilisation, price per device-hour, PUE and electricity price, validated, to broadcast with the rest."""
    out = {"hfu": _utilisation(hfu), "price": _price(hw, *price)}
    if pue is not None:
        out["pue"] = V.size("pue", pue, minimum=1.0, maximum=10.0)
    if electricity is not None:
        out["electricity"] = V.size("electricity_usd_per_kwh", electricity, maximum=1e3)
    return out


def _flat(**arrays):
    shape = V.broadcast(**arrays)
    return shape, {k: np.broadcast_to(v, shape).ravel() if shape else np.atleast_1d(v) for k, v in arrays.items()}


def _sharded(expr, deg: dict, **values):
    """``expr`` at ``values`` and the parallel degrees ``deg`` of :func:`costmodel.training._degrees`."""
    fn = F.numeric(expr)
    return fn(**{k: values[k] if k in values else deg[k] for k in fn.args})


def _frozen_bytes(arch: Architecture, fmt: WeightFormat, deg: dict):
    """Bytes of the frozen base one device holds, in ``fmt`` as stored."""
    stored = _stored_weights(arch, fmt).total_bytes
    return _sharded(F.FROZEN_BYTES_PER_DEVICE, deg, N=float(arch.n_params), b_base=stored / arch.n_params)


def _adapter_bytes(n_a, b_w: float, b_opt, deg: dict):
    """Weights, gradients and optimizer state of N_A trainable parameters per device."""
    return (_sharded(F.WEIGHT_BYTES_PER_DEVICE, deg, N=n_a, b_w=b_w),
            _sharded(F.GRADIENT_BYTES_PER_DEVICE, deg, N=n_a, b_g=b_w),
            _sharded(F.OPTIMIZER_BYTES_PER_DEVICE, deg, N=n_a, b_opt=b_opt))


def _activations(arch, hw, s, par, recompute, activation_dtype, flash_attention):
    mem = training_memory(arch, hw, s, par, optimizer=0.0, recompute=recompute, activation_dtype=activation_dtype,
                          flash_attention=flash_attention)
    return mem["activations_bytes"].to_numpy()


def _time_cost(hw: Hardware, flops, n_dev: int, compute_dtype: str, a: dict):
    """Time at utilisation a["hfu"], device-hours, dollars at a["price"], energy and its price (flat inputs ``a``)."""
    u, price = a["hfu"], a["price"]
    pi = hw.peak_flops(V.dtype("compute_dtype", compute_dtype))
    seconds = flops / (n_dev * pi * u)
    device_hours = seconds * n_dev / 3600
    cost = F.numeric(F.TRAINING_COST_USD)(tau_dev=device_hours * 3600, c_dev=price)
    if math.isfinite(hw.tdp_w):
        energy = training_energy_kwh(device_hours, hw, pue=a.get("pue"))
    else:
        energy = np.full(np.shape(device_hours), math.nan)
    elec = energy * a.get("electricity", math.nan)
    return {"hfu": u + 0 * seconds, "time_s": seconds, "time_h": seconds / 3600, "device_hours": device_hours,
            "price_per_device_hour_usd": price + 0 * seconds, "cost_usd": cost, "energy_kwh": energy,
            "electricity_cost_usd": elec}


def _fit_columns(hw: Hardware, total, pageable=0.0):
    cap = hw.memory_bytes
    resident = total - pageable
    if math.isfinite(cap):
        return {"memory_bytes": cap, "fits": resident <= cap, "shortfall_bytes": np.maximum(resident - cap, 0.0)}
    return {"memory_bytes": cap, "fits": np.zeros(np.shape(total), bool),
            "shortfall_bytes": np.full(np.shape(total), math.nan)}


def _frame(head: dict, cols: dict) -> pd.DataFrame:
    n = max((np.size(v) for v in cols.values() if isinstance(v, np.ndarray)), default=1)
    out = {**head, **{k: np.broadcast_to(np.asarray(v), (n,)) if np.ndim(v) or isinstance(v, np.ndarray) else v
                      for k, v in cols.items()}}
    return pd.DataFrame(out, index=range(n))


def _common(arch, hw, tokens, seq_len):
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    return arch, hw, {"tokens": V.size("tokens", tokens, minimum=1),
                      "seq_len": V.size("seq_len", seq_len, minimum=1, integer=True)}


# ----------------------------------------------------------------------
# Full fine-tuning
# ----------------------------------------------------------------------
def full_finetune(arch: ArchLike, hw: HardwareLike, tokens: ArrayLike, seq_len: ArrayLike, *,
                  parallelism: Parallelism | None = None, optimizer: str | float = "adam", recompute: str = "none",
                  compute_dtype: str = "bf16", hfu: ArrayLike | None = None,
                  price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
                  price_provider: str | None = None, price_region: str | None = None,
                  pricing_model: str = "on_demand", pue: ArrayLike | None = None,
                  electricity_usd_per_kwh: ArrayLike | None = None, flash_attention: bool = True) -> pd.DataFrame:
    """Fine-tune every weight of ``arch`` on ``tokens`` tokens in sequences of
    ``seq_len``: training on a small set. Memory per device is
    :func:`costmodel.training_memory` (16-bit weights and gradients,
    ``optimizer`` a name of :data:`costmodel.training.OPTIMIZERS` or bytes per
    parameter, ZeRO and parallel splits from ``parallelism``, default one
    device); FLOPs are :func:`costmodel.training_flops` with attention at
    ``seq_len`` (model FLOPs, and hardware FLOPs with ``recompute``). Time is
    the hardware FLOPs over the devices' ``compute_dtype`` peak at
    utilisation ``hfu`` (default :func:`costmodel.default_mfu`, an
    end-to-end figure of pretraining runs). Cost from
    ``price_per_device_hour_usd`` or the dated catalog price at
    ``price_date`` (NaN without either: no hidden current price); energy at
    the device's TDP times ``pue``; ``electricity_usd_per_kwh`` prices it.
    One row per broadcast input, columns shared with the other techniques.
    Defined in :ref:`sec_finetune`.
    """
    arch, hw, arrays = _common(arch, hw, tokens, seq_len)
    par = _as_parallelism(parallelism)
    arrays["optimizer"] = _optimizer_bytes(optimizer)
    price = (price_per_device_hour_usd, price_date, price_provider, price_region, pricing_model)
    _, a = _flat(**arrays, **_money(hw, hfu, price, pue, electricity_usd_per_kwh))
    recompute = _choice("recompute", recompute, RECOMPUTE)
    core = _full_core(arch, hw, a, par, recompute, V.flag("flash_attention", flash_attention))
    flops = a["tokens"] * core["hardware_flop_per_token"]
    cols = {"tokens": a["tokens"], **core, "flops": flops, **_time_cost(hw, flops, par.n_devices, compute_dtype, a)}
    head = {"technique": "full", "model": arch.name, "hardware": hw.id, "layout": par.label(),
            "n_devices": par.n_devices, "recompute": recompute, "base_format": "bf16", "targets": "all"}
    return _frame(head, cols)


# ----------------------------------------------------------------------
# LoRA and QLoRA
# ----------------------------------------------------------------------
def _adapter_core(arch: Architecture, hw: Hardware, a: dict, t: tuple[str, ...], fmt: WeightFormat,
                  par: Parallelism, recompute: str, adapter_dtype: str, paged: bool, flash_attention: bool) -> dict:
    """Trainable parameters, memory per device and FLOPs per token of adapter
    training (validated, flattened inputs ``a``: seq_len, rank, optimizer)."""
    deg = _degrees(par)
    b_w = bytes_per_element(V.dtype("adapter_dtype", adapter_dtype))
    n_a = _adapter_params(arch, t, a["rank"])
    frozen = _frozen_bytes(arch, fmt, deg) + 0 * n_a
    w_a, g_a, o_a = _adapter_bytes(n_a, b_w, a["optimizer"], deg)
    acts = _activations(arch, hw, a["seq_len"], par, recompute, adapter_dtype, flash_attention)
    total = frozen + w_a + g_a + o_a + acts
    pageable = o_a if paged else 0.0 * total
    rho = _RHO[recompute]
    n_a_act = _adapter_params(arch, t, a["rank"], active=True)
    model_tok = _eval(F.LORA_FLOPS_PER_TOKEN, arch, N=float(arch.n_active_params), N_A=n_a_act, s=a["seq_len"])
    hw_tok = model_tok + _eval(F.LORA_RECOMPUTE_FLOPS_PER_TOKEN, arch, N_A=n_a_act, s=a["seq_len"],
                               rho_full=rho[0], rho_sel=rho[1])
    return {
        "seq_len": a["seq_len"].astype(np.int64), "rank": a["rank"],
        "trainable_params": n_a, "trainable_fraction": n_a / arch.n_params,
        "frozen_bytes": frozen, "trainable_weights_bytes": w_a, "gradients_bytes": g_a, "optimizer_bytes": o_a,
        "activations_bytes": acts, "pageable_bytes": pageable, "total_bytes": total,
        **_fit_columns(hw, total, pageable),
        "model_flop_per_token": model_tok, "hardware_flop_per_token": hw_tok,
    }


def _full_core(arch: Architecture, hw: Hardware, a: dict, par: Parallelism, recompute: str,
               flash_attention: bool) -> dict:
    """The same for training every weight (validated inputs ``a``: seq_len, optimizer)."""
    mem = training_memory(arch, hw, a["seq_len"], par, optimizer=a["optimizer"], recompute=recompute,
                          flash_attention=flash_attention)
    total = mem["total_bytes"].to_numpy()
    return {
        "seq_len": a["seq_len"].astype(np.int64), "rank": np.nan,
        "trainable_params": float(arch.n_params), "trainable_fraction": 1.0,
        "frozen_bytes": 0.0, "trainable_weights_bytes": mem["weights_bytes"].to_numpy(),
        "gradients_bytes": mem["gradients_bytes"].to_numpy(), "optimizer_bytes": mem["optimizer_bytes"].to_numpy(),
        "activations_bytes": mem["activations_bytes"].to_numpy(), "pageable_bytes": 0.0, "total_bytes": total,
        **_fit_columns(hw, total),
        "model_flop_per_token": training_flops(arch, 1.0, a["seq_len"]),
        "hardware_flop_per_token": training_flops(arch, 1.0, a["seq_len"], recompute),
    }


def _adapters(technique, arch, hw, tokens, seq_len, *, rank, targets, base_format, allowed, adapter_dtype, optimizer,
              recompute, parallelism, compute_dtype, hfu, paged_optimizer, price, pue, electricity,
              flash_attention) -> pd.DataFrame:
    arch, hw, arrays = _common(arch, hw, tokens, seq_len)
    t = lora_targets(arch, targets)
    arrays["rank"] = _rank(arch, t, rank)
    arrays["optimizer"] = _optimizer_bytes(optimizer)
    _, a = _flat(**arrays, **_money(hw, hfu, price, pue, electricity))
    fmt = _base_format(base_format, allowed, technique)
    par = _as_parallelism(parallelism)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    core = _adapter_core(arch, hw, a, t, fmt, par, recompute, adapter_dtype,
                         V.flag("paged_optimizer", paged_optimizer), V.flag("flash_attention", flash_attention))
    flops = a["tokens"] * core["hardware_flop_per_token"]
    cols = {"tokens": a["tokens"], **core, "flops": flops, **_time_cost(hw, flops, par.n_devices, compute_dtype, a)}
    head = {"technique": technique, "model": arch.name, "hardware": hw.id, "layout": par.label(),
            "n_devices": par.n_devices, "recompute": recompute, "base_format": fmt.name, "targets": ",".join(t)}
    return _frame(head, cols)


def lora_finetune(arch: ArchLike, hw: HardwareLike, tokens: ArrayLike, seq_len: ArrayLike, *, rank: ArrayLike = 8,
                  targets: str | Iterable[str] = ("q", "v"), base_format: str = "bf16", adapter_dtype: str = "bf16",
                  optimizer: str | float = "adam", recompute: str = "none", parallelism: Parallelism | None = None,
                  compute_dtype: str = "bf16", hfu: ArrayLike | None = None,
                  price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
                  price_provider: str | None = None, price_region: str | None = None,
                  pricing_model: str = "on_demand", pue: ArrayLike | None = None,
                  electricity_usd_per_kwh: ArrayLike | None = None, flash_attention: bool = True) -> pd.DataFrame:
    """LoRA (Hu et al. 2021): the base frozen in ``base_format`` (``"bf16"``,
    ``"fp16"`` or ``"fp32"``), rank-``rank`` adapters on the matrices named in
    ``targets`` (default ``("q", "v")``, the paper's choice for GPT-3) in
    ``adapter_dtype`` with their gradients and ``optimizer`` state.
    Trainable parameters N_A = sum of r (d_in + d_out)
    (:func:`lora_params`); memory per device
    :data:`costmodel.formulas.LORA_BYTES_PER_DEVICE` (frozen base, adapter
    state, activations as :func:`costmodel.training_memory` counts them);
    FLOPs per token :data:`costmodel.formulas.LORA_FLOPS_PER_TOKEN`, 4 N +
    6 N_A + attention, plus what ``recompute`` runs again. Time, cost and
    energy as :func:`full_finetune`. A rank above a targeted matrix's
    smaller side, a target the architecture lacks or a quantised
    ``base_format`` (use :func:`qlora_finetune`) raise ``ValueError``. One
    row per broadcast input of ``tokens``, ``seq_len``, ``rank`` and a
    numeric ``optimizer``. Defined in :ref:`sec_finetune`.
    """
    return _adapters("lora", arch, hw, tokens, seq_len, rank=rank, targets=targets, base_format=base_format,
                     allowed=_LORA_BASE_FORMATS, adapter_dtype=adapter_dtype, optimizer=optimizer,
                     recompute=recompute, parallelism=parallelism, compute_dtype=compute_dtype, hfu=hfu,
                     paged_optimizer=False,
                     price=(price_per_device_hour_usd, price_date, price_provider, price_region, pricing_model),
                     pue=pue, electricity=electricity_usd_per_kwh, flash_attention=flash_attention)


#: QLoRA's optimizer state per adapter parameter: paged 32-bit AdamW keeps
#: fp32 momentum and variance (8 bytes); the adapters train in bf16 without
#: an fp32 master copy (Dettmers et al. 2023; ``paged_adamw_32bit`` with
#: ``--bf16`` in their qlora.py).
QLORA_OPTIMIZER_BYTES = 8.0


def qlora_finetune(arch: ArchLike, hw: HardwareLike, tokens: ArrayLike, seq_len: ArrayLike, *,
                   rank: ArrayLike = 64, targets: str | Iterable[str] = ALL_LINEAR, base_format: str = "nf4-dq",
                   adapter_dtype: str = "bf16", optimizer: str | float = QLORA_OPTIMIZER_BYTES,
                   paged_optimizer: bool = True, recompute: str = "full", parallelism: Parallelism | None = None,
                   compute_dtype: str = "bf16", hfu: ArrayLike | None = None,
                   price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
                   price_provider: str | None = None, price_region: str | None = None,
                   pricing_model: str = "on_demand", pue: ArrayLike | None = None,
                   electricity_usd_per_kwh: ArrayLike | None = None, flash_attention: bool = True) -> pd.DataFrame:
    """QLoRA (Dettmers et al. 2023): LoRA over a quantised frozen base.
    ``base_format`` is ``"nf4-dq"`` (4-bit NormalFloat, blocks of 64, double
    quantisation: :data:`NF4_DQ_BITS` bits per block weight), ``"nf4"``
    (fp32 constants, :data:`NF4_BITS`) or ``"int8"`` (LLM.int8); embeddings
    and LM head stay in 16 bit. Defaults follow the paper: rank 64 on every
    linear layer of the blocks, bf16 adapters, paged 32-bit AdamW
    (:data:`QLORA_OPTIMIZER_BYTES`), gradient checkpointing
    (``recompute="full"``), matmuls in ``compute_dtype`` after
    dequantisation. With ``paged_optimizer`` the optimizer state can be paged
    to CPU memory when the device runs short (NVIDIA unified memory), so it is
    reported in ``pageable_bytes`` and left out of ``fits``; ``total_bytes``
    still counts it. Other formats (GPTQ/AWQ ``int4``, llama.cpp, MX) raise
    ``ValueError``. Otherwise as :func:`lora_finetune`.
    Defined in :ref:`sec_finetune`.
    """
    return _adapters("qlora", arch, hw, tokens, seq_len, rank=rank, targets=targets, base_format=base_format,
                     allowed=QLORA_BASE_FORMATS, adapter_dtype=adapter_dtype, optimizer=optimizer,
                     recompute=recompute, parallelism=parallelism, compute_dtype=compute_dtype, hfu=hfu,
                     paged_optimizer=paged_optimizer,
                     price=(price_per_device_hour_usd, price_date, price_provider, price_region, pricing_model),
                     pue=pue, electricity=electricity_usd_per_kwh, flash_attention=flash_attention)


# ----------------------------------------------------------------------
# Distillation
# ----------------------------------------------------------------------
def _effective_params(arch: Architecture, s):
    """N_eff: parameters a token costs with attention at sequence length s."""
    return _eval(F.EFFECTIVE_PARAMS_PER_TOKEN, arch, N=float(arch.n_active_params), s=s)


def distillation(teacher: ArchLike, student: ArchLike, tokens: ArrayLike, seq_len: ArrayLike | None = None, *,
                 hw: HardwareLike | None = None, parallelism: Parallelism | None = None,
                 teacher_format: str = "bf16", optimizer: str | float = "adam", recompute: str = "none",
                 logits_dtype: str = "fp32", compute_dtype: str = "bf16", hfu: ArrayLike | None = None,
                 price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
                 price_provider: str | None = None, price_region: str | None = None,
                 pricing_model: str = "on_demand", pue: ArrayLike | None = None) -> pd.DataFrame:
    """Logit distillation of ``teacher`` into ``student`` on ``tokens``
    tokens: each token costs a teacher forward pass (its logits are the soft
    targets) plus the student's training step. ``seq_len=None``: the
    scaling-law convention, (2 N_tch + 6 N) per token
    (:data:`costmodel.formulas.DISTILLATION_FLOPS_6ND`); with ``seq_len``,
    PaLM's model FLOPs with attention for both. The two must share a
    vocabulary (``ValueError`` otherwise). ``overhead`` is the FLOPs over
    the student's training alone. With ``hw`` (and ``seq_len``) the row adds
    memory per device (the student's :func:`costmodel.training_memory`, the
    frozen teacher in ``teacher_format``, and the teacher's logits of one
    micro-batch in ``logits_dtype``) and time and cost as
    :func:`full_finetune`. Defined in :ref:`sec_finetune`.
    """
    tch, stu = V.as_arch(teacher, "teacher"), V.as_arch(student, "student")
    if tch.vocab_size != stu.vocab_size:
        raise ValueError(f"teacher {tch.name} (vocab_size={tch.vocab_size}) and student {stu.name} "
                         f"(vocab_size={stu.vocab_size}) do not share a vocabulary: logit distillation needs one")
    arrays = {"tokens": V.size("tokens", tokens, minimum=1)}
    if seq_len is not None:
        arrays["seq_len"] = V.size("seq_len", seq_len, minimum=1, integer=True)
    if hw is not None:
        if seq_len is None:
            raise ValueError("hw given without seq_len: memory and time need the sequence length")
        arrays["optimizer"] = _optimizer_bytes(optimizer)
        arrays.update(_money(V.as_hardware(hw), hfu, (price_per_device_hour_usd, price_date, price_provider,
                                                      price_region, pricing_model), pue))
    _, a = _flat(**arrays)
    t = a["tokens"]
    if seq_len is None:
        total_tok = F.numeric(F.DISTILLATION_FLOPS_6ND)(N=float(stu.n_active_params),
                                                        N_tch=float(tch.n_active_params), T_tr=1.0)
        student_tok = training_flops(stu, 1.0)
        teacher_tok = total_tok - student_tok
    else:
        s = a["seq_len"]
        teacher_tok = _eval(F.FORWARD_FLOPS_PER_TRAIN_TOKEN, tch, N=float(tch.n_active_params), s=s)
        student_tok = training_flops(stu, 1.0, s)
        total_tok = teacher_tok + student_tok
    cols = {"tokens": t, "seq_len": a.get("seq_len", np.nan), "teacher_flop_per_token": teacher_tok + 0 * t,
            "student_flop_per_token": student_tok + 0 * t, "flop_per_token": total_tok + 0 * t,
            "flops": t * total_tok, "overhead": total_tok / student_tok + 0 * t}
    head = {"technique": "distillation", "teacher": tch.name, "model": stu.name}
    if hw is None:
        return _frame(head, cols)
    hwo = V.as_hardware(hw)
    par = _as_parallelism(parallelism)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    s = a["seq_len"]
    mem = training_memory(stu, hwo, s, par, optimizer=a["optimizer"], recompute=recompute)
    frozen = _frozen_bytes(tch, _base_format(teacher_format, tuple(BASE_FORMATS), "distillation"), _degrees(par))
    logit_bytes = par.micro_batch_size * s * tch.vocab_size * bytes_per_element(V.dtype("logits_dtype",
                                                                                          logits_dtype))
    hw_tok = teacher_tok + training_flops(stu, 1.0, s, recompute)
    total = mem["total_bytes"].to_numpy() + frozen + logit_bytes
    cols.update({
        "frozen_bytes": frozen + 0 * total, "trainable_weights_bytes": mem["weights_bytes"].to_numpy(),
        "gradients_bytes": mem["gradients_bytes"].to_numpy(), "optimizer_bytes": mem["optimizer_bytes"].to_numpy(),
        "activations_bytes": mem["activations_bytes"].to_numpy(), "teacher_logits_bytes": logit_bytes + 0 * total,
        "total_bytes": total, **_fit_columns(hwo, total),
        "hardware_flop_per_token": hw_tok,
        **_time_cost(hwo, t * hw_tok, par.n_devices, compute_dtype, a),
    })
    head.update(hardware=hwo.id, layout=par.label(), n_devices=par.n_devices, recompute=recompute)
    return _frame(head, cols)


# ----------------------------------------------------------------------
# RLHF: PPO and DPO
# ----------------------------------------------------------------------
def _recompute_extra(arch: Architecture, s, recompute: str):
    """FLOPs per token that ``recompute`` adds to a training step."""
    return training_flops(arch, 1.0, s, recompute) - training_flops(arch, 1.0, s)


def _generation_time(actor: Architecture, hw: Hardware, par: Parallelism, batch, t_p, t_g, efficiency):
    """Seconds to generate ``batch`` responses on one tensor-parallel group:
    a prefill of the prompts and t_g decode steps at the mean context, from
    the inference step model (NaN where the actor and its cache do not fit)."""
    common = dict(n_devices=par.tensor, tensor_parallel=par.tensor, memory_fraction=1.0, efficiency=efficiency)
    pre = prefill(actor, hw, batch=np.atleast_1d(batch), prompt_tokens=np.atleast_1d(t_p), **common)
    dec = decode(actor, hw, batch=np.atleast_1d(batch), context=np.atleast_1d(t_p + np.floor((t_g - 1) / 2)),
                 **common)
    return np.asarray(pre.latency_s) + t_g * np.asarray(dec.latency_s)


def rlhf_ppo(actor: ArchLike, hw: HardwareLike, *, prompt_tokens: ArrayLike, response_tokens: ArrayLike,
             batch: ArrayLike = 64, critic: ArchLike | None = None, reward: ArchLike | None = None,
             ppo_epochs: ArrayLike = 1, parallelism: Parallelism | None = None, optimizer: str | float = "adam",
             recompute: str = "none", frozen_format: str = "bf16", compute_dtype: str = "bf16",
             hfu: ArrayLike | None = None, efficiency: Any = None,
             price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
             price_provider: str | None = None, price_region: str | None = None,
             pricing_model: str = "on_demand", pue: ArrayLike | None = None) -> pd.DataFrame:
    """RLHF with PPO (Ouyang et al. 2022), per sample of ``prompt_tokens``
    (T_p) in and ``response_tokens`` (T_g) generated, with ``batch`` samples
    generated together on each tensor-parallel group. Four models: the
    ``actor`` (trained), the ``critic`` (trained; default: the reward
    model's architecture), the reference (a frozen copy of the initial
    actor) and the ``reward`` model (frozen; default: the actor's
    architecture). FLOPs per sample
    :data:`costmodel.formulas.PPO_FLOPS_PER_SAMPLE` with each N the
    parameters a token costs at sequence length T_p + T_g, attention
    included (:data:`~costmodel.formulas.EFFECTIVE_PARAMS_PER_TOKEN`):
    generation, scoring (reference, reward and critic forward passes) and
    ``ppo_epochs`` training epochs of actor and critic. Memory per device:
    both trained models' weights, gradients and ``optimizer`` state
    (:func:`costmodel.training_memory` under ``parallelism``), both frozen
    models in ``frozen_format``, and the largest of the actor's and critic's
    training activations and the generation batch's KV cache (the phases
    take turns). Time per sample: generation from the inference step model
    (:func:`costmodel.prefill` and :func:`costmodel.decode` at
    ``efficiency``, one replica per tensor-parallel group, all replicas in
    parallel; memory-bound at small batches), the rest at utilisation ``hfu``.
    One row per broadcast input. Defined in :ref:`sec_finetune`.
    """
    act, hwo = V.as_arch(actor, "actor"), V.as_hardware(hw)
    rw = act if reward is None else V.as_arch(reward, "reward")
    cr = rw if critic is None else V.as_arch(critic, "critic")
    par = _as_parallelism(parallelism)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    _, a = _flat(t_p=V.size("prompt_tokens", prompt_tokens, minimum=1, integer=True),
                 t_g=V.size("response_tokens", response_tokens, minimum=1, integer=True),
                 batch=V.size("batch", batch, minimum=1, integer=True),
                 epochs=V.size("ppo_epochs", ppo_epochs, minimum=1, integer=True, maximum=1e3),
                 optimizer=_optimizer_bytes(optimizer),
                 **_money(hwo, hfu, (price_per_device_hour_usd, price_date, price_provider, price_region,
                                     pricing_model), pue))
    s = a["t_p"] + a["t_g"]
    n_eff = {k: _effective_params(m, s) for k, m in (("N", act), ("N_cr", cr), ("N_rw", rw))}
    total = F.numeric(F.PPO_FLOPS_PER_SAMPLE)(T_p=a["t_p"], T_g=a["t_g"], e_ppo=a["epochs"], **n_eff)
    generation = s * 2 * n_eff["N"]
    training = s * a["epochs"] * 6 * (n_eff["N"] + n_eff["N_cr"])
    extra = s * a["epochs"] * (_recompute_extra(act, s, recompute) + _recompute_extra(cr, s, recompute))
    deg = _degrees(par)
    fmt = _base_format(frozen_format, tuple(BASE_FORMATS), "RLHF")
    mem = {k: training_memory(m, hwo, s, par, optimizer=a["optimizer"], recompute=recompute)
           for k, m in (("actor", act), ("critic", cr))}
    states = {k: (m["weights_bytes"] + m["gradients_bytes"] + m["optimizer_bytes"]).to_numpy() for k, m in mem.items()}
    kv = kv_cache_bytes(act, s, batch=a["batch"]) / (par.tensor * par.pipeline)
    acts = np.maximum(np.maximum(mem["actor"]["activations_bytes"].to_numpy(),
                                 mem["critic"]["activations_bytes"].to_numpy()), kv)
    frozen = {"reference": _frozen_bytes(act, fmt, deg), "reward": _frozen_bytes(rw, fmt, deg)}
    total_bytes = states["actor"] + states["critic"] + frozen["reference"] + frozen["reward"] + acts
    replicas = par.n_devices // par.tensor
    gen_s = _generation_time(act, hwo, par, a["batch"], a["t_p"], a["t_g"], efficiency) / (a["batch"] * replicas)
    rest = _time_cost(hwo, total - generation + extra, par.n_devices, compute_dtype, a)
    time_s = gen_s + rest["time_s"]
    price = rest["price_per_device_hour_usd"]
    cols = {
        "prompt_tokens": a["t_p"], "response_tokens": a["t_g"], "batch": a["batch"], "ppo_epochs": a["epochs"],
        "generation_flop_per_sample": generation, "scoring_flop_per_sample": total - generation - training,
        "training_flop_per_sample": training, "recompute_flop_per_sample": extra, "flop_per_sample": total + extra,
        "actor_bytes": states["actor"], "critic_bytes": states["critic"], "reference_bytes": frozen["reference"],
        "reward_bytes": frozen["reward"], "activations_bytes": acts, "kv_cache_bytes": kv, "total_bytes": total_bytes,
        **_fit_columns(hwo, total_bytes), "hfu": rest["hfu"],
        "generation_time_per_sample_s": gen_s, "train_time_per_sample_s": rest["time_s"],
        "time_per_sample_s": time_s, "price_per_device_hour_usd": price,
        "cost_per_sample_usd": F.numeric(F.TRAINING_COST_USD)(tau_dev=time_s * par.n_devices, c_dev=price),
    }
    head = {"technique": "rlhf-ppo", "model": act.name, "critic": cr.name, "reward": rw.name, "hardware": hwo.id,
            "layout": par.label(), "n_devices": par.n_devices, "recompute": recompute}
    return _frame(head, cols)


def dpo(policy: ArchLike, hw: HardwareLike, *, prompt_tokens: ArrayLike, response_tokens: ArrayLike,
        parallelism: Parallelism | None = None, optimizer: str | float = "adam", recompute: str = "none",
        reference_format: str = "bf16", compute_dtype: str = "bf16", hfu: ArrayLike | None = None,
        price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
        price_provider: str | None = None, price_region: str | None = None, pricing_model: str = "on_demand",
        pue: ArrayLike | None = None) -> pd.DataFrame:
    """Direct preference optimisation (Rafailov et al. 2023), per preference
    pair: a prompt of ``prompt_tokens`` with a chosen and a rejected response
    of ``response_tokens`` each. The frozen reference (in
    ``reference_format``) and the trained ``policy`` both see the two
    sequences: FLOPs per pair :data:`costmodel.formulas.DPO_FLOPS_PER_PAIR`
    with N the parameters a token costs at T_p + T_g, attention included.
    Memory per device: the policy's training state and the activations of
    both sequences of each of its micro-batch's pairs
    (:func:`costmodel.training_memory` with twice ``micro_batch_size``), plus
    the reference weights. No generation, no reward model, no critic: the
    contrast with :func:`rlhf_ppo`. Time and cost per pair at utilisation
    ``hfu``. Defined in :ref:`sec_finetune`.
    """
    pol, hwo = V.as_arch(policy, "policy"), V.as_hardware(hw)
    par = _as_parallelism(parallelism)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    _, a = _flat(t_p=V.size("prompt_tokens", prompt_tokens, minimum=1, integer=True),
                 t_g=V.size("response_tokens", response_tokens, minimum=1, integer=True),
                 optimizer=_optimizer_bytes(optimizer),
                 **_money(hwo, hfu, (price_per_device_hour_usd, price_date, price_provider, price_region,
                                     pricing_model), pue))
    s = a["t_p"] + a["t_g"]
    flops = F.numeric(F.DPO_FLOPS_PER_PAIR)(N=_effective_params(pol, s), T_p=a["t_p"], T_g=a["t_g"])
    flops = flops + 2 * s * _recompute_extra(pol, s, recompute)
    pairs = replace(par, micro_batch_size=2 * par.micro_batch_size)
    mem = training_memory(pol, hwo, s, pairs, optimizer=a["optimizer"], recompute=recompute)
    ref = _frozen_bytes(pol, _base_format(reference_format, tuple(BASE_FORMATS), "DPO"), _degrees(par))
    total = mem["total_bytes"].to_numpy() + ref
    tc = _time_cost(hwo, flops, par.n_devices, compute_dtype, a)
    cols = {
        "prompt_tokens": a["t_p"], "response_tokens": a["t_g"], "flop_per_pair": flops,
        "policy_bytes": (mem["weights_bytes"] + mem["gradients_bytes"] + mem["optimizer_bytes"]).to_numpy(),
        "reference_bytes": ref + 0 * total, "activations_bytes": mem["activations_bytes"].to_numpy(),
        "total_bytes": total, **_fit_columns(hwo, total), "hfu": tc["hfu"], "time_per_pair_s": tc["time_s"],
        "price_per_device_hour_usd": tc["price_per_device_hour_usd"], "cost_per_pair_usd": tc["cost_usd"],
    }
    head = {"technique": "dpo", "model": pol.name, "hardware": hwo.id, "layout": par.label(),
            "n_devices": par.n_devices, "recompute": recompute}
    return _frame(head, cols)


# ----------------------------------------------------------------------
# Federated fine-tuning
# ----------------------------------------------------------------------
FEDERATED_METHODS: tuple[str, ...] = ("lora", "full")


def federated_finetune(arch: ArchLike, device: HardwareLike, *, rounds: ArrayLike, local_tokens: ArrayLike,
                       seq_len: ArrayLike, uplink_bytes_per_s: ArrayLike, downlink_bytes_per_s: ArrayLike | None = None,
                       method: str = "lora", rank: ArrayLike = 8, targets: str | Iterable[str] = ("q", "v"),
                       base_format: str = "bf16", update_dtype: str = "bf16", clients_per_round: ArrayLike = 1,
                       optimizer: str | float = "adam", recompute: str = "full", compute_dtype: str = "bf16",
                       hfu: ArrayLike | None = None) -> pd.DataFrame:
    """Federated fine-tuning (FedAvg, McMahan et al. 2017) of ``arch`` on
    clients that are each one ``device``: per round, a client receives the
    trainable state, trains on ``local_tokens`` tokens in sequences of
    ``seq_len`` (one per micro-batch) and sends its update back. ``method``
    ``"full"`` sends every weight, ``"lora"`` only rank-``rank`` adapters on
    ``targets`` over a frozen base in ``base_format`` (``"nf4-dq"`` and
    ``"int8"`` too), each parameter in ``update_dtype``: bytes per client and
    round :data:`costmodel.formulas.FEDERATED_CLIENT_BYTES_PER_ROUND`, over
    ``uplink_bytes_per_s`` and ``downlink_bytes_per_s`` (default the uplink):
    round time :data:`costmodel.formulas.FEDERATED_ROUND_TIME`. Local time
    is the hardware FLOPs over the device's ``compute_dtype`` peak at
    utilisation ``hfu`` (NaN where the catalog has no such peak: phones
    publish none; the link time stays). Memory on the device as
    :func:`full_finetune` and :func:`lora_finetune` count it (``fits`` False
    where the catalog has no capacity). ``server_bytes_per_round`` is what
    the server moves for ``clients_per_round`` clients. One row per
    broadcast input. Defined in :ref:`sec_finetune`.
    """
    arch, hw = V.as_arch(arch), V.as_hardware(device, "device")
    method = _choice("method", method, FEDERATED_METHODS)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    up = V.size("uplink_bytes_per_s", uplink_bytes_per_s, maximum=1e15)
    down = up if downlink_bytes_per_s is None else V.size("downlink_bytes_per_s", downlink_bytes_per_s,
                                                          maximum=1e15)
    if np.any(up <= 0) or np.any(down <= 0):
        raise ValueError(f"uplink_bytes_per_s={uplink_bytes_per_s!r} and downlink_bytes_per_s="
                         f"{downlink_bytes_per_s!r} must be positive")
    arrays = {"rounds": V.size("rounds", rounds, minimum=1, integer=True),
              "local_tokens": V.size("local_tokens", local_tokens, minimum=1),
              "seq_len": V.size("seq_len", seq_len, minimum=1, integer=True), "up": up, "down": down,
              "clients": V.size("clients_per_round", clients_per_round, minimum=1, integer=True),
              "optimizer": _optimizer_bytes(optimizer), "hfu": _utilisation(hfu)}
    par = Parallelism()
    if method == "lora":
        t = lora_targets(arch, targets)
        arrays["rank"] = _rank(arch, t, rank)
        _, a = _flat(**arrays)
        core = _adapter_core(arch, hw, a, t, _base_format(base_format, _LORA_BASE_FORMATS + QLORA_BASE_FORMATS,
                                                          "federated LoRA"),
                             par, recompute, "bf16", False, True)
    else:
        _, a = _flat(**arrays)
        core = _full_core(arch, hw, a, par, recompute, True)
    b_upd = bytes_per_element(V.dtype("update_dtype", update_dtype))
    n_upd = core["trainable_params"] + 0 * a["rounds"]
    if hw.has_peak(V.dtype("compute_dtype", compute_dtype)):
        t_loc = a["local_tokens"] * core["hardware_flop_per_token"] / (hw.peak_flops(compute_dtype) * a["hfu"])
    else:  # no published peak (phones): the link time stays, the local time is unknown
        t_loc = np.full(a["rounds"].shape, math.nan)
    per_client = F.numeric(F.FEDERATED_CLIENT_BYTES_PER_ROUND)(N_upd=n_upd, b_upd=b_upd)
    link = F.numeric(F.FEDERATED_ROUND_TIME)(t_loc=0.0, N_upd=n_upd, b_upd=b_upd, beta_up=a["up"], beta_dn=a["down"])
    round_s = F.numeric(F.FEDERATED_ROUND_TIME)(t_loc=t_loc, N_upd=n_upd, b_upd=b_upd, beta_up=a["up"],
                                                beta_dn=a["down"])
    cols = {
        "rounds": a["rounds"].astype(np.int64), "clients_per_round": a["clients"].astype(np.int64),
        "local_tokens": a["local_tokens"], "uplink_bytes_per_s": a["up"], "downlink_bytes_per_s": a["down"],
        **core, "update_bytes_per_round": per_client, "server_bytes_per_round": a["clients"] * 2 * per_client,
        "client_bytes_total": a["rounds"] * 2 * per_client, "hfu": a["hfu"], "compute_time_per_round_s": t_loc,
        "link_time_per_round_s": link, "round_time_s": round_s, "total_time_s": a["rounds"] * round_s,
    }
    head = {"technique": f"federated-{method}", "model": arch.name, "hardware": hw.id, "recompute": recompute,
            "base_format": base_format if method == "lora" else "bf16"}
    return _frame(head, cols)
