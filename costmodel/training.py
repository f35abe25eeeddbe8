"""Training: FLOPs by the field's conventions, memory per device, step time, and run totals.

Every number comes from the sympy expressions of the training section of
:mod:`costmodel.formulas`, evaluated through :func:`costmodel.formulas.numeric`.

**FLOPs.** Published totals disagree because they count different things:

* the scaling-law convention, ``6 N T`` (Kaplan et al. 2020; Hoffmann et al.
  2022; the Llama 3 paper), with ``N`` all parameters (active ones for MoE)
  or, as Kaplan does, the non-embedding ones (``params=``);
* PaLM's *model FLOPs*, ``6 N + 12 L H Q T`` per token with the full sequence
  length ``T`` (Chowdhery et al. 2022, appendix B), which adds attention;
  with ``params="matmul"`` it is exactly three forward passes of the matmul
  records (Korthikanti et al. 2022's ``72 B s l h^2 (1 + s/6h + V/12lh)``);
* *hardware FLOPs*, which add what activation recomputation runs again:
  full recomputation (Megatron-LM's ``96 B s l h^2 (1 + s/6h + V/16lh)``,
  Narayanan et al. 2021) or selective recomputation of the attention core
  (Korthikanti et al. 2022).

MFU is PaLM's: model FLOPs per second over the devices' dense peak; HFU the
same with hardware FLOPs.

**Memory per device**: weights, gradients and optimizer state split by the
tensor and pipeline degrees and, per ZeRO stage, by the data and context
degrees; activations per Korthikanti et al. (2022) with sequence
parallelism and recomputation, for the micro-batches the first pipeline stage
holds.

**Step time**: compute at a utilisation, stretched by the pipeline bubble,
plus tensor- and pipeline-parallel traffic and whatever data- and
context-parallel traffic compute does not hide, over the catalog's
interconnect within a node and its scale-out network across nodes. **Run totals**: wall-clock days, device-hours, dollars (a dated
price, :mod:`costmodel.prices`), energy and CO2.

**Validation**: :func:`published_training_runs` reads
``data/measurements/training.csv``; :func:`default_mfu` fits one utilisation
to the runs it can use and reports its leave-one-out error;
:func:`training_validation` lists every run with its out-of-sample residual.

Book section: ``sec_training``.

    >>> import costmodel as cm
    >>> f"{cm.training_flops('llama-3.1-405b', 15.6e12):.2e}"   # Llama 3 paper: 3.8e25
    '3.80e+25'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F
from .architecture import Architecture
from .catalog import DATA_DIR, Hardware, list_hardware, list_models, load_hardware, load_model
from .dtypes import bytes_per_element
from ._validate import ArchLike, ArrayLike, HardwareLike
from .cost import co2e_kg, energy_kwh
from .prices import price_per_device_hour

__all__ = [
    "OPTIMIZERS",
    "RECOMPUTE",
    "PARAM_CONVENTIONS",
    "Parallelism",
    "MfuFit",
    "training_flops",
    "mfu",
    "hfu",
    "training_memory",
    "training_step_time",
    "training_run",
    "training_energy_kwh",
    "training_co2e_kg",
    "published_training_runs",
    "default_mfu",
    "training_validation",
]

TRAINING_CSV = DATA_DIR / "measurements" / "training.csv"

#: Bytes of optimizer state per parameter, beyond the 16-bit weight and
#: gradient. ``adam``: mixed-precision Adam, fp32 master weights, momentum
#: and variance, 12 (16 bytes per parameter in all; Rajbhandari et al. 2020).
#: ``adam8bit``: fp32 master weights and the two moments in 8 bits, 4 + 2
#: (Dettmers et al. 2022; the per-block scales, one per 2048 values, are
#: left out). ``sgd_momentum``: fp32 master weights and fp32 momentum, 8.
OPTIMIZERS: Mapping[str, float] = MappingProxyType({"adam": 12.0, "adam8bit": 6.0, "sgd_momentum": 8.0})
#: Activation recomputation schemes.
RECOMPUTE: tuple[str, ...] = ("none", "selective", "full")
#: Which parameter count N stands for: ``all`` (active for MoE; Hoffmann,
#: PaLM, Llama), ``non_embedding`` (less the input token and position
#: embeddings; Kaplan), ``matmul`` (N_mm, the matmul weights a token uses,
#: LM head included: three forward passes of the matmul records).
PARAM_CONVENTIONS: tuple[str, ...] = ("all", "non_embedding", "matmul")

_RHO = MappingProxyType({"none": (0.0, 0.0), "selective": (0.0, 1.0), "full": (1.0, 0.0)})


def _choice(name: str, value: Any, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}={value!r} must be one of {tuple(options)}")
    return value


def _eval(expr, arch: Architecture, **workload):
    """``expr`` at ``arch``'s symbols and the (validated) workload."""
    vals = arch.symbols
    fn = F.numeric(expr)
    return fn(**{a: workload[a] if a in workload else vals[a] for a in fn.args})


def _n_params(arch: Architecture, params: str) -> float:
    if params == "all":
        return float(arch.n_active_params)
    if params == "non_embedding":
        return float(arch.n_active_params - arch.n_embedding_params)
    return float(arch.n_matmul_weights_active)


# ----------------------------------------------------------------------
# Parallel layout
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Parallelism:
    """How a training run is split over devices (letters: the ``training``
    group of :mod:`costmodel.symbols`).

    ``tensor`` (n_t), ``pipeline`` (n_p), ``data`` (n_d) and ``context`` (n_c)
    degrees multiply to the device count; ``zero_stage`` 0-3 shards the
    optimizer state (1), gradients (2) and weights (3, FSDP's full sharding)
    over the n_d n_c replicas; ``sequence_parallel`` splits the norm and
    dropout activations by n_t as well (Korthikanti et al. 2022);
    ``micro_batch_size`` (B) sequences per micro-batch and ``micro_batches``
    (m) micro-batches per step, so a step trains B m n_d sequences.
    ``expert`` (n_ep) splits the routed experts of every MoE block over
    n_ep devices taken from the n_d n_c data-parallel replicas (GShard,
    Lepikhin et al. 2020; Megatron-Core MoE), so it must divide
    data x context; the device count is unchanged.
    ``virtual_stages`` (v) model chunks per device run Megatron-LM's
    interleaved 1F1B schedule (Narayanan et al. 2021, section 2.2.2): the
    bubble shrinks to (p - 1)/(v m) of the ideal time and the pipeline sends
    grow v-fold; v > 1 needs a pipeline and ``micro_batches`` a multiple of
    ``pipeline``, and the model's layers must divide into pipeline x v chunks
    (checked where the model is known).
    Validated at construction: degrees are whole numbers of at least 1.
    Defined in :ref:`sec_training`.
    """

    tensor: int = 1
    pipeline: int = 1
    data: int = 1
    context: int = 1
    zero_stage: int = 0
    sequence_parallel: bool = False
    micro_batch_size: int = 1
    micro_batches: int = 1
    expert: int = 1
    virtual_stages: int = 1

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "sequence_parallel":
                if not isinstance(v, (bool, np.bool_)):
                    raise ValueError(f"Parallelism: sequence_parallel={v!r} must be True or False")
                continue
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"Parallelism: {f.name}={v!r} must be a whole number")
            if f.name == "zero_stage":
                if not 0 <= v <= 3:
                    raise ValueError(f"Parallelism: zero_stage={v} must be 0, 1, 2 or 3")
            elif v < 1:
                raise ValueError(f"Parallelism: {f.name}={v} must be at least 1")
            elif v > V.MAX_SIZE:
                raise ValueError(f"Parallelism: {f.name}={v} exceeds the largest accepted value {V.MAX_SIZE:g}")
            object.__setattr__(self, f.name, int(v))
        if (self.data * self.context) % self.expert:
            raise ValueError(f"Parallelism: expert={self.expert} must divide data x context = {self.data} x "
                             f"{self.context} = {self.data * self.context} (the experts are split over "
                             "data-parallel replicas)")
        if self.virtual_stages > 1 and self.pipeline == 1:
            raise ValueError(f"Parallelism: virtual_stages={self.virtual_stages} needs pipeline > 1 "
                             f"(pipeline={self.pipeline}): the interleaved schedule splits pipeline stages")
        if self.virtual_stages > 1 and self.micro_batches % self.pipeline:
            raise ValueError(f"Parallelism: virtual_stages={self.virtual_stages} needs micro_batches a multiple "
                             f"of pipeline (micro_batches={self.micro_batches}, pipeline={self.pipeline}; "
                             "Megatron-LM's interleaved schedule)")

    @property
    def n_devices(self) -> int:
        """tensor x pipeline x data x context."""
        return self.tensor * self.pipeline * self.data * self.context

    def label(self) -> str:
        """A short name: ``TP8 PP4 DP2`` (CP, EP and VP, virtual stages, only when above 1)."""
        parts = [f"TP{self.tensor}", f"PP{self.pipeline}", f"DP{self.data}"]
        if self.context > 1:
            parts.append(f"CP{self.context}")
        if self.expert > 1:
            parts.append(f"EP{self.expert}")
        if self.virtual_stages > 1:
            parts.append(f"VP{self.virtual_stages}")
        return " ".join(parts)


def _as_parallelism(value: Any) -> Parallelism:
    if value is None:
        return Parallelism()
    if isinstance(value, Parallelism):
        return value
    raise ValueError(f"parallelism={value!r} must be a costmodel.Parallelism")


def _check_layout(arch: Architecture, par: Parallelism, seq_len: np.ndarray) -> None:
    """The checks a layout must pass for ``arch``: ValueError naming the values."""
    if arch.n_layers % par.pipeline:
        raise ValueError(f"{arch.name}: num_hidden_layers={arch.n_layers} is not divisible by "
                         f"pipeline={par.pipeline} stages")
    if arch.n_layers % (par.pipeline * par.virtual_stages):
        raise ValueError(f"{arch.name}: num_hidden_layers={arch.n_layers} is not divisible by pipeline={par.pipeline}"
                         f" x virtual_stages={par.virtual_stages} = {par.pipeline * par.virtual_stages} chunks")
    if arch.n_heads % par.tensor:
        raise ValueError(f"{arch.name}: num_attention_heads={arch.n_heads} is not divisible by tensor={par.tensor}")
    if arch.n_kv_heads % par.tensor and par.tensor % arch.n_kv_heads:
        raise ValueError(f"{arch.name}: num_key_value_heads={arch.n_kv_heads} and tensor={par.tensor} must divide "
                         "one another (heads are split, or replicated when fewer than the devices)")
    if par.expert > 1 and not arch.is_moe:
        raise ValueError(f"{arch.name} is a dense model (no routed experts): expert={par.expert} needs a "
                         "mixture of experts")
    if par.expert > 1 and arch.n_experts % par.expert:
        raise ValueError(f"{arch.name}: n_experts={arch.n_experts} routed experts per block are not divisible "
                         f"by expert={par.expert}")
    split = par.context * (par.tensor if par.sequence_parallel else 1)
    bad = np.asarray(seq_len) % split != 0
    if np.any(bad):
        what = f"context={par.context}"
        if par.sequence_parallel:
            what += f" x tensor={par.tensor} (sequence parallel)"
        raise ValueError(f"seq_len={np.asarray(seq_len)[bad].flat[0]:g} is not divisible by {what}")


# ----------------------------------------------------------------------
# FLOPs
# ----------------------------------------------------------------------
def _flops_per_token(arch: Architecture, s, params: str, rho: tuple[float, float]):
    """Model (PaLM) and hardware FLOPs per token at sequence length s."""
    n = _n_params(arch, params)
    model = _eval(F.MODEL_FLOPS_PER_TOKEN, arch, N=n, s=s)
    extra = _eval(F.RECOMPUTE_FLOPS_PER_TOKEN, arch, s=s, rho_full=rho[0], rho_sel=rho[1])
    return model, model + extra


def training_flops(arch: ArchLike, tokens: ArrayLike, seq_len: ArrayLike | None = None, recompute: str = "none", *,
                   params: str = "all"):
    """FLOPs to train on ``tokens`` (T_train) tokens, by a stated convention.

    ``seq_len=None``: the scaling-law convention 6 N T_train (forward 2,
    backward 4 FLOP per parameter and token; attention ignored), as Kaplan et
    al. (2020), Hoffmann et al. (2022) and the Llama 3 paper count.
    ``seq_len`` = S: PaLM's model FLOPs, (6 N + 12 L H Q S) T_train
    (Chowdhery et al. 2022, appendix B: the full S x S attention square, not
    the causal half; H Q is the attention width w_a, and sliding-window
    blocks count at most W). ``recompute`` adds what activation recomputation
    runs again, giving hardware FLOPs: ``"full"`` a forward pass of every
    block (Megatron-LM's 96 B s l h^2 (1 + s/6h + V/16lh) for GPT blocks,
    Narayanan et al. 2021), ``"selective"`` the attention core's forward
    (Korthikanti et al. 2022); it needs ``seq_len``.

    ``params`` says which N: ``"all"`` (default; active parameters for MoE),
    ``"non_embedding"`` (Kaplan's: less the input embeddings) or ``"matmul"``
    (N_mm: with ``seq_len`` the result is then three forward passes of the
    matmul records, backward = 2 x forward). Broadcasts over ``tokens`` and
    ``seq_len``. Formulas :data:`costmodel.formulas.TRAINING_FLOPS_6ND`,
    :data:`~costmodel.formulas.MODEL_FLOPS_PER_TOKEN`,
    :data:`~costmodel.formulas.RECOMPUTE_FLOPS_PER_TOKEN`.
    Defined in :ref:`sec_training`.

    >>> import costmodel as cm
    >>> round(cm.training_flops("llama-2-7b", 2e12) / 1e22, 2)   # 6 x 6.74e9 x 2e12
    8.09
    """
    arch = V.as_arch(arch)
    t = V.size("tokens", tokens)
    params = _choice("params", params, PARAM_CONVENTIONS)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    if seq_len is None:
        if recompute != "none":
            raise ValueError(f"recompute={recompute!r} needs seq_len: the recomputed attention depends on it")
        return F.numeric(F.TRAINING_FLOPS_6ND)(N=_n_params(arch, params), T_tr=t)
    s = V.size("seq_len", seq_len, minimum=1, integer=True)
    V.broadcast(tokens=t, seq_len=s)
    model, hardware = _flops_per_token(arch, s, params, _RHO[recompute])
    return t * (hardware if recompute != "none" else model)


def _utilisation(arch, hardware, tokens_per_s, n_devices, seq_len, dtype, recompute, params):
    arch, hw = V.as_arch(arch), V.as_hardware(hardware)
    tps = V.size("tokens_per_s", tokens_per_s, maximum=1e30)
    n = V.size("n_devices", n_devices, minimum=1, integer=True)
    s = V.size("seq_len", seq_len, minimum=1, integer=True)
    V.broadcast(tokens_per_s=tps, n_devices=n, seq_len=s)
    params = _choice("params", params, PARAM_CONVENTIONS)
    pi = hw.peak_flops(V.dtype("dtype", dtype))
    model, hardware_f = _flops_per_token(arch, s, params, _RHO[recompute])
    # MFU_OF_RUN with T_train = the tokens of one second and tau_dev = n device-seconds
    out = _eval(F.MFU_OF_RUN, arch, N=_n_params(arch, params), T_tr=tps, tau_dev=n, pi=pi, s=s)
    return out if recompute == "none" else out * hardware_f / model


def mfu(arch: ArchLike, hw: HardwareLike, tokens_per_s: ArrayLike, n_devices: ArrayLike, seq_len: ArrayLike,
        dtype: str = "bf16", *, params: str = "all"):
    """Model FLOPs utilisation, PaLM's definition (Chowdhery et al. 2022,
    appendix B): ``tokens_per_s`` (all devices together) times the model
    FLOPs per token, 6 N + 12 L H Q S, over ``n_devices`` times the device's
    dense ``dtype`` peak. Recomputation does not count. Broadcasts over the
    numeric arguments. Formula :data:`costmodel.formulas.MFU_OF_RUN`.
    Defined in :ref:`sec_training`.

    >>> import costmodel as cm
    >>> round(cm.mfu("llama-2-7b", "a100-sxm-80gb", 3000 * 64, 64, 4096), 3)
    0.451
    """
    return _utilisation(arch, hw, tokens_per_s, n_devices, seq_len, dtype, "none", params)


def hfu(arch: ArchLike, hw: HardwareLike, tokens_per_s: ArrayLike, n_devices: ArrayLike, seq_len: ArrayLike,
        dtype: str = "bf16", recompute: str = "full", *, params: str = "all"):
    """Hardware FLOPs utilisation: as :func:`mfu`, with the FLOPs that
    ``recompute`` (``"none"``, ``"selective"`` or ``"full"``) runs again
    counted as work done. Formula
    :data:`costmodel.formulas.HARDWARE_FLOPS_PER_TOKEN`.
    Defined in :ref:`sec_training`.
    """
    recompute = _choice("recompute", recompute, RECOMPUTE)
    return _utilisation(arch, hw, tokens_per_s, n_devices, seq_len, dtype, recompute, params)


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def _optimizer_bytes(optimizer: Any):
    """Bytes of optimizer state per parameter: a name of :data:`OPTIMIZERS`, or numbers."""
    if isinstance(optimizer, str):
        return OPTIMIZERS[_choice("optimizer", optimizer, OPTIMIZERS)]
    return V.size("optimizer", optimizer, maximum=1e3)


def _degrees(par: Parallelism, data=None) -> dict[str, Any]:
    return dict(n_t=float(par.tensor), n_p=float(par.pipeline), n_c=float(par.context),
                n_d=float(par.data) if data is None else data, m_mb=float(par.micro_batches),
                B=float(par.micro_batch_size), sigma_sp=float(par.sequence_parallel),
                zeta_o=float(par.zero_stage >= 1), zeta_g=float(par.zero_stage >= 2),
                zeta_w=float(par.zero_stage >= 3), n_ep=float(par.expert), v_pp=float(par.virtual_stages))


def _memory(arch: Architecture, s, deg: dict, rho, b_w, b_g, b_opt, b_a, p_drop, phi):
    """Bytes per device, by component (validated inputs)."""
    common = {k: deg[k] for k in ("n_t", "n_p", "n_d", "n_c", "zeta_o", "zeta_g", "zeta_w")}
    n = float(arch.n_params)
    exprs = (F.WEIGHT_BYTES_PER_DEVICE, F.GRADIENT_BYTES_PER_DEVICE, F.OPTIMIZER_BYTES_PER_DEVICE)
    if deg["n_ep"] > 1:  # expert parallelism; with n_ep = 1 the _EP forms reduce to these
        exprs = (F.WEIGHT_BYTES_PER_DEVICE_EP, F.GRADIENT_BYTES_PER_DEVICE_EP, F.OPTIMIZER_BYTES_PER_DEVICE_EP)
        common.update(n_ep=deg["n_ep"], N_ex=_routed_expert_params(arch))
    weights = F.numeric(exprs[0])(N=n, b_w=b_w, **{k: common[k] for k in F.numeric(exprs[0]).args if k in common})
    grads = F.numeric(exprs[1])(N=n, b_g=b_g, **{k: common[k] for k in F.numeric(exprs[1]).args if k in common})
    opt = F.numeric(exprs[2])(N=n, b_opt=b_opt, **{k: common[k] for k in F.numeric(exprs[2]).args if k in common})
    block = dict(s=s, B=deg["B"], n_t=deg["n_t"], n_c=deg["n_c"], sigma_sp=deg["sigma_sp"], rho_full=rho[0],
                 rho_sel=rho[1], b_a=b_a, p_drop=p_drop, phi_fa=phi)
    in_flight = np.minimum(deg["n_p"], deg["m_mb"]) / deg["n_p"]
    acts = (arch.n_layers - arch.n_moe_layers) * in_flight * _eval(F.ACTIVATION_BYTES_PER_BLOCK_PARALLEL, arch, **block)
    if arch.is_moe:
        f_moe = arch.n_experts_per_token * arch.d_ff_expert + arch.d_ff_shared
        acts = acts + arch.n_moe_layers * in_flight * _eval(F.ACTIVATION_BYTES_PER_BLOCK_PARALLEL, arch, f=f_moe,
                                                            **block)
    return weights, grads, opt, acts


def _routed_expert_params(arch: Architecture) -> float:
    """N_ex: the routed experts' parameters (:data:`costmodel.formulas.ROUTED_EXPERT_PARAMS`)."""
    return float(arch.count(F.ROUTED_EXPERT_PARAMS))


def _layout_columns(par: Parallelism) -> dict[str, Any]:
    return {"layout": par.label(), "tensor": par.tensor, "pipeline": par.pipeline, "data": par.data,
            "context": par.context, "zero_stage": par.zero_stage, "sequence_parallel": par.sequence_parallel,
            "micro_batch_size": par.micro_batch_size, "micro_batches": par.micro_batches, "expert": par.expert,
            "virtual_stages": par.virtual_stages}


def training_memory(arch: ArchLike, hw: HardwareLike, seq_len: ArrayLike, parallelism: Parallelism | None = None, *,
                    optimizer: str | float = "adam", recompute: str = "none", weight_dtype: str = "bf16",
                    grad_dtype: str = "bf16", activation_dtype: str = "bf16", flash_attention: bool = True,
                    dropout: bool = False) -> pd.DataFrame:
    """Bytes one device holds to train ``arch`` on sequences of ``seq_len``
    tokens under ``parallelism`` (default: one device), and whether they fit.

    Weights (``weight_dtype``, b_w), gradients (``grad_dtype``, b_g) and
    optimizer state (``optimizer``: a name of :data:`OPTIMIZERS` or bytes per
    parameter, b_opt) are split by tensor x pipeline and, per ZeRO stage, by
    data x context (Rajbhandari et al. 2020). Activations follow Korthikanti
    et al. (2022), generalised to GQA, gated MLPs and fused attention
    (:data:`costmodel.formulas.ACTIVATION_BYTES_PER_BLOCK_PARALLEL`), with
    ``recompute`` ``"none"``, ``"selective"`` or ``"full"``, for the
    min(pipeline, micro_batches) micro-batches that the first pipeline stage
    holds (1F1B schedule). Not counted: the logits of the last stage, the
    embedding's activations, communication buffers, fragmentation; the
    parameters are spread evenly over pipeline stages. With ``expert`` (n_ep)
    above 1 the routed experts' weights, gradients and optimizer state are
    split by n_ep too (and by tensor x pipeline, as every weight), ZeRO
    sharding them over the data x context / n_ep replicas that hold the same
    experts (:data:`costmodel.formulas.WEIGHT_BYTES_PER_DEVICE_EP` and its
    siblings). ``seq_len`` and a numeric ``optimizer`` take arrays.
    Returns one row per element of their broadcast with each component,
    ``total_bytes``, the device's ``memory_bytes``, ``fits`` and
    ``shortfall_bytes`` (0 when it fits; NaN and ``fits`` False where the
    device publishes no capacity). Raises ``ValueError`` for layouts the
    model cannot take (heads or layers not divisible). Defined in
    :ref:`sec_training`.
    """
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    par = _as_parallelism(parallelism)
    s = V.size("seq_len", seq_len, minimum=1, integer=True)
    b_opt = _optimizer_bytes(optimizer)
    shape = V.broadcast(seq_len=s, optimizer=b_opt)
    s, b_opt = (np.broadcast_to(x, shape).ravel() if shape else np.atleast_1d(x) for x in (s, b_opt))
    _check_layout(arch, par, s)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    b = dict(b_w=bytes_per_element(V.dtype("weight_dtype", weight_dtype)),
             b_g=bytes_per_element(V.dtype("grad_dtype", grad_dtype)), b_opt=b_opt,
             b_a=bytes_per_element(V.dtype("activation_dtype", activation_dtype)),
             p_drop=float(V.flag("dropout", dropout)), phi=float(V.flag("flash_attention", flash_attention)))
    weights, grads, opt, acts = _memory(arch, s, _degrees(par), _RHO[recompute], **b)
    label = optimizer if isinstance(optimizer, str) else [f"{x:g} B/param" for x in b_opt]
    return _memory_frame(arch, hw, par, s, recompute, label, weights, grads, opt, acts)


def _memory_frame(arch, hw, par, s, recompute, optimizer, weights, grads, opt, acts) -> pd.DataFrame:
    shape = np.shape(acts)
    total = weights + grads + opt + acts
    cap = hw.memory_bytes
    known = math.isfinite(cap)
    df = pd.DataFrame({
        "model": arch.name, "hardware": hw.id, **_layout_columns(par), "recompute": recompute,
        "optimizer": optimizer,
        "seq_len": np.broadcast_to(s, shape).astype(np.int64),
        "weights_bytes": np.broadcast_to(weights, shape), "gradients_bytes": np.broadcast_to(grads, shape),
        "optimizer_bytes": np.broadcast_to(opt, shape), "activations_bytes": np.broadcast_to(acts, shape),
        "total_bytes": np.broadcast_to(total, shape), "memory_bytes": cap,
    })
    df["fits"] = (df["total_bytes"] <= cap) if known else False
    df["shortfall_bytes"] = np.maximum(df["total_bytes"] - cap, 0.0) if known else math.nan
    return df


# ----------------------------------------------------------------------
# Step time and run
# ----------------------------------------------------------------------
def _link_bandwidth(hw: Hardware, given):
    if given is not None:
        return V.size("interconnect_bandwidth_bytes_per_s", given, minimum=1.0, maximum=1e30)
    # Datasheets give NVLink and similar links as total bidirectional bandwidth;
    # a ring sends in one direction while it receives in the other.
    return hw.interconnect_bandwidth_bytes_per_s / 2


def _node_links(hw: Hardware, devices_per_node, internode_bandwidth):
    """(devices per node, scale-out bandwidth per device and direction): the
    arguments, else the catalog's figures (nan where it has none)."""
    g = hw.devices_per_node if devices_per_node is None else float(
        V.size("devices_per_node", devices_per_node, minimum=1, integer=True))
    if internode_bandwidth is None:
        # Scale-out figures are stored per device and direction already (one NIC per GPU in a DGX).
        beta_node = hw.internode_bandwidth_bytes_per_s
    else:
        beta_node = V.size("internode_bandwidth_bytes_per_s", internode_bandwidth, minimum=1.0, maximum=1e30)
    if np.ndim(g):
        raise ValueError(f"devices_per_node={devices_per_node!r} must be one whole number, not an array")
    return g, beta_node


def _step(arch: Architecture, hw: Hardware, s, deg: dict, rho, mfu_value, pi, beta, overlap: float, b: dict,
          n_model: float, g_node: float = math.nan, beta_node=math.nan, label: str = ""):
    """Step components in seconds (validated inputs). ``g_node`` devices per
    node (nan: the catalog names no node, so the whole layout is one
    interconnect domain, as a TPU slice is one ICI domain) and ``beta_node``
    the scale-out bandwidth per device and direction."""
    n_dev = deg["n_t"] * deg["n_p"] * deg["n_d"] * deg["n_c"]
    model_tok = _eval(F.MODEL_FLOPS_PER_TOKEN, arch, N=n_model, s=s)
    tokens_step = F.numeric(F.TOKENS_PER_STEP)(B=deg["B"], m_mb=deg["m_mb"], n_d=deg["n_d"], s=s)
    t_comp = tokens_step * model_tok / (n_dev * pi * mfu_value)
    comm = dict(s=s, b_a=b["b_a"], b_w=b["b_w"], b_g=b["b_g"], rho_full=rho[0], **deg)
    ep_on = deg["n_ep"] > 1  # expert parallelism; with n_ep = 1 the _EP forms reduce to the others
    if ep_on:
        comm["N_ex"] = _routed_expert_params(arch)
    dp = _eval(F.DP_COMM_BYTES_EP if ep_on else F.DP_COMM_BYTES, arch, **{**comm, "N": float(arch.n_params)})
    ep = _eval(F.EP_COMM_BYTES, arch, **comm) if ep_on else 0.0 * t_comp
    tp = _eval(F.TP_COMM_BYTES, arch, **comm)
    vi = deg["v_pp"] > 1  # interleaved schedule; with v = 1 the _INTERLEAVED forms reduce to the others
    pp = _eval(F.PP_COMM_BYTES_INTERLEAVED if vi else F.PP_COMM_BYTES, arch, **comm)
    cp = _eval(F.CP_COMM_BYTES, arch, **comm)
    known_node = math.isfinite(g_node)
    g = g_node if known_node else n_dev  # no node in the catalog: one domain
    where = dict(g_node=g, n_dev=n_dev, n_t=deg["n_t"], n_c=deg["n_c"], n_p=deg["n_p"], n_ep=deg["n_ep"])
    cross = {k: np.broadcast_to(F.numeric(e)(**{a: where[a] for a in F.numeric(e).args}), np.shape(t_comp))
             for k, e in (("tp", F.TP_CROSSES_NODES), ("cp", F.CP_CROSSES_NODES), ("pp", F.PP_CROSSES_NODES),
                          ("dp", F.DP_CROSSES_NODES), ("ep", F.EP_CROSSES_NODES))}
    moved = {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep}
    inside = sum(np.asarray(moved[k]) * (1 - cross[k]) for k in moved)
    across = {k: np.asarray(moved[k]) * cross[k] for k in moved}
    if np.any(inside > 0) and not np.all(np.isfinite(beta)):
        raise ValueError(f"hardware {hw.id!r} has no published interconnect_bandwidth_bytes_per_s, and this layout "
                         "communicates; pass interconnect_bandwidth_bytes_per_s")
    crossing = [k for k in ("tp", "cp", "pp", "dp", "ep") if np.any(across[k] > 0)]
    if crossing and not np.all(np.isfinite(beta_node)):
        names = [{"tp": "tensor", "cp": "context", "pp": "pipeline", "dp": "data", "ep": "expert"}[k]
                 for k in crossing]
        kinds = "-, ".join(names[:-1]) + ("- and " if len(names) > 1 else "") + names[-1]
        raise ValueError(
            f"hardware {hw.id!r} has no published internode_bandwidth_bytes_per_s, and this layout ({label}) spans "
            f"nodes of devices_per_node={g:g}: its {kinds}-parallel traffic crosses the scale-out network; pass "
            "internode_bandwidth_bytes_per_s= (bytes/s per device, one direction)")
    beta_eff = np.where(np.isfinite(beta), beta, 1.0)  # where unknown nothing moves
    node_eff = np.where(np.isfinite(beta_node), beta_node, 1.0)  # where unknown nothing crosses a node
    step_expr = F.STEP_TIME_EP if ep_on else F.STEP_TIME_NODES
    if vi:
        step_expr = F.STEP_TIME_EP_INTERLEAVED if ep_on else F.STEP_TIME_NODES_INTERLEAVED
    step = _eval(step_expr, arch, t_comp=t_comp, beta_link=beta_eff, beta_node=node_eff, omega=overlap,
                 N=float(arch.n_params), g_node=g, n_dev=n_dev, **comm)

    def seconds(k):
        return moved[k] / np.where(cross[k] > 0, node_eff, beta_eff)

    return {
        "tokens_per_step": tokens_step, "model_flop_per_token": model_tok, "compute_time_s": t_comp,
        "bubble_fraction": (F.numeric(F.PIPELINE_BUBBLE_FRACTION_INTERLEAVED)(n_p=deg["n_p"], m_mb=deg["m_mb"],
                                                                              v_pp=deg["v_pp"]) if vi else
                            F.numeric(F.PIPELINE_BUBBLE_FRACTION)(n_p=deg["n_p"], m_mb=deg["m_mb"])) + 0 * t_comp,
        "dp_comm_bytes": dp, "tp_comm_bytes": tp, "pp_comm_bytes": pp, "cp_comm_bytes": cp, "ep_comm_bytes": ep,
        "dp_comm_s": seconds("dp"), "tp_comm_s": seconds("tp"), "pp_comm_s": seconds("pp"), "cp_comm_s": seconds("cp"),
        "ep_comm_s": seconds("ep"),
        "devices_per_node": (g_node if known_node else math.nan) + 0 * t_comp,
        **{f"{k}_spans_nodes": cross[k] > 0 for k in ("tp", "cp", "pp", "dp", "ep")},
        "step_time_s": step, "n_devices": n_dev,
    }


def _resolve_mfu(arch, s, mfu_value, hfu_value, recompute, params):
    if mfu_value is not None and hfu_value is not None:
        raise ValueError(f"mfu={mfu_value!r} and hfu={hfu_value!r}: give one utilisation, not both")
    if hfu_value is not None:
        h = V.fraction("hfu", hfu_value)
        model, hardware = _flops_per_token(arch, s, params, _RHO[recompute])
        return h * model / hardware, "hfu given"
    if mfu_value is not None:
        return V.fraction("mfu", mfu_value), "mfu given"
    return default_mfu().value, "default (fitted to published runs)"


def training_step_time(arch: ArchLike, hw: HardwareLike, seq_len: ArrayLike, parallelism: Parallelism | None = None, *,
                       mfu: ArrayLike | None = None, hfu: ArrayLike | None = None, recompute: str = "none",
                       dtype: str = "bf16", overlap: bool = True, weight_dtype: str = "bf16",
                       grad_dtype: str = "bf16", activation_dtype: str = "bf16",
                       interconnect_bandwidth_bytes_per_s: ArrayLike | None = None,
                       devices_per_node: int | None = None,
                       internode_bandwidth_bytes_per_s: ArrayLike | None = None) -> pd.DataFrame:
    """Seconds of one optimizer step under ``parallelism``, by component.

    Compute: the step's model FLOPs at utilisation ``mfu`` (or ``hfu``, which
    counts the recomputed FLOPs; default :func:`default_mfu`), over the
    devices' dense ``dtype`` peak, stretched by the pipeline bubble
    (p - 1)/(m + p - 1), or ((p - 1)/v)/(m + (p - 1)/v) with ``virtual_stages``
    v above 1, whose pipeline sends are v times as many
    (:data:`costmodel.formulas.STEP_TIME_NODES_INTERLEAVED`). Communication over the device's interconnect (half
    the catalog's bidirectional figure, or ``interconnect_bandwidth_bytes_per_s``),
    ring algorithms at (n - 1)/n per pass: gradients (all-reduce, or ZeRO's
    reduce-scatter and all-gathers) and ring-attention key/value chunks,
    hidden behind compute when ``overlap`` (only what exceeds the compute
    time shows); tensor-parallel all-reduces and pipeline sends always on the
    critical path. With ``expert`` (n_ep) above 1, every MoE block does
    four all-to-alls per micro-batch (dispatch and combine, forward and
    backward; GShard, Lepikhin et al. 2020) of its tokens' k expert copies,
    on the critical path (not overlapped with compute), and the experts'
    gradients are reduced over data x context / n_ep replicas
    (:data:`costmodel.formulas.STEP_TIME_EP`). The default utilisation was
    fitted end to end, so it
    already contains the published runs' own bubbles and exposed
    communication.

    **Nodes.** Ranks are placed tensor-parallel innermost, then context,
    pipeline and data outermost, ``devices_per_node`` to a node (default:
    the catalog's reference system, 8 for a DGX); an expert-parallel group is
    n_ep data-parallel replicas. A collective whose groups
    span nodes runs at the scale-out bandwidth, per device and direction
    (``internode_bandwidth_bytes_per_s``, default the catalog's), groups
    within a node at the interconnect's: a ring is as fast as its slowest
    link (no hierarchical all-reduce). Where the catalog names no node
    (TPUs: ICI spans the pod) the whole layout is one interconnect domain,
    as before, unless ``devices_per_node`` is passed. A layout that spans
    nodes on a device without a scale-out figure raises ``ValueError``
    asking for ``internode_bandwidth_bytes_per_s=``. The ``*_spans_nodes``
    columns say which traffic crossed. Numeric arguments take arrays; one
    row per element of their broadcast. Formula
    :data:`costmodel.formulas.STEP_TIME_NODES` (:data:`~costmodel.formulas.STEP_TIME`
    within one node). Defined in :ref:`sec_training`.
    """
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    par = _as_parallelism(parallelism)
    if mfu is not None and hfu is not None:
        raise ValueError(f"mfu={mfu!r} and hfu={hfu!r}: give one utilisation, not both")
    arrays = {"seq_len": V.size("seq_len", seq_len, minimum=1, integer=True)}
    if mfu is not None:
        arrays["mfu"] = V.fraction("mfu", mfu)
    if hfu is not None:
        arrays["hfu"] = V.fraction("hfu", hfu)
    arrays["beta"] = _link_bandwidth(hw, interconnect_bandwidth_bytes_per_s)
    g_node, arrays["beta_node"] = _node_links(hw, devices_per_node, internode_bandwidth_bytes_per_s)
    shape = V.broadcast(**arrays)
    a = {k: np.broadcast_to(v, shape).ravel() if shape else np.atleast_1d(v) for k, v in arrays.items()}
    s = a["seq_len"]
    _check_layout(arch, par, s)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    b = dict(b_w=bytes_per_element(V.dtype("weight_dtype", weight_dtype)),
             b_g=bytes_per_element(V.dtype("grad_dtype", grad_dtype)),
             b_a=bytes_per_element(V.dtype("activation_dtype", activation_dtype)))
    u, basis = _resolve_mfu(arch, s, a.get("mfu"), a.get("hfu"), recompute, "all")
    pi = hw.peak_flops(V.dtype("dtype", dtype))
    out = _step(arch, hw, s, _degrees(par), _RHO[recompute], u, pi, a["beta"], float(V.flag("overlap", overlap)), b,
                float(arch.n_active_params), g_node, a["beta_node"], par.label())
    shape = np.shape(out["step_time_s"])
    df = pd.DataFrame({"model": arch.name, "hardware": hw.id, **_layout_columns(par), "recompute": recompute,
                       "seq_len": s.astype(np.int64), "mfu": np.broadcast_to(u, shape), "utilisation_basis": basis,
                       **{k: np.broadcast_to(v, shape) for k, v in out.items()}})
    df["mfu_effective"] = df["compute_time_s"] * df["mfu"] / df["step_time_s"]
    return df


def training_energy_kwh(device_hours: ArrayLike, hardware: HardwareLike | None = None, *,
                        device_power_w: ArrayLike | None = None, power_fraction: ArrayLike = 1.0,
                        pue: ArrayLike | None = None):
    """Energy drawn from the grid, in kWh: device-hours x device power x
    ``power_fraction`` (u, the average share of it drawn; 1 = the TDP, as the
    BLOOM and LLaMA papers count) x ``pue`` (default: the Uptime Institute's
    2023 global average in ``data/prices/energy.csv``). The power is
    ``device_power_w`` or the catalog's ``tdp_w`` of ``hardware``: the
    arithmetic of :func:`costmodel.energy_kwh`, shared with the cost of
    serving. Formula :data:`costmodel.formulas.TRAINING_ENERGY_J`.
    Defined in :ref:`sec_training`.

    >>> import costmodel as cm
    >>> cm.training_energy_kwh(1_082_990, device_power_w=400, pue=1.0)   # BLOOM: 433,196 kWh
    433196.0
    """
    return energy_kwh(device_hours, hardware, device_power_w=device_power_w, power_fraction=power_fraction, pue=pue)


def training_co2e_kg(energy_kwh: ArrayLike, carbon_intensity_g_per_kwh: ArrayLike | None = None):
    """Kilograms of CO2 for ``energy_kwh`` at ``carbon_intensity_g_per_kwh``
    (default: the U.S. EIA's 2023 average for all utility-scale generation in
    ``data/prices/energy.csv``, direct CO2): :func:`costmodel.co2e_kg`. Formula
    :data:`costmodel.formulas.TRAINING_CO2E_KG`. Defined in :ref:`sec_training`.
    """
    return co2e_kg(energy_kwh, carbon_intensity_g_per_kwh)


def training_run(arch: ArchLike, hw: HardwareLike, tokens: ArrayLike, n_devices: ArrayLike, seq_len: ArrayLike, *,
                 parallelism: Parallelism | None = None, global_batch_tokens: ArrayLike | None = None,
                 mfu: ArrayLike | None = None, hfu: ArrayLike | None = None, recompute: str = "none",
                 optimizer: str | float = "adam", dtype: str = "bf16", overlap: bool = True,
                 flash_attention: bool = True, interconnect_bandwidth_bytes_per_s: ArrayLike | None = None,
                 devices_per_node: int | None = None, internode_bandwidth_bytes_per_s: ArrayLike | None = None,
                 price_per_device_hour_usd: ArrayLike | None = None, price_date: Any = None,
                 price_provider: str | None = None, pricing_model: str = "on_demand",
                 device_power_w: ArrayLike | None = None, power_fraction: ArrayLike = 1.0,
                 pue: ArrayLike | None = None, carbon_intensity_g_per_kwh: ArrayLike | None = None,
                 check_fit: bool = True) -> pd.DataFrame:
    """A training run of ``tokens`` tokens on ``n_devices`` devices of ``hw``,
    sequences of ``seq_len``: wall-clock, device-hours, dollars, energy, CO2.

    ``parallelism`` defaults to pure data parallelism over ``n_devices``
    (ZeRO 0, one sequence per device per step); when given, its degrees must
    multiply to ``n_devices``. ``global_batch_tokens`` (e.g. 4M) sets the
    micro-batches per step in its place. Step time as
    :func:`training_step_time` (``mfu``/``hfu``, default :func:`default_mfu`;
    ``devices_per_node`` and ``internode_bandwidth_bytes_per_s`` place the
    layout on nodes and the scale-out network, as there);
    steps = tokens / tokens per step. Cost: ``price_per_device_hour_usd``, or
    the dated catalog price at ``price_date`` (:func:`costmodel.price_per_device_hour`,
    with ``price_provider`` and ``pricing_model``); without either the cost
    is NaN: there is no hidden current price. Energy and CO2 as
    :func:`training_energy_kwh` and :func:`training_co2e_kg`. Memory as
    :func:`training_memory`: a scalar run that does not fit raises
    ``ValueError`` with the shortfall (unless ``check_fit=False``); array
    runs come back with ``fits`` and ``shortfall_bytes``. Every numeric
    argument takes numpy arrays; the result has one row per element of
    their broadcast (flattened in C order).
    Defined in :ref:`sec_training`.

    >>> import costmodel as cm
    >>> run = cm.training_run("llama-2-7b", "a100-sxm-80gb", 2e12, 1024, 4096, mfu=0.45,
    ...                       parallelism=cm.Parallelism(data=1024, zero_stage=1), price_per_device_hour_usd=2.0)
    >>> round(float(run["device_hours"].iloc[0]) / 1e3)   # Llama 2 7B's card: 184,320 GPU-hours
    185
    """
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    if mfu is not None and hfu is not None:
        raise ValueError(f"mfu={mfu!r} and hfu={hfu!r}: give one utilisation, not both")
    arrays = {"tokens": V.size("tokens", tokens, minimum=1),
              "n_devices": V.size("n_devices", n_devices, minimum=1, integer=True),
              "seq_len": V.size("seq_len", seq_len, minimum=1, integer=True),
              "power_fraction": V.fraction("power_fraction", power_fraction)}
    optional = {
        "mfu": (mfu, lambda v: V.fraction("mfu", v)), "hfu": (hfu, lambda v: V.fraction("hfu", v)),
        "global_batch_tokens": (global_batch_tokens, lambda v: V.size("global_batch_tokens", v, minimum=1,
                                                                     integer=True)),
        "price_per_device_hour_usd": (price_per_device_hour_usd,
                                      lambda v: V.size("price_per_device_hour_usd", v, maximum=1e6)),
        "device_power_w": (device_power_w, lambda v: V.size("device_power_w", v, minimum=1e-3, maximum=1e7)),
        "pue": (pue, lambda v: V.size("pue", v, minimum=1.0, maximum=10.0)),
        "carbon_intensity_g_per_kwh": (carbon_intensity_g_per_kwh,
                                       lambda v: V.size("carbon_intensity_g_per_kwh", v, maximum=1e4)),
        "interconnect_bandwidth_bytes_per_s": (interconnect_bandwidth_bytes_per_s,
                                               lambda v: V.size("interconnect_bandwidth_bytes_per_s", v,
                                                                minimum=1.0, maximum=1e30)),
    }
    arrays.update({k: check(v) for k, (v, check) in optional.items() if v is not None})
    arrays["optimizer"] = _optimizer_bytes(optimizer)
    g_node, arrays["beta_node"] = _node_links(hw, devices_per_node, internode_bandwidth_bytes_per_s)
    shape = V.broadcast(**arrays)
    a = {k: np.broadcast_to(v, shape).ravel() if shape else np.atleast_1d(v) for k, v in arrays.items()}
    t, n, s = a["tokens"], a["n_devices"], a["seq_len"]
    recompute = _choice("recompute", recompute, RECOMPUTE)
    check_fit = V.flag("check_fit", check_fit)
    if parallelism is None:
        par, data = Parallelism(), n.astype(float)
    else:
        par = _as_parallelism(parallelism)
        bad = n != par.n_devices
        if np.any(bad):
            raise ValueError(
                f"parallelism tensor={par.tensor} x pipeline={par.pipeline} x data={par.data} x "
                f"context={par.context} = {par.n_devices} devices, but n_devices={n[bad][0]:g}")
        data = np.full(n.shape, float(par.data))
    _check_layout(arch, par, s)
    deg = _degrees(par, data)
    if "global_batch_tokens" in a:
        g = a["global_batch_tokens"]
        m = g / (deg["B"] * data * s)
        if np.any(m < 1) or np.any(m != np.round(m)):
            i = int(np.argmax((m < 1) | (m != np.round(m))))
            raise ValueError(
                f"global_batch_tokens={g[i]:g} is not a whole number (>= 1) of "
                f"micro-batches of micro_batch_size={par.micro_batch_size} x seq_len={s[i]:g} tokens on "
                f"data={data[i]:g} replicas")
        deg["m_mb"] = m
    half = bytes_per_element("bf16")  # mixed precision: 16-bit weights, gradients and activations
    b = dict(b_w=half, b_g=half, b_a=half)
    u, basis = _resolve_mfu(arch, s, a.get("mfu"), a.get("hfu"), recompute, "all")
    b_opt = a["optimizer"]
    phi = float(V.flag("flash_attention", flash_attention))
    weights, grads, opt, acts = _memory(arch, s, deg, _RHO[recompute], b["b_w"], b["b_g"], b_opt, b["b_a"], 0.0, phi)
    total = weights + grads + opt + acts
    cap = hw.memory_bytes
    if check_fit and not math.isfinite(cap):
        raise ValueError(f"hardware {hw.id!r} has no published memory_bytes, so whether the run fits cannot be "
                         "checked; pass check_fit=False")
    fits = total <= cap if math.isfinite(cap) else np.zeros(np.shape(total), bool)
    label = par.label() if parallelism is not None else Parallelism(data=int(n[0])).label()
    if check_fit and not shape and not bool(np.all(fits)):
        raise ValueError(
            f"{arch.name} does not fit on {hw.id} with {label}, zero_stage={par.zero_stage}, "
            f"recompute={recompute!r}, micro_batch_size={par.micro_batch_size}, seq_len={s[0]:g}: "
            f"{float(total[0]) / 1e9:.1f} GB per device (weights {float(np.max(weights)) / 1e9:.1f}, gradients "
            f"{float(np.max(grads)) / 1e9:.1f}, optimizer {float(np.max(opt)) / 1e9:.1f}, activations "
            f"{float(acts[0]) / 1e9:.1f}) against memory_bytes {cap / 1e9:.1f} GB, "
            f"{(float(total[0]) - cap) / 1e9:.1f} GB short; shard more (zero_stage, tensor, pipeline), "
            "recompute, shrink the micro-batch, or pass check_fit=False")
    pi = hw.peak_flops(V.dtype("dtype", dtype))
    beta = a.get("interconnect_bandwidth_bytes_per_s", _link_bandwidth(hw, None))
    step = _step(arch, hw, s, deg, _RHO[recompute], u, pi, beta, float(V.flag("overlap", overlap)), b,
                 float(arch.n_active_params), g_node, a["beta_node"], label)
    steps = t / step["tokens_per_step"]
    wall = steps * step["step_time_s"]
    device_s = wall * step["n_devices"]
    if "price_per_device_hour_usd" in a:
        price = a["price_per_device_hour_usd"]
    elif price_date is not None:
        price = price_per_device_hour(hw, price_date, provider=price_provider, pricing_model=pricing_model)
    else:
        price = math.nan
    cost = F.numeric(F.TRAINING_COST_USD)(tau_dev=device_s, c_dev=price)
    if "device_power_w" not in a and not math.isfinite(hw.tdp_w):
        energy = np.full(np.shape(device_s), math.nan)
    else:
        energy = training_energy_kwh(device_s / 3600, hw, device_power_w=a.get("device_power_w"),
                                     power_fraction=a["power_fraction"], pue=a.get("pue"))
    co2 = training_co2e_kg(np.nan_to_num(energy), a.get("carbon_intensity_g_per_kwh")) + 0 * energy
    out_shape = np.shape(wall)
    cols = {
        "model": arch.name, "hardware": hw.id, **_layout_columns(par), "recompute": recompute,
        "tokens": t, "n_devices": step["n_devices"], "seq_len": s, "data": data + 0 * wall,
        "micro_batches": deg["m_mb"] + 0 * wall, "mfu": u + 0 * wall, "utilisation_basis": basis,
        "model_flops": t * step["model_flop_per_token"],
        "tokens_per_step": step["tokens_per_step"], "steps": steps,
        **{k: step[k] for k in ("compute_time_s", "bubble_fraction", "tp_comm_s", "pp_comm_s", "dp_comm_s",
                                "cp_comm_s", "ep_comm_s", "devices_per_node", "tp_spans_nodes", "cp_spans_nodes",
                                "pp_spans_nodes", "dp_spans_nodes", "ep_spans_nodes", "step_time_s")},
        "wall_clock_s": wall, "wall_clock_days": wall / 86400, "device_hours": device_s / 3600,
        "price_per_device_hour_usd": price + 0 * wall, "cost_usd": cost, "energy_kwh": energy, "co2e_kg": co2,
        "memory_total_bytes": total, "memory_bytes": cap, "fits": fits,
        "shortfall_bytes": np.maximum(total - cap, 0.0) if math.isfinite(cap) else np.full(np.shape(total), math.nan),
    }
    df = pd.DataFrame({k: np.broadcast_to(v, out_shape) if isinstance(v, np.ndarray) else v for k, v in cols.items()})
    df["mfu_effective"] = df["compute_time_s"] * df["mfu"] / df["step_time_s"]
    for col in ("n_devices", "seq_len", "data", "micro_batches"):
        df[col] = df[col].astype(np.int64)
    if parallelism is None:
        df["layout"] = [Parallelism(data=int(d)).label() for d in df["data"]]
    return df


# ----------------------------------------------------------------------
# Published runs and the default MFU
# ----------------------------------------------------------------------
_KIND_ORDER = ("point", "approx", "estimate", "lower_bound", "range_high", "range_low", "upper_bound")
_METRICS = ("training_tokens", "device_time", "wall_time", "model_params", "model_params_active",
            "tokens_per_s_per_device", "flop_per_s_per_device", "global_batch_tokens", "device_power", "energy",
            "co2e", "cost", "price_per_device_hour_assumed", "pue")


@lru_cache(maxsize=None)
def _training_csv() -> pd.DataFrame:
    with TRAINING_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype={"phase": str, "hardware": str, "hardware_candidates": str, "model": str})
    df["phase"] = df["phase"].fillna("")
    df["rank"] = df["value_kind"].map({k: i for i, k in enumerate(_KIND_ORDER)}).fillna(len(_KIND_ORDER))
    return df


def _resolve_device(hardware: str, in_catalog: bool, candidates: str, powers: set, dtype: str = "bf16"):
    """(catalog id or '', dense peak, how it was resolved)."""
    known = set(list_hardware())
    if in_catalog and hardware in known:
        hw = load_hardware(hardware)
        return hw.id, hw.peak_flops(dtype) if hw.has_peak(dtype) else math.nan, "stated or assumed in the catalog"
    cands = [load_hardware(c) for c in (candidates or "").split(";") if c in known]
    if not cands:
        return "", math.nan, "device not in the catalog"
    by_power = [h for h in cands if h.tdp_w in powers]
    if len(by_power) == 1:
        h = by_power[0]
        return h.id, h.peak_flops(dtype) if h.has_peak(dtype) else math.nan, "the stated device power picks it"
    peaks = {h.peak_flops(dtype) if h.has_peak(dtype) else math.nan for h in cands}
    if len(peaks) == 1 and all(math.isfinite(p) for p in peaks):
        return ";".join(h.id for h in cands), peaks.pop(), "the candidates share the dense peak"
    return "", math.nan, "ambiguous: the candidates " + ", ".join(h.id for h in cands) + " differ in peak"


@lru_cache(maxsize=None)
def _published_runs() -> pd.DataFrame:
    raw = _training_csv()
    models = set(list_models())
    rows = []
    phased = set(raw.loc[raw["phase"] != "", "run"])
    for (run, phase), grp in raw.groupby(["run", "phase"], sort=False):
        if phase == "" and run in phased:
            continue  # its run-level figures are merged into each phase below
        rows_run = raw[(raw["run"] == run) & ((raw["phase"] == phase) | (raw["phase"] == ""))]
        pick = rows_run.sort_values(["rank"], kind="stable").assign(own=lambda d: d["phase"] == phase)
        pick = pick.sort_values(["own", "rank"], ascending=[False, True], kind="stable")
        first = rows_run.iloc[0]
        rec: dict[str, Any] = {"run": run, "phase": phase, "model": first["model"],
                               "model_in_catalog": bool(first["model_in_catalog"]) and first["model"] in models,
                               "hardware_as_published": first["hardware"] if isinstance(first["hardware"], str) else "",
                               "n_devices": pick["n_devices"].dropna().iloc[0] if pick["n_devices"].notna().any()
                               else math.nan,
                               "parallelism": pick["parallelism"].dropna().iloc[0] if pick["parallelism"].notna().any()
                               else "",
                               "precision": pick["precision"].dropna().iloc[0] if pick["precision"].notna().any()
                               else "",
                               "source": first["source"]}
        for metric in _METRICS:
            hit = pick[pick["metric"] == metric]
            rec[metric] = float(hit["value"].iloc[0]) if len(hit) else math.nan
            rec[metric + "_kind"] = hit["value_kind"].iloc[0] if len(hit) else ""
        powers = set(pick.loc[pick["metric"] == "device_power", "value"].astype(float))
        hw_id, peak, how = _resolve_device(rec["hardware_as_published"], bool(first["hardware_in_catalog"]),
                                           first["hardware_candidates"] if isinstance(first["hardware_candidates"], str)
                                           else "", powers)
        rec.update(hardware=hw_id, peak_bf16_flop_per_s=peak, hardware_resolution=how)
        rows.append(rec)
    df = pd.DataFrame(rows)
    wall_dev = df["n_devices"] * df["wall_time"]
    use_pub = (df["device_time_kind"] == "point") | (df["device_time"].notna() & wall_dev.isna())
    seconds = np.where(use_pub, df["device_time"], np.where(wall_dev.notna(), wall_dev, df["device_time"]))
    df["device_hours"] = seconds / 3600
    df["device_hours_basis"] = np.where(
        df["device_hours"].isna(), "",
        np.where(use_pub, "published device time (" + df["device_time_kind"] + ")",
                 "n_devices x wall_time"))
    return df


def published_training_runs() -> pd.DataFrame:
    """The published runs of ``data/measurements/training.csv``, one row per
    run (and phase where the source splits phases), its metrics side by side:
    ``training_tokens``, ``device_time`` (device-seconds), ``wall_time``,
    ``energy`` (J), ``co2e`` (kg), ``cost`` (USD)... each with a ``_kind``
    column (``point``, ``approx``, ``lower_bound``...). Where a source gives
    contradictory figures the ``point`` one is kept. ``hardware`` is the
    catalog device (resolved from the candidates when they share the dense
    bf16 peak or the stated device power picks one; ``hardware_resolution``
    says how), ``device_hours`` the published device time when it is a
    point value, else ``n_devices`` x ``wall_time``. A copy.
    Defined in :ref:`sec_training`.
    """
    return _published_runs().copy()


@dataclass(frozen=True)
class MfuFit:
    """The default MFU: one utilisation fitted to published runs, with its
    leave-one-out error. ``value`` is the geometric mean of the runs'
    implied MFUs (least squares on log device-hours); ``loo_rms_log_error``
    the root mean square of log(predicted / reported device-hours) when each
    run is predicted by the fit to the others, ``loo_factor`` its exponential
    (a typical factor between prediction and report), ``loo_median_abs_rel_error``
    and ``loo_max_abs_rel_error`` the median and largest |predicted / reported
    - 1|. ``runs`` names the runs. Defined in :ref:`sec_training`.
    """

    value: float
    n_runs: int
    runs: tuple[str, ...]
    loo_rms_log_error: float
    loo_factor: float
    loo_median_abs_rel_error: float
    loo_max_abs_rel_error: float


def _validation_frame() -> pd.DataFrame:
    df = _published_runs()
    rows = []
    for r in df.itertuples(index=False):
        why = ""
        if not r.model_in_catalog:
            why = "no architecture in the model catalog"
        elif not math.isfinite(r.peak_bf16_flop_per_s):
            why = f"no catalog peak: {r.hardware_resolution}"
        elif not math.isfinite(r.training_tokens):
            why = "no token count"
        elif not math.isfinite(r.device_hours):
            why = "no device time (neither device-hours nor devices x wall time)"
        rec = {"run": r.run, "phase": r.phase, "model": r.model, "hardware": r.hardware,
               "hardware_resolution": r.hardware_resolution, "tokens": r.training_tokens,
               "tokens_kind": r.training_tokens_kind, "device_hours_reported": r.device_hours,
               "device_hours_basis": r.device_hours_basis, "used_in_fit": not why, "why_not": why,
               "seq_len": math.nan, "n_params": math.nan, "model_flops": math.nan, "flops_6nd": math.nan,
               "implied_mfu": math.nan, "implied_mfu_6nd": math.nan}
        if not why:
            arch = load_model(r.model)
            # PaLM's model FLOPs need the training sequence length; training.csv does not record it, and the
            # released config's context length is the pretraining length for every run used here (Llama 2:
            # 4096, Llama 3: 8192, Phi: 2048 / 4096).
            s = float(arch.max_position_embeddings)
            rec.update(seq_len=s, n_params=float(arch.n_active_params),
                       model_flops=float(training_flops(arch, r.training_tokens, s)),
                       flops_6nd=float(training_flops(arch, r.training_tokens)))
            pi, tau = r.peak_bf16_flop_per_s, r.device_hours * 3600
            rec["implied_mfu"] = rec["model_flops"] / (tau * pi)
            rec["implied_mfu_6nd"] = rec["flops_6nd"] / (tau * pi)
            rec["peak_bf16_flop_per_s"] = pi
        rows.append(rec)
    return pd.DataFrame(rows)


@lru_cache(maxsize=None)
def _fit() -> tuple[MfuFit, pd.DataFrame]:
    val = _validation_frame()
    used = val[val["used_in_fit"]].copy()
    logs = np.log(used["implied_mfu"].to_numpy())
    n = len(logs)
    if n < 3:  # pragma: no cover - the catalog has more; the fit needs some to leave one out
        raise ValueError(f"only {n} published runs are usable to fit the default MFU")
    loo_mfu = np.exp((logs.sum() - logs) / (n - 1))
    pred = used["model_flops"].to_numpy() / (used["peak_bf16_flop_per_s"].to_numpy() * loo_mfu) / 3600
    used["mfu_fit_without_run"] = loo_mfu
    used["device_hours_predicted_loo"] = pred
    used["residual_loo"] = pred / used["device_hours_reported"] - 1
    used["log_residual_loo"] = np.log(pred / used["device_hours_reported"])
    val = val.merge(used[["run", "phase", "mfu_fit_without_run", "device_hours_predicted_loo", "residual_loo",
                          "log_residual_loo"]], on=["run", "phase"], how="left")
    rms = float(np.sqrt(np.mean(used["log_residual_loo"] ** 2)))
    fit = MfuFit(value=float(np.exp(logs.mean())), n_runs=n, runs=tuple(used["run"]), loo_rms_log_error=rms,
                 loo_factor=float(np.exp(rms)),
                 loo_median_abs_rel_error=float(np.median(np.abs(used["residual_loo"]))),
                 loo_max_abs_rel_error=float(np.max(np.abs(used["residual_loo"]))))
    return fit, val


def default_mfu() -> MfuFit:
    """The MFU :func:`training_run` uses when given none, fitted to the
    published runs that :func:`training_validation` marks ``used_in_fit``
    (a catalog architecture, a catalog device with a dense bf16 peak, a
    token count and a device time): the geometric mean of their implied MFUs
    (PaLM's model FLOPs at the config's context length over device-hours x
    peak), with its leave-one-out error. Published device-hours include
    restarts, evaluation and lost time, so this is an end-to-end
    utilisation, lower than what a benchmark step reaches.
    Defined in :ref:`sec_training`.

    >>> import costmodel as cm
    >>> fit = cm.default_mfu()
    >>> 0.1 < fit.value < 0.7 and fit.n_runs >= 5
    True
    """
    return _fit()[0]


def training_validation() -> pd.DataFrame:
    """Every published run with what the model predicts for it: one row per
    run (and phase), ``used_in_fit`` and ``why_not`` when a run cannot be
    used, the tokens and device-hours reported, the model FLOPs (PaLM's
    convention, at the config's context length ``seq_len``) and 6ND, the
    implied MFU under both conventions, and for the runs in the fit the MFU
    fitted to the *other* runs, the device-hours it predicts and the
    residual (predicted / reported - 1) and its log: every residual is
    out of sample. Defined in :ref:`sec_training`.
    """
    return _fit()[1].copy()
