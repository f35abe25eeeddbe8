"""The 2026 additions to the model catalog, each count pinned to its published total.

The source of every number is on the line above it (read 2026-11-28). "HF total"
is the Hub's safetensors metadata (``safetensors.total`` of
``https://huggingface.co/api/models/<repo>``), quoted by public code; the full
citations are in ``data/models/catalog.csv``. Where a published total counts
something the package does not (a stored copy of a tied LM head, a vision
tower), the difference is derived by hand and asserted too.
"""

import json

import pandas as pd
import pytest

import costmodel as cm

MODELS = cm.catalog.MODELS_DIR

NEW_COLUMNS = ("size_class", "release_date", "license")


# Exact published totals that equal the trainable count.
EXACT = [
    # HF total of meta-llama/Llama-3.2-1B-Instruct (same shapes as the base), 1,235,814,400;
    # the base model.safetensors at revision 4e20de36 holds the same number of BF16 tensors
    ("llama-3.2-1b", 1_235_814_400),
    # HF total of meta-llama/Llama-3.1-8B at revision d04e592b: 8,030,261,248
    ("llama-3.1-8b", 8_030_261_248),
    # HF total of meta-llama/Llama-3.1-405B at revision b906e4dc: 405,853,388,800
    ("llama-3.1-405b", 405_853_388_800),
    # HF total of Qwen/Qwen2.5-1.5B-Instruct: 1,543,714,304 (tied embeddings counted once)
    ("qwen2.5-1.5b-instruct", 1_543_714_304),
    # HF total of microsoft/Phi-3.5-mini-instruct: 3,821,079,552 (same as Phi-3-mini-4k-instruct)
    ("phi-3.5-mini-instruct", 3_821_079_552),
    # HF total of microsoft/Phi-4-mini-instruct: 3,836,021,760; tied embeddings,
    # partial_rotary_factor 0.75 (rotary on 96 of 128 dims) adds no parameter
    ("phi-4-mini-instruct", 3_836_021_760),
    # HF total of HuggingFaceTB/SmolLM2-1.7B-Instruct: 1,711,376,384
    ("smollm2-1.7b-instruct", 1_711_376_384),
    # HF total of Qwen/Qwen3-8B: 8,190,735,360 (untied)
    ("qwen3-8b", 8_190_735_360),
    # Sum of the tensor shapes of the Qwen/Qwen3-30B-A3B safetensors shards, checked in public code
    # ("if num_parameters != 30532122624"); llama.cpp reports the same n_params for its GGUF
    ("qwen3-30b-a3b", 30_532_122_624),
    # HF total of google/gemma-3-1b-it: 999,885,952 (text-only model, tied)
    ("gemma-3-1b-it", 999_885_952),
    # HF total of allenai/OLMo-2-1124-7B at revision 7df9a825: 7,298,617,344
    ("olmo-2-1124-7b", 7_298_617_344),
    # HF total of HuggingFaceTB/SmolLM3-3B-Base at revision d78a42f7: 3,075,098,624 (tied)
    ("smollm3-3b-base", 3_075_098_624),
    # Public model-selection table "deepseek-ai/DeepSeek-V2-Lite | base | 15706484224" (HF-derived)
    ("deepseek-v2-lite", 15_706_484_224),
    # HF totals of openai/gpt-oss-20b and -120b: 20,914,757,184 and 116,829,156,672 (MXFP4 expert
    # blocks counted as parameters); model card arXiv:2508.10925: "20.9B" and "116.8B total parameters"
    ("gpt-oss-20b", 20_914_757_184),
    ("gpt-oss-120b", 116_829_156_672),
]


@pytest.mark.parametrize("model_id, published", EXACT)
def test_exact_published_totals(model_id, published):
    assert cm.load_model(model_id).n_params == published


def test_llama_3_2_1b_card_truncates():
    # Llama 3.2 model card: "1B (1.23B)" -- the exact count is 1.2358B, cut, not rounded
    assert int(cm.load_model("llama-3.2-1b").n_params / 1e7) == 123


def test_llama_3_1_405b_has_eight_kv_heads():
    # A public note: a repack with 16 KV heads totals 410,081,247,232 on the Hub, exactly
    # 126 layers x 2 (k, v) x 8 extra heads x 128 x 16384 more than the released model
    arch = cm.load_model("llama-3.1-405b")
    assert arch.n_kv_heads == 8
    assert arch.n_params + 126 * 2 * 8 * 128 * 16384 == 410_081_247_232


def test_phi_4_mini_ties_its_embeddings():
    assert cm.load_model("phi-4-mini-instruct").tied_embeddings


def test_mistral_small_24b():
    # Mistral AI, "Mistral Small 3" (2025-01-30): "a 24-billion-parameter model" (rounded)
    arch = cm.load_model("mistral-small-24b-base-2501")
    assert arch.n_params == pytest.approx(24e9, rel=0.02)
    # HF total of the fine-tune sarvamai/sarvam-m (same shapes): 23,572,403,200
    assert arch.n_params == 23_572_403_200


# ----------------------------------------------------------------------
# Published totals that count something else, and active parameters
# ----------------------------------------------------------------------
def test_qwen3_0_6b_hub_total_stores_a_tied_head_twice():
    # Qwen3-0.6B config: tie_word_embeddings true, V = 151,936, D = 1024. The HF total 751,632,384
    # counts the stored lm_head.weight as well: trainable = HF total - V x D.
    arch = cm.load_model("qwen3-0.6b")
    assert arch.tied_embeddings
    assert arch.n_params == 751_632_384 - 151_936 * 1024 == 596_049_920
    # Qwen/Qwen3-0.6B card: "Number of Parameters: 0.6B", "Number of Paramaters (Non-Embedding): 0.44B"
    assert round(arch.n_params / 1e9, 1) == 0.6
    assert round((arch.n_params - arch.n_embedding_params) / 1e9, 2) == 0.44


@pytest.mark.parametrize("model_id, billions, non_embedding", [
    # Qwen/Qwen3-8B card: "Number of Parameters: 8.2B", "Number of Paramaters (Non-Embedding): 6.95B"
    ("qwen3-8b", 8.2, 6.95),
    # Qwen/Qwen3-30B-A3B card: "30.5B in total", "Number of Paramaters (Non-Embedding): 29.9B"
    ("qwen3-30b-a3b", 30.5, 29.9),
])
def test_qwen3_cards_count_without_both_embedding_tables(model_id, billions, non_embedding):
    arch = cm.load_model(model_id)
    assert round(arch.n_params / 1e9, 1) == billions
    # "non-embedding" leaves out the input embedding and the untied LM head
    lm_head = arch.vocab_size * arch.d_model
    decimals = len(str(non_embedding).split(".")[1])
    assert round((arch.n_params - arch.n_embedding_params - lm_head) / 1e9, decimals) == non_embedding


def test_qwen3_30b_a3b_active_parameters():
    # 8 of 128 experts of 3 x 2048 x 768 in each of 48 blocks; a public count_params test gives
    # 3,353,032,704 for this config, and the card's "3.3B activated" is that figure cut, not rounded
    arch = cm.load_model("qwen3-30b-a3b")
    assert arch.n_active_params == 30_532_122_624 - 48 * 120 * 3 * 2048 * 768 == 3_353_032_704
    assert int(arch.n_active_params / 1e8) == 33


def _siglip_so400m(cfg):
    """Parameters of the SigLIP vision tower of a Gemma 3 config (SiglipVisionModel, no head):
    a patch convolution with bias, one position embedding per patch, 27 encoder layers (q, k, v,
    out projections and fc1, fc2 with biases, two LayerNorms with biases), a post LayerNorm."""
    w, f, n, p = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["patch_size"]
    patches = (cfg["image_size"] // p) ** 2
    layer = 4 * (w * w + w) + (w * f + f) + (f * w + w) + 2 * 2 * w
    return 3 * p * p * w + w + patches * w + n * layer + 2 * w


@pytest.mark.parametrize("model_id, hf_total, text", [
    # HF total of google/gemma-3-4b-it: 4,300,079,472
    ("gemma-3-4b-it", 4_300_079_472, 3_880_263_168),
    # keras-hub MedGemma 27B multimodal preset 'params': 27432406640 (same architecture); llama.cpp n_params of
    # the gemma-3-27b-it GGUF: 27432406640
    ("gemma-3-27b-it", 27_432_406_640, 27_009_346_304),
])
def test_gemma3_hub_totals_include_the_vision_tower(model_id, hf_total, text):
    cfg = json.loads((MODELS / f"{model_id}.json").read_text())
    vision = _siglip_so400m(cfg["vision_config"])
    # Gemma3MultiModalProjector: a (vision width x text width) matrix and an RMSNorm of the vision width
    projector = cfg["vision_config"]["hidden_size"] * (cfg["text_config"]["hidden_size"] + 1)
    assert vision == 416_866_032
    arch = cm.load_model(model_id)
    assert arch.n_params == text == hf_total - vision - projector
    assert "vision tower" in arch.excluded_parts and "projector" in arch.excluded_parts


def test_gemma3_4b_hand_derivation():
    # Gemma-3-4B text_config: D 2560, L 34, F 10240; Gemma3TextConfig defaults for what it omits:
    # 8 heads, 4 KV heads of 256, vocabulary 262,208, tied. Per block q, k, v, o, an RMSNorm of 256 on
    # q and on k, a GeGLU MLP and 4 RMSNorms; a final RMSNorm.
    D, L, H, K, dh, Fw, V = 2560, 34, 8, 4, 256, 10240, 262_208
    block = D * H * dh + 2 * D * K * dh + H * dh * D + 2 * dh + 3 * D * Fw + 4 * D
    arch = cm.load_model("gemma-3-4b-it")
    assert (arch.n_heads, arch.n_kv_heads, arch.head_dim, arch.vocab_size) == (H, K, dh, V)
    assert arch.n_params == V * D + L * block + D == 3_880_263_168


@pytest.mark.parametrize("model_id, non_embedding_millions", [
    # Gemma Team 2025, Gemma 3 Technical Report (arXiv:2503.19786), Table 1, non-embedding parameters, as
    # quoted in a public summary of the report (1B 698M, 4B 3,209M, 27B 25,600M)
    # (its embedding counts use a larger vocabulary than the configs' 262,208 and are not compared)
    ("gemma-3-1b-it", 698),
    ("gemma-3-4b-it", 3_209),
    ("gemma-3-27b-it", 25_600),
])
def test_gemma3_report_non_embedding_counts(model_id, non_embedding_millions):
    arch = cm.load_model(model_id)
    assert round((arch.n_params - arch.n_embedding_params) / 1e6) == non_embedding_millions


def test_olmo2_7b_hand_derivation():
    # OLMo-2-1124-7B config: D 4096, L 32, MHA 32 heads of 128, F 11008, V 100352, untied. Per block
    # q, k, v, o, an RMSNorm over all of q (H d_h) and of k (K d_h), SwiGLU, 2 RMSNorms (after each
    # sublayer); a final RMSNorm.
    D, L, H, K, dh, Fw, V = 4096, 32, 32, 32, 128, 11008, 100352
    block = 2 * D * H * dh + 2 * D * K * dh + (H + K) * dh + 3 * D * Fw + 2 * D
    assert cm.load_model("olmo-2-1124-7b").n_params == 2 * V * D + L * block + D


def test_qwen3_0_6b_hand_derivation():
    # Qwen3-0.6B config: D 1024, L 28, 16 heads and 8 KV heads of 128, F 3072, V 151936, tied. Per
    # block q, k, v, o, an RMSNorm of 128 on q and on k, SwiGLU, 2 RMSNorms; a final RMSNorm.
    D, L, H, K, dh, Fw, V = 1024, 28, 16, 8, 128, 3072, 151_936
    block = 2 * D * H * dh + 2 * D * K * dh + 2 * dh + 3 * D * Fw + 2 * D
    assert cm.load_model("qwen3-0.6b").n_params == V * D + L * block + D


def test_smollm3_hand_derivation():
    # SmolLM3-3B-Base config: D 2048, L 36, 16 heads and 4 KV heads (d_h = 2048 / 16 = 128), F 11008,
    # V 128256, tied; Llama's block (the NoPE blocks have no parameter of their own)
    D, L, H, K, dh, Fw, V = 2048, 36, 16, 4, 128, 11008, 128_256
    block = 2 * D * H * dh + 2 * D * K * dh + 3 * D * Fw + 2 * D
    assert cm.load_model("smollm3-3b-base").n_params == V * D + L * block + D


def test_deepseek_v2_lite_hand_derivation():
    # DeepSeek-V2-Lite config: D 2048, L 27 (the first dense, F 10944), H 16, q_lora_rank null (a full-rank
    # query D x H (nope 128 + rope 64)), kv_lora_rank 512, v 128, 64 routed experts (6 per token) and 2
    # shared of 1408, router D x 64 without bias, V 102400, untied
    D, L, H, rkv, dn, dr, dv, V = 2048, 27, 16, 512, 128, 64, 128, 102_400
    attn = D * H * (dn + dr) + D * (rkv + dr) + rkv + rkv * H * (dn + dv) + H * dv * D
    moe = 64 * 3 * D * 1408 + D * 64 + 3 * D * 2 * 1408
    arch = cm.load_model("deepseek-v2-lite")
    assert arch.q_lora_rank == 0 and arch.attention_kind == "MLA"
    assert arch.n_params == 2 * V * D + L * (attn + 2 * D) + 3 * D * 10944 + 26 * moe + D
    # active: 6 of 64 routed experts in 26 MoE blocks
    assert arch.n_active_params == arch.n_params - 26 * 58 * 3 * D * 1408 == 2_661_150_208
    # DeepSeek-V2-Lite card: "16B total params, 2.4B active params". Without the input embedding the
    # active count is 2.45B, which the card cuts to 2.4 (with it, 2.66B matches neither cut nor rounding)
    assert int((arch.n_active_params - arch.n_embedding_params) / 1e8) == 24
    assert round(arch.n_params / 1e9) == 16


def test_gpt_oss_20b_hand_derivation():
    # gpt-oss-20b config: D 2880, L 24, 64 heads and 8 KV heads of 64, biases on q, k, v, o, one sink
    # per head; 32 experts (4 per token) of 2880 whose fused gate_up (D x 2 F_e) and down (F_e x D)
    # projections carry biases (2 F_e and D), a router D x 32 with a bias; V 201088, untied
    # (GptOssAttention, GptOssExperts, GptOssTopKRouter in transformers' modular_gpt_oss.py).
    D, L, H, K, dh, Fe, E, V = 2880, 24, 64, 8, 64, 2880, 32, 201_088
    attn = (D + 1) * H * dh + 2 * (D + 1) * K * dh + H * dh * D + D + H
    expert = D * 2 * Fe + 2 * Fe + Fe * D + D
    block = attn + E * expert + D * E + E + 2 * D
    arch = cm.load_model("gpt-oss-20b")
    assert arch.n_params == 2 * V * D + L * block + D == 20_914_757_184
    assert arch.n_active_params == arch.n_params - L * (E - 4) * expert


@pytest.mark.parametrize("model_id, card, card_table", [
    # model card arXiv:2508.10925: "116.8B total parameters (5.1B active)", "20.9B total parameters
    # (3.6B active)"; its parameter table, as quoted in public notes: 5.13B and 3.61B activated
    ("gpt-oss-120b", 5.1, 5.13),
    ("gpt-oss-20b", 3.6, 3.61),
])
def test_gpt_oss_active_parameters(model_id, card, card_table):
    # the card's active count leaves out the input embedding (a lookup) but keeps the unembedding
    arch = cm.load_model(model_id)
    active = arch.n_active_params - arch.n_embedding_params
    assert round(active / 1e9, 1) == card
    assert round(active / 1e9, 2) == card_table


# ----------------------------------------------------------------------
# KV cache per token, by hand (bf16, 2 bytes per element)
# ----------------------------------------------------------------------
@pytest.mark.parametrize("model_id, per_token", [
    # L x 2 (keys, values) x K x d_h x 2 bytes, from each config
    ("qwen3-8b", 36 * 2 * 8 * 128 * 2),  # qwen3
    ("qwen3-30b-a3b", 48 * 2 * 4 * 128 * 2),  # qwen3_moe
    ("gemma-3-1b-it", 26 * 2 * 1 * 256 * 2),  # gemma3_text
    ("gemma-3-4b-it", 34 * 2 * 4 * 256 * 2),  # gemma3 (text decoder)
    ("olmo-2-1124-7b", 32 * 2 * 32 * 128 * 2),  # olmo2
    ("smollm3-3b-base", 36 * 2 * 4 * 128 * 2),  # smollm3
    ("gpt-oss-20b", 24 * 2 * 8 * 64 * 2),  # gpt_oss
    # MLA caches the 512-wide latent and the 64-wide rotary key: L x (512 + 64) x 2 bytes
    ("deepseek-v2-lite", 27 * (512 + 64) * 2),  # deepseek_v2
])
def test_kv_bytes_per_token_by_hand(model_id, per_token):
    assert cm.kv_cache_bytes_per_token(model_id, "bf16") == per_token


def test_kv_cache_of_sliding_windows_at_long_context():
    # Gemma-3-4B: 34 blocks, every 6th global (5 of 34), the other 29 keep a window of 1024 tokens
    # (text_config sliding_window); gpt-oss-20b: 12 of 24 blocks slide over 128 tokens (layer_types)
    per_block = 2 * 4 * 256 * 2
    assert cm.kv_cache_bytes("gemma-3-4b-it", 131_072) == per_block * (5 * 131_072 + 29 * 1024)
    assert cm.kv_cache_bytes("gpt-oss-20b", 131_072) == 2 * 8 * 64 * 2 * (12 * 131_072 + 12 * 128)


def _catalog():
    return pd.read_csv(cm.catalog.MODELS_CSV, dtype=str)


def test_catalog_has_the_new_columns_on_every_row():
    df = _catalog()
    for col in (*NEW_COLUMNS, "release_source"):
        assert col in df.columns
    assert df["size_class"].isin(["slm", "llm"]).all()
    # an empty date or licence must say why in release_source
    assert df["release_source"].notna().all()


def test_size_class_is_the_10b_line():
    # slm below 10e9 total parameters, llm from there on (derived count)
    for _, row in _catalog().iterrows():
        n = cm.load_model(row["id"]).n_params
        assert row["size_class"] == ("slm" if n < 10e9 else "llm"), row["id"]


def test_model_table_carries_the_new_columns():
    table = cm.model_table()
    for col in NEW_COLUMNS:
        assert col in table.columns
    row = table.set_index("model").loc["llama-3.1-405b"]
    assert (row["size_class"], row["release_date"], row["license"]) == ("llm", "2024-07-23", "Llama 3.1 Community License")


def test_every_2026_family_has_a_sourced_catalog_row():
    # the eleven configs once listed in data/models/pending.csv, now parsed
    df = _catalog().set_index("id")
    new = ["qwen3-0.6b", "qwen3-8b", "qwen3-30b-a3b", "gemma-3-1b-it", "gemma-3-4b-it", "gemma-3-27b-it",
           "olmo-2-1124-7b", "smollm3-3b-base", "deepseek-v2-lite", "gpt-oss-20b", "gpt-oss-120b"]
    assert not (MODELS / "pending.csv").exists()
    assert {df.loc[m, "model_type"] for m in new} == {"qwen3", "qwen3_moe", "gemma3_text", "gemma3", "olmo2",
                                                        "smollm3", "deepseek_v2", "gpt_oss"}
    for m in new:
        row = df.loc[m]
        cfg = json.loads((MODELS / row["config_file"]).read_text())
        assert cfg["model_type"] == row["model_type"] == cm.load_model(m).family
        assert row["source"] and row["retrieved"] and row["published_n_params_source"], m
