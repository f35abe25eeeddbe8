"""Reading Hugging Face ``config.json`` files into architecture fields.

This module knows the families, not the formulas: :func:`read_config` turns a
config (a dict or a path) into the keyword arguments of
:class:`costmodel.Architecture`, which validates them and counts. It imports
nothing from the rest of the package, so imports stay one-way.

Each family is a row of :data:`FAMILIES`, a declarative :class:`Family`
following that family's ``transformers`` configuration and modeling code:
key aliases, defaults where a key is absent, which projections carry a bias,
the norm, the gated MLP, the tied-embedding default, the sliding-window
pattern, the QK-norm, attention sinks and the router bias. Only what does not
fit the table (mixtures of experts, latent attention, Falcon's three attention
layouts) is a hook.

A config that sets a key of a structure its family does not have (a llama
config with ``num_local_experts``, a qwen3 config with ``kv_lora_rank``: see
:data:`STRUCTURAL_KEYS`) is refused with the key named, rather than counted
as a different model. Of a multimodal config (Gemma 3) only the text decoder
under ``text_config`` is read; the parts left out are named in the
``excluded_parts`` field. Defined in :ref:`sec_memory`.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

__all__ = ["Key", "Family", "FAMILIES", "SUPPORTED_FAMILIES", "STRUCTURAL_KEYS", "read_config", "MAX_DIM",
           "MAX_CONFIG_BYTES"]

#: Largest size accepted for any one dimension (16.7 M); beyond it a config is
#: surely malformed, and products of such sizes would lose exactness.
MAX_DIM = 2**24
#: Largest config file read (a real config.json is a few kB).
MAX_CONFIG_BYTES = 4 * 2**20
#: Layer types a ``layer_types`` list may hold (transformers' names).
LAYER_TYPES = ("full_attention", "sliding_attention")

_MOE = "a mixture of experts"
#: Keys that switch on a structure some families have: key -> the structure.
#: A family reads only those in its ``Family.reads``; a config of another
#: family that gives one of them a value other than null, false, 0 or empty
#: is refused, since its count would silently leave the structure out.
STRUCTURAL_KEYS: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(("num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok",
                     "experts_per_token", "moe_intermediate_size", "decoder_sparse_step", "mlp_only_layers",
                     "first_k_dense_replace", "moe_layer_freq"), _MOE),
    **dict.fromkeys(("shared_expert_intermediate_size", "n_shared_experts"), "shared experts"),
    **dict.fromkeys(("kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"),
                    "latent attention (MLA)"),
    **dict.fromkeys(("text_config", "vision_config", "audio_config"), "a multimodal model"),
    **dict.fromkeys(("qk_layernorm", "use_qk_norm"), "a switchable QK-norm"),
})
#: Keys of the DeepSeek (MLA + DeepSeekMoE) families.
_DEEPSEEK_KEYS = frozenset({"n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", "n_shared_experts",
                            "first_k_dense_replace", "moe_layer_freq", "kv_lora_rank", "q_lora_rank",
                            "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"})
_QWEN_MOE_KEYS = frozenset({"num_experts", "num_experts_per_tok", "moe_intermediate_size", "decoder_sparse_step",
                            "mlp_only_layers"})

_MISSING = object()


@dataclass(frozen=True)
class Key:
    """A config key, with the value used when it is absent (``required`` if none)."""

    name: str
    default: Any = _MISSING


@dataclass(frozen=True)
class Family:
    """How one ``model_type`` maps onto the architecture fields.

    A policy is either a constant or a :class:`Key` read from the config.
    ``head_dim``: a :class:`Key` (read, with an integer default or, when the
    default is ``None``, hidden_size / heads) or ``"derived"`` (the family's
    code ignores any ``head_dim`` key). ``sliding``: ``"none"`` (only through
    ``layer_types``), ``"all"`` (every block when a window is set),
    ``"every_other"`` (blocks 0, 2, 4...), ``"qwen2"`` (blocks from
    ``max_window_layers`` on, when ``use_sliding_window``), ``"gemma3"``
    (all but every ``sliding_window_pattern``-th block) or ``"nope"`` (the
    NoPE blocks of ``no_rope_layers``, SmolLM3); ``layer_types``, when
    present, wins, unless ``sliding_gate`` names a boolean key that is false
    (no block slides then). ``qk_norm``: ``"none"``, ``"head"`` (one
    head-width scale for q and one for k, shared by the heads) or ``"full"``
    (over the whole query and key widths). ``text_config``: the decoder's
    fields sit under ``text_config`` of a multimodal config, and
    ``excluded`` names the parts left out (config key -> what). ``reads``:
    the :data:`STRUCTURAL_KEYS` the family models. ``hook`` fills what the
    table cannot say.
    """

    tied: Any
    gated: bool = True
    norm: str = "rms"
    norms_per_block: Any = 2
    n_heads: Key = Key("num_attention_heads")
    n_kv_heads: Any = Key("num_key_value_heads", None)  # None: as many as query heads
    head_dim: Any = Key("head_dim", None)
    vocab_size: Key = Key("vocab_size")
    max_positions: Key = Key("max_position_embeddings", 0)
    qkv_bias: Any = Key("attention_bias", False)
    attn_out_bias: Any = Key("attention_bias", False)
    mlp_bias: Any = Key("mlp_bias", False)
    lm_head_bias: Any = False
    sliding: str = "none"
    sliding_window: Key = Key("sliding_window", None)
    sliding_gate: Key | None = None
    qk_norm: str = "none"
    attention_sinks: Any = False
    router_bias: Any = False
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    d_ff: Any = Key("intermediate_size")
    hook: Callable[["_Cfg", dict], None] | None = None
    rejects: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs not modelled
    reads: frozenset[str] = frozenset()
    text_config: bool = False
    excluded: Mapping[str, str] = field(default_factory=dict)


class _Cfg:
    """Typed access to a config dict; every error names the field and the model."""

    def __init__(self, raw: Mapping[str, Any], name: str, aliases: Mapping[str, tuple[str, ...]] = MappingProxyType({})):
        self.raw = raw
        self.name = name
        self.aliases = aliases

    def err(self, key: str, msg: str) -> ValueError:
        return ValueError(f"config of {self.name!r}: field {key}={self.raw.get(key, '<missing>')!r} {msg}")

    def _resolve(self, key: str) -> str | None:
        for k in (key, *self.aliases.get(key, ())):
            if self.raw.get(k) is not None:
                return k
        return None

    def has(self, key: str) -> bool:
        return self._resolve(key) is not None

    def present(self, key: str) -> bool:
        """The key is in the config, even with a null value."""
        return key in self.raw

    def int(self, key: str, default: Any = _MISSING, *, minimum: int = 1) -> int:
        k = self._resolve(key)
        if k is None:
            if default is _MISSING:
                raise ValueError(f"config of {self.name!r}: required field {key!r} is missing")
            return default
        v = self.raw[k]
        if isinstance(v, bool):
            raise self.err(k, "must be an integer, not a boolean")
        if isinstance(v, float):
            if not math.isfinite(v) or not v.is_integer():
                raise self.err(k, "must be a whole number")
            v = int(v)
        if not isinstance(v, int):
            raise self.err(k, f"must be an integer, got {type(v).__name__}")
        if v < minimum:
            raise self.err(k, f"must be at least {minimum}")
        if v > MAX_DIM:
            raise self.err(k, f"exceeds the largest accepted size {MAX_DIM}")
        return v

    def bool(self, key: str, default: bool) -> bool:
        k = self._resolve(key)
        if k is None:
            return default
        v = self.raw[k]
        if not isinstance(v, bool):
            raise self.err(k, "must be true or false")
        return v

    def str(self, key: str, default: str = "") -> str:
        k = self._resolve(key)
        if k is None:
            return default
        v = self.raw[k]
        if not isinstance(v, str):
            raise self.err(k, "must be a string")
        return v

    def int_list(self, key: str) -> list[int]:
        v = self.raw.get(key)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            raise self.err(key, "must be a list of integers")
        return v

    def policy(self, value: Any, kind: str) -> Any:
        """A family policy: a constant, or a :class:`Key` read as ``kind``."""
        if not isinstance(value, Key):
            return value
        if kind == "bool":
            return self.bool(value.name, value.default)
        return self.int(value.name, value.default)


# ----------------------------------------------------------------------
# Sliding windows
# ----------------------------------------------------------------------
def _layer_types(c: _Cfg, n_layers: int) -> list[str] | None:
    lt = c.raw.get("layer_types")
    if lt is None:  # absent, or null as newer transformers versions save it
        return None
    if not isinstance(lt, list) or len(lt) != n_layers:
        raise c.err("layer_types", f"must be a list of {n_layers} layer types")
    unknown = sorted({x for x in lt if x not in LAYER_TYPES}, key=str)
    if unknown:
        raise c.err("layer_types", f"has layer types {unknown} that are not modelled; known: {list(LAYER_TYPES)}")
    return lt


def _window(c: _Cfg, fam: Family) -> int:
    """The window, 0 when none: an absent key takes the family default, a
    null key means no window (transformers: ``sliding_window=None``)."""
    key = fam.sliding_window
    if c.present(key.name):
        return c.int(key.name, 0) if c.raw[key.name] is not None else 0
    return 0 if key.default is None else key.default


def _nope_layers(c: _Cfg, n_layers: int) -> int:
    """SmolLM3's NoPE blocks: the zeros of ``no_rope_layers`` (1 = rotary),
    else every ``no_rope_layer_interval``-th block (SmolLM3Config)."""
    if c.has("no_rope_layers"):
        flags = c.int_list("no_rope_layers")
        if len(flags) < n_layers or not set(flags) <= {0, 1}:
            raise c.err("no_rope_layers", f"must be a list of at least {n_layers} flags 0 (NoPE) or 1 (rotary)")
        return flags[:n_layers].count(0)
    return n_layers // c.int("no_rope_layer_interval", 4)


def _sliding(c: _Cfg, fam: Family, n_layers: int) -> tuple[int, int]:
    """(window, number of sliding blocks)."""
    gate = fam.sliding_gate
    if gate is not None and not c.bool(gate.name, gate.default):
        return 0, 0
    window = _window(c, fam)
    lt = _layer_types(c, n_layers)
    if lt is not None:
        n_sw = lt.count("sliding_attention")
    elif fam.sliding == "all":
        n_sw = n_layers
    elif fam.sliding == "every_other":
        n_sw = (n_layers + 1) // 2
    elif fam.sliding == "qwen2":
        if not c.bool("use_sliding_window", False):
            return 0, 0
        first = c.int("max_window_layers", 28, minimum=0)  # Qwen2Config default
        n_sw = max(0, n_layers - min(first, n_layers))
    elif fam.sliding == "gemma3":
        n_sw = n_layers - n_layers // c.int("sliding_window_pattern", 6)  # Gemma3TextConfig default
    elif fam.sliding == "nope":
        n_sw = _nope_layers(c, n_layers)
    else:
        n_sw = 0
    if n_sw and not window:
        if lt is not None:
            raise c.err("sliding_window", "must be a positive window: layer_types has sliding layers")
        return 0, 0
    return (window, n_sw) if n_sw else (0, 0)


# ----------------------------------------------------------------------
# The generic reader and the hooks
# ----------------------------------------------------------------------
def _is_off(v: Any) -> bool:
    """A value that leaves a structure switched off: null, false, 0 or empty."""
    if v is None or v is False:
        return True
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v == 0
    return isinstance(v, (list, dict, str)) and not v


def _refuse_foreign_keys(c: _Cfg, fam: Family, model_type: str) -> None:
    for key, structure in STRUCTURAL_KEYS.items():
        if key in c.raw and key not in fam.reads and not _is_off(c.raw[key]):
            raise c.err(key, f"sets {structure}, which model_type={model_type!r} does not have; the count would "
                             "silently leave it out (is model_type right?)")


def _fields(c: _Cfg, fam: Family, model_type: str) -> dict[str, Any]:
    _refuse_foreign_keys(c, fam, model_type)
    for key, bad in fam.rejects:
        if c.raw.get(key) == bad:
            raise c.err(key, f"is not supported for model_type={model_type!r}")
    d = c.int("hidden_size")
    n_h = c.policy(fam.n_heads, "int")
    n_layers = c.int("num_hidden_layers")
    kv = fam.n_kv_heads
    n_kv = c.int(kv.name, n_h if kv.default is None else kv.default) if isinstance(kv, Key) else (kv or n_h)
    if fam.head_dim == "derived" or (isinstance(fam.head_dim, Key) and fam.head_dim.default is None
                                      and not c.has(fam.head_dim.name)):
        if d % n_h:
            raise ValueError(
                f"config of {c.name!r}: num_attention_heads={n_h} does not divide hidden_size={d}"
                + ("" if fam.head_dim == "derived" else " and no 'head_dim' is given")
            )
        head_dim = d // n_h
    else:
        head_dim = c.policy(fam.head_dim, "int")
    window, n_sw = _sliding(c, fam, n_layers)
    qk_norm = {"none": (0, 0), "head": (1, 1), "full": (n_h, n_kv)}[fam.qk_norm]
    out = dict(
        d_model=d, n_layers=n_layers, n_heads=n_h, n_kv_heads=n_kv, head_dim=head_dim,
        d_ff=c.policy(fam.d_ff, "int"), vocab_size=c.policy(fam.vocab_size, "int"), gated_mlp=fam.gated,
        tied_embeddings=c.policy(fam.tied, "bool"),
        qkv_bias=c.policy(fam.qkv_bias, "bool"), attn_out_bias=c.policy(fam.attn_out_bias, "bool"),
        mlp_bias=c.policy(fam.mlp_bias, "bool"), lm_head_bias=c.policy(fam.lm_head_bias, "bool"),
        norm=fam.norm, norms_per_block=c.policy(fam.norms_per_block, "int"),
        sliding_window=window, n_sliding_layers=n_sw,
        q_norm_heads=qk_norm[0], k_norm_heads=qk_norm[1], attention_sinks=c.policy(fam.attention_sinks, "bool"),
        router_bias=c.policy(fam.router_bias, "bool"),
        max_position_embeddings=c.int(fam.max_positions.name, fam.max_positions.default, minimum=0),
        torch_dtype=c.str("torch_dtype", c.str("dtype")),
    )
    if fam.hook is not None:
        fam.hook(c, out)
    return out


def _mixtral(c: _Cfg, out: dict) -> None:
    # every block is MoE; experts have intermediate_size; router D x E
    out.update(n_experts=c.int("num_local_experts"), n_experts_per_token=c.int("num_experts_per_tok"),
               d_ff_expert=out["d_ff"], n_moe_layers=out["n_layers"])


def _qwen3_moe(c: _Cfg, out: dict) -> None:
    # blocks i with (i + 1) % decoder_sparse_step == 0 are sparse, except those
    # listed in mlp_only_layers; experts of moe_intermediate_size, router D x E
    n_layers = out["n_layers"]
    step = c.int("decoder_sparse_step", 1)
    only_mlp = set(c.int_list("mlp_only_layers"))
    n_moe = n_layers // step - sum(1 for i in only_mlp if 0 <= i < n_layers and (i + 1) % step == 0)
    out.update(n_experts=c.int("num_experts"), n_experts_per_token=c.int("num_experts_per_tok"),
               d_ff_expert=c.int("moe_intermediate_size"), n_moe_layers=n_moe)


def _qwen2_moe(c: _Cfg, out: dict) -> None:
    # Qwen3-MoE's blocks plus a shared expert behind a sigmoid gate
    _qwen3_moe(c, out)
    shared = c.int("shared_expert_intermediate_size", 0, minimum=0)
    out.update(d_ff_shared=shared, shared_expert_gate=shared > 0)


def _gpt_oss(c: _Cfg, out: dict) -> None:
    # Mixtral's every-block MoE; the legacy experts_per_token key, which
    # GptOssConfig does not read, must not contradict num_experts_per_tok
    _mixtral(c, out)
    if c.has("experts_per_token") and c.int("experts_per_token") != out["n_experts_per_token"]:
        raise c.err("experts_per_token", f"contradicts num_experts_per_tok={out['n_experts_per_token']}")


def _deepseek_v3(c: _Cfg, out: dict) -> None:
    # MLA; the first `first_k_dense_replace` blocks are dense, then every
    # `moe_layer_freq`-th is MoE with n_shared_experts shared experts of width
    # moe_intermediate_size. Keys and values are per head (K = H). The
    # multi-token-prediction module (num_nextn_predict_layers) is not part of
    # the HF model. DeepSeek-V2 is the same but for the router's scoring
    # (softmax, no correction bias), which has no parameter. q_lora_rank null
    # means a full-rank query (V2-Lite); absent, it takes the config classes'
    # default, 1536.
    n_layers = out["n_layers"]
    first_dense = c.int("first_k_dense_replace", 0, minimum=0)
    freq = c.int("moe_layer_freq", 1)
    n_moe = max(0, (n_layers - 1) // freq - (first_dense + freq - 1) // freq + 1) if n_layers > first_dense else 0
    f_e = c.int("moe_intermediate_size")
    nope, rope = c.int("qk_nope_head_dim"), c.int("qk_rope_head_dim")
    out.update(
        n_kv_heads=out["n_heads"], head_dim=nope + rope,
        n_experts=c.int("n_routed_experts"), n_experts_per_token=c.int("num_experts_per_tok"),
        d_ff_expert=f_e, d_ff_shared=c.int("n_shared_experts", 0, minimum=0) * f_e, n_moe_layers=n_moe,
        q_lora_rank=c.int("q_lora_rank", 0) if c.present("q_lora_rank") else 1536,
        kv_lora_rank=c.int("kv_lora_rank"),
        qk_nope_head_dim=nope, qk_rope_head_dim=rope, v_head_dim=c.int("v_head_dim"),
    )


def _gpt2(c: _Cfg, out: dict) -> None:
    # learned positions, one per trained position; MLP width n_inner or 4 D
    n_pos = c.int("max_position_embeddings")
    out.update(learned_positions=n_pos, max_position_embeddings=n_pos, d_ff=out["d_ff"] or 4 * out["d_model"])


def _falcon(c: _Cfg, out: dict) -> None:
    # MLP of ffn_hidden_size (default 4 D); query_key_value sized by new_decoder_architecture (GQA with num_kv_heads)
    # or multi_query (one K/V head); one LayerNorm per parallel block (two with
    # the new architecture, or a sequential block)
    new_arch = c.bool("new_decoder_architecture", False)
    parallel = c.bool("parallel_attn", True)
    if new_arch:
        out["n_kv_heads"] = c.int("num_kv_heads", _MISSING)
        out["norms_per_block"] = c.int("num_ln_in_parallel_attn", 2)
    else:
        out["n_kv_heads"] = 1 if c.bool("multi_query", True) else out["n_heads"]
        out["norms_per_block"] = 1 if parallel else 2
    out["d_ff"] = out["d_ff"] or 4 * out["d_model"]
    c.bool("alibi", False)  # validated only: ALiBi has no parameters


_NO_BIAS = dict(qkv_bias=False, attn_out_bias=False, mlp_bias=False)
# DeepSeek-V2 and V3: MLA and DeepSeekMoE (hook); attention biases not modelled
_DEEPSEEK = Family(tied=Key("tie_word_embeddings", False), head_dim=0, qkv_bias=False, attn_out_bias=False,
                   rejects=(("attention_bias", True),), hook=_deepseek_v3, reads=_DEEPSEEK_KEYS)
# Gemma3TextConfig: tied, GeGLU, 4 RMSNorms per block and an RMSNorm of
# head_dim on q and on k (shared by the heads); defaults 8 heads, 4 KV heads of
# 256, 262,208 tokens, 131,072 positions; sliding window 4096 on all but every
# 6th block (sliding_window_pattern), unless layer_types says otherwise
_GEMMA3_TEXT = Family(tied=Key("tie_word_embeddings", True), n_heads=Key("num_attention_heads", 8),
                      n_kv_heads=Key("num_key_value_heads", 4), head_dim=Key("head_dim", 256),
                      vocab_size=Key("vocab_size", 262_208), max_positions=Key("max_position_embeddings", 131_072),
                      mlp_bias=False, norms_per_block=4, qk_norm="head", sliding="gemma3",
                      sliding_window=Key("sliding_window", 4096))
_GPT_KEYS = dict(hidden_size=("n_embd",), num_attention_heads=("n_head",), num_hidden_layers=("n_layer",),
                 max_position_embeddings=("n_positions",))


#: ``model_type`` -> :class:`Family`.
FAMILIES: Mapping[str, Family] = MappingProxyType({
    # LlamaConfig: tie_word_embeddings False, num_key_value_heads None -> heads
    "llama": Family(tied=Key("tie_word_embeddings", False)),
    # MistralConfig: sliding_window 4096 on every block unless null; no biases
    "mistral": Family(tied=Key("tie_word_embeddings", False), n_kv_heads=Key("num_key_value_heads"),
                      sliding="all", sliding_window=Key("sliding_window", 4096), **_NO_BIAS),
    "mixtral": Family(tied=Key("tie_word_embeddings", False), n_kv_heads=Key("num_key_value_heads"),
                      sliding="all", hook=_mixtral, reads=frozenset({"num_local_experts", "num_experts_per_tok"}),
                      **_NO_BIAS),
    # Qwen2: bias on q, k, v (not o); sliding window only with use_sliding_window
    "qwen2": Family(tied=Key("tie_word_embeddings", False), qkv_bias=True, attn_out_bias=False, mlp_bias=False,
                    sliding="qwen2", sliding_window=Key("sliding_window", 4096)),
    "qwen2_moe": Family(tied=Key("tie_word_embeddings", False), qkv_bias=True, attn_out_bias=False, mlp_bias=False,
                        sliding="qwen2", sliding_window=Key("sliding_window", 4096), hook=_qwen2_moe,
                        reads=_QWEN_MOE_KEYS | {"shared_expert_intermediate_size"}),
    # Qwen3: Llama's block with biases on q, k, v and o only when attention_bias,
    # an RMSNorm of head_dim on q and one on k (shared by the heads), head_dim
    # 128 by default; sliding window only with use_sliding_window, on blocks
    # from max_window_layers on
    "qwen3": Family(tied=Key("tie_word_embeddings", False), n_kv_heads=Key("num_key_value_heads"),
                    head_dim=Key("head_dim", 128), mlp_bias=False, qk_norm="head", sliding="qwen2",
                    sliding_window=Key("sliding_window", 4096), sliding_gate=Key("use_sliding_window", False)),
    # Qwen3-MoE: Qwen3's attention (head_dim hidden / heads unless given); MoE
    # blocks as Qwen2-MoE's without a shared expert; with use_sliding_window
    # every block slides
    "qwen3_moe": Family(tied=Key("tie_word_embeddings", False), n_kv_heads=Key("num_key_value_heads"),
                        mlp_bias=False, qk_norm="head", sliding="all", sliding_window=Key("sliding_window", 4096),
                        sliding_gate=Key("use_sliding_window", False), hook=_qwen3_moe, reads=_QWEN_MOE_KEYS),
    # GemmaConfig: tied, head_dim 256, GeGLU, RMSNorm
    "gemma": Family(tied=Key("tie_word_embeddings", True), n_kv_heads=Key("num_key_value_heads"),
                    head_dim=Key("head_dim", 256)),
    # Gemma-2: 4 RMSNorms per block; sliding window 4096 on blocks 0, 2, 4...
    "gemma2": Family(tied=Key("tie_word_embeddings", True), n_kv_heads=Key("num_key_value_heads"),
                     head_dim=Key("head_dim", 256), norms_per_block=4, sliding="every_other",
                     sliding_window=Key("sliding_window", 4096)),
    # OLMo (v1, HF-native): non-parametric LayerNorm
    "olmo": Family(tied=Key("tie_word_embeddings", False), norm="none"),
    # OLMo 2: RMSNorms after attention and after the MLP (2 per block), an
    # RMSNorm over the whole query (H d_h) and key (K d_h) widths, no MLP bias
    "olmo2": Family(tied=Key("tie_word_embeddings", False), mlp_bias=False, qk_norm="full"),
    # SmolLM3: Llama's block, tied by default; NoPE blocks have no parameter
    # of their own; with use_sliding_window the NoPE blocks slide
    "smollm3": Family(tied=Key("tie_word_embeddings", True), n_kv_heads=Key("num_key_value_heads"), sliding="nope",
                      sliding_gate=Key("use_sliding_window", False)),
    # Phi-3: fused qkv and gate_up projections without bias; sliding window when set
    "phi3": Family(tied=Key("tie_word_embeddings", False), sliding="all", **_NO_BIAS),
    # Phi-1/1.5/2: parallel block with one LayerNorm, biases on every linear
    # including the LM head, plain (gelu) MLP
    "phi": Family(tied=Key("tie_word_embeddings", False), gated=False, norm="layer", norms_per_block=1,
                  head_dim="derived", qkv_bias=True, attn_out_bias=True, mlp_bias=True, lm_head_bias=True),
    # StarCoder2: LayerNorm with bias, plain MLP, use_bias on all linears,
    # tied by default, sliding window on every block when set
    "starcoder2": Family(tied=Key("tie_word_embeddings", True), gated=False, norm="layer", head_dim="derived",
                         n_kv_heads=Key("num_key_value_heads"), qkv_bias=Key("use_bias", True),
                         attn_out_bias=Key("use_bias", True), mlp_bias=Key("use_bias", True), sliding="all"),
    # GPT-2: learned positions, fused c_attn with bias, plain MLP of n_inner
    # (default 4 D), LayerNorms, LM head tied to the token embedding
    "gpt2": Family(tied=Key("tie_word_embeddings", True), gated=False, norm="layer", head_dim="derived",
                   n_kv_heads=0, qkv_bias=True, attn_out_bias=True, mlp_bias=True, aliases=_GPT_KEYS,
                   d_ff=Key("n_inner", None), hook=_gpt2),
    # GPT-NeoX / Pythia: fused query_key_value and dense with bias
    # (attention_bias, default true), plain MLP with bias, two LayerNorms per
    # block even with the parallel residual, untied embed_in / embed_out
    "gpt_neox": Family(tied=Key("tie_word_embeddings", False), gated=False, norm="layer", head_dim="derived",
                       n_kv_heads=0, qkv_bias=Key("attention_bias", True), attn_out_bias=Key("attention_bias", True),
                       mlp_bias=True),
    # Falcon: `bias` on every linear but the LM head, MLP of ffn_hidden_size (4 D)
    "falcon": Family(tied=Key("tie_word_embeddings", True), gated=False, norm="layer", head_dim="derived",
                     n_kv_heads=0, qkv_bias=Key("bias", False), attn_out_bias=Key("bias", False),
                     mlp_bias=Key("bias", False), d_ff=Key("ffn_hidden_size", None), hook=_falcon,
                     aliases=dict(num_attention_heads=("n_head",), num_hidden_layers=("n_layer",),
                                  num_kv_heads=("n_head_kv",))),
    "deepseek_v2": _DEEPSEEK,
    "deepseek_v3": _DEEPSEEK,
    # gpt-oss: biases on q, k, v and o (attention_bias, default true), one
    # learned sink logit per query head, every block MoE with a router that
    # has a bias and experts with biases on both projections (fused gate_up:
    # 2 F_e, down: D); sliding window of 128 on blocks 0, 2, 4... unless
    # layer_types says otherwise
    "gpt_oss": Family(tied=Key("tie_word_embeddings", False), n_kv_heads=Key("num_key_value_heads"),
                      head_dim=Key("head_dim", 64), qkv_bias=Key("attention_bias", True),
                      attn_out_bias=Key("attention_bias", True), mlp_bias=True, attention_sinks=True,
                      router_bias=True, sliding="every_other", sliding_window=Key("sliding_window", 128),
                      hook=_gpt_oss, reads=frozenset({"num_local_experts", "num_experts_per_tok", "experts_per_token"})),
    "gemma3_text": _GEMMA3_TEXT,
    # Gemma 3 4B/12B/27B: the text decoder of Gemma3ForConditionalGeneration,
    # read from text_config with gemma3_text's rules
    "gemma3": replace(_GEMMA3_TEXT, text_config=True, reads=frozenset({"text_config", "vision_config"}),
                      excluded=MappingProxyType({"vision_config": "the vision tower (vision_config) and the multimodal "
                                                                  "projector"})),
})

#: The ``model_type`` values :func:`read_config` understands.
SUPPORTED_FAMILIES: tuple[str, ...] = tuple(FAMILIES)


# ----------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------
def _read_file(path: Path) -> Mapping[str, Any]:
    """Parse a config file: a regular file of at most MAX_CONFIG_BYTES, UTF-8
    JSON; every error names the file."""
    where = f"config file {str(path)!r}"
    try:
        st = os.stat(path)
    except OSError as e:
        raise ValueError(f"cannot read {where}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{where} is not a regular file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"{where} is {st.st_size} bytes, more than a config.json can be ({MAX_CONFIG_BYTES})")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ValueError(f"cannot read {where}: {e.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{where} is more than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{where} is not UTF-8 text (byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{where} is nested too deeply to be a config") from None


def _decoder_config(c: _Cfg, fam: Family, model_type: str, vision: bool) -> _Cfg:
    """The config whose fields describe the decoder: the config itself, or
    its ``text_config`` (multimodal families). ``vision=True`` asks for the
    vision tower too, which no family models."""
    if vision:
        if "vision_config" in fam.excluded:
            raise c.err("vision_config", f"is not modelled: only the text decoder (text_config) of "
                                         f"model_type={model_type!r} is counted; {fam.excluded['vision_config']} "
                                         "are left out")
        raise c.err("vision_config", f"is absent: model_type={model_type!r} has no vision tower to count")
    for key in fam.excluded:
        if c.raw.get(key) is not None and not isinstance(c.raw[key], Mapping):
            raise c.err(key, "must be an object (the sub-config of that part)")
    if not fam.text_config:
        return c
    sub = c.raw.get("text_config")
    if not isinstance(sub, Mapping):
        raise c.err("text_config", f"must be an object holding the text decoder's fields (model_type={model_type!r})")
    inner = sub.get("model_type", f"{model_type}_text")
    if inner != f"{model_type}_text":
        raise ValueError(f"config of {c.name!r}: field text_config.model_type={inner!r} is not {model_type + '_text'!r}")
    dtype = {k: c.raw[k] for k in ("torch_dtype", "dtype") if k in c.raw and k not in sub}
    return _Cfg({**sub, **dtype}, c.name, fam.aliases)


def read_config(config: Mapping[str, Any] | str | os.PathLike, name: str | None = None, *,
                vision: bool = False) -> dict[str, Any]:
    """The :class:`~costmodel.Architecture` fields of a Hugging Face config.

    ``config`` is a parsed ``config.json`` (a dict) or a path to one. A
    missing or malformed field, or an unsupported ``model_type``, raises
    ``ValueError`` naming it. Of a multimodal config only the text decoder
    is read (``excluded_parts`` says what is left out); ``vision=True``
    raises ``ValueError`` naming ``vision_config``. Defined in
    :ref:`sec_memory`.
    """
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        config = _read_file(path)
        name = name or path.stem
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a JSON object (dict), got {type(config).__name__}")
    mt = config.get("model_type")
    if mt is None:
        raise ValueError("config has no 'model_type'; supported: " + ", ".join(SUPPORTED_FAMILIES))
    if not isinstance(mt, str) or mt not in FAMILIES:
        raise ValueError(f"model_type={mt!r} is not supported; supported families: " + ", ".join(SUPPORTED_FAMILIES))
    if name is None:
        name = str(config.get("_name_or_path") or mt)
    fam = FAMILIES[mt]
    c = _Cfg(config, name, fam.aliases)
    if fam.text_config:
        _refuse_foreign_keys(c, fam, mt)
    out = _fields(_decoder_config(c, fam, mt, vision), replace(fam, reads=frozenset()) if fam.text_config else fam, mt)
    out.update(name=name, family=mt, excluded_parts=" and ".join(fam.excluded.values()))
    return out
