"""KV cache, weight bytes, FLOPs and roofline time against hand derivations."""

import numpy as np
import pytest

import costmodel as cm


@pytest.mark.parametrize(
    "model_id, bytes_per_token",
    [
        # KV bytes/token = 2 (K and V) x L x K x d_h x 2 B (16-bit), from each config:
        ("llama-2-7b", 2 * 32 * 32 * 128 * 2),  # 524,288 = 0.5 MiB, MHA
        ("llama-2-13b", 2 * 40 * 40 * 128 * 2),  # 819,200
        ("llama-2-70b", 2 * 80 * 8 * 128 * 2),  # 327,680, GQA 64/8
        ("llama-3-8b", 2 * 32 * 8 * 128 * 2),  # 131,072
        ("mistral-7b-v0.1", 2 * 32 * 8 * 128 * 2),  # 131,072
        ("gemma-2b", 2 * 18 * 1 * 256 * 2),  # 18,432, MQA
        ("phi-2", 2 * 32 * 32 * 80 * 2),  # 327,680
        ("starcoder2-3b", 2 * 30 * 2 * 128 * 2),  # 30,720
        # MLA caches the 512-wide latent plus the 64-wide rotary key per block:
        # (512 + 64) x 61 x 2 B (DeepSeek-V2 paper, arXiv:2405.04434, Table 1: (d_c + d_h^R) l)
        ("deepseek-v3", (512 + 64) * 61 * 2),
    ],
)
def test_kv_bytes_per_token(model_id, bytes_per_token):
    arch = cm.load_model(model_id)
    assert cm.kv_cache_bytes(arch, 1, "bf16") == bytes_per_token
    assert cm.kv_cache_bytes_per_token(arch, "fp16") == bytes_per_token


def test_kv_sliding_window_caps_the_cache():
    # Mistral 7B (Jiang et al. 2023, arXiv:2310.06825, sec. 2): a rolling buffer of
    # W = 4096 entries per block, so the cache stops growing at 4096 tokens.
    m = cm.load_model("mistral-7b-v0.1")
    per_tok = 131_072
    out = cm.kv_cache_bytes(m, np.array([1000, 4096, 32768]), "bf16")
    assert out.tolist() == [1000 * per_tok, 4096 * per_tok, 4096 * per_tok]


def test_kv_gemma2_alternating_window():
    # Gemma 2 2B: 26 blocks, every other one (13) local with a 4096 window (Gemma 2
    # report, arXiv:2408.00118, sec. 2); K=4 KV heads of 256.
    g = cm.load_model("gemma-2-2b")
    per_block = 2 * 4 * 256 * 2
    assert cm.kv_cache_bytes(g, 8192, "bf16") == 13 * 8192 * per_block + 13 * 4096 * per_block


def test_kv_broadcasts_batch_and_dtype():
    arch = cm.load_model("llama-2-7b")
    out = cm.kv_cache_bytes(arch, np.array([[1024], [2048]]), "fp8", batch=np.array([1, 8]))
    assert out.shape == (2, 2)
    assert out[1, 1] == 2048 * 8 * 524_288 / 2  # fp8: 1 byte per element


def test_weight_bytes_dtypes_and_group_scales():
    arch = cm.load_model("llama-3-8b")
    # Llama-3-8B: 128,256 x 4096 embedding and untied LM head, norms 32 x 2 x 4096 + 4096
    n, vd, norms = 8_030_261_248, 128_256 * 4096, 32 * 2 * 4096 + 4096
    matrices = n - 2 * vd - norms
    assert cm.weight_bytes(arch, "bf16") == 2 * n
    # quantised checkpoints keep the embedding and LM head in 16 bit (GPTQ, AWQ, fp8, int8 weight-only)
    assert cm.weight_bytes(arch, "int8") == matrices + 2 * (2 * vd + norms)
    # int4 (GPTQ/AWQ): 0.5 byte, not 4 // 8 == 0, plus an fp16 scale and a 4-bit zero per 128 weights
    assert cm.weight_bytes(arch, "int4") == pytest.approx(matrices * (0.5 + 2.5 / 128) + 2 * (2 * vd + norms))
    # an explicit group: one fp16 scale per 128 matrix weights, 0.5 + 2/128 = 0.515625 byte per weight
    assert cm.weight_bytes(arch, "int4", group_size=128) == pytest.approx(
        matrices * 0.515625 + 2 * (2 * vd + norms), rel=1e-15)
    # a bare count: every parameter at half a byte
    assert cm.weight_bytes(arch, "int4", n_params=n) == n / 2


def test_forward_flops_is_2_n_mm_plus_attention():
    arch = cm.load_model("llama-2-7b")
    # Llama-2-7B matmul weights: 32 x (4 x 4096^2 + 3 x 4096 x 11008) + LM head 32000 x 4096
    n_mm = 32 * (4 * 4096**2 + 3 * 4096 * 11008) + 32000 * 4096
    assert arch.n_matmul_weights_active == n_mm
    assert cm.forward_flops(arch, 1, 0) == 2 * n_mm
    # attention: 4 x H d_h x C per block = 4 x 4096 x 2048 x 32 blocks
    assert cm.forward_flops(arch, 1, 2048) == 2 * n_mm + 4 * 4096 * 2048 * 32
    # close to the 2N rule of thumb (Kaplan et al. 2020): within the embedding share
    assert cm.forward_flops(arch, 1, 0) == pytest.approx(2 * arch.n_params, rel=0.02)


def test_prefill_is_causal_sum_of_forward():
    arch = cm.load_model("mistral-7b-v0.1")
    T = 300
    total = sum(cm.forward_flops(arch, 1, i) for i in range(1, T + 1))
    assert cm.prefill_flops(arch, T) == pytest.approx(total, rel=1e-12)
    # with the 4096 window: a prompt of 5000 after 0 cached tokens
    T = 5000
    total = 2 * T * arch.n_matmul_weights_active + 4 * 4096 * 32 * sum(min(i, 4096) for i in range(1, T + 1))
    assert cm.prefill_flops(arch, T) == total


def test_moe_flops_use_active_experts():
    arch = cm.load_model("mixtral-8x7b-v0.1")
    # 2 of 8 experts: per block 2 x 3 x 4096 x 14336 expert weights + router 4096 x 8
    n_mm = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 2 * 3 * 4096 * 14336 + 4096 * 8) + 32000 * 4096
    assert cm.forward_flops(arch, 1, 0) == 2 * n_mm


def test_roofline_time_and_ridge():
    h100 = cm.load_hardware("h100-sxm")
    # NVIDIA H100 SXM datasheet: 989.5 TFLOP/s dense BF16, 3.35 TB/s HBM3
    assert cm.ridge_intensity(h100, "bf16") == pytest.approx(989.5e12 / 3.35e12)
    # a 2 GFLOP op moving 1 GB is memory-bound: 1e9 / 3.35e12 s
    assert cm.roofline_time_s(2e9, 1e9, h100, "bf16") == pytest.approx(1e9 / 3.35e12)
    assert cm.roofline_time_s(1e15, 1e6, h100, "bf16", eta_compute=0.5) == pytest.approx(1e15 / (0.5 * 989.5e12))


def test_decode_is_memory_bound_on_h100():
    # One decode step of Llama-2-7B in bf16 at batch 1 reads ~13.2 GB of weights (all
    # but the 32000 x 4096 input embedding, of which it reads one row), 512 tokens
    # of KV cache, writes one token's, and moves each matmul's input and output
    # (per block q, k, v, o 4096 -> 4096, gate and up 4096 -> 11008, down 11008 -> 4096;
    # the LM head 4096 -> 32000): ~4 ms at 3.35 TB/s, while its ~13 GFLOP take ~14 us at peak.
    df = cm.phase_roofline("llama-2-7b", "h100-sxm", prompt_tokens=512, batch=1)
    dec = df[df.phase == "decode"].iloc[0]
    assert dec.bound == "memory"
    weights = 6_738_415_616 - 32000 * 4096 + 4096
    activations = 32 * (4 * 8192 + 3 * 15104) + 4096 + 32000
    moved = 2 * weights + 513 * 524_288 + 2 * activations
    assert dec.time_s == pytest.approx(moved / 3.35e12, rel=1e-9)
    pre = df[df.phase == "prefill"].iloc[0]
    assert pre.bound == "compute"


def test_moe_decode_reads_touched_experts():
    # batch 1 reads 2 of 8 experts per block; a large batch touches all 8
    arch = cm.load_model("mixtral-8x7b-v0.1")
    df = cm.phase_roofline(arch, "h200-sxm", prompt_tokens=16, batch=[1, 4096], check_fit=False)
    dec = df[df.phase == "decode"].set_index("batch")
    kv = cm.kv_cache_bytes(arch, 17, "bf16", np.array([1, 4096]))  # 16 read, 1 written
    emb = 32000 * 4096  # the untied input embedding: only `batch` rows are read
    # activations read and written per token: q, o 4096 -> 4096, k, v 4096 -> 1024, router 4096 -> 8,
    # 2 experts x (gate, up 4096 -> 14336, down 14336 -> 4096), and the LM head 4096 -> 32000
    act = 2 * (32 * (2 * 8192 + 2 * 5120 + 4104 + 2 * 3 * 18432) + 4096 + 32000)
    assert dec.loc[1.0, "bytes"] - kv[0] - act == pytest.approx(2 * (arch.n_active_params - emb + 4096))
    assert dec.loc[4096.0, "bytes"] - kv[1] - 4096 * act == pytest.approx(
        2 * (arch.n_params - emb + 4096 * 4096), rel=1e-9)


def test_training_state_is_16_bytes_per_param():
    # ZeRO (Rajbhandari et al. 2020, sec. 3.1): mixed-precision Adam keeps 2 + 2 + 12 bytes/param
    arch = cm.load_model("llama-2-7b")
    assert cm.training_state_bytes(arch) == 16 * arch.n_params


def test_activation_bytes_gpt2_matches_korthikanti():
    # GPT-2 small, s = 1024, b = 1, 16-bit, dropout, no flash: per block
    # s b h (34 + 5 a s / h) = 1024 x 768 x (34 + 5 x 12 x 1024 / 768) bytes
    # (Korthikanti et al. 2022, eq. 1), times 12 blocks.
    arch = cm.load_model("gpt2")
    per_block = 1024 * 768 * (34 + 5 * 12 * 1024 / 768)
    assert cm.activation_bytes(arch, 1024, 1, "bf16", flash_attention=False, dropout=True) == 12 * per_block


def test_memory_fit_table():
    df = cm.memory_fit_table(["llama-2-70b", "llama-2-7b"], ["h100-sxm", "h200-sxm"], context=4096)
    fits = df.set_index(["model", "hardware"])["fits"]
    # 68,976,648,192 x 2 B = 138 GB > 80 GB; Llama-2-7B: 13.5 GB + 2.1 GB KV fit
    assert not fits["llama-2-70b", "h100-sxm"]
    assert fits["llama-2-7b", "h100-sxm"]
    # 138.0 GB weights + 1.3 GB KV = 139.3 GB < 141 GB
    assert fits["llama-2-70b", "h200-sxm"]
