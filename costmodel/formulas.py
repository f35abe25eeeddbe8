"""Every formula of costmodel, written once as a sympy expression.

The book shows these expressions (``sympy.latex``); the numeric functions in
:mod:`costmodel.quantities` evaluate the very same expressions through
:func:`numeric`, a cached ``lambdify(..., "numpy")`` that casts its inputs to
float64 and broadcasts its output. Nothing here knows about a particular model
or device: the symbols are defined in :mod:`costmodel.symbols`.

Book sections: parameters and KV cache ``sec_memory``, FLOPs and the roofline
``sec_roofline``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from .symbols import S

__all__ = [
    "Matmul",
    "Vector",
    "params_of",
    "weights_of",
    "active_weights_of",
    "mlp",
    "ATTENTION",
    "MLA",
    "MLP",
    "MOE",
    "LM_HEAD",
    "ATTENTION_WIDTH",
    "ATTAINABLE_FLOP_PER_S",
    "mlp_params",
    "ATTN_PARAMS",
    "MLA_PARAMS",
    "MLP_PARAMS",
    "MOE_PARAMS",
    "MOE_INACTIVE_PARAMS",
    "EXPERTS_TOUCHED",
    "PER_EXPERT_PARAMS",
    "NORM_PARAMS_PER_BLOCK",
    "EMBEDDING_PARAMS",
    "LM_HEAD_PARAMS",
    "ATTN_MATMUL_WEIGHTS",
    "MLA_MATMUL_WEIGHTS",
    "MOE_MATMUL_WEIGHTS_ACTIVE",
    "total_params",
    "TOTAL_PARAMS",
    "TOTAL_PARAMS_MLA",
    "matmul_weights",
    "MATMUL_WEIGHTS",
    "MATMUL_WEIGHTS_MLA",
    "FORWARD_FLOPS",
    "PREFILL_FLOPS",
    "ATTN_SPAN_CAUSAL",
    "ATTN_SPAN_CAUSAL_WINDOWED",
    "KV_ELEMENTS_PER_TOKEN_LAYER",
    "MLA_KV_ELEMENTS_PER_TOKEN_LAYER",
    "KV_CACHE_BYTES",
    "WEIGHT_BYTES",
    "ACTIVATION_BYTES_PER_BLOCK",
    "TRAINING_STATE_BYTES",
    "ROOFLINE_TIME",
    "ARITHMETIC_INTENSITY",
    "RIDGE_INTENSITY",
    "MATMUL_INTENSITY",
    "ALLREDUCE_TIME",
    "ALLTOALL_TIME",
    "MLA_ABSORBED_ATTENTION_WIDTH",
    "numeric",
]

d, L, n_h, n_kv, d_h, f, V, P = S.d, S.L, S.n_h, S.n_kv, S.d_h, S.f, S.V, S.P
g, t = S.g, S.t

# --------------------------------------------------------------------------
# Matmul records (sec_memory, sec_roofline)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Matmul:
    """One weight matrix of a block: ``x (.. x d_in) @ W (d_in x d_out)``.

    ``copies`` is how many such matrices a block stores (an indicator or a
    count: the gate of a gated MLP has ``g`` copies, a routed expert's ``E``),
    ``active`` how many one token multiplies by (default ``copies``; a routed
    expert's ``k``), ``bias`` an indicator of a bias vector of width
    ``d_out`` on each stored copy. Parameters, matmul weights and forward
    FLOPs are sums over these records (2 FLOP per multiply-add).
    """

    name: str
    d_in: sp.Expr
    d_out: sp.Expr
    bias: sp.Expr = sp.Integer(0)
    copies: sp.Expr = sp.Integer(1)
    active: sp.Expr | None = None

    @property
    def weights(self) -> sp.Expr:
        """Stored matrix elements."""
        return self.copies * self.d_in * self.d_out

    @property
    def params(self) -> sp.Expr:
        """Stored matrix elements plus biases."""
        return self.copies * (self.d_in * self.d_out + self.bias * self.d_out)

    @property
    def active_weights(self) -> sp.Expr:
        """Matrix elements one token multiplies by."""
        return (self.copies if self.active is None else self.active) * self.d_in * self.d_out

    @property
    def forward_flops_per_token(self) -> sp.Expr:
        return 2 * self.active_weights


@dataclass(frozen=True)
class Vector:
    """Parameters of a block that multiply no activation matrix: the scales of
    a normalisation inside attention (QK-norm) or one learned attention-sink
    logit per head. ``copies`` vectors of ``width`` parameters each (an
    indicator switches the vector off). Like biases and the block norms they
    take no part in the matmul weights N_mm nor in the 2 N_mm FLOP per token.
    A block lists them among its :class:`Matmul` records, with the same
    interface (``d_in`` is 0), so that its parameters are one sum."""

    name: str
    width: sp.Expr
    copies: sp.Expr = sp.Integer(1)

    d_in = sp.Integer(0)
    bias = sp.Integer(0)
    active = None

    @property
    def d_out(self) -> sp.Expr:
        return self.width

    @property
    def weights(self) -> sp.Expr:
        return sp.Integer(0)

    @property
    def params(self) -> sp.Expr:
        return self.copies * self.width

    @property
    def active_weights(self) -> sp.Expr:
        return sp.Integer(0)

    @property
    def forward_flops_per_token(self) -> sp.Expr:
        return sp.Integer(0)


def params_of(records) -> sp.Expr:
    """Parameters of a tuple of :class:`Matmul` (weights and biases) and
    :class:`Vector` records."""
    return sp.Add(*(r.params for r in records))


def weights_of(records) -> sp.Expr:
    """Stored matrix elements of a tuple of :class:`Matmul` records."""
    return sp.Add(*(r.weights for r in records))


def active_weights_of(records) -> sp.Expr:
    """Matrix elements one token multiplies by, over ``records``."""
    return sp.Add(*(r.active_weights for r in records))


def mlp(width: sp.Expr, bias: sp.Expr = S.beta_mlp, copies: sp.Expr = 1, active: sp.Expr | None = None,
        prefix: str = "") -> tuple[Matmul, ...]:
    """An MLP of hidden width ``width``: gate (``g`` copies: only gated MLPs
    have one), up and down projections, each with ``copies`` stored and
    ``active`` used per token."""
    act = None if active is None else sp.sympify(active)
    return (
        Matmul(prefix + "gate", d, width, bias, g * copies, None if act is None else g * act),
        Matmul(prefix + "up", d, width, bias, sp.sympify(copies), act),
        Matmul(prefix + "down", width, d, bias, sp.sympify(copies), act),
    )


def mlp_params(width: sp.Expr) -> sp.Expr:
    """Parameters of one MLP of hidden width ``width``:
    (2 + g) D F weights; with biases, (1 + g) F + D more."""
    return params_of(mlp(width))


#: Multi-/grouped-query attention: Q (D x H d_h), K and V (D x K d_h each),
#: output (H d_h x D), optional biases; the scales of a QK-norm of the
#: block's norm kind (nu per unit width), h_qn head-width vectors on the
#: queries and h_kn on the keys (Qwen3, Gemma 3: one each, shared by the
#: heads; OLMo 2: H and K, the whole widths), and one learned sink logit per
#: query head (gpt-oss).
ATTENTION = (
    Matmul("q", d, n_h * d_h, S.beta_qkv),
    Matmul("k", d, n_kv * d_h, S.beta_qkv),
    Matmul("v", d, n_kv * d_h, S.beta_qkv),
    Matmul("o", n_h * d_h, d, S.beta_o),
    Vector("q_norm", d_h, S.nu * S.h_qn),
    Vector("k_norm", d_h, S.nu * S.h_kn),
    Vector("sinks", n_h, S.sigma),
)

#: DeepSeek multi-head latent attention, in the unabsorbed form that
#: materialises per-head keys and values. Queries go through a rank-r_q
#: bottleneck (or a full-rank projection when r_q = 0); keys and values are
#: compressed into an r_kv latent plus one shared rotary key of width d_rope,
#: then expanded per head.
_q_lora = sp.Piecewise((1, S.r_q > 0), (0, True))
MLA = (
    Matmul("q_a", d, S.r_q, copies=_q_lora),
    Matmul("q_b", S.r_q, n_h * (S.d_nope + S.d_rope), copies=_q_lora),
    Matmul("q", d, n_h * (S.d_nope + S.d_rope), copies=1 - _q_lora),
    Matmul("kv_a", d, S.r_kv + S.d_rope),
    Matmul("kv_b", S.r_kv, n_h * (S.d_nope + S.d_v)),
    Matmul("o", n_h * S.d_v, d),
)

#: A dense block's MLP.
MLP = mlp(f)

#: One mixture-of-experts block: E routed experts (k used per token; biases
#: on their projections with beta_mlp, as gpt-oss has), a linear router
#: (D x E, with a bias in gpt-oss), the shared expert(s) of total width F_s
#: (no biases in any family supported) and, for Qwen-MoE, a D x 1 sigmoid
#: gate on the shared expert.
MOE = (
    *mlp(S.f_e, copies=S.E, active=S.k_e, prefix="expert_"),
    Matmul("router", d, S.E, S.beta_r),
    *mlp(S.f_s, bias=0, prefix="shared_"),
    Matmul("shared_gate", d, 1, copies=S.gamma_s),
)

#: The output projection: stored unless tied to the embedding, always used.
LM_HEAD = Matmul("lm_head", d, V, copies=1 - t, active=sp.Integer(1))

# --------------------------------------------------------------------------
# Parameters (sec_memory)
# --------------------------------------------------------------------------

ATTN_PARAMS = params_of(ATTENTION)
#: MLA adds an RMSNorm on the query bottleneck (when r_q > 0) and on the latent.
MLA_PARAMS = params_of(MLA) + _q_lora * S.r_q + S.r_kv
MLP_PARAMS = params_of(MLP)
MOE_PARAMS = params_of(MOE)

#: Expected distinct routed experts a batch of B tokens touches in one MoE
#: block when each token picks k of E uniformly: E (1 - (1 - k/E)^B).
EXPERTS_TOUCHED = S.E * (1 - (1 - S.k_e / S.E) ** S.B)

#: Routed experts a token does not touch in one MoE block.
MOE_INACTIVE_PARAMS = (S.E - S.k_e) * mlp_params(S.f_e)
#: One routed expert.
PER_EXPERT_PARAMS = mlp_params(S.f_e)

#: Normalisations inside one block.
NORM_PARAMS_PER_BLOCK = S.n_norm * S.nu * d

#: Token embedding plus learned positions (0 for rotary and ALiBi models).
EMBEDDING_PARAMS = V * d + P * d

#: The output projection when untied, plus its bias (Phi-1/2) either way.
LM_HEAD_PARAMS = LM_HEAD.params + S.beta_lm * V


def total_params(attention: sp.Expr) -> sp.Expr:
    """Parameters of the whole model: embeddings, L attention blocks
    (``attention`` is ATTN_PARAMS or MLA_PARAMS), the MLPs of the L - L_moe
    dense blocks and the L_moe MoE blocks, the norms, a final norm and the
    LM head."""
    return (
        EMBEDDING_PARAMS
        + L * attention
        + (L - S.L_moe) * MLP_PARAMS
        + S.L_moe * MOE_PARAMS
        + L * NORM_PARAMS_PER_BLOCK
        + S.nu * d
        + LM_HEAD_PARAMS
    )


TOTAL_PARAMS = total_params(ATTN_PARAMS)
TOTAL_PARAMS_MLA = total_params(MLA_PARAMS)

# --------------------------------------------------------------------------
# FLOPs (sec_roofline)
# --------------------------------------------------------------------------

ATTN_MATMUL_WEIGHTS = weights_of(ATTENTION)
MLA_MATMUL_WEIGHTS = weights_of(MLA)
#: Matmul weights a token uses in one MoE block: k routed experts, the
#: router and the shared expert(s).
MOE_MATMUL_WEIGHTS_ACTIVE = active_weights_of(MOE)


def matmul_weights(attention: sp.Expr) -> sp.Expr:
    """N_mm: matmul weights one token touches in the whole model."""
    return (
        L * attention
        + (L - S.L_moe) * active_weights_of(MLP)
        + S.L_moe * MOE_MATMUL_WEIGHTS_ACTIVE
        + LM_HEAD.active_weights
    )


MATMUL_WEIGHTS = matmul_weights(ATTN_MATMUL_WEIGHTS)
MATMUL_WEIGHTS_MLA = matmul_weights(MLA_MATMUL_WEIGHTS)

#: Attention width of a block: H (d_qk + d_v) / 2, half the FLOP per attended
#: position of Q K^T (H d_h) plus the weighted sum of values (H d_v); H d_h
#: when d_v = d_h.
ATTENTION_WIDTH = n_h * (d_h + S.d_v) / 2

#: Attention positions visited by T new tokens that follow C_0 cached ones
#: in one causal pass (each sees the cache, the earlier new tokens and
#: itself): sum_{i=1}^{T} (C_0 + i).
ATTN_SPAN_CAUSAL = S.T * S.C_0 + S.T * (S.T + 1) / 2

#: The same sum when each token sees at most W positions (sliding window):
#: the first m = min(max(W - C_0, 0), T) tokens see C_0 + i, the rest see W.
_m = sp.Min(sp.Max(S.W - S.C_0, 0), S.T)
ATTN_SPAN_CAUSAL_WINDOWED = _m * S.C_0 + _m * (_m + 1) / 2 + (S.T - _m) * S.W

#: Forward FLOPs of T tokens that each attend to C positions: 2 FLOP per
#: multiply-add with every matmul weight a token touches (N_mm: includes the
#: LM head, excludes the embedding lookup, biases and norms), plus Q K^T and
#: the weighted sum of values, 2 x 2 FLOP per head-width element and attended
#: position in each block (sliding-window blocks attend to at most W).
FORWARD_FLOPS = S.T * (2 * S.N_mm + 4 * S.w_a * ((L - S.L_sw) * S.C + S.L_sw * sp.Min(S.C, S.W)))

#: Forward FLOPs of a causal pass over T new tokens after C_0 cached ones
#: (prefill when C_0 = 0; a verification step of speculative decoding when
#: T is the draft length).
PREFILL_FLOPS = 2 * S.T * S.N_mm + 4 * S.w_a * (
    (L - S.L_sw) * ATTN_SPAN_CAUSAL + S.L_sw * ATTN_SPAN_CAUSAL_WINDOWED
)

# --------------------------------------------------------------------------
# Memory (sec_memory)
# --------------------------------------------------------------------------

#: Key and value elements one token adds to one block's cache (GQA: K heads).
KV_ELEMENTS_PER_TOKEN_LAYER = 2 * n_kv * d_h
#: MLA caches the compressed latent plus the shared rotary key.
MLA_KV_ELEMENTS_PER_TOKEN_LAYER = S.r_kv + S.d_rope
#: KV-cache bytes of B sequences of s tokens: full blocks keep every token,
#: sliding-window blocks a rolling buffer of at most W.
KV_CACHE_BYTES = S.B * S.b_kv * S.e_kv * ((L - S.L_sw) * S.s + S.L_sw * sp.Min(S.s, S.W))

#: Bytes to hold N weights at b_w bytes each plus one scale of b_sc bytes per
#: group of G weights (b_sc = 0 for unquantised weights).
WEIGHT_BYTES = S.N * (S.b_w + S.b_sc / S.G)

#: Activations one block stores for the backward pass, per Korthikanti et al.
#: (2022), generalised to GQA (K heads of key width d_h and value width d_v),
#: gated MLPs and fused attention:
#: the two norm inputs, the QKV input, Q and K, V, the softmax output (and
#: with dropout its 1-byte mask and output), the output-projection input and
#: its mask, the MLP input, (2 + 2g) MLP-width tensors and the MLP mask. With
#: fused (flash) attention the S x S scores are replaced by a float32
#: log-sum-exp per head and token. For GPT-style blocks (K = H, H d_h = D,
#: F = 4D, g = 0) with dropout and 16-bit activations this is
#: S B D (34 + 5 H S / D), the paper's equation (1).
ACTIVATION_BYTES_PER_BLOCK = S.s * S.B * (
    S.b_a * (4 * d + (n_h + n_kv) * d_h + n_kv * S.d_v + n_h * S.d_v + (2 + 2 * g) * f)
    + 2 * S.p_drop * d
    + (1 - S.phi_fa) * n_h * S.s * (S.b_a + S.p_drop * (1 + S.b_a))
    + S.phi_fa * 4 * n_h
)

#: Weights, gradients and optimizer state per parameter held for training
#: (mixed-precision Adam: 2 + 2 + 12 = 16 bytes, Rajbhandari et al. 2020).
TRAINING_STATE_BYTES = S.N * (S.b_w + S.b_g + S.b_opt)

# --------------------------------------------------------------------------
# Roofline (sec_roofline)
# --------------------------------------------------------------------------

#: Time of an operation bound by compute or by memory traffic, whichever is
#: slower (Williams, Waterman and Patterson 2009).
ROOFLINE_TIME = sp.Max(S.F_op / (S.pi * S.eta_c), S.M_op / (S.beta_mem * S.eta_m))
#: FLOP per byte moved.
ARITHMETIC_INTENSITY = S.F_op / S.M_op
#: The intensity at which compute and memory time are equal.
RIDGE_INTENSITY = (S.pi * S.eta_c) / (S.beta_mem * S.eta_m)
#: FLOP/s attainable at intensity I: the roof min(pi eta_c, beta eta_m I).
ATTAINABLE_FLOP_PER_S = sp.Min(S.pi * S.eta_c, S.beta_mem * S.eta_m * S.I)
#: Intensity of a (B x D) @ (D x F) matmul in b_w-byte elements: 2BDF FLOP
#: over reading both operands and writing the result.
MATMUL_INTENSITY = (2 * S.B * d * f) / (S.b_w * (S.B * d + d * f + S.B * f))

# --------------------------------------------------------------------------
# Inference step model (sec_inference)
# --------------------------------------------------------------------------

#: Ring all-reduce of M bytes over n_t devices: each device sends and
#: receives 2 (n - 1) / n of the data in 2 (n - 1) steps (Thakur, Rabenseifner
#: and Gropp 2005; Patarasuk and Yuan 2009).
ALLREDUCE_TIME = 2 * (S.n_t - 1) / S.n_t * S.M_op / S.beta_link + 2 * (S.n_t - 1) * S.alpha_link
#: All-to-all of M bytes per device over n_ep devices (expert dispatch or
#: combine): each device keeps 1/n of its data and sends the rest.
ALLTOALL_TIME = (S.n_ep - 1) / S.n_ep * S.M_op / S.beta_link + (S.n_ep - 1) * S.alpha_link
#: Attention width of an MLA block in the absorbed form deployed for decode:
#: each head scores the cached latent and rotary key (r_kv + d_rope) and sums
#: latent values (r_kv) per position, so 4 w FLOP per position is
#: 2 H (2 r_kv + d_rope) (DeepSeek-AI 2024, the absorbed W^UK and W^UV).
MLA_ABSORBED_ATTENTION_WIDTH = n_h * (2 * S.r_kv + S.d_rope) / 2

# --------------------------------------------------------------------------
# Numeric evaluation
# --------------------------------------------------------------------------

_NUMPY_MODULES = [{"Min": np.minimum, "Max": np.maximum}, "numpy"]


class _Numeric:
    """A lambdified expression called with keyword arguments named as in
    :mod:`costmodel.symbols`; inputs are cast to float64 (int64 overflows
    silently at 6 x 70e9 x 15e12) and the result is broadcast to the inputs'
    common shape (a constant expression would otherwise return a scalar)."""

    def __init__(self, expr: sp.Expr):
        self.expr = expr
        self.args = tuple(sorted(s.name for s in expr.free_symbols))
        syms = [getattr(S, a) for a in self.args]
        self._fn = sp.lambdify(syms, expr, modules=_NUMPY_MODULES)

    def __call__(self, **kwargs):
        missing = [a for a in self.args if a not in kwargs]
        if missing:
            raise TypeError(f"missing values for {missing} in {self.expr}")
        vals = [np.asarray(kwargs[a], dtype=np.float64) for a in self.args]
        shape = np.broadcast_shapes(*(v.shape for v in vals)) if vals else ()
        out = np.asarray(self._fn(*vals), dtype=np.float64)
        out = np.broadcast_to(out, shape)
        return float(out) if out.ndim == 0 else out


@lru_cache(maxsize=None)
def numeric(expr: sp.Expr) -> _Numeric:
    """The cached numpy function of a sympy expression (see :class:`_Numeric`)."""
    return _Numeric(expr)


# ==========================================================================
# Training (sec_training). Appended section: new training expressions go here,
# at the end of the module, in the notation of the "training" symbol group.
# ==========================================================================

#: Attention positions a training token meets, summed over blocks: PaLM and
#: Megatron-LM count the full S x S score square (not the causal half), and a
#: sliding-window block sees at most W positions.
TRAIN_ATTENTION_SPAN = (L - S.L_sw) * S.s + S.L_sw * sp.Min(S.s, S.W)

#: The scaling-law convention: 6 FLOP per parameter and token, forward (2)
#: plus backward (4), attention ignored (Kaplan et al. 2020; Hoffmann et al.
#: 2022). Which N is a convention too: Kaplan counts non-embedding
#: parameters, Hoffmann and the Llama papers all of them (active ones for MoE).
TRAINING_FLOPS_6ND = 6 * S.N * S.T_tr

#: Model FLOPs per token with the attention term, PaLM's 6 N + 12 L H Q T
#: (Chowdhery et al. 2022, appendix B) written with the attention width w_a
#: (H d_h when d_v = d_h) and the full sequence length S. With N -> N_mm it is
#: three times the forward pass of the matmul records: the backward pass does
#: two matmuls per forward one (activation and weight gradients).
MODEL_FLOPS_PER_TOKEN = 6 * S.N + 12 * S.w_a * TRAIN_ATTENTION_SPAN

#: FLOPs recomputed per token: full recomputation runs every block's forward
#: again (its matmuls and its attention core; the LM head is not
#: recomputed), selective recomputation only the attention core
#: (Korthikanti et al. 2022).
RECOMPUTE_FLOPS_PER_TOKEN = (
    S.rho_full * (2 * (S.N_mm - LM_HEAD.active_weights) + 4 * S.w_a * TRAIN_ATTENTION_SPAN)
    + S.rho_sel * 4 * S.w_a * TRAIN_ATTENTION_SPAN
)

#: Hardware FLOPs per token: the model FLOPs plus what recomputation adds.
HARDWARE_FLOPS_PER_TOKEN = MODEL_FLOPS_PER_TOKEN + RECOMPUTE_FLOPS_PER_TOKEN

#: Model FLOPs utilisation of a run: the model FLOPs of T_train tokens over
#: what the devices could have done in tau_dev device-seconds at peak pi
#: (PaLM's definition; with T_train = tokens per second and tau_dev = n it is
#: throughput x FLOPs per token / (n pi)).
MFU_OF_RUN = S.T_tr * MODEL_FLOPS_PER_TOKEN / (S.tau_dev * S.pi)

#: Device-seconds to train T_train tokens at utilisation MFU.
DEVICE_TIME_AT_MFU = S.T_tr * MODEL_FLOPS_PER_TOKEN / (S.pi * S.mfu)

# Memory per device ---------------------------------------------------------
# Model-parallel shards split the parameters by n_t n_p; ZeRO shards each
# state over the n_d n_c replicas that hold it (stage 1: optimizer state,
# 2: gradients too, 3 / FSDP: weights too; Rajbhandari et al. 2020).
_replicas = S.n_d * S.n_c

#: Weights one device holds.
WEIGHT_BYTES_PER_DEVICE = S.N * S.b_w / (S.n_t * S.n_p * _replicas**S.zeta_w)
#: Gradients one device holds.
GRADIENT_BYTES_PER_DEVICE = S.N * S.b_g / (S.n_t * S.n_p * _replicas**S.zeta_g)
#: Optimizer state one device holds (b_opt: 12 for mixed-precision Adam).
OPTIMIZER_BYTES_PER_DEVICE = S.N * S.b_opt / (S.n_t * S.n_p * _replicas**S.zeta_o)

# Korthikanti et al. (2022) split a block's stored activations into the part
# outside the tensor-parallel regions (two norm inputs, the QKV input, the MLP
# input and the two dropout masks: 10 s b h for a GPT block), which sequence
# parallelism splits by n_t, and the part inside (split by n_t; key/value
# heads by at most K, since fewer heads than devices are replicated).
_act_outside = 4 * S.b_a * d + 2 * S.p_drop * d
_act_inside = S.b_a * (n_h * d_h + n_h * S.d_v + (2 + 2 * g) * f) / S.n_t
_act_kv = S.b_a * n_kv * (d_h + S.d_v) / sp.Min(S.n_t, n_kv)
_act_scores = n_h * S.s * (S.b_a + S.p_drop * (1 + S.b_a))
_act_kept = (
    _act_outside / S.n_t**S.sigma_sp + _act_inside + _act_kv
    + ((1 - S.phi_fa) * (1 - S.rho_sel) * _act_scores + S.phi_fa * 4 * n_h) / S.n_t
)

#: Activations one block stores for one micro-batch of B sequences of S
#: tokens on one device: :data:`ACTIVATION_BYTES_PER_BLOCK` split by the
#: tensor degree (outside parts only with sequence parallelism) and by the
#: context degree; selective recomputation drops the score matrices, full
#: recomputation keeps only the block's input. For a GPT block this is the
#: paper's table 2: s b h (10 + 24/t + 5 a s/(h t)), s b h (34/t + 5 a s/(h t))
#: with sequence parallelism, 34 s b h / t selective, 2 s b h full.
ACTIVATION_BYTES_PER_BLOCK_PARALLEL = S.s * S.B / S.n_c * (
    (1 - S.rho_full) * _act_kept + S.rho_full * S.b_a * d / S.n_t**S.sigma_sp
)

#: The first pipeline stage holds L / n_p blocks for each of the min(n_p, m)
#: micro-batches in flight under the 1F1B schedule (Narayanan et al. 2021).
ACTIVATION_BYTES_PER_DEVICE = L / S.n_p * sp.Min(S.n_p, S.m_mb) * ACTIVATION_BYTES_PER_BLOCK_PARALLEL

#: Everything one device holds for training.
TRAINING_BYTES_PER_DEVICE = (
    WEIGHT_BYTES_PER_DEVICE + GRADIENT_BYTES_PER_DEVICE + OPTIMIZER_BYTES_PER_DEVICE + ACTIVATION_BYTES_PER_DEVICE
)

# Step time -----------------------------------------------------------------

#: Tokens in one optimizer step: B sequences per micro-batch, m micro-batches,
#: n_d replicas (context-parallel devices share sequences).
TOKENS_PER_STEP = S.B * S.m_mb * S.n_d * S.s

#: Compute time of one step at utilisation MFU (no bubble, no communication).
COMPUTE_TIME_PER_STEP = TOKENS_PER_STEP * MODEL_FLOPS_PER_TOKEN / (S.n_dev * S.pi * S.mfu)

#: Fraction of a pipeline step spent idle: (p - 1) / (m + p - 1) (Huang et al.
#: 2019; Narayanan et al. 2021 write the same bubble as (p - 1)/m of the ideal time).
PIPELINE_BUBBLE_FRACTION = (S.n_p - 1) / (S.m_mb + S.n_p - 1)


def _ring(n):
    """Fraction of a buffer each device sends in a ring reduce-scatter or
    all-gather over n devices: (n - 1)/n (an all-reduce is both: 2(n - 1)/n;
    Patarasuk and Yuan 2009)."""
    return (n - 1) / n


#: Bytes one device sends per step for the gradients: an all-reduce
#: (2 b_g), or with ZeRO 1-2 a reduce-scatter of gradients and an all-gather
#: of updated weights (b_g + b_w), or with ZeRO 3 a reduce-scatter and two
#: weight all-gathers per micro-batch (b_g + 2 m b_w).
DP_COMM_BYTES = S.N / (S.n_t * S.n_p) * _ring(_replicas) * (
    S.b_g + (1 - S.zeta_o) * S.b_g + S.zeta_o * (1 - S.zeta_w) * S.b_w + 2 * S.m_mb * S.zeta_w * S.b_w
)

#: Tensor parallelism all-reduces a block's B x S x D output twice in the
#: forward and twice in the backward pass (twice more when the forward is
#: recomputed; Narayanan et al. 2021); sequence parallelism replaces each with
#: a reduce-scatter and an all-gather of the same volume.
TP_COMM_BYTES = L / S.n_p * S.m_mb * (4 + 2 * S.rho_full) * 2 * _ring(S.n_t) * S.s / S.n_c * S.B * d * S.b_a

#: Pipeline stages send each micro-batch's activations forward and their
#: gradients back (nothing with one stage).
PP_COMM_BYTES = sp.Min(S.n_p - 1, 1) * S.m_mb * 2 * S.s / S.n_c * S.B * d * S.b_a / S.n_t**S.sigma_sp

#: Context parallelism as a ring (Liu et al. 2023): each device receives the
#: other n_c - 1 key/value chunks in the forward pass, and the chunks and
#: their gradients again in the backward pass.
CP_COMM_BYTES = L / S.n_p * S.m_mb * 3 * _ring(S.n_c) * S.s * S.B * S.e_kv * S.b_a / sp.Min(S.n_t, n_kv)

#: Seconds of one step: compute stretched by the pipeline bubble, plus the
#: tensor- and pipeline-parallel traffic on the critical path, plus whatever
#: data- and context-parallel traffic compute does not hide (all of it when
#: omega = 0).
STEP_TIME = (
    S.t_comp * (S.m_mb + S.n_p - 1) / S.m_mb
    + (TP_COMM_BYTES + PP_COMM_BYTES) / S.beta_link
    + sp.Max(0, (DP_COMM_BYTES + CP_COMM_BYTES) / S.beta_link - S.omega * S.t_comp)
)

# Run totals ----------------------------------------------------------------

#: Dollars for tau_dev device-seconds at c_dev per device-hour.
TRAINING_COST_USD = S.tau_dev / 3600 * S.c_dev
#: Joules drawn from the grid: device time x device power x the fraction of it
#: drawn x PUE.
TRAINING_ENERGY_J = S.tau_dev * S.P_dev * S.u_pow * S.PUE
#: Kilograms of CO2 at c_grid grams per kWh (1 kWh = 3.6e6 J).
TRAINING_CO2E_KG = TRAINING_ENERGY_J / sp.Integer(3_600_000) * S.c_grid / 1000

# Step time across nodes ------------------------------------------------------
# Placement (Megatron-LM's rank order): tensor parallelism innermost, then
# context, pipeline and data outermost, so a group of one kind lies within a
# block of consecutive ranks as large as the product of its own degree and the
# inner ones (n_t; n_t n_c; n_t n_c n_p; n). Nodes hold n_node consecutive
# ranks. A group stays inside a node when the whole run does (n <= n_node) or
# when its block divides n_node; otherwise some groups of that kind cross a
# node boundary and their collective runs at the scale-out bandwidth: a ring
# (or a pipeline send) is as fast as its slowest link, the network interface
# of one device (no hierarchical all-reduce; pessimistic when several members
# of a group share a node).


def _crosses_nodes(block):
    """1 when groups that lie within blocks of ``block`` consecutive ranks
    cross a node boundary of n_node devices, else 0."""
    # whole numbers: min(1, n_node mod block) is 1 unless block divides n_node,
    # min(1, max(0, n - n_node)) is 1 only when the run exceeds one node
    return sp.Min(1, sp.Mod(S.g_node, block)) * sp.Min(1, sp.Max(0, S.n_dev - S.g_node))


#: 1 when tensor-parallel groups span nodes (n_t does not divide n_node).
TP_CROSSES_NODES = _crosses_nodes(S.n_t)
#: 1 when context-parallel groups span nodes.
CP_CROSSES_NODES = _crosses_nodes(S.n_t * S.n_c)
#: 1 when pipeline stages sit in different nodes.
PP_CROSSES_NODES = _crosses_nodes(S.n_t * S.n_c * S.n_p)
#: 1 when data-parallel groups span nodes (any run larger than one node).
DP_CROSSES_NODES = _crosses_nodes(S.n_dev)

_x_t, _x_c, _x_p, _x_d = TP_CROSSES_NODES, CP_CROSSES_NODES, PP_CROSSES_NODES, DP_CROSSES_NODES

#: :data:`STEP_TIME` with each collective on its own link: groups inside a
#: node at beta_link (NVLink), groups that span nodes at beta_node (the
#: scale-out network, per device and direction). Equal to STEP_TIME when the
#: run fits in one node or no group crosses one.
STEP_TIME_NODES = (
    S.t_comp * (S.m_mb + S.n_p - 1) / S.m_mb
    + (TP_COMM_BYTES * (1 - _x_t) + PP_COMM_BYTES * (1 - _x_p)) / S.beta_link
    + (TP_COMM_BYTES * _x_t + PP_COMM_BYTES * _x_p) / S.beta_node
    + sp.Max(0, (DP_COMM_BYTES * (1 - _x_d) + CP_COMM_BYTES * (1 - _x_c)) / S.beta_link
             + (DP_COMM_BYTES * _x_d + CP_COMM_BYTES * _x_c) / S.beta_node - S.omega * S.t_comp)
)

# Expert parallelism ------------------------------------------------------------
# The routed experts of every MoE block are split over n_ep devices taken from
# the n_d n_c data-parallel replicas (GShard, Lepikhin et al. 2020;
# DeepSpeed-MoE; Megatron-Core MoE): each holds E / n_ep experts of a block,
# split by n_t n_p as every weight is. Their state is then a model of
# N_ex / n_ep parameters replicated over n_d n_c / n_ep devices, which ZeRO
# shards and the gradient all-reduce spans; the other N - N_ex parameters are
# as before. With n_ep = 1 each expression below is its predecessor.

#: Routed-expert parameters of the whole model: E experts in each of the L_moe
#: MoE blocks (router and shared experts excluded: every device holds them).
ROUTED_EXPERT_PARAMS = S.L_moe * S.E * PER_EXPERT_PARAMS

_experts_alone = {S.N: S.N_ex / S.n_ep, S.n_d: S.n_d / S.n_ep}

#: Weights one device holds with expert parallelism.
WEIGHT_BYTES_PER_DEVICE_EP = (WEIGHT_BYTES_PER_DEVICE.subs(S.N, S.N - S.N_ex)
                              + WEIGHT_BYTES_PER_DEVICE.subs(_experts_alone, simultaneous=True))
#: Gradients one device holds with expert parallelism.
GRADIENT_BYTES_PER_DEVICE_EP = (GRADIENT_BYTES_PER_DEVICE.subs(S.N, S.N - S.N_ex)
                                + GRADIENT_BYTES_PER_DEVICE.subs(_experts_alone, simultaneous=True))
#: Optimizer state one device holds with expert parallelism.
OPTIMIZER_BYTES_PER_DEVICE_EP = (OPTIMIZER_BYTES_PER_DEVICE.subs(S.N, S.N - S.N_ex)
                                 + OPTIMIZER_BYTES_PER_DEVICE.subs(_experts_alone, simultaneous=True))

#: Gradient traffic with expert parallelism: the other parameters' over the
#: n_d n_c replicas, the experts' over the n_d n_c / n_ep that share them.
DP_COMM_BYTES_EP = DP_COMM_BYTES.subs(S.N, S.N - S.N_ex) + DP_COMM_BYTES.subs(_experts_alone, simultaneous=True)

#: Bytes one device sends per step in the expert all-to-alls: in every MoE
#: block of its stage, for every micro-batch, the forward pass dispatches its
#: tokens' k expert copies (B S / n_c tokens, split by n_t under sequence
#: parallelism, of D values each) to the experts' devices and combines the
#: results back, and the backward pass does both again for the gradients:
#: four all-to-alls (GShard, Lepikhin et al. 2020), two more when the forward
#: is recomputed. Each keeps 1/n_ep of its data and sends the rest.
EP_COMM_BYTES = (S.L_moe / S.n_p * S.m_mb * (4 + 2 * S.rho_full) * _ring(S.n_ep)
                 * S.s / S.n_c * S.B / S.n_t**S.sigma_sp * S.k_e * d * S.b_a)

#: 1 when expert-parallel groups span nodes: a group is n_ep data-parallel
#: replicas, so it lies within a block of n_t n_c n_p n_ep consecutive ranks
#: (when n_ep > n_d takes context ranks too, that block exceeds the run and
#: the group counts as crossing whenever the run spans nodes: pessimistic).
EP_CROSSES_NODES = _crosses_nodes(S.n_t * S.n_c * S.n_p * S.n_ep)

_x_e = EP_CROSSES_NODES

#: :data:`STEP_TIME_NODES` with expert parallelism: the all-to-alls on the
#: critical path (not overlapped with compute; the tokens wait for them), on
#: the interconnect when the group is inside a node, else on the scale-out
#: network; the gradient traffic of :data:`DP_COMM_BYTES_EP`.
STEP_TIME_EP = (
    S.t_comp * (S.m_mb + S.n_p - 1) / S.m_mb
    + (TP_COMM_BYTES * (1 - _x_t) + PP_COMM_BYTES * (1 - _x_p) + EP_COMM_BYTES * (1 - _x_e)) / S.beta_link
    + (TP_COMM_BYTES * _x_t + PP_COMM_BYTES * _x_p + EP_COMM_BYTES * _x_e) / S.beta_node
    + sp.Max(0, (DP_COMM_BYTES_EP * (1 - _x_d) + CP_COMM_BYTES * (1 - _x_c)) / S.beta_link
             + (DP_COMM_BYTES_EP * _x_d + CP_COMM_BYTES * _x_c) / S.beta_node - S.omega * S.t_comp)
)


# Interleaved pipeline schedule -------------------------------------------------
# Megatron-LM's interleaved 1F1B schedule (Narayanan et al. 2021, section
# 2.2.2) gives each device v chunks of L / (n_p v) blocks (virtual stages):
# the bubble shrinks from (p - 1) to (p - 1)/v micro-batch times, and every
# micro-batch crosses v times as many stage boundaries, so the pipeline sends
# grow v-fold. With v = 1 each expression below is its predecessor.

_interleaved = {S.m_mb + S.n_p - 1: S.m_mb + (S.n_p - 1) / S.v_pp,
                sp.Min(S.n_p - 1, 1): S.v_pp * sp.Min(S.n_p - 1, 1)}


def _interleave(expr):
    """``expr`` under the interleaved schedule: the bubble's p - 1 micro-batch
    times divided by v, the pipeline sends (the factor min(n_p - 1, 1) that
    only PP_COMM_BYTES carries) multiplied by v."""
    return expr.xreplace(_interleaved)


#: Fraction of a step idle with v virtual stages per device:
#: ((p - 1)/v) / (m + (p - 1)/v), the bubble (p - 1)/(v m) of the ideal time
#: (Narayanan et al. 2021, section 2.2.2).
PIPELINE_BUBBLE_FRACTION_INTERLEAVED = ((S.n_p - 1) / S.v_pp) / (S.m_mb + (S.n_p - 1) / S.v_pp)
#: Pipeline sends with v virtual stages per device: v times PP_COMM_BYTES.
PP_COMM_BYTES_INTERLEAVED = _interleave(PP_COMM_BYTES)
#: :data:`STEP_TIME_NODES` under the interleaved schedule.
STEP_TIME_NODES_INTERLEAVED = _interleave(STEP_TIME_NODES)
#: :data:`STEP_TIME_EP` under the interleaved schedule.
STEP_TIME_EP_INTERLEAVED = _interleave(STEP_TIME_EP)


# ==========================================================================
# Fine-tuning and scaling laws (sec_finetune). Appended section: fine-tuning
# and scaling-law expressions go here, at the end of the module, in the
# notation of the "finetune" symbol group.
# ==========================================================================


def lora_matrix_params(record: Matmul, active: bool = False) -> sp.Expr:
    """Parameters of the LoRA adapters on one matmul record: ``B (d_in x r)``
    and ``A (r x d_out)`` for each stored copy, r (d_in + d_out) each (Hu et
    al. 2021); with ``active`` only the copies a token uses (a routed
    expert's k of E)."""
    copies = (record.copies if record.active is None else record.active) if active else record.copies
    return S.r_lora * copies * (record.d_in + record.d_out)


@lru_cache(maxsize=None)
def lora_params(targets: tuple[str, ...], mla: bool = False, active: bool = False) -> sp.Expr:
    """N_A: adapter parameters of the whole model when the matmul records
    named in ``targets`` (``"q"``, ``"v"``, ``"gate"``, ``"expert_up"``...)
    are adapted at rank r in every block: the attention records (MLA's when
    ``mla``) in all L blocks, the dense MLP in the L - L_moe dense blocks and
    the mixture-of-experts records in the L_moe others. ``active``: the
    adapters one token uses (its k routed experts)."""
    attention = MLA if mla else ATTENTION

    def pick(records):
        return sp.Add(*(lora_matrix_params(r, active) for r in records
                        if isinstance(r, Matmul) and r.name in targets))

    return L * pick(attention) + (L - S.L_moe) * pick(MLP) + S.L_moe * pick(MOE)


#: LoRA as Hu et al. (2021) apply it to GPT-3: the query and value
#: projections of every block, r (D + H d_h) + r (D + K d_h) per block.
LORA_QV_PARAMS = lora_params(("q", "v"))

#: Training FLOPs per token with a frozen base and trainable adapters: the
#: forward pass (2 N, attention 4 w_a S per block), the activation gradients
#: of the frozen weights (another 2 N: the weight gradients are skipped) and
#: of attention (8 w_a S per block, as in full training), and forward, input
#: gradient and weight gradient of the adapters (6 N_A). Full training is
#: 6 N + 12 w_a S (:data:`MODEL_FLOPS_PER_TOKEN`); with N_A << N LoRA is
#: about 4/6 of it.
LORA_FLOPS_PER_TOKEN = 4 * S.N + 6 * S.N_A + 12 * S.w_a * TRAIN_ATTENTION_SPAN

#: The scaling-law form of the same count, attention left out: (4 N + 6 N_A) T.
LORA_FLOPS_4ND = (4 * S.N + 6 * S.N_A) * S.T_tr

#: What activation recomputation runs again with adapters: the blocks'
#: forward pass (:data:`RECOMPUTE_FLOPS_PER_TOKEN`) and the adapters' (2 N_A)
#: under full recomputation (QLoRA's gradient checkpointing).
LORA_RECOMPUTE_FLOPS_PER_TOKEN = RECOMPUTE_FLOPS_PER_TOKEN + S.rho_full * 2 * S.N_A

#: Bits per weight of block-wise quantisation with double quantisation
#: (Dettmers et al. 2023, section 3): k_q bits per value, one k_c1-bit
#: constant per block of G values, and one k_c2-bit constant per G_2
#: first-level constants. NF4 with fp32 constants per 64 values is
#: 4 + 32/64 = 4.5 bits; quantising those constants to 8 bits in blocks of
#: 256 gives 4 + 8/64 + 32/(64 256) = 4.127.
QUANT_BITS_PER_PARAM = S.k_q + S.k_c1 / S.G + S.k_c2 / (S.G * S.G_2)

#: The frozen base one device holds: N parameters at b_base bytes as stored,
#: split like the weights of :data:`WEIGHT_BYTES_PER_DEVICE`.
FROZEN_BYTES_PER_DEVICE = WEIGHT_BYTES_PER_DEVICE.subs(S.b_w, S.b_base)

#: The adapters one device holds for training: their weights, gradients and
#: optimizer state, split as the full model's are (ZeRO, tensor, pipeline).
ADAPTER_BYTES_PER_DEVICE = (WEIGHT_BYTES_PER_DEVICE + GRADIENT_BYTES_PER_DEVICE
                            + OPTIMIZER_BYTES_PER_DEVICE).subs(S.N, S.N_A)

#: Everything one device holds to fine-tune with adapters.
LORA_BYTES_PER_DEVICE = FROZEN_BYTES_PER_DEVICE + ADAPTER_BYTES_PER_DEVICE + ACTIVATION_BYTES_PER_DEVICE

#: Parameters a training token costs, attention included: 2 w_a S per block
#: on top of N, so that a forward pass is 2 N_eff and a training step
#: 6 N_eff FLOP per token (:data:`MODEL_FLOPS_PER_TOKEN` is 6 of these).
EFFECTIVE_PARAMS_PER_TOKEN = S.N + 2 * S.w_a * TRAIN_ATTENTION_SPAN

#: Forward FLOPs per token of a pass over sequences of S tokens, PaLM's
#: convention (the full S x S square): a third of :data:`MODEL_FLOPS_PER_TOKEN`.
FORWARD_FLOPS_PER_TRAIN_TOKEN = 2 * EFFECTIVE_PARAMS_PER_TOKEN

#: Knowledge distillation on T_train tokens: a forward pass of the teacher
#: (2 N_tch per token, its logits are the soft targets) plus the student's
#: training (6 N), attention left out.
DISTILLATION_FLOPS_6ND = (2 * S.N_tch + 6 * S.N) * S.T_tr

#: RLHF with PPO, FLOPs per sample of T_p prompt and T_g generated tokens,
#: attention left out: the actor generates (a forward pass over all T_p + T_g
#: tokens, however it is batched), the reference model (a copy of the initial
#: actor), the reward model and the critic score the sample (forward passes),
#: then e_ppo epochs train actor and critic (6 FLOP per parameter and token)
#: (Ouyang et al. 2022).
PPO_FLOPS_PER_SAMPLE = (S.T_p + S.T_g) * (2 * S.N + 2 * S.N + 2 * S.N_rw + 2 * S.N_cr
                                          + 6 * S.e_ppo * (S.N + S.N_cr))

#: Direct preference optimisation, FLOPs per preference pair (a chosen and a
#: rejected response to one prompt): the frozen reference and the trained
#: policy each see both sequences (Rafailov et al. 2023).
DPO_FLOPS_PER_PAIR = 2 * (S.T_p + S.T_g) * (2 * S.N + 6 * S.N)

#: Bytes one federated client sends (and receives) per round: its update of
#: N_upd parameters at b_upd bytes each (McMahan et al. 2017's FedAvg sends
#: the whole model; with LoRA only the adapters travel).
FEDERATED_CLIENT_BYTES_PER_ROUND = S.N_upd * S.b_upd

#: Seconds of one round on a client: local training, then receiving the
#: global state and sending the update over links of beta_dn and beta_up.
FEDERATED_ROUND_TIME = S.t_loc + FEDERATED_CLIENT_BYTES_PER_ROUND * (1 / S.beta_dn + 1 / S.beta_up)

# Scaling laws ---------------------------------------------------------------

#: Chinchilla's parametric loss (Hoffmann et al. 2022, equation 2): an
#: irreducible term plus power laws in parameters N and training tokens.
CHINCHILLA_LOSS = S.E_0 + S.A_N / S.N**S.alpha_N + S.B_T / S.T_tr**S.beta_T

_G = (S.alpha_N * S.A_N / (S.beta_T * S.B_T)) ** (1 / (S.alpha_N + S.beta_T))

#: The N that minimises :data:`CHINCHILLA_LOSS` under C_train = 6 N T_train
#: (Hoffmann et al. 2022, equation 4): G (C/6)^(beta/(alpha+beta)) with
#: G = (alpha A / (beta B))^(1/(alpha+beta)).
CHINCHILLA_N_OPT = _G * (S.C_tr / 6) ** (S.beta_T / (S.alpha_N + S.beta_T))
#: The training tokens at that optimum: G^-1 (C/6)^(alpha/(alpha+beta)).
CHINCHILLA_T_OPT = (S.C_tr / 6) ** (S.alpha_N / (S.alpha_N + S.beta_T)) / _G
#: The compute-optimal tokens of a model of N parameters: the frontier
#: written in N, (N/G)^(alpha/beta) / G.
CHINCHILLA_T_OPT_FOR_N = (S.N / _G) ** (S.alpha_N / S.beta_T) / _G

#: Training tokens a model of N parameters needs to reach loss ell under
#: :data:`CHINCHILLA_LOSS`: finite only while ell > E + A / N^alpha.
TOKENS_FOR_LOSS = (S.B_T / (S.ell - S.E_0 - S.A_N / S.N**S.alpha_N)) ** (1 / S.beta_T)

#: Lifetime FLOPs of a model (Sardana et al. 2023): training, 6 N T_train,
#: plus serving T_inf tokens at 2 N each.
LIFETIME_FLOPS = TRAINING_FLOPS_6ND + 2 * S.N * S.T_inf

# ==========================================================================
# Hybrids (sec_hybrid). Appended section: routing and cascades between a small
# and a large model, API prices per output token, and the lifecycle cost of a
# serving option, in the notation of the "hybrid" symbol group.
# ==========================================================================

#: Dollars per request of a two-model hybrid: the router (or verifier) on every
#: request, the small model on the 1 - epsilon it answers, and on the epsilon
#: that escalate the large model plus the share kappa of the small model's
#: work already spent (kappa = 0: a router decides before the small model
#: runs; kappa = 1: a cascade lets it answer, then escalates).
BLENDED_COST_PER_REQUEST = S.c_rt + (1 - S.eps_esc) * S.c_slm + S.eps_esc * (S.c_llm + S.kappa_esc * S.c_slm)
#: Seconds per request, by the same accounting as the cost.
BLENDED_LATENCY_PER_REQUEST = S.t_rt + (1 - S.eps_esc) * S.t_slm + S.eps_esc * (S.t_llm + S.kappa_esc * S.t_slm)
#: Fraction of the large model's cost a hybrid saves (negative: it costs more).
HYBRID_SAVING = 1 - BLENDED_COST_PER_REQUEST / S.c_llm
#: The escalation rate at which the hybrid costs what the large model alone
#: costs (solve BLENDED_COST_PER_REQUEST = c_L for epsilon); below it the
#: hybrid is cheaper. Negative when the router and the small model together
#: cost more than the large model: no escalation rate then pays.
BREAK_EVEN_ESCALATION = sp.solve(sp.Eq(BLENDED_COST_PER_REQUEST, S.c_llm), S.eps_esc)[0]
#: The escalation rate at which a hybrid saves the fraction Delta of the large
#: model's cost (solve Delta = HYBRID_SAVING for epsilon): what a published
#: saving implies about the share of requests that escalated.
ESCALATION_FOR_SAVING = sp.solve(sp.Eq(S.delta_sav, HYBRID_SAVING), S.eps_esc)[0]
#: The same for latency: the escalation rate at which the hybrid is as slow
#: as the large model alone.
LATENCY_BREAK_EVEN_ESCALATION = sp.solve(sp.Eq(BLENDED_LATENCY_PER_REQUEST, S.t_llm), S.eps_esc)[0]

#: An API's price per output token with the prompt tokens that come with it:
#: each request of n_in tokens in and n_out out pays n_in p_in + n_out p_out.
API_PRICE_PER_OUTPUT_TOKEN = S.p_out + S.n_in / S.n_out * S.p_in

#: Days in a month of the Gregorian calendar's average year (365.25 / 12).
DAYS_PER_MONTH = sp.Rational(1461, 48)
#: Dollars to serve N_day output tokens a day for T_mo months: each day costs
#: the tokens at c_tok / U (a deployment busy a fraction U of the time pays
#: for its idle hours too), but never less than p_min for 24 hours (a
#: self-hosted replica is paid for whether it serves or not; an API has
#: p_min = 0).
LIFECYCLE_SERVING_COST = S.t_mo * DAYS_PER_MONTH * sp.Max(24 * S.p_min, S.n_day * S.c_tok / S.U_srv)
#: Fixed cost (pretraining or fine-tuning) plus serving.
LIFECYCLE_COST = S.F_fix + LIFECYCLE_SERVING_COST
#: The daily volume at which the floor of one replica stops binding:
#: 24 p_min = N_day c_tok / U.
FLOOR_VOLUME = 24 * S.p_min * S.U_srv / S.c_tok


# ==========================================================================
# Cost and energy per token (sec_cost); speculative decoding (sec_speculative).
# Appended section: new expressions of these chapters go here. Their symbols are
# appended to the notation's "inference" group; tokens per request (n_in, n_out)
# and the busy share of the paid hour (U) are the hybrid block's.
# ==========================================================================

#: Seconds of one cycle of continuous batching at the serving operating point:
#: in the time each request is served the group prefills every running prompt
#: (t_pre) and runs n_out decode steps (costmodel.inference.serving_point).
SERVING_CYCLE_TIME = S.t_pre + S.n_out * S.t_dec

#: Fraction of the cycle spent in prefill. Input tokens are charged this share
#: of the paid device time, output tokens the rest (the decode steps).
PREFILL_SHARE = S.t_pre / SERVING_CYCLE_TIME

#: Device-seconds one input token takes: the prefill of n devices over the
#: B n_in prompt tokens of the batch.
DEVICE_SECONDS_PER_INPUT_TOKEN = S.n_dev * S.t_pre / (S.B * S.n_in)
#: Device-seconds one output token takes: n_out decode steps of n devices over
#: the B n_out tokens they produce, n t_dec / B.
DEVICE_SECONDS_PER_OUTPUT_TOKEN = S.n_dev * S.n_out * S.t_dec / (S.B * S.n_out)

#: USD per input token. A service busy a fraction U of the hour pays the
#: whole hour: the busy device-seconds cost c_dev / 3600 / U each.
COST_PER_INPUT_TOKEN = TRAINING_COST_USD.subs(S.tau_dev, DEVICE_SECONDS_PER_INPUT_TOKEN / S.U_srv)
#: USD per output token, the same way.
COST_PER_OUTPUT_TOKEN = TRAINING_COST_USD.subs(S.tau_dev, DEVICE_SECONDS_PER_OUTPUT_TOKEN / S.U_srv)
#: USD per token of a mix of r_io input tokens per output token (API price
#: comparisons quote such a blend).
COST_PER_TOKEN_BLENDED = (S.r_io * COST_PER_INPUT_TOKEN + COST_PER_OUTPUT_TOKEN) / (S.r_io + 1)

#: Joules per output token from the grid: the busy device-seconds at P_dev u
#: (training's energy expression with tau_dev -> the token's device-seconds),
#: plus the idle share of the paid hour, (1 - U)/U as long again, at
#: P_idle, all times the PUE. The input-token form replaces the device-seconds.
ENERGY_PER_OUTPUT_TOKEN = (
    TRAINING_ENERGY_J.subs(S.tau_dev, DEVICE_SECONDS_PER_OUTPUT_TOKEN)
    + TRAINING_ENERGY_J.subs({S.tau_dev: DEVICE_SECONDS_PER_OUTPUT_TOKEN * (1 - S.U_srv) / S.U_srv,
                              S.P_dev: S.P_idle, S.u_pow: 1})
)

#: USD per output token when the output tokens carry all the paid time, the
#: prompts' prefill included: n devices writing R_out output tokens a second
#: in total, busy a fraction U of the paid hour. It equals
#: (n_in COST_PER_INPUT_TOKEN + n_out COST_PER_OUTPUT_TOKEN) / n_out at the
#: serving point, and is the c_tok of the lifecycle block at U = 1.
COST_PER_OUTPUT_TOKEN_ALL_IN = TRAINING_COST_USD.subs(S.tau_dev, S.n_dev / (S.R_out * S.U_srv))
#: Joules per output token the same way (busy time only: the devices at
#: P_dev u, times the PUE).
ENERGY_PER_OUTPUT_TOKEN_ALL_IN = TRAINING_ENERGY_J.subs(S.tau_dev, S.n_dev / S.R_out)

#: USD of electricity behind one output token: its grid joules (PUE
#: included) at p_elec per kWh. What an owner of the devices pays for power;
#: a cloud price per device-hour already includes it.
ELECTRICITY_COST_PER_OUTPUT_TOKEN = ENERGY_PER_OUTPUT_TOKEN / sp.Integer(3_600_000) * S.p_elec

# Speculative decoding -------------------------------------------------------

#: Expected tokens one target step yields when each of gamma drafted tokens is
#: accepted independently with probability alpha and the first rejection ends
#: the run; the target adds one token of its own (Leviathan, Kalman and Matias
#: 2023, equation 1): sum_{k=0}^{gamma} alpha^k.
SPEC_EXPECTED_TOKENS = (1 - S.alpha_acc ** (S.gamma_sd + 1)) / (1 - S.alpha_acc)

#: Seconds of one speculative step: gamma draft decode steps, then one target
#: pass over the gamma + 1 positions on a warm cache.
SPEC_STEP_TIME = S.gamma_sd * S.t_draft + S.t_ver

#: Speed-up over plain decoding: tokens per second with speculation over
#: 1 / t_dec without.
SPEC_SPEEDUP = SPEC_EXPECTED_TOKENS * S.t_dec / SPEC_STEP_TIME

#: Leviathan et al.'s walltime improvement (their theorem 3.8): the speed-up
#: when the verifying pass takes one decode step (t_ver = t_dec) and a draft
#: step c of one, (1 - alpha^(gamma+1)) / ((1 - alpha)(gamma c + 1)).
SPEC_SPEEDUP_LEVIATHAN = SPEC_SPEEDUP.subs({S.t_ver: S.t_dec, S.t_draft: S.c_sd * S.t_dec})

#: USD per output token with speculation: a step of the batch yields B E
#: tokens in SPEC_STEP_TIME, so the step over E takes the place of t_dec.
SPEC_COST_PER_OUTPUT_TOKEN = COST_PER_OUTPUT_TOKEN.subs(S.t_dec, SPEC_STEP_TIME / SPEC_EXPECTED_TOKENS)
