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

#: Ring all-reduce of M bytes over n_tp devices: each device sends and
#: receives 2 (n - 1) / n of the data in 2 (n - 1) steps (Thakur, Rabenseifner
#: and Gropp 2005; Patarasuk and Yuan 2009).
ALLREDUCE_TIME = 2 * (S.n_tp - 1) / S.n_tp * S.M_op / S.beta_link + 2 * (S.n_tp - 1) * S.alpha_link
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
