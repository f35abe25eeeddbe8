"""Parameter counts pinned to published totals, each source next to its number.

Where a publisher counts something that is not a trainable parameter (rotary
buffers, causal-mask buffers, a larger padded vocabulary), the difference is
written out and asserted too, so the test says exactly why the numbers differ.
"""

import pytest

import costmodel as cm

# Exact published totals that equal the trainable count.
EXACT = [
    # model.safetensors.index.json total_size 16,060,522,496 B in bf16 / 2,
    # https://huggingface.co/meta-llama/Meta-Llama-3-8B
    ("llama-3-8b", 8_030_261_248),
    # HF safetensors total of meta-llama/Llama-3.1-70B (same shapes as Llama-3-70B);
    # index total_size 141,107,412,992 B bf16 / 2
    ("llama-3-70b", 70_553_706_496),
    # HF safetensors parameter count of Qwen/Qwen2-0.5B (tied embeddings counted once)
    ("qwen2-0.5b", 494_032_768),
    # HF safetensors total of Qwen/Qwen2.5-7B, whose config shape fields equal Qwen2-7B's
    ("qwen2-7b", 7_615_616_512),
    # HF API safetensors total of Qwen/Qwen1.5-MoE-A2.7B (same shapes as the -Chat config)
    ("qwen1.5-moe-a2.7b-chat", 14_315_784_192),
    # EleutherAI/pythia-6.9b-deduped model card, "Naming convention and parameter count"
    ("pythia-6.9b-deduped", 6_857_302_016),
]


@pytest.mark.parametrize("model_id, published", EXACT)
def test_exact_published_totals(model_id, published):
    assert cm.load_model(model_id).n_params == published


@pytest.mark.parametrize(
    "model_id, hf_total",
    [
        # HF safetensors totals of meta-llama/Llama-2-{7b,13b,70b}-hf. The checkpoints
        # also store one rotary `inv_freq` buffer of head_dim/2 = 64 floats per block,
        # which is not a parameter: HF total = trainable + L x 64.
        ("llama-2-7b", 6_738_417_664),
        ("llama-2-13b", 13_015_866_880),
        ("llama-2-70b", 68_976_653_312),
    ],
)
def test_llama2_hf_totals_include_rotary_buffers(model_id, hf_total):
    arch = cm.load_model(model_id)
    assert arch.n_params + arch.n_layers * (arch.head_dim // 2) == hf_total


def test_llama2_7b_checkpoint_bytes():
    # model.safetensors.index.json of Llama-2-7b-hf: total_size 13,476,839,424 B;
    # weights in fp16 (2 B) plus the 32 x 64 inv_freq buffers stored in fp32 (4 B).
    arch = cm.load_model("llama-2-7b")
    assert cm.weight_bytes(arch, "fp16") + 32 * 64 * 4 == 13_476_839_424


@pytest.mark.parametrize(
    "model_id, paper_embedding, paper_non_embedding, paper_vocab",
    [
        # Gemma Team 2024, arXiv:2403.08295, Table 2 (Gemma 2B)
        ("gemma-2b", 524_550_144, 1_981_884_416, 256_128),
        # Gemma Team 2024, arXiv:2408.00118, Table 2 (Gemma 2 2B and 9B)
        ("gemma-2-2b", 590_118_912, 2_024_517_888, 256_128),
        ("gemma-2-9b", 917_962_752, 8_324_201_984, 256_128),
    ],
)
def test_gemma_paper_counts(model_id, paper_embedding, paper_non_embedding, paper_vocab):
    arch = cm.load_model(model_id)
    # The papers count a 256,128-token vocabulary; the released configs say 256,000.
    assert paper_embedding == paper_vocab * arch.d_model
    assert arch.n_embedding_params == arch.vocab_size * arch.d_model
    # Non-embedding parameters match to the parameter (embeddings are tied).
    assert arch.n_params - arch.n_embedding_params == paper_non_embedding


def test_gpt2_small():
    # openai-community/gpt2 safetensors total 137,022,720 includes 12 causal-mask
    # buffers h.*.attn.bias of 1024 x 1024; without them 124,439,808 ("124M" card).
    arch = cm.load_model("gpt2")
    assert arch.n_params == 124_439_808
    assert arch.n_params + 12 * 1024 * 1024 == 137_022_720


def test_starcoder2_3b_file_size():
    # bigcode/starcoder2-3b: model.safetensors is "12.1 GB" in fp32 (HF file listing)
    arch = cm.load_model("starcoder2-3b")
    assert round(cm.weight_bytes(arch, "fp32") / 1e9, 1) == 12.1


@pytest.mark.parametrize(
    "model_id, billions_total, billions_active",
    [
        # Mistral AI, "Mixtral of experts" (2023-12-11): 46.7B total, 12.9B per token
        ("mixtral-8x7b-v0.1", 46.7, 12.9),
        # Qwen/Qwen1.5-MoE-A2.7B-Chat card: 14.3B total, 2.7B activated
        ("qwen1.5-moe-a2.7b-chat", 14.3, 2.7),
        # microsoft/Phi-3-mini-4k-instruct-gguf card: "3.8B parameters"
        ("phi-3-mini-4k-instruct", 3.8, 3.8),
    ],
)
def test_rounded_published_counts(model_id, billions_total, billions_active):
    arch = cm.load_model(model_id)
    decimals = len(str(billions_total).split(".")[1]) if "." in str(billions_total) else 0
    assert round(arch.n_params / 1e9, decimals) == billions_total
    decimals = len(str(billions_active).split(".")[1]) if "." in str(billions_active) else 0
    assert round(arch.n_active_params / 1e9, decimals) == billions_active


def test_deepseek_v3_published_counts():
    # DeepSeek-V3 Technical Report, arXiv:2412.19437, abstract: "671B total parameters
    # with 37B activated for each token". Derived: 671.03B and 37.55B; the report's
    # figures are whole billions, truncated (37.55 does not round to 37). Excluding the
    # 0.93B input embedding would give 36.6B, which does not match either.
    arch = cm.load_model("deepseek-v3")
    assert int(arch.n_params // 10**9) == 671
    assert int(arch.n_active_params // 10**9) == 37


def test_mixtral_hand_derivation():
    # Mixtral config: D=4096, L=32, H=32, K=8, d_h=128, F=14336, V=32000, 8 experts, top-2.
    D, L, H, K, dh, Fw, V, E, k = 4096, 32, 32, 8, 128, 14336, 32000, 8, 2
    attn = D * H * dh + 2 * D * K * dh + H * dh * D
    expert = 3 * D * Fw
    router = D * E
    block = attn + E * expert + router + 2 * D
    total = 2 * V * D + L * block + D
    arch = cm.load_model("mixtral-8x7b-v0.1")
    assert arch.n_params == total == 46_702_792_704
    assert arch.n_active_params == total - L * (E - k) * expert


def test_deepseek_v3_hand_derivation():
    # DeepSeek-V3 config: D=7168, L=61 (first 3 dense), H=128, q_lora 1536, kv_lora 512,
    # nope 128, rope 64, v 128, dense F=18432, 256 routed + 1 shared expert of 2048, V=129280.
    D, L, H, rq, rkv, dn, dr, dv = 7168, 61, 128, 1536, 512, 128, 64, 128
    attn = D * rq + rq + rq * H * (dn + dr) + D * (rkv + dr) + rkv + rkv * H * (dn + dv) + H * dv * D
    dense_mlp = 3 * D * 18432
    moe = 256 * 3 * D * 2048 + D * 256 + 3 * D * 2048
    total = 2 * 129280 * D + L * (attn + 2 * D) + 3 * dense_mlp + 58 * moe + D
    arch = cm.load_model("deepseek-v3")
    assert arch.n_params == total
    assert arch.attention_kind == "MLA"
    # 37B activated (paper) = total less 248 unused routed experts in 58 MoE blocks
    assert arch.n_active_params == total - 58 * 248 * 3 * D * 2048


@pytest.mark.parametrize(
    "model_id, expected",
    [
        # microsoft/phi-1_5 and phi-2 (PhiForCausalLM): q,k,v,dense,fc1,fc2 all with bias,
        # one LayerNorm (w+b) per parallel block, final LayerNorm, untied lm_head with bias.
        # The cards say "1.3 billion" and "2.7 billion": both round down.
        ("phi-1.5", 24 * (4 * (2048 * 2048 + 2048) + 2 * 2048 * 8192 + 8192 + 2048 + 2 * 2048)
         + 2 * 51200 * 2048 + 51200 + 2 * 2048),
        ("phi-2", 32 * (4 * (2560 * 2560 + 2560) + 2 * 2560 * 10240 + 10240 + 2560 + 2 * 2560)
         + 2 * 51200 * 2560 + 51200 + 2 * 2560),
        # tiiuae/falcon-7b: multi-query (1 KV head of 64), no biases, one LayerNorm per
        # parallel block, MLP 4D = 18176, tied 65024-token embedding.
        ("falcon-7b-instruct", 32 * (4544 * (4544 + 2 * 64) + 4544 * 4544 + 2 * 4544 * 18176 + 2 * 4544)
         + 65024 * 4544 + 2 * 4544),
        # allenai/OLMo-1B-hf: non-parametric LayerNorm, no biases, tied 50304 x 2048 embedding.
        ("olmo-1b-hf", 16 * (4 * 2048 * 2048 + 3 * 2048 * 8192) + 50304 * 2048),
        # mistralai/Mistral-7B-v0.1: no exact count is published; GQA 32/8, F=14336.
        ("mistral-7b-v0.1", 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096)
         + 2 * 32000 * 4096 + 4096),
    ],
)
def test_hand_derivations(model_id, expected):
    assert cm.load_model(model_id).n_params == expected


def test_dense_active_equals_total():
    for mid in ("llama-2-7b", "gemma-2b", "phi-2", "gpt2"):
        arch = cm.load_model(mid)
        assert arch.n_active_params == arch.n_params


def test_breakdown_sums_to_total():
    for mid in cm.list_models():
        arch = cm.load_model(mid)
        assert arch.param_breakdown()["n_params"].sum() == arch.n_params, mid


def test_every_reference_config_loads_from_a_path(tmp_path):
    import json

    cfg = json.loads((cm.catalog.MODELS_DIR / "llama-2-7b.json").read_text())
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    assert cm.Architecture.from_hf_config(p).n_params == cm.Architecture.from_hf_config(cfg).n_params
