"""Architectures of decoder-only transformers, read from Hugging Face configs.

An :class:`Architecture` knows its shapes and nothing about hardware. It is
built once from a ``config.json`` (validated at that moment, so every numeric
function downstream can stay branch-free and vectorised), and its parameter
counts come from the sympy expressions of :mod:`costmodel.formulas`.

Each family parser follows the module structure of that family's
``transformers`` implementation (which projections exist, which carry a
bias, how many norms a block has, whether the LM head is tied when the key is
absent). Book section: ``sec_memory``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from . import formulas as F

__all__ = ["Architecture", "SUPPORTED_FAMILIES"]

_NORM_PARAMS = {"rms": 1, "layer": 2, "none": 0}
#: Largest size accepted for any one dimension (16.7 M); beyond it a config is
#: surely malformed, and products of such sizes would lose exactness.
MAX_DIM = 2**24


@dataclass(frozen=True)
class Architecture:
    """Shapes of a decoder-only transformer (letters: :mod:`costmodel.symbols`).

    Build one with :meth:`from_hf_config` or :func:`costmodel.load_model`;
    the constructor validates every field. Counts are exact Python ints.
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
    parallel_block: bool = False
    # mixture of experts
    n_experts: int = 0  # E
    n_experts_per_token: int = 0  # k
    d_ff_expert: int = 0  # F_e
    d_ff_shared: int = 0  # F_s (all shared experts together)
    shared_expert_gate: bool = False
    n_moe_layers: int = 0  # L_moe
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

    # ------------------------------------------------------------------
    def __post_init__(self):
        where = f"model {self.name!r}"
        for fld in fields(self):
            v = getattr(self, fld.name)
            if fld.type == "bool" and not isinstance(v, bool):
                raise ValueError(f"{where}: field {fld.name}={v!r} must be true or false")
            if fld.type == "str" and not isinstance(v, str):
                raise ValueError(f"{where}: field {fld.name}={v!r} must be a string")
            if fld.type == "int":
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
        if self.is_mla and (self.qk_nope_head_dim + self.qk_rope_head_dim <= 0 or self.v_head_dim <= 0):
            raise ValueError(f"{where}: MLA needs qk_nope_head_dim+qk_rope_head_dim>0 and v_head_dim>0")
        if self.n_sliding_layers > self.n_layers:
            raise ValueError(f"{where}: n_sliding_layers={self.n_sliding_layers} exceeds num_hidden_layers={self.n_layers}")
        if self.n_sliding_layers and self.sliding_window <= 0:
            raise ValueError(f"{where}: sliding_window={self.sliding_window} must be positive")

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

    def symbol_values(self) -> dict[str, int | float]:
        """Values of the architecture symbols of :mod:`costmodel.symbols` (a copy)."""
        return dict(self._symbol_values)

    @cached_property
    def _symbol_values(self) -> dict[str, int | float]:
        qk = self.qk_nope_head_dim + self.qk_rope_head_dim if self.is_mla else self.head_dim
        v = self.v_head_dim if self.is_mla else self.head_dim
        base = self._base_values()
        kv_expr = F.MLA_KV_ELEMENTS_PER_TOKEN_LAYER if self.is_mla else F.KV_ELEMENTS_PER_TOKEN_LAYER
        base["e_kv"] = self._eval_int(kv_expr, base)
        # attention width H (d_qk + d_v) / 2 (H d_h without MLA)
        base["w_a"] = self.n_heads * (qk + v) / 2
        return base

    def _base_values(self) -> dict[str, int]:
        return {
            "d": self.d_model,
            "L": self.n_layers,
            "n_h": self.n_heads,
            "n_kv": self.n_kv_heads,
            "d_h": self.head_dim,
            "f": self.d_ff,
            "V": self.vocab_size,
            "P": self.learned_positions,
            "g": int(self.gated_mlp),
            "t": int(self.tied_embeddings),
            "beta_qkv": int(self.qkv_bias),
            "beta_o": int(self.attn_out_bias),
            "beta_mlp": int(self.mlp_bias),
            "beta_lm": int(self.lm_head_bias),
            "nu": _NORM_PARAMS[self.norm],
            "n_norm": self.norms_per_block,
            "E": self.n_experts,
            "k_e": self.n_experts_per_token,
            "f_e": self.d_ff_expert,
            "f_s": self.d_ff_shared,
            "gamma_s": int(self.shared_expert_gate),
            "L_moe": self.n_moe_layers,
            "r_q": self.q_lora_rank,
            "r_kv": self.kv_lora_rank,
            "d_nope": self.qk_nope_head_dim,
            "d_rope": self.qk_rope_head_dim,
            "d_v": self.v_head_dim,
            "W": self.sliding_window,
            "L_sw": self.n_sliding_layers,
        }

    def _eval_int(self, expr, vals: Mapping[str, Any] | None = None) -> int:
        """Evaluate an integer-valued expression at this architecture, exactly
        (float64 holds integers exactly up to 2**53, far above any count)."""
        if not getattr(expr, "free_symbols", None):
            return int(expr)
        vals = self._base_values() if vals is None else vals
        fn = F.numeric(expr)
        out = float(fn(**{a: vals[a] for a in fn.args}))
        if not math.isfinite(out) or out > 2**53:
            raise ValueError(f"model {self.name!r}: a count of {out:.3g} is too large to be exact; check the config sizes")
        if out != round(out):
            raise ArithmeticError(f"{expr} evaluated to {out} for {self.name}")  # pragma: no cover
        return int(round(out))

    # ------------------------------------------------------------------
    @cached_property
    def n_params(self) -> int:
        """Every trainable parameter (exact). Buffers such as rotary
        ``inv_freq`` or DeepSeek's ``e_score_correction_bias`` are not counted."""
        return self._eval_int(F.TOTAL_PARAMS_MLA if self.is_mla else F.TOTAL_PARAMS)

    @cached_property
    def n_active_params(self) -> int:
        """Parameters a token touches: ``n_params`` less the routed experts it
        skips in each MoE block (equal to ``n_params`` for dense models)."""
        if not self.is_moe:
            return self.n_params
        return self.n_params - self.n_moe_layers * self._eval_int(F.MOE_INACTIVE_PARAMS)

    @cached_property
    def n_matmul_weights_active(self) -> int:
        """N_mm: matmul weights per token, LM head included, embedding lookup,
        biases and norms excluded (the 2 N_mm FLOP/token of ``forward_flops``)."""
        return self._eval_int(F.MATMUL_WEIGHTS_MLA if self.is_mla else F.MATMUL_WEIGHTS)

    @cached_property
    def n_embedding_params(self) -> int:
        """Token and learned position embeddings (the input side only)."""
        return self._eval_int(F.EMBEDDING_PARAMS)

    def param_breakdown(self) -> pd.DataFrame:
        """Parameters by component, one row each, summing to ``n_params``."""
        ev = self._eval_int
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
        }

    def with_(self, **changes) -> "Architecture":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------
    @classmethod
    def from_hf_config(cls, config: Mapping[str, Any] | str | Path, name: str | None = None) -> "Architecture":
        """Build from a Hugging Face ``config.json`` (a dict or a path).

        Supported ``model_type`` values: see :data:`SUPPORTED_FAMILIES`. A
        missing or malformed field raises ``ValueError`` naming it.
        """
        if isinstance(config, (str, Path)):
            path = Path(config)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise ValueError(f"cannot read config file {str(path)!r}: {e.strerror}") from None
            try:
                config = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"config file {str(path)!r} is not valid JSON: {e}") from None
            name = name or path.stem
        if not isinstance(config, Mapping):
            raise ValueError(f"config must be a JSON object (dict), got {type(config).__name__}")
        mt = config.get("model_type")
        if mt is None:
            raise ValueError("config has no 'model_type'; supported: " + ", ".join(SUPPORTED_FAMILIES))
        if not isinstance(mt, str) or mt not in _PARSERS:
            raise ValueError(f"model_type={mt!r} is not supported; supported families: " + ", ".join(SUPPORTED_FAMILIES))
        if name is None:
            name = str(config.get("_name_or_path") or mt)
        return _PARSERS[mt](_Cfg(config, name), name)


# ----------------------------------------------------------------------
# Reading configs
# ----------------------------------------------------------------------
_MISSING = object()


class _Cfg:
    """Typed, validated access to a config dict; every error names the field."""

    def __init__(self, raw: Mapping[str, Any], name: str):
        self.raw = raw
        self.name = name

    def _err(self, key: str, msg: str) -> ValueError:
        return ValueError(f"config of {self.name!r}: field {key}={self.raw.get(key, '<missing>')!r} {msg}")

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def int(self, key: str, default: Any = _MISSING, *aliases: str, minimum: int = 1) -> int:
        for k in (key, *aliases):
            if self.raw.get(k) is not None:
                key = k
                break
        else:
            if default is _MISSING:
                raise ValueError(f"config of {self.name!r}: required field {key!r} is missing")
            return default
        v = self.raw[key]
        if isinstance(v, bool):
            raise self._err(key, "must be an integer, not a boolean")
        if isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                raise self._err(key, "must be a whole number")
            v = int(v)
        if not isinstance(v, int):
            raise self._err(key, f"must be an integer, got {type(v).__name__}")
        if v < minimum:
            raise self._err(key, f"must be at least {minimum}")
        if v > MAX_DIM:
            raise self._err(key, f"exceeds the largest accepted size {MAX_DIM}")
        return v

    def opt_int(self, key: str, minimum: int = 1) -> int:
        """An optional positive integer; absent or null -> 0."""
        return self.int(key, 0, minimum=minimum) if self.has(key) else 0

    def bool(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        v = self.raw[key]
        if not isinstance(v, bool):
            raise self._err(key, "must be true or false")
        return v

    def str(self, key: str, default: str = "") -> str:
        if not self.has(key):
            return default
        v = self.raw[key]
        if not isinstance(v, str):
            raise self._err(key, "must be a string")
        return v

    def int_list(self, key: str) -> list[int]:
        v = self.raw.get(key) or []
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            raise self._err(key, "must be a list of integers")
        return v

    def head_dim(self, d: int, n_h: int, key: str = "head_dim") -> int:
        if self.has(key):
            return self.int(key)
        if d % n_h:
            raise ValueError(
                f"config of {self.name!r}: num_attention_heads={n_h} does not divide hidden_size={d} "
                f"and no '{key}' is given"
            )
        return d // n_h

    def kv_heads(self, n_h: int, default: Any = "heads") -> int:
        if default == "heads":
            default = n_h
        return self.int("num_key_value_heads", default)

    def sliding(self, n_layers: int, all_layers: bool) -> tuple[int, int]:
        """(window, sliding layers). ``layer_types`` wins when present."""
        lt = self.raw.get("layer_types")
        if lt is not None:
            if not isinstance(lt, list) or len(lt) != n_layers:
                raise self._err("layer_types", f"must be a list of {n_layers} layer types")
            n_sw = sum(1 for x in lt if x == "sliding_attention")
            return (self.int("sliding_window") if n_sw else 0, n_sw)
        if all_layers and self.has("sliding_window"):
            return self.int("sliding_window"), n_layers
        return 0, 0

    def common(self) -> dict[str, Any]:
        return {
            "max_position_embeddings": self.int("max_position_embeddings", 0, "n_positions", minimum=0),
            "torch_dtype": self.str("torch_dtype", self.str("dtype")),
        }


def _llama_like(c: _Cfg, name: str, family: str, *, tie_default: bool, kv_default: Any = "heads",
                qkv_bias: bool | None = None, norm: str = "rms", norms_per_block: int = 2,
                sliding_all: bool = False) -> dict[str, Any]:
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads")
    L = c.int("num_hidden_layers")
    attn_bias = c.bool("attention_bias", False)
    w, n_sw = c.sliding(L, sliding_all)
    return dict(
        name=name,
        family=family,
        d_model=d,
        n_layers=L,
        n_heads=n_h,
        n_kv_heads=c.kv_heads(n_h, kv_default),
        head_dim=c.head_dim(d, n_h),
        d_ff=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"),
        gated_mlp=True,
        tied_embeddings=c.bool("tie_word_embeddings", tie_default),
        qkv_bias=attn_bias if qkv_bias is None else qkv_bias,
        attn_out_bias=attn_bias,
        mlp_bias=c.bool("mlp_bias", False),
        norm=norm,
        norms_per_block=norms_per_block,
        sliding_window=w,
        n_sliding_layers=n_sw,
        **c.common(),
    )


def _llama(c: _Cfg, name: str) -> Architecture:
    # LlamaConfig: tie_word_embeddings=False, num_key_value_heads=None -> heads
    return Architecture(**_llama_like(c, name, "llama", tie_default=False))


def _mistral(c: _Cfg, name: str) -> Architecture:
    # MistralConfig: sliding window on every layer when set; no biases
    kw = _llama_like(c, name, "mistral", tie_default=False, kv_default=_MISSING, sliding_all=True)
    kw.update(qkv_bias=False, attn_out_bias=False, mlp_bias=False)
    return Architecture(**kw)


def _gemma(c: _Cfg, name: str) -> Architecture:
    # GemmaConfig ties embeddings by default; GeGLU MLP; RMSNorm
    return Architecture(**_llama_like(c, name, "gemma", tie_default=True, kv_default=_MISSING))


def _gemma2(c: _Cfg, name: str) -> Architecture:
    # Gemma-2: 4 RMSNorms per block (pre/post attention, pre/post MLP);
    # sliding window on every other block, starting with block 0.
    kw = _llama_like(c, name, "gemma2", tie_default=True, kv_default=_MISSING, norms_per_block=4)
    L = kw["n_layers"]
    if "layer_types" not in c.raw and c.has("sliding_window"):
        kw.update(sliding_window=c.int("sliding_window"), n_sliding_layers=(L + 1) // 2)
    return Architecture(**kw)


def _olmo(c: _Cfg, name: str) -> Architecture:
    # OLMo (v1, HF-native): non-parametric LayerNorm, no biases by default
    return Architecture(**_llama_like(c, name, "olmo", tie_default=False, norm="none"))


def _phi3(c: _Cfg, name: str) -> Architecture:
    # Phi-3: fused qkv and gate_up projections without bias; sliding window
    kw = _llama_like(c, name, "phi3", tie_default=False, sliding_all=True)
    kw.update(qkv_bias=False, attn_out_bias=False, mlp_bias=False)
    return Architecture(**kw)


def _qwen2_sliding(c: _Cfg, L: int) -> tuple[int, int]:
    if "layer_types" in c.raw:
        return c.sliding(L, False)
    if c.bool("use_sliding_window", False) and c.has("sliding_window"):
        first_full = c.int("max_window_layers", L, minimum=0)
        return c.int("sliding_window"), max(0, L - min(first_full, L))
    return 0, 0


def _qwen2(c: _Cfg, name: str) -> Architecture:
    # Qwen2: bias on q, k, v (not o); sliding window only with use_sliding_window
    kw = _llama_like(c, name, "qwen2", tie_default=False, qkv_bias=True)
    kw["attn_out_bias"] = False
    kw["sliding_window"], kw["n_sliding_layers"] = _qwen2_sliding(c, kw["n_layers"])
    return Architecture(**kw)


def _qwen2_moe(c: _Cfg, name: str) -> Architecture:
    kw = _llama_like(c, name, "qwen2_moe", tie_default=False, qkv_bias=True)
    kw["attn_out_bias"] = False
    L = kw["n_layers"]
    kw["sliding_window"], kw["n_sliding_layers"] = _qwen2_sliding(c, L)
    n_e = c.int("num_experts")
    step = c.int("decoder_sparse_step", 1)
    only_mlp = set(c.int_list("mlp_only_layers"))
    # blocks i with (i + 1) % step == 0 are sparse, except those listed as MLP-only
    n_moe = L // step - sum(1 for i in only_mlp if 0 <= i < L and (i + 1) % step == 0)
    shared = c.int("shared_expert_intermediate_size", 0, minimum=0)
    kw.update(
        n_experts=n_e,
        n_experts_per_token=c.int("num_experts_per_tok"),
        d_ff_expert=c.int("moe_intermediate_size"),
        d_ff_shared=shared,
        shared_expert_gate=shared > 0,
        n_moe_layers=n_moe,
    )
    return Architecture(**kw)


def _mixtral(c: _Cfg, name: str) -> Architecture:
    # Mixtral: every block is MoE; experts have intermediate_size; router D x E
    kw = _llama_like(c, name, "mixtral", tie_default=False, kv_default=_MISSING, sliding_all=True)
    kw.update(qkv_bias=False, attn_out_bias=False, mlp_bias=False)
    kw.update(
        n_experts=c.int("num_local_experts"),
        n_experts_per_token=c.int("num_experts_per_tok"),
        d_ff_expert=kw["d_ff"],
        n_moe_layers=kw["n_layers"],
    )
    return Architecture(**kw)


def _deepseek_v3(c: _Cfg, name: str) -> Architecture:
    # DeepSeek-V3: MLA; the first `first_k_dense_replace` blocks are dense,
    # then every `moe_layer_freq`-th is MoE with n_shared_experts shared
    # experts of width moe_intermediate_size. The multi-token-prediction
    # module (num_nextn_predict_layers) is not part of the HF model.
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads")
    L = c.int("num_hidden_layers")
    f_e = c.int("moe_intermediate_size")
    first_dense = c.int("first_k_dense_replace", 0, minimum=0)
    freq = c.int("moe_layer_freq", 1)
    n_e = c.int("n_routed_experts")
    # blocks i >= first_k_dense_replace with i % moe_layer_freq == 0 are MoE
    n_moe = max(0, (L - 1) // freq - (first_dense + freq - 1) // freq + 1) if L > first_dense else 0
    attn_bias = c.bool("attention_bias", False)
    if attn_bias:
        raise ValueError(f"config of {name!r}: field attention_bias=True is not supported for MLA")
    return Architecture(
        name=name,
        family="deepseek_v3",
        d_model=d,
        n_layers=L,
        n_heads=n_h,
        n_kv_heads=c.kv_heads(n_h),
        head_dim=c.int("qk_nope_head_dim") + c.int("qk_rope_head_dim"),
        d_ff=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"),
        gated_mlp=True,
        tied_embeddings=c.bool("tie_word_embeddings", False),
        n_experts=n_e,
        n_experts_per_token=c.int("num_experts_per_tok"),
        d_ff_expert=f_e,
        d_ff_shared=c.int("n_shared_experts", 0, minimum=0) * f_e,
        n_moe_layers=n_moe,
        q_lora_rank=c.opt_int("q_lora_rank"),
        kv_lora_rank=c.int("kv_lora_rank"),
        qk_nope_head_dim=c.int("qk_nope_head_dim"),
        qk_rope_head_dim=c.int("qk_rope_head_dim"),
        v_head_dim=c.int("v_head_dim"),
        **c.common(),
    )


def _phi(c: _Cfg, name: str) -> Architecture:
    # Phi-1/1.5/2: parallel block with one LayerNorm, biases on every linear
    # including the LM head, plain (gelu) MLP.
    if c.bool("qk_layernorm", False):
        raise ValueError(f"config of {name!r}: field qk_layernorm=True is not supported")
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads")
    return Architecture(
        name=name, family="phi", d_model=d, n_layers=c.int("num_hidden_layers"), n_heads=n_h,
        n_kv_heads=c.kv_heads(n_h), head_dim=c.head_dim(d, n_h), d_ff=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"), gated_mlp=False, tied_embeddings=c.bool("tie_word_embeddings", False),
        qkv_bias=True, attn_out_bias=True, mlp_bias=True, lm_head_bias=True, norm="layer",
        norms_per_block=1, parallel_block=True, **c.common(),
    )


def _starcoder2(c: _Cfg, name: str) -> Architecture:
    # StarCoder2: LayerNorm with bias, plain MLP (c_fc, c_proj), use_bias on
    # all linears, tied embeddings by default, sliding window on all blocks.
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads")
    L = c.int("num_hidden_layers")
    bias = c.bool("use_bias", True)
    w, n_sw = c.sliding(L, True)
    return Architecture(
        name=name, family="starcoder2", d_model=d, n_layers=L, n_heads=n_h,
        n_kv_heads=c.int("num_key_value_heads"), head_dim=c.head_dim(d, n_h), d_ff=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"), gated_mlp=False, tied_embeddings=c.bool("tie_word_embeddings", True),
        qkv_bias=bias, attn_out_bias=bias, mlp_bias=bias, norm="layer", sliding_window=w, n_sliding_layers=n_sw,
        **c.common(),
    )


def _gpt2(c: _Cfg, name: str) -> Architecture:
    # GPT-2: learned positions, fused c_attn with bias, plain MLP of n_inner
    # (default 4 D), LayerNorms, LM head tied to the token embedding.
    d = c.int("n_embd", _MISSING, "hidden_size")
    n_h = c.int("n_head", _MISSING, "num_attention_heads")
    n_pos = c.int("n_positions", _MISSING, "max_position_embeddings")
    return Architecture(
        name=name, family="gpt2", d_model=d, n_layers=c.int("n_layer", _MISSING, "num_hidden_layers"),
        n_heads=n_h, n_kv_heads=n_h, head_dim=c.head_dim(d, n_h), d_ff=c.int("n_inner", 4 * d),
        vocab_size=c.int("vocab_size"), gated_mlp=False, tied_embeddings=c.bool("tie_word_embeddings", True),
        qkv_bias=True, attn_out_bias=True, mlp_bias=True, norm="layer", learned_positions=n_pos,
        max_position_embeddings=n_pos, torch_dtype=c.str("torch_dtype"),
    )


def _gpt_neox(c: _Cfg, name: str) -> Architecture:
    # GPT-NeoX / Pythia: fused query_key_value and dense with bias
    # (attention_bias, default true), plain MLP with bias, two LayerNorms per
    # block even with the parallel residual, untied embed_in / embed_out.
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads")
    bias = c.bool("attention_bias", True)
    return Architecture(
        name=name, family="gpt_neox", d_model=d, n_layers=c.int("num_hidden_layers"), n_heads=n_h,
        n_kv_heads=n_h, head_dim=c.head_dim(d, n_h), d_ff=c.int("intermediate_size"),
        vocab_size=c.int("vocab_size"), gated_mlp=False, tied_embeddings=c.bool("tie_word_embeddings", False),
        qkv_bias=bias, attn_out_bias=bias, mlp_bias=True, norm="layer",
        parallel_block=c.bool("use_parallel_residual", True), **c.common(),
    )


def _falcon(c: _Cfg, name: str) -> Architecture:
    # Falcon: query_key_value sized by new_decoder_architecture (GQA with
    # num_kv_heads) or multi_query (one K/V head); `bias` on every linear but
    # the LM head; one LayerNorm per parallel block (two with the new
    # architecture, or a sequential block); MLP of ffn_hidden_size (4 D).
    d = c.int("hidden_size")
    n_h = c.int("num_attention_heads", _MISSING, "n_head")
    new_arch = c.bool("new_decoder_architecture", False)
    parallel = c.bool("parallel_attn", True)
    if new_arch:
        n_kv = c.int("num_kv_heads", _MISSING, "n_head_kv")
        n_norm = c.int("num_ln_in_parallel_attn", 2)
    else:
        n_kv = 1 if c.bool("multi_query", True) else n_h
        n_norm = 1 if parallel else 2
    c.bool("alibi", False)  # validated only: ALiBi has no parameters
    bias = c.bool("bias", False)
    return Architecture(
        name=name, family="falcon", d_model=d, n_layers=c.int("num_hidden_layers", _MISSING, "n_layer"),
        n_heads=n_h, n_kv_heads=n_kv, head_dim=c.head_dim(d, n_h), d_ff=c.int("ffn_hidden_size", 4 * d),
        vocab_size=c.int("vocab_size"), gated_mlp=False, tied_embeddings=c.bool("tie_word_embeddings", True),
        qkv_bias=bias, attn_out_bias=bias, mlp_bias=bias, norm="layer", norms_per_block=n_norm,
        parallel_block=parallel or new_arch, **c.common(),
    )


_PARSERS: dict[str, Callable[[_Cfg, str], Architecture]] = {
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "phi": _phi,
    "phi3": _phi3,
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "falcon": _falcon,
    "starcoder2": _starcoder2,
    "olmo": _olmo,
    "deepseek_v3": _deepseek_v3,
}

#: The ``model_type`` values :meth:`Architecture.from_hf_config` understands.
SUPPORTED_FAMILIES: tuple[str, ...] = tuple(_PARSERS)
