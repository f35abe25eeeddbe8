"""The reader of the 2026 families: the rules each follows from its transformers
configuration and modeling code, and the configs it refuses.

Counts against published totals are in test_catalog_2026.py; here each rule is
checked on a changed copy of a catalog config, and every refusal must name the
field. Sources: transformers' configuration_*.py and modular_*.py of each family
(qwen3, qwen3_moe, gemma3, olmo2, smollm3, deepseek_v2, gpt_oss).
"""

from __future__ import annotations

import copy
import json

import pytest

import costmodel as cm
from costmodel.catalog import MODELS_DIR

CONFIGS = {p.stem: json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))}


def config(name, drop=(), **changes):
    cfg = copy.deepcopy(CONFIGS[name])
    for key in drop:
        cfg.pop(key)
    cfg.update(changes)
    return cfg


def load(cfg, **kw):
    return cm.Architecture.from_hf_config(cfg, name="test", **kw)


# ----------------------------------------------------------------------
# Rules
# ----------------------------------------------------------------------
def test_qk_norm_widths():
    # Qwen3Attention: q_norm, k_norm = RMSNorm(head_dim), shared by the heads (one head width each);
    # Olmo2Attention: RMSNorm(H d_h) and RMSNorm(K d_h), the whole widths
    qwen = cm.load_model("qwen3-8b")
    assert (qwen.q_norm_heads, qwen.k_norm_heads) == (1, 1)
    olmo = cm.load_model("olmo-2-1124-7b")
    assert (olmo.q_norm_heads, olmo.k_norm_heads) == (olmo.n_heads, olmo.n_kv_heads) == (32, 32)
    t = cm.matmul_table(qwen).set_index("matmul")
    assert t.loc["q_norm", ["d_in", "d_out", "params", "weights", "forward_flop_per_token"]].tolist() == \
        [0, 128, 36 * 128, 0, 0]
    # OLMo 2's norm spans H head widths: 32 head-width scale vectors in each of 32 blocks
    o = cm.matmul_table(olmo).set_index("matmul")
    assert o.loc["q_norm", ["d_out", "copies_per_block", "params"]].tolist() == [128, 32, 32 * 32 * 128]
    # families without QK-norm list no such row
    assert "q_norm" not in set(cm.matmul_table("llama-3-8b")["matmul"])


def test_gpt_oss_sinks_router_bias_and_expert_biases():
    arch = cm.load_model("gpt-oss-20b")
    assert arch.attention_sinks and arch.router_bias and arch.mlp_bias and arch.qkv_bias and arch.attn_out_bias
    t = cm.matmul_table(arch).set_index(["block", "matmul"])
    # one sink per query head (64) in each of 24 blocks; router 2880 x 32 plus a bias of 32
    assert t.loc[("attention", "sinks"), "params"] == 24 * 64
    assert t.loc[("moe", "router"), "params"] == 24 * (2880 * 32 + 32)
    # down projection of the 32 experts: 2880 x 2880 plus a bias of 2880 each
    assert t.loc[("moe", "expert_down"), "params"] == 24 * 32 * (2880 * 2880 + 2880)
    # attention_bias false removes the q, k, v, o biases (GptOssConfig: attention_bias)
    no_bias = load(config("gpt-oss-20b", attention_bias=False))
    assert arch.n_params - no_bias.n_params == 24 * ((64 + 2 * 8) * 64 + 2880)


def test_gpt_oss_default_layer_types_alternate():
    # GptOssConfig: without layer_types, blocks 0, 2, 4... slide, window 128
    arch = load(config("gpt-oss-120b", drop=("layer_types", "sliding_window")))
    assert (arch.sliding_window, arch.n_sliding_layers) == (128, 18)
    assert cm.kv_cache_bytes(arch, 100_000) == cm.kv_cache_bytes("gpt-oss-120b", 100_000)


def test_qwen3_moe_every_block_sparse_and_mlp_only_layers():
    # Qwen3MoeDecoderLayer: sparse when (i + 1) % decoder_sparse_step == 0 and i not in mlp_only_layers
    assert cm.load_model("qwen3-30b-a3b").n_moe_layers == 48
    arch = load(config("qwen3-30b-a3b", mlp_only_layers=[0, 47], decoder_sparse_step=1))
    assert arch.n_moe_layers == 46
    # the two dense blocks use intermediate_size 6144
    base = cm.load_model("qwen3-30b-a3b")
    moe_block = 128 * 3 * 2048 * 768 + 2048 * 128
    assert base.n_params - arch.n_params == 2 * (moe_block - 3 * 2048 * 6144)


def test_qwen3_sliding_window_needs_use_sliding_window():
    # Qwen3Config: sliding_window only with use_sliding_window, on blocks from max_window_layers on;
    # a layer_types list does not switch it on by itself
    off = load(config("qwen3-8b", layer_types=["sliding_attention"] * 36, sliding_window=4096))
    assert off.n_sliding_layers == 0
    on = load(config("qwen3-8b", use_sliding_window=True, sliding_window=4096, max_window_layers=30))
    assert (on.sliding_window, on.n_sliding_layers) == (4096, 6)
    # Qwen3MoeAttention: with use_sliding_window every block slides
    moe = load(config("qwen3-30b-a3b", use_sliding_window=True, sliding_window=4096))
    assert moe.n_sliding_layers == 48


def test_smollm3_sliding_blocks_are_the_nope_blocks():
    # SmolLM3Config: no_rope_layers[i] = int((i + 1) % no_rope_layer_interval != 0); with use_sliding_window
    # the NoPE blocks (flag 0) slide. The blocks have no parameter of their own either way.
    base = cm.load_model("smollm3-3b-base")
    assert base.n_sliding_layers == 0
    on = load(config("smollm3-3b-base", use_sliding_window=True, sliding_window=2048))
    assert (on.sliding_window, on.n_sliding_layers) == (2048, 36 // 4)
    flags = [1] * 30 + [0] * 6
    assert load(config("smollm3-3b-base", use_sliding_window=True, sliding_window=2048,
                       no_rope_layers=flags)).n_sliding_layers == 6
    assert on.n_params == base.n_params


def test_gemma3_sliding_pattern_and_layer_types_agree():
    # Gemma3TextConfig: layer i slides unless (i + 1) % sliding_window_pattern == 0 (default 6)
    one = cm.load_model("gemma-3-1b-it")
    assert (one.sliding_window, one.n_sliding_layers) == (512, 26 - 4)
    types = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(26)]
    same = load(config("gemma-3-1b-it", drop=("sliding_window_pattern",), layer_types=types))
    assert cm.kv_cache_bytes(same, 32_768) == cm.kv_cache_bytes(one, 32_768)
    # the 4B text_config omits the pattern: every 6th of 34 blocks is global
    assert cm.load_model("gemma-3-4b-it").n_sliding_layers == 34 - 5


def test_gemma3_multimodal_reads_the_text_config():
    four = cm.load_model("gemma-3-4b-it")
    assert four.family == "gemma3" and four.excluded_parts
    assert four.max_position_embeddings == 131_072  # Gemma3TextConfig default
    assert four.torch_dtype == "bfloat16"  # from the top level
    assert cm.load_model("gemma-3-1b-it").excluded_parts == ""
    # the same text fields as a text-only config count the same
    text = dict(CONFIGS["gemma-3-4b-it"]["text_config"])
    assert load(text).n_params == four.n_params
    assert four.summary()["excluded_parts"] == four.excluded_parts


def test_deepseek_q_lora_rank_null_absent_and_given():
    # q_lora_rank null: a full-rank query (V2-Lite); absent: DeepseekV2Config's default 1536
    lite = cm.load_model("deepseek-v2-lite")
    assert lite.q_lora_rank == 0
    assert load(config("deepseek-v2-lite", drop=("q_lora_rank",))).q_lora_rank == 1536
    # DeepSeek-V3's config gives it explicitly; V2's router has no bias, like V3's
    assert cm.load_model("deepseek-v3").q_lora_rank == 1536
    assert not lite.router_bias


# ----------------------------------------------------------------------
# Refusals, each naming the field
# ----------------------------------------------------------------------
def test_unknown_model_type_names_the_supported_families():
    with pytest.raises(ValueError, match=r"model_type='qwen4' is not supported; supported families: .*qwen3, "
                                         r"qwen3_moe.*gpt_oss"):
        load(config("qwen3-8b", model_type="qwen4"))
    for family in ("qwen3", "qwen3_moe", "gemma3_text", "gemma3", "olmo2", "smollm3", "deepseek_v2", "gpt_oss"):
        assert family in cm.SUPPORTED_FAMILIES


@pytest.mark.parametrize("base, key, value, structure", [
    ("llama-3-8b", "num_local_experts", 8, "a mixture of experts"),
    ("llama-3-8b", "num_experts_per_tok", 2, "a mixture of experts"),
    ("qwen3-8b", "kv_lora_rank", 512, r"latent attention \(MLA\)"),
    ("qwen3-30b-a3b", "shared_expert_intermediate_size", 5632, "shared experts"),
    ("qwen3-30b-a3b", "num_local_experts", 128, "a mixture of experts"),
    ("gpt-oss-20b", "n_shared_experts", 1, "shared experts"),
    ("olmo-2-1124-7b", "vision_config", {"hidden_size": 1152}, "a multimodal model"),
    ("mixtral-8x7b-v0.1", "q_lora_rank", 1536, r"latent attention \(MLA\)"),
    ("phi-2", "qk_layernorm", True, "a switchable QK-norm"),
])
def test_a_key_of_another_family_is_refused(base, key, value, structure):
    model_type = CONFIGS[base]["model_type"]
    with pytest.raises(ValueError, match=rf"field {key}=.* sets {structure}, which model_type='{model_type}' "
                                         "does not have"):
        load(config(base, **{key: value}))


@pytest.mark.parametrize("value", [None, 0, False, []])
def test_a_switched_off_key_of_another_family_is_accepted(value):
    assert load(config("llama-3-8b", num_local_experts=value)).n_params == cm.load_model("llama-3-8b").n_params


def test_gemma3_vision_tower_is_not_counted_on_request():
    with pytest.raises(ValueError, match=r"vision_config=\{.*\} is not modelled: only the text decoder \(text_config\)"):
        load(CONFIGS["gemma-3-4b-it"], vision=True)
    with pytest.raises(ValueError, match=r"vision_config='<missing>' is absent: model_type='qwen3' has no vision"):
        load(CONFIGS["qwen3-8b"], vision=True)


@pytest.mark.parametrize("changes, pattern", [
    ({"text_config": None}, r"text_config=None must be an object holding the text decoder's fields"),
    ({"text_config": [1]}, r"text_config=\[1\] must be an object"),
    ({"vision_config": "siglip"}, r"vision_config='siglip' must be an object"),
    ({"text_config": {"model_type": "llama", "hidden_size": 2560}}, r"text_config.model_type='llama' is not 'gemma3_text'"),
    ({"text_config": {"hidden_size": 2560, "num_hidden_layers": 34, "intermediate_size": 10240,
                      "num_experts": 8}}, r"num_experts=8 sets a mixture of experts, which model_type='gemma3'"),
])
def test_gemma3_malformed_multimodal_configs(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        load(config("gemma-3-4b-it", **changes))


@pytest.mark.parametrize("base, changes, pattern", [
    ("gpt-oss-20b", {"layer_types": ["sliding_attention", "chunked_attention"] * 12},
     r"layer_types=.*\['chunked_attention'\] that are not modelled"),
    ("gemma-3-1b-it", {"layer_types": ["full_attention"] * 25}, r"layer_types=.* must be a list of 26 layer types"),
    ("gpt-oss-20b", {"experts_per_token": 8}, r"experts_per_token=8 contradicts num_experts_per_tok=4"),
    ("smollm3-3b-base", {"use_sliding_window": True, "sliding_window": 2048, "no_rope_layers": [1, 0]},
     r"no_rope_layers=\[1, 0\] must be a list of at least 36 flags"),
    ("deepseek-v2-lite", {"attention_bias": True}, r"attention_bias=True is not supported for model_type='deepseek_v2'"),
    ("qwen3-30b-a3b", {"mlp_only_layers": "all"}, r"mlp_only_layers='all' must be a list of integers"),
])
def test_family_features_not_modelled_are_refused(base, changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        load(config(base, **changes))


def test_architecture_refuses_qk_norm_widths_and_mla_vectors():
    arch = cm.load_model("qwen3-8b")
    with pytest.raises(ValueError, match=r"q_norm_heads=4 must be 0 \(no norm\), 1 .* or 32"):
        arch.with_(q_norm_heads=4)
    with pytest.raises(ValueError, match="QK-norm and attention sinks are not modelled with latent attention"):
        cm.load_model("deepseek-v2-lite").with_(attention_sinks=True)
