"""The architecture of a decoder-only transformer: a validated value type.

An :class:`Architecture` knows its shapes and nothing about hardware. It is
built once (from a ``config.json`` through :mod:`costmodel.hf_config`, which
knows the families), validated at that moment so that every numeric function
downstream can stay branch-free and vectorised, and its counts are sums of
the sympy expressions of :mod:`costmodel.formulas`. Its binding to the
notation is generated from :mod:`costmodel.symbols`: every architecture,
derived and count symbol names the attribute that gives its value, and
:attr:`Architecture.symbols` maps each symbol to that value. Defined in
:ref:`sec_notation`.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import pandas as pd
import sympy as sp

from . import formulas as F
from .hf_config import MAX_DIM, SUPPORTED_FAMILIES, read_config
from .symbols import SYMBOLS

__all__ = ["Architecture", "SUPPORTED_FAMILIES"]

_NORM_PARAMS = MappingProxyType({"rms": 1, "layer": 2, "none": 0})
#: Counts are exact while below 2**53, the first integer float64 cannot
#: tell from its neighbour.
EXACT_LIMIT = 2**53
#: Symbols whose values come from the architecture's own fields and derived
#: shapes (the counts are computed from these).
_SHAPE_GROUPS = ("architecture", "derived")


@dataclass(frozen=True)
class Architecture:
    """Shapes of a decoder-only transformer (letters: :mod:`costmodel.symbols`).

    Build one with :meth:`from_hf_config` or :func:`costmodel.load_model`;
    the constructor validates every field and checks that every count stays
    exact. Counts are Python ints. Defined in :ref:`sec_notation`.
    """

    name: str
    family: str
    d_model: int  # D
    n_layers: int  # L
    n_heads: int  # H
    n_kv_heads: int  # K
    head_dim: int  # d_h
    d_ff: int  # F, MLP width of the dense blocks
    vocab_size: int  # V
    gated_mlp: bool  # g
    tied_embeddings: bool  # t
    qkv_bias: bool = False
    attn_out_bias: bool = False
    mlp_bias: bool = False
    lm_head_bias: bool = False
    norm: str = "rms"  # "rms" | "layer" | "none"
    norms_per_block: int = 2
    learned_positions: int = 0  # P
    # mixture of experts
    n_experts: int = 0  # E
    n_experts_per_token: int = 0  # k
    d_ff_expert: int = 0  # F_e
    d_ff_shared: int = 0  # F_s (all shared experts together)
    shared_expert_gate: bool = False
    n_moe_layers: int = 0  # L_moe
    router_bias: bool = False  # beta_r
    # parameter vectors inside attention
    q_norm_heads: int = 0  # h_qn: QK-norm over 0, 1 (shared by the heads) or H head widths
    k_norm_heads: int = 0  # h_kn: 0, 1 or K head widths
    attention_sinks: bool = False  # sigma: one learned sink logit per query head
    # multi-head latent attention (DeepSeek); kv_lora_rank = 0 means not MLA
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # sliding-window attention
    sliding_window: int = 0  # W, 0 = none
    n_sliding_layers: int = 0  # L_sw
    max_position_embeddings: int = 0
    torch_dtype: str = ""
    #: parts of the checkpoint the counts leave out (e.g. a vision tower), empty when none
    excluded_parts: str = ""

    # ------------------------------------------------------------------
    def __post_init__(self):
        where = f"model {self.name!r}"
        for fld in fields(self):
            v = getattr(self, fld.name)
            kind = _FIELD_TYPES[fld.name]
            if kind is bool and not isinstance(v, bool):
                raise ValueError(f"{where}: field {fld.name}={v!r} must be true or false")
            if kind is str and not isinstance(v, str):
                raise ValueError(f"{where}: field {fld.name}={v!r} must be a string")
            if kind is int:
                if isinstance(v, bool) or not isinstance(v, int):
                    raise ValueError(f"{where}: field {fld.name}={v!r} must be an integer")
                if v < 0:
                    raise ValueError(f"{where}: field {fld.name}={v} must not be negative")
                if v > MAX_DIM:
                    raise ValueError(f"{where}: field {fld.name}={v} exceeds the largest accepted size {MAX_DIM}")
        for name in ("d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim", "vocab_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{where}: field {name}={getattr(self, name)} must be positive")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"{where}: num_key_value_heads={self.n_kv_heads} must divide num_attention_heads={self.n_heads}"
            )
        if self.norm not in _NORM_PARAMS:
            raise ValueError(f"{where}: field norm={self.norm!r} must be one of {sorted(_NORM_PARAMS)}")
        if self.n_moe_layers > self.n_layers:
            raise ValueError(f"{where}: n_moe_layers={self.n_moe_layers} exceeds num_hidden_layers={self.n_layers}")
        if self.n_moe_layers < self.n_layers and self.d_ff <= 0:
            raise ValueError(f"{where}: field intermediate_size={self.d_ff} must be positive")
        if self.n_moe_layers:
            if self.n_experts <= 0 or self.d_ff_expert <= 0:
                raise ValueError(f"{where}: a mixture of experts needs experts>0 and expert width>0, got {self.n_experts} and {self.d_ff_expert}")
            if not 0 < self.n_experts_per_token <= self.n_experts:
                raise ValueError(
                    f"{where}: num_experts_per_tok={self.n_experts_per_token} must be between 1 and the number of experts {self.n_experts}"
                )
        if self.is_mla:
            if self.qk_nope_head_dim + self.qk_rope_head_dim <= 0 or self.v_head_dim <= 0:
                raise ValueError(f"{where}: MLA needs qk_nope_head_dim+qk_rope_head_dim>0 and v_head_dim>0")
            if self.head_dim != self.qk_nope_head_dim + self.qk_rope_head_dim or self.n_kv_heads != self.n_heads:
                raise ValueError(
                    f"{where}: with MLA, head_dim={self.head_dim} must be qk_nope_head_dim + qk_rope_head_dim = "
                    f"{self.qk_nope_head_dim + self.qk_rope_head_dim} and n_kv_heads={self.n_kv_heads} must equal "
                    f"n_heads={self.n_heads} (keys and values are expanded per head)"
                )
        for name, heads in (("q_norm_heads", self.n_heads), ("k_norm_heads", self.n_kv_heads)):
            if getattr(self, name) not in (0, 1, heads):
                raise ValueError(
                    f"{where}: field {name}={getattr(self, name)} must be 0 (no norm), 1 (one head width shared by "
                    f"the heads) or {heads} (the whole width)"
                )
        if self.is_mla and (self.q_norm_heads or self.k_norm_heads or self.attention_sinks):
            raise ValueError(f"{where}: QK-norm and attention sinks are not modelled with latent attention (MLA)")
        if self.n_sliding_layers > self.n_layers:
            raise ValueError(f"{where}: n_sliding_layers={self.n_sliding_layers} exceeds num_hidden_layers={self.n_layers}")
        if self.n_sliding_layers and self.sliding_window <= 0:
            raise ValueError(f"{where}: sliding_window={self.sliding_window} must be positive")
        self.n_params  # noqa: B018  counts are checked for exactness now, not at first use

    # ------------------------------------------------------------------
    # derived shapes (the "derived" symbols of the notation)
    @property
    def norm_params_per_width(self) -> int:
        """nu: parameters of one normalisation per unit of width."""
        return _NORM_PARAMS[self.norm]

    @property
    def value_head_dim(self) -> int:
        """d_v: width of one value head (``v_head_dim`` with MLA, else ``head_dim``)."""
        return self.v_head_dim if self.is_mla else self.head_dim

    @cached_property
    def attention_width(self) -> float:
        """w_a = H (d_h + d_v) / 2: the attention FLOP per attended position
        and block are 4 w_a."""
        return float(self.evaluate(F.ATTENTION_WIDTH))

    @cached_property
    def kv_elements_per_token_layer(self) -> int:
        """e_kv: cached elements one token adds to one block (2 K d_h; MLA r_kv + d_rope)."""
        return self.count(F.MLA_KV_ELEMENTS_PER_TOKEN_LAYER if self.is_mla else F.KV_ELEMENTS_PER_TOKEN_LAYER)

    def kv_bytes_per_token(self, dtype: str = "bf16") -> float:
        """KV-cache bytes one token adds while the context is within every
        window: L e_kv b_kv, with ``dtype`` the cache's numeric format.
        Defined in :ref:`sec_memory`."""
        from .dtypes import bytes_per_element

        return float(self.n_layers * self.kv_elements_per_token_layer * bytes_per_element(dtype, "dtype"))

    @cached_property
    def symbols(self) -> Mapping[str, int | float]:
        """Every architecture, derived and count symbol of
        :mod:`costmodel.symbols` with its value for this model (read-only),
        generated from the symbol table's ``attr`` names."""
        return MappingProxyType({s.name: getattr(self, s.attr) for s in SYMBOLS.values() if s.attr})

    def symbol_values(self) -> dict[str, int | float]:
        """A mutable copy of :attr:`symbols`."""
        return dict(self.symbols)

    @cached_property
    def _shape_values(self) -> Mapping[str, int]:
        vals = {}
        for s in SYMBOLS.values():
            if s.group in _SHAPE_GROUPS and s.attr not in ("attention_width", "kv_elements_per_token_layer"):
                v = getattr(self, s.attr)
                vals[s.name] = int(v) if isinstance(v, bool) else v
        return MappingProxyType(vals)

    def evaluate(self, expr) -> float:
        """The value of an expression in this model's shape symbols (float64)."""
        if not getattr(expr, "free_symbols", None):
            return float(expr)
        fn = F.numeric(expr)
        try:
            return fn(**{a: self._shape_values[a] for a in fn.args})
        except KeyError as e:
            raise ValueError(f"{expr} needs the value of {e.args[0]!r}, which is not a shape of the model") from None

    def count(self, expr) -> int:
        """An integer-valued expression (a count) at this architecture, exactly:
        float64 holds integers exactly below 2**53, so a count at or above it
        is refused with the sizes that produced it."""
        out = self.evaluate(expr)
        if not math.isfinite(out) or abs(out) >= EXACT_LIMIT:
            raise ValueError(
                f"model {self.name!r}: a count of {out:.3g} is beyond the exact range of float64 (2**53); check the "
                f"config sizes hidden_size={self.d_model}, num_hidden_layers={self.n_layers}, "
                f"vocab_size={self.vocab_size}, intermediate_size={self.d_ff}, experts={self.n_experts}"
            )
        if out != round(out):  # pragma: no cover - every count expression is integer-valued
            raise ArithmeticError(f"{expr} evaluated to {out} for {self.name}")
        return int(out)

    # ------------------------------------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.n_moe_layers > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def attention_kind(self) -> str:
        """'MLA', 'MQA', 'GQA' or 'MHA'."""
        if self.is_mla:
            return "MLA"
        if self.n_kv_heads == 1:
            return "MQA"
        return "GQA" if self.n_kv_heads < self.n_heads else "MHA"

    # ------------------------------------------------------------------
    @cached_property
    def n_params(self) -> int:
        """Every trainable parameter (exact). Buffers such as rotary
        ``inv_freq`` or DeepSeek's ``e_score_correction_bias`` are not counted."""
        return self.count(F.TOTAL_PARAMS_MLA if self.is_mla else F.TOTAL_PARAMS)

    @cached_property
    def n_active_params(self) -> int:
        """Parameters a token touches: ``n_params`` less the routed experts it
        skips in each MoE block (equal to ``n_params`` for dense models)."""
        if not self.is_moe:
            return self.n_params
        return self.n_params - self.n_moe_layers * self.count(F.MOE_INACTIVE_PARAMS)

    @cached_property
    def n_matmul_weights_active(self) -> int:
        """N_mm: matmul weights per token, LM head included, embedding lookup,
        biases and norms excluded (the 2 N_mm FLOP/token of ``forward_flops``)."""
        return self.count(F.MATMUL_WEIGHTS_MLA if self.is_mla else F.MATMUL_WEIGHTS)

    @cached_property
    def n_embedding_params(self) -> int:
        """Token and learned position embeddings (the input side only)."""
        return self.count(F.EMBEDDING_PARAMS)

    def param_breakdown(self) -> pd.DataFrame:
        """Parameters by component, one row each, summing to ``n_params``."""
        ev = self.count
        attn = F.MLA_PARAMS if self.is_mla else F.ATTN_PARAMS
        rows = [
            ("embedding", ev(F.EMBEDDING_PARAMS)),
            ("attention", self.n_layers * ev(attn)),
            ("mlp (dense blocks)", (self.n_layers - self.n_moe_layers) * ev(F.MLP_PARAMS)),
            ("moe (experts, router, shared)", self.n_moe_layers * ev(F.MOE_PARAMS)),
            ("norms", self.n_layers * ev(F.NORM_PARAMS_PER_BLOCK) + _NORM_PARAMS[self.norm] * self.d_model),
            ("lm head", ev(F.LM_HEAD_PARAMS)),
        ]
        df = pd.DataFrame(rows, columns=["component", "n_params"])
        df.insert(0, "model", self.name)
        return df

    def summary(self) -> dict[str, Any]:
        """One flat row describing the architecture (for catalog tables)."""
        return {
            "model": self.name,
            "family": self.family,
            "n_params": self.n_params,
            "n_active_params": self.n_active_params,
            "d_model": self.d_model,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "n_kv_heads": self.n_kv_heads,
            "head_dim": self.head_dim,
            "attention": self.attention_kind,
            "d_ff": self.d_ff,
            "vocab_size": self.vocab_size,
            "n_experts": self.n_experts,
            "n_experts_per_token": self.n_experts_per_token,
            "sliding_window": self.sliding_window or None,
            "n_sliding_layers": self.n_sliding_layers,
            "tied_embeddings": self.tied_embeddings,
            "max_position_embeddings": self.max_position_embeddings or None,
            "excluded_parts": self.excluded_parts,
        }

    def with_(self, **changes) -> "Architecture":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------
    @classmethod
    def from_hf_config(cls, config: Mapping[str, Any] | str | Path, name: str | None = None, *,
                       vision: bool = False) -> "Architecture":
        """Build from a Hugging Face ``config.json`` (a dict or a path).

        Supported ``model_type`` values: see :data:`SUPPORTED_FAMILIES`; the
        reading rules are in :mod:`costmodel.hf_config`. A missing or
        malformed field raises ``ValueError`` naming it. Of a multimodal
        config (Gemma 3) only the text decoder is read, and
        :attr:`excluded_parts` names what is left out; ``vision=True``, a
        request to count the vision tower too, raises ``ValueError`` naming
        ``vision_config``. Defined in :ref:`sec_memory`.
        """
        return cls(**read_config(config, name, vision=vision))


#: Field name -> its type (bool, int or str), resolved once from the annotations.
_FIELD_TYPES: Mapping[str, type] = MappingProxyType(
    {k: v for k, v in typing.get_type_hints(Architecture).items() if k in {f.name for f in fields(Architecture)}}
)
assert set(_FIELD_TYPES.values()) <= {bool, int, str}
