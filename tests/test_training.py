"""Training: FLOP conventions pinned to published totals, MFU to published throughput,
memory to Korthikanti et al. and ZeRO, step time to Megatron-LM's estimates, energy
and cost to the published accounting, and the default MFU's leave-one-out residuals.

Every published number is cited next to its assertion; tolerances say where they
come from (usually the rounding of the published figure).
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.catalog import MODELS_DIR
from costmodel.symbols import S

GPT2 = json.loads((MODELS_DIR / "gpt2.json").read_text())


def gpt(d_model, heads, layers, vocab=51200, positions=2048):
    """A GPT-style model (learned positions, LayerNorm, biases, plain GeLU MLP of 4D,
    tied embeddings) of the given shape, read as a Hugging Face gpt2 config."""
    cfg = copy.deepcopy(GPT2)
    cfg.update(n_embd=d_model, n_head=heads, n_layer=layers, n_positions=positions, n_ctx=positions,
               vocab_size=vocab)
    return cm.Architecture.from_hf_config(cfg, name=f"gpt-{d_model}x{layers}")


# Chowdhery et al. 2022 (PaLM, arXiv:2204.02311), table 1: 118 layers, d_model 18432, 48 heads of
# 256, multi-query attention, SwiGLU MLP of 4 d_model, 256k vocabulary shared with the output
# layer, no biases, parallel blocks with one (bias-free) layer norm.
PALM_540B = cm.Architecture(
    name="palm-540b", family="palm", d_model=18432, n_layers=118, n_heads=48, n_kv_heads=1, head_dim=256,
    d_ff=4 * 18432, vocab_size=256_000, gated_mlp=True, tied_embeddings=True, norm="rms", norms_per_block=1,
)


# ----------------------------------------------------------------------
# FLOP conventions against published totals
# ----------------------------------------------------------------------
def test_palm_parameter_count():
    # PaLM paper, table 1: 540.35B parameters (our count from the shapes above)
    assert PALM_540B.n_params == pytest.approx(540.35e9, rel=2e-5)


def test_palm_total_flops_with_its_appendix_b_convention():
    # PaLM appendix B / table 21: 6N + 12 L H Q T per token with T = 2048 over 780B tokens,
    # 2.56e24 FLOPs in all (given to 3 figures: rel 0.2%)
    assert cm.training_flops(PALM_540B, 780e9, seq_len=2048) == pytest.approx(2.56e24, rel=2e-3)


def test_palm_mfu_on_tpu_v4():
    # PaLM section 4 / appendix B: 238.3K tokens/s on 6144 TPU v4 chips (275 TFLOP/s bf16 each,
    # data/hardware.csv) is 46.2% MFU (published to 0.1 point)
    assert cm.mfu(PALM_540B, "tpu-v4", 238.3e3, 6144, 2048) == pytest.approx(0.462, abs=6e-4)


def test_gpt3_total_is_6nd():
    # Brown et al. 2020 (arXiv:2005.14165), table D.1: GPT-3 175B, 300B tokens, 3.14e23 FLOPs,
    # counted as 6 x parameters x tokens; shapes from its table 2.1 (96 layers, 12288 wide,
    # 96 heads, 2048 context, 50257-token vocabulary)
    g3 = gpt(12288, 96, 96, vocab=50257)
    assert cm.training_flops(g3, 300e9) == pytest.approx(3.14e23, rel=2e-3)


def test_llama3_405b_total():
    # Llama Team 2024, "The Llama 3 Herd of Models" (arXiv:2407.21783), section 3.2.1: 405B
    # parameters on 15.6T tokens, 3.8e25 FLOPs (two figures: rel 1.3%)
    assert cm.training_flops("llama-3.1-405b", 15.6e12) == pytest.approx(3.8e25, rel=1.3e-2)


def test_param_conventions():
    a = cm.load_model("llama-2-7b")
    tokens = 1e12
    assert cm.training_flops(a, tokens) == 6 * a.n_params * tokens
    # Kaplan et al. 2020 count non-embedding parameters: less the 32000 x 4096 input embedding
    assert cm.training_flops(a, tokens, params="non_embedding") == 6 * (a.n_params - 32000 * 4096) * tokens
    # MoE: the active parameters (DeepSeek-V3 reports 37B active of 671B)
    ds = cm.load_model("deepseek-v3")
    assert cm.training_flops(ds, 1.0) == pytest.approx(6 * 37e9, rel=2e-2)


def test_backward_is_twice_forward_from_the_matmul_records():
    # With N -> N_mm, PaLM's per-token count is three forward passes of the matmul records:
    # forward 2 N_mm + 4 w_a S per token (cm.forward_flops at C = S), backward twice that.
    for model in ("llama-3-8b", "gemma-2-9b", "mixtral-8x7b-v0.1", "deepseek-v3"):
        a = cm.load_model(model)
        for s in (512, 4096, 16384):
            per_token = cm.training_flops(a, 1, seq_len=s, params="matmul")
            assert per_token == pytest.approx(3 * cm.forward_flops(a, 1, s), rel=1e-12)


# A GPT block in Megatron's letters: hidden h, l layers, sequence s, vocabulary V; its matmul
# weights are N_mm = 12 l h^2 + h V (QKV, output and a 4h MLP per layer, the LM head), w_a = h.
h, l, s, v = sp.symbols("h l s V", positive=True)


def _gpt_hardware_flops_per_token(rho_full, rho_sel):
    n_mm = 12 * l * h**2 + h * v
    return F.HARDWARE_FLOPS_PER_TOKEN.subs({S.N: n_mm, S.N_mm: n_mm, S.w_a: h, S.L: l, S.L_sw: 0, S.d: h, S.V: v,
                                            S.s: s, S.rho_full: rho_full, S.rho_sel: rho_sel})


def test_megatron_full_recompute_formula_is_a_special_case():
    # Narayanan et al. 2021 (arXiv:2104.04473), eq. (3): 96 B s l h^2 (1 + s/6h + V/16lh) FLOPs
    # per iteration with full recomputation, i.e. per token 96 l h^2 (1 + s/6h + V/16lh)
    paper = 96 * l * h**2 * (1 + s / (6 * h) + v / (16 * l * h))
    assert sp.simplify(_gpt_hardware_flops_per_token(1, 0) - paper) == 0
    # without recomputation: Korthikanti et al. 2022 (arXiv:2205.05198), eq. (7), 72 l h^2 (1 + s/6h + V/12lh)
    model = 72 * l * h**2 * (1 + s / (6 * h) + v / (12 * l * h))
    assert sp.simplify(_gpt_hardware_flops_per_token(0, 0) - model) == 0


def test_selective_recompute_counts_one_more_attention_core_forward():
    # Korthikanti et al. 2022, eq. (8), write hardware FLOPs with selective recomputation as
    # 72 B s l h^2 (1 + s/3h + V/12lh): 12 l h s per token above the model FLOPs. Re-running the
    # attention core's forward (Q K^T and A V: 2 x 2 h s per token and block) adds 4 l h s; we
    # count that, so ours is 8 l h s per token below their eq. (8).
    eq8 = 72 * l * h**2 * (1 + s / (3 * h) + v / (12 * l * h))
    assert sp.simplify(eq8 - _gpt_hardware_flops_per_token(0, 1) - 8 * l * h * s) == 0


def test_recompute_needs_seq_len():
    with pytest.raises(ValueError, match="recompute='full' needs seq_len"):
        cm.training_flops("llama-2-7b", 1e12, recompute="full")
    with pytest.raises(ValueError, match="params='kaplan' must be one of"):
        cm.training_flops("llama-2-7b", 1e12, params="kaplan")


# ----------------------------------------------------------------------
# MFU against published throughput
# ----------------------------------------------------------------------
# Korthikanti et al. 2022, table 3 (configurations: heads, hidden, layers, GPUs = global batch,
# s = 2048, V = 51200, A100 80GB at 312 TFLOP/s) and table 5 (iteration time with sequence
# parallelism and selective recomputation, and the MFU it gives).
KORTHIKANTI = [
    # hidden, heads, layers, GPUs, global batch, seconds per iteration, MFU, HFU
    (6144, 64, 48, 8, 4, 1.10, 0.415, 0.437),
    (12288, 96, 96, 64, 64, 13.75, 0.514, 0.528),
    (20480, 128, 105, 280, 280, 37.83, 0.560, 0.570),
    (25600, 160, 128, 512, 512, 71.49, 0.563, 0.570),
]


@pytest.mark.parametrize("hidden, heads, layers, gpus, batch, seconds, published_mfu, published_hfu", KORTHIKANTI)
def test_mfu_reproduces_korthikanti_table_5(hidden, heads, layers, gpus, batch, seconds, published_mfu,
                                           published_hfu):
    arch = gpt(hidden, heads, layers)
    tokens_per_s = batch * 2048 / seconds
    got = cm.mfu(arch, "a100-sxm-80gb", tokens_per_s, gpus, 2048, params="matmul")
    # tolerance: the iteration time is given to 0.01 s and the MFU to 0.1 point
    assert got == pytest.approx(published_mfu, rel=0.005 / seconds + 0.0005 / published_mfu)
    # HFU: ours re-runs the attention core's forward once; their eq. (8) counts 8 l h s per token
    # more, so ours is lower by exactly that share of the hardware FLOPs
    ours = cm.hfu(arch, "a100-sxm-80gb", tokens_per_s, gpus, 2048, recompute="selective", params="matmul")
    eq8_extra = 8 * layers * hidden * 2048 * tokens_per_s / (gpus * 312e12)
    assert ours + eq8_extra == pytest.approx(published_hfu, rel=0.005 / seconds + 0.0005 / published_hfu)


def test_mfu_broadcasts_and_hfu_exceeds_mfu():
    a = cm.load_model("llama-3-8b")
    m = cm.mfu(a, "h100-sxm", np.array([1e6, 2e6]), 128, 8192)
    assert m.shape == (2,) and m[1] == pytest.approx(2 * m[0])
    full = cm.hfu(a, "h100-sxm", 1e6, 128, 8192, recompute="full")
    sel = cm.hfu(a, "h100-sxm", 1e6, 128, 8192, recompute="selective")
    assert m[0] < sel < full
    # full recomputation re-runs every block's forward: hardware / model = 1 + (2 (N_mm - D V) + 4 w_a S) / model
    per_tok = cm.training_flops(a, 1, 8192)
    extra = 2 * (a.n_matmul_weights_active - a.d_model * a.vocab_size) + 4 * a.attention_width * 8192 * a.n_layers
    assert full / m[0] == pytest.approx(1 + extra / per_tok, rel=1e-12)


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def _gpt_block(expr):
    return expr.subs({S.n_kv: S.n_h, S.d_h: S.d / S.n_h, S.d_v: S.d / S.n_h, S.f: 4 * S.d, S.g: 0, S.b_a: 2,
                      S.p_drop: 1, S.phi_fa: 0, S.n_c: 1}).subs(sp.Min(S.n_t, S.n_h), S.n_t)


@pytest.mark.parametrize("rho_full, rho_sel, sigma, paper", [
    # Korthikanti et al. 2022, table 2, activations per layer (s b h times):
    (0, 0, 0, 10 + 24 / S.n_t + 5 * S.n_h * S.s / (S.d * S.n_t)),  # tensor parallel, eq. (2)
    (0, 0, 1, 34 / S.n_t + 5 * S.n_h * S.s / (S.d * S.n_t)),  # + sequence parallel, eq. (4)
    (0, 1, 0, 10 + 24 / S.n_t),  # tensor parallel + selective recomputation
    (0, 1, 1, 34 / S.n_t),  # + sequence parallel, eq. (6)
    (1, 0, 0, 2),  # full recomputation
])
def test_activation_memory_reduces_to_korthikanti_table_2(rho_full, rho_sel, sigma, paper):
    expr = _gpt_block(F.ACTIVATION_BYTES_PER_BLOCK_PARALLEL).subs(
        {S.rho_full: rho_full, S.rho_sel: rho_sel, S.sigma_sp: sigma})
    assert sp.simplify(expr / (S.s * S.B * S.d) - paper) == 0


def test_one_device_activations_match_the_memory_chapter():
    # without parallelism or recomputation, one micro-batch: costmodel.activation_bytes
    for model in ("llama-3-8b", "mixtral-8x7b-v0.1", "gemma-2-9b"):
        mem = cm.training_memory(model, "h100-sxm", [2048, 4096])
        assert mem["activations_bytes"].tolist() == pytest.approx(
            cm.activation_bytes(model, [2048, 4096], 1, "bf16").tolist(), rel=1e-12)


def test_zero_stages_match_the_zero_paper():
    # Rajbhandari et al. 2020 (arXiv:1910.02054), figure 1: Psi = 7.5B parameters, N_d = 64,
    # K = 12 (mixed-precision Adam): 120 GB baseline, 31.4 GB (P_os), 16.6 GB (P_os+g),
    # 1.9 GB (P_os+g+p) per device
    expr = F.WEIGHT_BYTES_PER_DEVICE + F.GRADIENT_BYTES_PER_DEVICE + F.OPTIMIZER_BYTES_PER_DEVICE
    fn = F.numeric(expr)
    common = dict(N=7.5e9, b_w=2, b_g=2, b_opt=12, n_t=1, n_p=1, n_d=64, n_c=1)
    published = {0: 120e9, 1: 31.4e9, 2: 16.6e9, 3: 1.9e9}
    for stage, gb in published.items():
        got = fn(**common, zeta_o=float(stage >= 1), zeta_g=float(stage >= 2), zeta_w=float(stage >= 3))
        assert got == pytest.approx(gb, rel=0.05e9 / gb + 1e-9)  # figure rounded to 0.1 GB


def test_optimizers_and_state_split():
    a = cm.load_model("llama-2-7b")
    n = a.n_params
    par = cm.Parallelism(tensor=2, pipeline=2, data=4, zero_stage=2)
    m = cm.training_memory(a, "h100-sxm", 4096, par, optimizer="adam").iloc[0]
    assert m["weights_bytes"] == pytest.approx(2 * n / 4)  # split by tensor x pipeline only
    assert m["gradients_bytes"] == pytest.approx(2 * n / 16)  # ZeRO 2: also by data
    assert m["optimizer_bytes"] == pytest.approx(12 * n / 16)
    # Dettmers et al. 2022 (arXiv:2110.02861): 8-bit Adam keeps the two moments in 1 byte each,
    # 2 bytes instead of 8; with fp32 master weights 4 + 2 = 6 bytes per parameter
    m8 = cm.training_memory(a, "h100-sxm", 4096, par, optimizer="adam8bit").iloc[0]
    assert m8["optimizer_bytes"] == pytest.approx(6 * n / 16)
    sgd = cm.training_memory(a, "h100-sxm", 4096, par, optimizer="sgd_momentum").iloc[0]
    assert sgd["optimizer_bytes"] == pytest.approx(8 * n / 16)
    arr = cm.training_memory(a, "h100-sxm", [2048, 4096], par, optimizer=np.array([3.5, 12.0]))
    assert arr["optimizer_bytes"].tolist() == pytest.approx([3.5 * n / 16, 12 * n / 16])
    assert arr["seq_len"].tolist() == [2048, 4096]
    with pytest.raises(ValueError, match=r"optimizer='lion' must be one of \('adam', 'adam8bit', 'sgd_momentum'\)"):
        cm.training_memory(a, "h100-sxm", 4096, par, optimizer="lion")
    # ZeRO stage k shards the first k of (optimizer state, gradients, weights) over data x context
    # (Rajbhandari et al. 2020, section 5): with tensor 2 x pipeline 2 and data 2 x context 2
    for stage in range(4):
        m = cm.training_memory(a, "h100-sxm", 4096, cm.Parallelism(tensor=2, pipeline=2, data=2, context=2,
                                                                   zero_stage=stage)).iloc[0]
        assert m["optimizer_bytes"] == pytest.approx(12 * n / 4 / (4 if stage >= 1 else 1))
        assert m["gradients_bytes"] == pytest.approx(2 * n / 4 / (4 if stage >= 2 else 1))
        assert m["weights_bytes"] == pytest.approx(2 * n / 4 / (4 if stage >= 3 else 1))


def test_pipeline_and_context_split_activations():
    a = cm.load_model("llama-3-70b")
    one = cm.training_memory(a, "h100-sxm", 8192, cm.Parallelism(tensor=8)).iloc[0]["activations_bytes"]
    # 1F1B: the first stage holds min(p, m) micro-batches of L/p blocks: L blocks once m >= p
    pp = cm.training_memory(a, "h100-sxm", 8192, cm.Parallelism(tensor=8, pipeline=4, micro_batches=8))
    assert pp.iloc[0]["activations_bytes"] == pytest.approx(one)
    pp2 = cm.training_memory(a, "h100-sxm", 8192, cm.Parallelism(tensor=8, pipeline=4, micro_batches=2))
    assert pp2.iloc[0]["activations_bytes"] == pytest.approx(one / 2)
    cp = cm.training_memory(a, "h100-sxm", 8192, cm.Parallelism(tensor=8, context=4))
    assert cp.iloc[0]["activations_bytes"] == pytest.approx(one / 4)


def test_fit_flag_and_shortfall():
    mem = cm.training_memory("llama-3-70b", "h100-sxm", [2048, 131072], cm.Parallelism(tensor=8, zero_stage=1))
    # 70.6B x 16 bytes / 8 = 141 GB per device: nothing fits an 80 GB device without more sharding
    assert not mem["fits"].any()
    # against the H100's 81,559 MiB (nvidia-smi; data/hardware.csv)
    assert mem["shortfall_bytes"].tolist() == pytest.approx((mem["total_bytes"] - 81559 * 2**20).tolist())
    ok = cm.training_memory("llama-3-8b", "h100-sxm", 4096, cm.Parallelism(data=8, zero_stage=3))
    assert ok["fits"].all() and (ok["shortfall_bytes"] == 0).all()


# ----------------------------------------------------------------------
# Bad input names the values
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    (dict(tensor=0), r"tensor=0 must be at least 1"),
    (dict(data=2.5), r"data=2.5 must be a whole number"),
    (dict(pipeline=True), r"pipeline=True must be a whole number"),
    (dict(zero_stage=4), r"zero_stage=4 must be 0, 1, 2 or 3"),
    (dict(sequence_parallel=1), r"sequence_parallel=1 must be True or False"),
])
def test_parallelism_validates_at_construction(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.Parallelism(**kwargs)


def test_layouts_the_model_cannot_take():
    with pytest.raises(ValueError, match=r"num_hidden_layers=32 is not divisible by pipeline=3"):
        cm.training_memory("llama-2-7b", "h100-sxm", 4096, cm.Parallelism(pipeline=3))
    with pytest.raises(ValueError, match=r"num_attention_heads=32 is not divisible by tensor=3"):
        cm.training_memory("llama-2-7b", "h100-sxm", 4096, cm.Parallelism(tensor=3))
    with pytest.raises(ValueError, match=r"num_key_value_heads=4 and tensor=7 must divide one another"):
        cm.training_memory("qwen2-7b", "h100-sxm", 4096, cm.Parallelism(tensor=7))  # 28 heads, 4 KV heads
    with pytest.raises(ValueError, match=r"seq_len=4097 is not divisible by context=2"):
        cm.training_memory("llama-2-7b", "h100-sxm", 4097, cm.Parallelism(context=2))
    with pytest.raises(ValueError, match=r"= 16 devices, but n_devices=32"):
        cm.training_run("llama-2-7b", "h100-sxm", 1e12, 32, 4096, parallelism=cm.Parallelism(tensor=8, data=2))
    with pytest.raises(ValueError, match=r"mfu=0.4 and hfu=0.5"):
        cm.training_run("llama-2-7b", "h100-sxm", 1e12, 8, 4096, mfu=0.4, hfu=0.5)


def test_a_run_that_does_not_fit_is_an_error_for_scalars_and_a_flag_for_arrays():
    with pytest.raises(ValueError, match=r"llama-2-7b does not fit on h100-sxm with TP1 PP1 DP8, zero_stage=0.*"
                                         r"micro_batch_size=1, seq_len=4096: 128.0 GB per device.*42.4 GB short"):
        cm.training_run("llama-2-7b", "h100-sxm", 1e12, 8, 4096)
    runs = cm.training_run("llama-2-7b", "h100-sxm", 1e12, np.array([8, 16]), 4096)
    assert not runs["fits"].any() and (runs["shortfall_bytes"] > 40e9).all()
    with pytest.raises(ValueError, match=r"global_batch_tokens=1e\+06 is not a whole number"):
        cm.training_run("llama-2-7b", "h100-sxm", 1e12, 8, 4096, global_batch_tokens=1e6, check_fit=False)


# ----------------------------------------------------------------------
# Step time
# ----------------------------------------------------------------------
def test_step_components_by_hand():
    a = cm.load_model("llama-2-13b")  # 40 layers, D = 5120
    par = cm.Parallelism(tensor=4, pipeline=4, data=8, micro_batches=12, zero_stage=1)
    st = cm.training_step_time(a, "a100-sxm-80gb", 4096, par, mfu=0.5, overlap=False).iloc[0]
    beta = 600e9 / 2  # NVLink 3: 600 GB/s in both directions together (data/hardware.csv)
    # bubble (p - 1)/(m + p - 1) = 3/15 (Huang et al. 2019)
    assert st["bubble_fraction"] == pytest.approx(3 / 15)
    # tensor parallel: 4 all-reduces of s b D 16-bit values per block and micro-batch, ring 2 (t-1)/t
    tp = 40 / 4 * 12 * 4 * 2 * 3 / 4 * 4096 * 5120 * 2
    assert st["tp_comm_s"] == pytest.approx(tp / beta)
    # ZeRO 1: reduce-scatter gradients + all-gather weights, (n-1)/n each, of the N/(t p) shard
    dp = a.n_params / 16 * 7 / 8 * (2 + 2)
    assert st["dp_comm_s"] == pytest.approx(dp / beta)
    pp = 12 * 2 * 4096 * 5120 * 2
    assert st["pp_comm_s"] == pytest.approx(pp / beta)
    compute = 12 * 8 * 4096 * cm.training_flops(a, 1, 4096) / (128 * 312e12 * 0.5)
    assert st["compute_time_s"] == pytest.approx(compute)
    assert st["step_time_s"] == pytest.approx(compute * 15 / 12 + (tp + pp + dp) / beta)
    # full recomputation runs the forward all-reduces again: 6 per block instead of 4
    full = cm.training_step_time(a, "a100-sxm-80gb", 4096, par, mfu=0.5, recompute="full").iloc[0]
    assert full["tp_comm_s"] == pytest.approx(st["tp_comm_s"] * 6 / 4)
    # overlapped: the gradient traffic hides behind the compute
    ov = cm.training_step_time(a, "a100-sxm-80gb", 4096, par, mfu=0.5).iloc[0]
    assert ov["step_time_s"] == pytest.approx(compute * 15 / 12 + (tp + pp) / beta)


def test_zero3_and_context_traffic():
    a = cm.load_model("llama-3-8b")  # 32 layers, K = 8 heads of 128
    base = cm.training_step_time(a, "h100-sxm", 8192, cm.Parallelism(data=8), mfu=0.4).iloc[0]
    z3 = cm.training_step_time(a, "h100-sxm", 8192, cm.Parallelism(data=8, zero_stage=3), mfu=0.4).iloc[0]
    # plain all-reduce 2 b_g; ZeRO 3: b_g + 2 b_w (two weight all-gathers): 1.5x (ZeRO paper, section 7)
    assert z3["dp_comm_s"] == pytest.approx(1.5 * base["dp_comm_s"])
    cp = cm.training_step_time(a, "h100-sxm", 8192, cm.Parallelism(context=2), mfu=0.4).iloc[0]
    # ring attention: 3 x (c-1)/c of the sequence's keys and values (2 K d_h, 16-bit) per block
    assert cp["cp_comm_bytes"] == pytest.approx(32 * 3 * 0.5 * 8192 * 2 * 8 * 128 * 2)


def test_training_time_matches_megatron_estimates():
    # Narayanan et al. 2021, section 5.1 and eq. (4), end-to-end time 8 T P / (n X): GPT-3 175B on
    # 300B tokens, 1024 A100s at X = 140 TFLOP/s: 34 days; 1T on 450B tokens, 3072 A100s at
    # 163 TFLOP/s: 84 days. X counts the recomputed forward (hardware FLOPs), hence hfu and
    # recompute="full". Eq. (4) drops the attention and logit terms (3% at 175B, 1% at 1T).
    for arch, tokens, gpus, x, days in [(gpt(12288, 96, 96), 300e9, 1024, 140e12, 34),
                                        (gpt(25600, 160, 128), 450e9, 3072, 163e12, 84)]:
        run = cm.training_run(arch, "a100-sxm-80gb", tokens, gpus, 2048, hfu=x / 312e12, recompute="full",
                              check_fit=False).iloc[0]
        assert run["wall_clock_days"] == pytest.approx(days, rel=0.03)
        assert run["wall_clock_days"] > days  # the terms eq. (4) drops only add


def test_run_totals_and_arrays():
    runs = cm.training_run("llama-2-7b", "a100-sxm-80gb", np.array([1e12, 2e12]), 1024, 4096, mfu=0.45,
                           parallelism=cm.Parallelism(data=1024, zero_stage=1), price_per_device_hour_usd=2.0,
                           pue=1.1, device_power_w=400)
    assert len(runs) == 2 and runs["device_hours"].iloc[1] == pytest.approx(2 * runs["device_hours"].iloc[0])
    r = runs.iloc[1]
    # Llama 2 7B: 2T tokens, 184,320 A100 GPU-hours published (data/measurements/training.csv);
    # its implied MFU is 45.3%, so at 0.45 we predict within 1%
    assert r["device_hours"] == pytest.approx(184_320, rel=0.01)
    assert r["cost_usd"] == pytest.approx(2.0 * r["device_hours"])
    assert r["energy_kwh"] == pytest.approx(r["device_hours"] * 0.4 * 1.1)
    assert r["wall_clock_days"] == pytest.approx(r["device_hours"] / 1024 / 24)
    assert r["layout"] == "TP1 PP1 DP1024" and r["tokens_per_step"] == 1024 * 4096
    # global batch of 4M tokens (Llama 2 paper, table 1) on 64 replicas of 4096-token sequences: 16 micro-batches
    g = cm.training_run("llama-2-7b", "a100-sxm-80gb", 2e12, 64, 4096, global_batch_tokens=4 * 2**20, mfu=0.45,
                        parallelism=cm.Parallelism(data=64, zero_stage=3)).iloc[0]
    assert g["micro_batches"] == 16


def test_cost_needs_an_explicit_price():
    run = cm.training_run("llama-3-8b", "h100-sxm", 1e12, 64, 8192, mfu=0.4,
                          parallelism=cm.Parallelism(data=64, zero_stage=3)).iloc[0]
    assert math.isnan(run["cost_usd"])  # no hidden current price
    dated = cm.training_run("llama-3-8b", "tpu-v5p", 1e12, 64, 8192, mfu=0.4, check_fit=False,
                            parallelism=cm.Parallelism(data=64, zero_stage=3), price_date="2026",
                            price_provider="gcp").iloc[0]
    # Google Cloud TPU v5p on demand, US regions, $4.20 per chip-hour (data/prices/cloud.csv)
    assert dated["cost_usd"] == pytest.approx(4.2 * dated["device_hours"])


# ----------------------------------------------------------------------
# Energy, CO2 and cost against the published accounting
# ----------------------------------------------------------------------
def _run(run, phase=""):
    df = cm.published_training_runs()
    return df[(df["run"] == run) & (df["phase"] == phase)].iloc[0]


def test_energy_reproduces_bloom_and_llama_accounting():
    # BLOOM (Luccioni et al. 2022, via the BLOOM paper): 1,082,990 A100-hours at the 400 W TDP,
    # no PUE: 433,196 kWh (data/measurements/training.csv)
    bloom = _run("bloom-176b")
    assert cm.training_energy_kwh(bloom["device_hours"], "a100-sxm-80gb", pue=1.0) == pytest.approx(
        bloom["energy"] / 3.6e6, rel=1e-6)
    # LLaMA (Touvron et al. 2023, table 15): GPU-hours x 400 W x PUE 1.1, printed in whole MWh,
    # truncated (65B: 1,022,362 h give 449.8 MWh, printed 449)
    for run in ("llama-1-7b", "llama-1-13b", "llama-1-33b", "llama-1-65b"):
        r = _run(run)
        got = cm.training_energy_kwh(r["device_hours"], device_power_w=400, pue=1.1)
        assert math.floor(got / 1000) == round(r["energy"] / 3.6e9)
    # ... and tCO2eq = MWh x 0.385 t/MWh: 36 MWh -> 14 t for LLaMA-7B (table 15)
    assert cm.training_co2e_kg(36_000, 385) == pytest.approx(14_000, abs=500)


def test_default_pue_and_carbon_intensity_come_from_the_energy_catalog():
    # Uptime Institute 2023 global average PUE 1.58; U.S. EIA 2023: 0.81 lb/kWh = 367.41 g/kWh
    assert cm.training_energy_kwh(1000, device_power_w=1000) == pytest.approx(1580)
    assert cm.training_co2e_kg(1000) == pytest.approx(367.41)


def test_deepseek_v3_cost_convention():
    # DeepSeek-V3 technical report, table 1: 2,664K H800 GPU-hours of pretraining at $2 per
    # GPU-hour is $5.328M (both from data/measurements/training.csv)
    r = _run("deepseek-v3", "pretraining")
    cost = F.numeric(F.TRAINING_COST_USD)(tau_dev=r["device_hours"] * 3600, c_dev=r["price_per_device_hour_assumed"])
    assert cost == pytest.approx(r["cost"], rel=1e-9)


# ----------------------------------------------------------------------
# Published runs and the default MFU (leave-one-out)
# ----------------------------------------------------------------------
def test_published_runs_loader():
    df = cm.published_training_runs()
    assert df.set_index(["run", "phase"]).index.is_unique
    l70 = _run("llama-2-70b")
    assert l70["training_tokens"] == 2e12 and l70["device_hours"] == 1_720_320  # Llama 2 card
    assert l70["hardware"] == "a100-sxm-80gb"  # the stated 350-400 W picks the SXM part (400 W)
    # Llama 3: "H100-80GB" at 700 W is the SXM part; tokens are "over 15 trillion", a lower bound
    l3 = _run("llama-3-8b")
    assert l3["hardware"] == "h100-sxm" and l3["training_tokens_kind"] == "lower_bound"
    # Phi-2: 96 GPUs x 14 days (model card) when no device time is published
    assert _run("phi-2")["device_hours"] == 96 * 14 * 24
    assert _run("phi-2")["device_hours_basis"] == "n_devices x wall_time"
    # BLOOM: the BLOOM paper's 1,082,990 (a point), not LLaMA table 15's 1,082,880
    assert _run("bloom-176b")["device_hours"] == 1_082_990


def test_implied_mfu_by_hand():
    # Llama 2 7B: (6 N + 12 L H Q T) x tokens / (GPU-hours x 3600 x 312e12), N = 6,738,415,616
    # (catalog), L = 32, H Q = 4096, T = 4096, 2T tokens, 184,320 GPU-hours: 45.3%
    val = cm.training_validation().set_index("run")
    by_hand = (6 * 6_738_415_616 + 12 * 32 * 4096 * 4096) * 2e12 / (184_320 * 3600 * 312e12)
    assert val.loc["llama-2-7b", "implied_mfu"] == pytest.approx(by_hand, rel=1e-12)
    six_nd = 6 * 6_738_415_616 * 2e12 / (184_320 * 3600 * 312e12)
    assert val.loc["llama-2-7b", "implied_mfu_6nd"] == pytest.approx(six_nd)


def test_default_mfu_and_its_leave_one_out_residuals():
    fit = cm.default_mfu()
    val = cm.training_validation()
    used = val[val["used_in_fit"]]
    assert fit.n_runs == len(used) >= 7
    logs = np.log(used["implied_mfu"].to_numpy())
    assert fit.value == pytest.approx(math.exp(logs.mean()))
    # leave-one-out: run i predicted by the geometric mean of the others
    for i, (_, r) in enumerate(used.iterrows()):
        others = math.exp(np.delete(logs, i).mean())
        predicted = r["model_flops"] / (r["peak_bf16_flop_per_s"] * others) / 3600
        assert r["device_hours_predicted_loo"] == pytest.approx(predicted)
        assert r["residual_loo"] == pytest.approx(predicted / r["device_hours_reported"] - 1)
    assert fit.loo_rms_log_error == pytest.approx(math.sqrt(np.mean(used["log_residual_loo"] ** 2)))
    # Stated tolerance: one utilisation predicts published device-hours within a factor of 2.3
    # out of sample (the worst run, Phi-2 at 96 GPUs x 14 days, implies 72% MFU); the Llama 2
    # runs, a consistent family on one cluster, within 35%.
    assert fit.loo_max_abs_rel_error < 1.3
    llama2 = used[used["run"].str.startswith("llama-2-")]
    assert (llama2["residual_loo"].abs() < 0.35).all()
    # rows the fit cannot use say why and carry no residual
    unused = val[~val["used_in_fit"]]
    assert (unused["why_not"] != "").all() and unused["residual_loo"].isna().all()


def test_default_mfu_is_what_training_run_uses():
    run = cm.training_run("llama-3-8b", "h100-sxm", 1e12, 64, 8192,
                          parallelism=cm.Parallelism(data=64, zero_stage=3)).iloc[0]
    assert run["mfu"] == cm.default_mfu().value and run["utilisation_basis"].startswith("default")


def test_backlinks_of_the_chart_module():
    # tests/test_backlinks.py covers costmodel.__all__; the training charts link back too
    import costmodel.viz.training as vt

    for name in vt.__all__:
        obj = getattr(vt, name)
        if callable(obj):
            assert "Defined in :ref:`sec_training`" in (obj.__doc__ or ""), name


# ----------------------------------------------------------------------
# Nodes: NVLink within a server, the scale-out network across servers
# ----------------------------------------------------------------------
def _old_step_time(arch, par, hw_id, seq_len, mfu, overlap, beta):
    """The step time of F.STEP_TIME (every collective on one link), as before nodes existed."""
    from costmodel import training as T
    deg = T._degrees(par)
    hw = cm.load_hardware(hw_id)
    s = np.array([float(seq_len)])
    model_tok = T._eval(F.MODEL_FLOPS_PER_TOKEN, arch, N=float(arch.n_active_params), s=s)
    tokens = F.numeric(F.TOKENS_PER_STEP)(B=deg["B"], m_mb=deg["m_mb"], n_d=deg["n_d"], s=s)
    t_comp = tokens * model_tok / (par.n_devices * hw.peak_flops("bf16") * mfu)
    comm = dict(s=s, b_a=2.0, b_w=2.0, b_g=2.0, rho_full=0.0, **deg)
    return float(T._eval(F.STEP_TIME, arch, t_comp=t_comp, beta_link=beta, omega=float(overlap),
                         N=float(arch.n_params), **comm)[0])


@pytest.mark.parametrize("par", [cm.Parallelism(tensor=8), cm.Parallelism(tensor=4, pipeline=2, micro_batches=6),
                                 cm.Parallelism(tensor=2, data=4, zero_stage=3), cm.Parallelism(tensor=4, context=2),
                                 cm.Parallelism(data=8)])
@pytest.mark.parametrize("overlap", [True, False])
def test_a_layout_within_one_node_is_unchanged(par, overlap):
    # 8 devices fit one DGX H100 (8 GPUs): every collective stays on NVLink, bit for bit as before
    a = cm.load_model("llama-2-13b")
    st = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.5, overlap=overlap).iloc[0]
    assert not st[["tp_spans_nodes", "cp_spans_nodes", "pp_spans_nodes", "dp_spans_nodes"]].any()
    assert st["step_time_s"] == _old_step_time(a, par, "h100-sxm", 4096, 0.5, overlap, 900e9 / 2)


def test_data_parallel_across_nodes_by_hand():
    # 64 H100s, tensor parallel 8 inside each DGX H100, data parallel 8 across the 8 servers. DGX H100: eight
    # single-port ConnectX-7 at 400 Gb/s, one per GPU (NVIDIA DGX BasePOD reference architecture, core
    # components) = 50 GB/s per GPU and direction; NVLink 4: 900 GB/s both directions = 450 GB/s one way.
    a = cm.load_model("llama-2-7b")  # 32 layers, D = 4096
    par = cm.Parallelism(tensor=8, data=8)
    st = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4, overlap=False).iloc[0]
    assert st["devices_per_node"] == 8
    assert st["dp_spans_nodes"] and not st["tp_spans_nodes"]
    nvlink, ib = 900e9 / 2, 400e9 / 8
    # gradient all-reduce of the N/8 tensor shard, 16-bit, ring 2 (n-1)/n over the 8 replicas
    dp = a.n_params / 8 * 2 * 7 / 8 * 2
    assert st["dp_comm_bytes"] == pytest.approx(dp)
    assert st["dp_comm_s"] == pytest.approx(dp / ib)
    # tensor parallel: 4 all-reduces of s D 16-bit values per block, ring 2 (t-1)/t, inside the server
    tp = 32 * 4 * 2 * 7 / 8 * 4096 * 4096 * 2
    assert st["tp_comm_s"] == pytest.approx(tp / nvlink)
    compute = 8 * 4096 * cm.training_flops(a, 1, 4096) / (64 * 989.5e12 * 0.4)
    assert st["compute_time_s"] == pytest.approx(compute)
    assert st["step_time_s"] == pytest.approx(compute + tp / nvlink + dp / ib)
    # the same layout inside one 64-device NVLink domain: the all-reduce at the NVLink rate, as before
    one = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4, overlap=False, devices_per_node=64).iloc[0]
    assert not one["dp_spans_nodes"]
    assert one["step_time_s"] == pytest.approx(compute + tp / nvlink + dp / nvlink)
    assert one["step_time_s"] == _old_step_time(a, par, "h100-sxm", 4096, 0.4, False, nvlink)
    # overlapped: only what the scale-out all-reduce takes beyond the compute shows
    ov = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4).iloc[0]
    assert ov["step_time_s"] == pytest.approx(compute + tp / nvlink + max(0.0, dp / ib - compute))
    # a scale-out link as fast as NVLink gives back the single-link step time
    same = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4, overlap=False,
                                 internode_bandwidth_bytes_per_s=nvlink).iloc[0]
    assert same["step_time_s"] == pytest.approx(one["step_time_s"], rel=1e-12)


def test_placement_tensor_innermost_then_context_pipeline_data():
    a = cm.load_model("llama-2-7b")
    # tensor 16 > 8 GPUs per server: the tensor all-reduces cross servers
    st = cm.training_step_time(a, "h100-sxm", 4096, cm.Parallelism(tensor=16), mfu=0.4).iloc[0]
    assert st["tp_spans_nodes"] and st["tp_comm_s"] == pytest.approx(st["tp_comm_bytes"] / 50e9)
    # tensor 8 fills a server, so pipeline stages sit in different servers; tensor stays on NVLink
    st = cm.training_step_time(a, "h100-sxm", 4096, cm.Parallelism(tensor=8, pipeline=2, micro_batches=4),
                               mfu=0.4).iloc[0]
    assert st["pp_spans_nodes"] and not st["tp_spans_nodes"]
    assert st["pp_comm_s"] == pytest.approx(st["pp_comm_bytes"] / 50e9)
    assert st["tp_comm_s"] == pytest.approx(st["tp_comm_bytes"] / 450e9)
    # tensor 4 x context 2 fill a server; data parallel 2 crosses
    st = cm.training_step_time(a, "h100-sxm", 4096, cm.Parallelism(tensor=4, context=2, data=2), mfu=0.4).iloc[0]
    assert not st["cp_spans_nodes"] and st["dp_spans_nodes"]
    # tensor 3 does not divide the 8 GPUs of a server (12 devices): some tensor groups straddle two servers
    st = cm.training_step_time(cm.load_model("qwen2-7b"), "h100-sxm", 4096, cm.Parallelism(tensor=4, data=3),
                               mfu=0.4).iloc[0]
    assert not st["tp_spans_nodes"] and st["dp_spans_nodes"]


def test_a_layout_across_nodes_without_a_scale_out_figure_is_an_error():
    a = cm.load_model("llama-2-7b")
    par = cm.Parallelism(tensor=8, data=8)
    # the catalog names no node for a TPU (ICI spans the pod): the layout is one ICI domain, as before
    tpu = cm.training_step_time(a, "tpu-v5p", 4096, par, mfu=0.4).iloc[0]
    assert not tpu["dp_spans_nodes"] and math.isnan(tpu["devices_per_node"])
    assert tpu["step_time_s"] == _old_step_time(a, par, "tpu-v5p", 4096, 0.4, True, 1200e9 / 2)
    # given a node size but no scale-out bandwidth, the model says which figure is missing and how to pass it
    with pytest.raises(ValueError, match=r"hardware 'tpu-v5p' has no published internode_bandwidth_bytes_per_s.*"
                                         r"TP8 PP1 DP8.*devices_per_node=4.*tensor- and data-parallel traffic.*"
                                         r"pass internode_bandwidth_bytes_per_s="):
        cm.training_step_time(a, "tpu-v5p", 4096, par, mfu=0.4, devices_per_node=4)
    ok = cm.training_step_time(a, "tpu-v5p", 4096, par, mfu=0.4, devices_per_node=4,
                               internode_bandwidth_bytes_per_s=25e9).iloc[0]
    assert ok["dp_comm_s"] == pytest.approx(ok["dp_comm_bytes"] / 25e9)
    # a catalog-style device with a node but no scale-out figure, through training_run too
    import dataclasses
    h = dataclasses.replace(cm.load_hardware("h100-sxm"), internode_bandwidth_bytes_per_s=math.nan)
    with pytest.raises(ValueError, match=r"hardware 'h100-sxm' has no published internode_bandwidth_bytes_per_s.*"
                                         r"devices_per_node=8: its data-parallel traffic"):
        cm.training_run(a, h, 1e12, 64, 4096, mfu=0.4, parallelism=cm.Parallelism(tensor=8, data=8),
                        check_fit=False)
    # within one node it needs no scale-out figure
    cm.training_run(a, h, 1e12, 8, 4096, mfu=0.4, parallelism=cm.Parallelism(tensor=8), check_fit=False)
    with pytest.raises(ValueError, match=r"devices_per_node=2.5 must be a whole number"):
        cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4, devices_per_node=2.5)


def test_run_across_nodes_hides_or_exposes_the_data_parallel_traffic():
    # Llama 3 8B on 64 H100s in data parallelism with ZeRO 3 at 8192 tokens, 8 per DGX H100: the weight
    # all-gathers and gradient reduce-scatter cross the 50 GB/s ConnectX-7 links but still hide behind compute
    run = cm.training_run("llama-3-8b", "h100-sxm", 1e12, 64, 8192, mfu=0.4,
                          parallelism=cm.Parallelism(data=64, zero_stage=3)).iloc[0]
    assert run["dp_spans_nodes"] and run["devices_per_node"] == 8
    assert run["dp_comm_s"] == pytest.approx(
        cm.training_step_time("llama-3-8b", "h100-sxm", 8192, cm.Parallelism(data=64, zero_stage=3),
                              mfu=0.4).iloc[0]["dp_comm_bytes"] / 50e9)
    assert run["dp_comm_s"] < run["compute_time_s"] and run["step_time_s"] == pytest.approx(run["compute_time_s"])
    # Llama 2 7B at 4096 tokens, one sequence per GPU: the plain all-reduce over the network outlasts the
    # compute, so the step is the all-reduce; on NVLink (a 64-GPU domain) it would hide
    run = cm.training_run("llama-2-7b", "h100-sxm", 1e12, 64, 4096, mfu=0.4, check_fit=False,
                          parallelism=cm.Parallelism(data=64)).iloc[0]
    assert run["dp_comm_s"] > run["compute_time_s"]
    assert run["step_time_s"] == pytest.approx(run["dp_comm_s"])
    nv = cm.training_run("llama-2-7b", "h100-sxm", 1e12, 64, 4096, mfu=0.4, check_fit=False, devices_per_node=64,
                         parallelism=cm.Parallelism(data=64)).iloc[0]
    assert nv["step_time_s"] == pytest.approx(nv["compute_time_s"])
    assert run["wall_clock_days"] > nv["wall_clock_days"]


# ----------------------------------------------------------------------
# Expert parallelism
# ----------------------------------------------------------------------
MIXTRAL = "mixtral-8x7b-v0.1"


def test_mixtral_routed_expert_params_from_the_architecture():
    a = cm.load_model(MIXTRAL)
    # Mixtral 8x7B (config.json): 32 blocks, all MoE; 8 experts of SwiGLU width 14336 on d_model 4096, no
    # biases: 3 x 4096 x 14336 = 176,160,768 per expert
    assert (a.n_layers, a.n_moe_layers, a.n_experts, a.d_model, a.d_ff_expert) == (32, 32, 8, 4096, 14336)
    assert a.count(F.PER_EXPERT_PARAMS) == 3 * 4096 * 14336 == 176_160_768
    assert a.count(F.ROUTED_EXPERT_PARAMS) == 32 * 8 * 176_160_768 == 45_097_156_608
    # the same from the matmul records: the expert_ records' stored copies in the L_moe blocks
    experts = sum(r.params for r in F.MOE if r.name.startswith("expert_"))
    assert a.count(S.L_moe * experts) == 45_097_156_608
    assert a.n_params - 45_097_156_608 == 1_605_636_096  # attention, router, norms, embeddings, LM head


def test_mixtral_memory_per_device_with_and_without_expert_parallelism_by_hand():
    n, n_ex = 46_702_792_704, 45_097_156_608  # Mixtral 8x7B: all parameters, routed experts
    n_other = n - n_ex  # 1,605,636,096
    mem = {e: cm.training_memory(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(data=8, zero_stage=1, expert=e)).iloc[0]
           for e in (1, 8)}
    # EP 1, ZeRO 1 over 8 replicas: 2 N of bf16 weights, 2 N of gradients, 12 N / 8 of Adam state
    assert mem[1]["weights_bytes"] == pytest.approx(2 * n, rel=1e-12)  # 93.41 GB
    assert mem[1]["gradients_bytes"] == pytest.approx(2 * n, rel=1e-12)
    assert mem[1]["optimizer_bytes"] == pytest.approx(12 * n / 8, rel=1e-12)  # 70.05 GB
    # EP 8: each device holds one expert of each block, 2 (n_other + n_ex / 8) = 2 x 7,242,780,672 = 14.49 GB of
    # weights and as much gradient; the expert state has 8 / 8 = 1 replica left to shard over, so Adam state is
    # 12 (n_other / 8 + n_ex / 8) = 12 n / 8 = 70.05 GB, as before
    assert mem[8]["weights_bytes"] == pytest.approx(2 * (n_other + n_ex / 8), rel=1e-12)
    assert mem[8]["weights_bytes"] == pytest.approx(2 * 7_242_780_672, rel=1e-12)
    assert mem[8]["gradients_bytes"] == pytest.approx(2 * 7_242_780_672, rel=1e-12)
    assert mem[8]["optimizer_bytes"] == pytest.approx(12 * (n_other / 8 + n_ex / 8), rel=1e-12)
    assert mem[8]["activations_bytes"] == mem[1]["activations_bytes"]
    assert mem[1]["total_bytes"] - mem[8]["total_bytes"] == pytest.approx(4 * (n - 7_242_780_672), rel=1e-12)
    # 16 devices, EP 8: ZeRO 1 shards the experts' state over the 16 / 8 = 2 replicas holding the same experts
    m16 = cm.training_memory(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(data=16, zero_stage=1, expert=8)).iloc[0]
    assert m16["optimizer_bytes"] == pytest.approx(12 * (n_other / 16 + n_ex / 8 / 2), rel=1e-12)
    # ZeRO 3 with tensor 2: every state split by 2 and by the replicas, experts by 8 x (8 / 8)
    z3 = cm.training_memory(MIXTRAL, "h100-sxm", 4096,
                            cm.Parallelism(tensor=2, data=8, zero_stage=3, expert=8)).iloc[0]
    assert z3["weights_bytes"] == pytest.approx(2 * (n_other / (2 * 8) + n_ex / (2 * 8 * 1)), rel=1e-12)
    assert z3["layout"] == "TP2 PP1 DP8 EP8" and z3["expert"] == 8


def test_expert_formulas_reduce_to_the_dense_ones_at_one():
    for ep, old in ((F.WEIGHT_BYTES_PER_DEVICE_EP, F.WEIGHT_BYTES_PER_DEVICE),
                    (F.GRADIENT_BYTES_PER_DEVICE_EP, F.GRADIENT_BYTES_PER_DEVICE),
                    (F.OPTIMIZER_BYTES_PER_DEVICE_EP, F.OPTIMIZER_BYTES_PER_DEVICE),
                    (F.DP_COMM_BYTES_EP, F.DP_COMM_BYTES)):
        assert sp.simplify(ep.subs(S.n_ep, 1) - old) == 0
    assert F.EP_COMM_BYTES.subs(S.n_ep, 1) == 0
    # the step time at n_ep = 1, numerically, on a layout across nodes (Max and Mod resist simplify)
    vals = dict(t_comp=0.7, m_mb=4, n_p=2, n_t=4, n_c=2, n_d=8, n_dev=128, g_node=8, beta_link=450e9,
                beta_node=50e9, omega=1, s=4096, B=1, b_a=2, b_w=2, b_g=2, rho_full=0, sigma_sp=1, zeta_o=1,
                zeta_g=0, zeta_w=0, N=46.7e9, N_ex=45.1e9, n_ep=1)
    a = cm.load_model(MIXTRAL).symbols
    ep, old = F.numeric(F.STEP_TIME_EP), F.numeric(F.STEP_TIME_NODES)
    assert ep(**{k: vals.get(k, a.get(k)) for k in ep.args}) == pytest.approx(
        old(**{k: vals.get(k, a.get(k)) for k in old.args}), rel=1e-14)


def test_expert_all_to_all_time_by_hand():
    # Two all-to-alls per MoE layer in the forward pass, dispatching the tokens to their experts' devices and
    # combining the outputs back (GShard, Lepikhin et al. 2020, arXiv:2006.16668: the MoE layer's AllToAll
    # dispatch and combine; Megatron-Core MoE's "alltoall" token dispatcher), and their transposes, two more
    # all-to-alls, in the backward pass: 4 per block and micro-batch. Mixtral 8x7B, one sequence of 4096 tokens per device, k = 2
    # experts per token, d_model 4096, bf16; each device keeps 1/8 and sends 7/8 of its buffer.
    per_a2a = 4096 * 2 * 4096 * 2 * 7 / 8  # 58,720,256 bytes
    assert per_a2a == 58_720_256
    total = 32 * 4 * per_a2a  # 32 MoE blocks: 7,516,192,768 bytes per step
    nvlink, ib = 900e9 / 2, 400e9 / 8  # DGX H100: NVLink 4 one way; one 400 Gb/s ConnectX-7 per GPU
    st = cm.training_step_time(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(data=8, expert=8), mfu=0.4).iloc[0]
    assert st["ep_comm_bytes"] == pytest.approx(total, rel=1e-12)
    # the group of 8 data-parallel replicas fills one DGX: NVLink, 16.7 ms, not overlapped with compute
    assert not st["ep_spans_nodes"] and st["ep_comm_s"] == pytest.approx(total / nvlink, rel=1e-12)
    assert st["ep_comm_s"] == pytest.approx(0.016703, rel=1e-4)
    # the expert gradients' all-reduce runs over 8 / 8 = 1 replica (nothing); the rest over 8: 2 (7/8) 2 n_other
    assert st["dp_comm_bytes"] == pytest.approx(1_605_636_096 * 2 * 7 / 8 * 2, rel=1e-12)
    assert st["step_time_s"] == pytest.approx(st["compute_time_s"] + total / nvlink, rel=1e-12)
    # tensor 2 x 8 replicas: the expert group spans 16 ranks, two servers, so the all-to-alls cross the network
    st = cm.training_step_time(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(tensor=2, data=8, expert=8),
                               mfu=0.4).iloc[0]
    assert st["ep_spans_nodes"] and st["ep_comm_s"] == pytest.approx(total / ib, rel=1e-12)
    assert st["step_time_s"] == pytest.approx(st["compute_time_s"] + st["tp_comm_s"] + total / ib, rel=1e-12)
    # data 16, EP 8 on two servers: the expert groups stay inside a server, the gradients cross
    st = cm.training_step_time(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(data=16, expert=8), mfu=0.4).iloc[0]
    assert not st["ep_spans_nodes"] and st["dp_spans_nodes"]
    assert st["dp_comm_bytes"] == pytest.approx(1_605_636_096 * 2 * 15 / 16 * 2 + n_ex_over(8) * 2 * 1 / 2 * 2,
                                                rel=1e-12)


def n_ex_over(e):
    """Mixtral 8x7B's routed-expert parameters on one device of an EP group of e."""
    return 45_097_156_608 / e


def test_expert_parallelism_is_validated():
    with pytest.raises(ValueError, match=r"Parallelism: expert=3 must divide data x context = 4 x 1 = 4"):
        cm.Parallelism(data=4, expert=3)
    with pytest.raises(ValueError, match=r"Parallelism: expert=0 must be at least 1"):
        cm.Parallelism(expert=0)
    cm.Parallelism(data=2, context=2, expert=4)  # experts may take context ranks too
    with pytest.raises(ValueError, match=r"mixtral-8x7b-v0.1: n_experts=8 routed experts per block are not "
                                         r"divisible by expert=3"):
        cm.training_memory(MIXTRAL, "h100-sxm", 4096, cm.Parallelism(data=6, expert=3))
    with pytest.raises(ValueError, match=r"llama-2-7b is a dense model \(no routed experts\): expert=2"):
        cm.training_step_time("llama-2-7b", "h100-sxm", 4096, cm.Parallelism(data=2, expert=2), mfu=0.4)
    with pytest.raises(ValueError, match=r"llama-2-7b is a dense model"):
        cm.training_run("llama-2-7b", "h100-sxm", 1e9, 2, 4096, mfu=0.4,
                        parallelism=cm.Parallelism(data=2, expert=2), check_fit=False)


@pytest.mark.parametrize("par", [cm.Parallelism(data=8, zero_stage=1), cm.Parallelism(tensor=2, data=8, zero_stage=3),
                                 cm.Parallelism(tensor=8, pipeline=4, micro_batches=8, data=2)])
def test_expert_one_is_the_model_without_experts_split(par):
    from costmodel import training as T
    a = cm.load_model(MIXTRAL)
    assert par.expert == 1 and "EP" not in par.label()
    mem = cm.training_memory(a, "h100-sxm", 4096, par).iloc[0]
    deg = T._degrees(par)
    common = {k: deg[k] for k in ("n_t", "n_p", "n_d", "n_c", "zeta_o", "zeta_g", "zeta_w")}
    n = float(a.n_params)
    for col, expr, b in (("weights_bytes", F.WEIGHT_BYTES_PER_DEVICE, dict(b_w=2.0)),
                         ("gradients_bytes", F.GRADIENT_BYTES_PER_DEVICE, dict(b_g=2.0)),
                         ("optimizer_bytes", F.OPTIMIZER_BYTES_PER_DEVICE, dict(b_opt=12.0))):
        fn = F.numeric(expr)
        assert mem[col] == fn(N=n, **b, **{k: common[k] for k in fn.args if k in common})
    st = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.4, devices_per_node=par.n_devices).iloc[0]
    assert st["ep_comm_s"] == 0 and not st["ep_spans_nodes"]
    assert st["step_time_s"] == _old_step_time(a, par, "h100-sxm", 4096, 0.4, True, 900e9 / 2)


# ----------------------------------------------------------------------
# Interleaved pipeline schedule (virtual stages)
# ----------------------------------------------------------------------
def test_interleaved_bubble_and_sends_by_hand():
    # Llama 2 7B: 32 layers = 8 stages x 4 chunks of one block each; 8 A100s in one node
    a = cm.load_model("llama-2-7b")
    one = cm.Parallelism(pipeline=8, micro_batches=16)
    four = cm.Parallelism(pipeline=8, micro_batches=16, virtual_stages=4)
    assert four.label() == "TP1 PP8 DP1 VP4"
    st1, st4 = (cm.training_step_time(a, "a100-sxm-80gb", 4096, p, mfu=0.5, overlap=False).iloc[0]
                for p in (one, four))
    # Narayanan et al. 2021 (arXiv:2104.04473) section 2.2.2: the 1F1B bubble is (p - 1) micro-batch
    # times against m of useful work, (p - 1)/m = 7/16 of the ideal time; with v chunks per device each
    # forward and backward is 1/v as long, so the bubble is (p - 1)/(v m) = 7/64 of the ideal time.
    # As a fraction of the whole step: 7/(16 + 7) = 7/23 and (7/4)/(16 + 7/4) = 7/71.
    assert st1["bubble_fraction"] == pytest.approx(7 / 23, rel=1e-15)
    assert st4["bubble_fraction"] == pytest.approx(7 / 71, rel=1e-15)
    assert st4["compute_time_s"] == st1["compute_time_s"]
    # no tensor or data parallelism: the step is the stretched compute plus the pipeline sends
    assert st1["step_time_s"] - st1["pp_comm_s"] == pytest.approx(st1["compute_time_s"] * (1 + 7 / 16), rel=1e-12)
    assert st4["step_time_s"] - st4["pp_comm_s"] == pytest.approx(st4["compute_time_s"] * (1 + 7 / 64), rel=1e-12)
    # the same section: communication between stages grows v-fold (each micro-batch crosses v p - 1
    # chunk boundaries instead of p - 1); per device, m micro-batches x 2 (activations forward,
    # gradients back) x s D 16-bit values, times v
    assert st1["pp_comm_bytes"] == 16 * 2 * 4096 * 4096 * 2
    assert st4["pp_comm_bytes"] == 4 * st1["pp_comm_bytes"]
    assert st4["pp_comm_s"] == 4 * st1["pp_comm_s"]


def test_interleaved_expressions_reduce_to_the_1f1b_ones_at_one_virtual_stage():
    pairs = [(F.PIPELINE_BUBBLE_FRACTION_INTERLEAVED, F.PIPELINE_BUBBLE_FRACTION),
             (F.PP_COMM_BYTES_INTERLEAVED, F.PP_COMM_BYTES), (F.STEP_TIME_NODES_INTERLEAVED, F.STEP_TIME_NODES),
             (F.STEP_TIME_EP_INTERLEAVED, F.STEP_TIME_EP)]
    for new, old in pairs:
        assert S.v_pp in new.free_symbols
        assert sp.simplify(new.subs(S.v_pp, 1) - old) == 0
    # v enters the step time only through the bubble and the pipeline sends
    d = sp.simplify(F.STEP_TIME_NODES_INTERLEAVED - F.STEP_TIME_NODES
                    - S.t_comp * (S.n_p - 1) * (1 / S.v_pp - 1) / S.m_mb
                    - (S.v_pp - 1) * F.PP_COMM_BYTES * ((1 - F.PP_CROSSES_NODES) / S.beta_link
                                                        + F.PP_CROSSES_NODES / S.beta_node))
    assert d == 0


@pytest.mark.parametrize("par", [cm.Parallelism(tensor=4, pipeline=2, micro_batches=6),
                                 cm.Parallelism(tensor=2, pipeline=4, micro_batches=8, virtual_stages=1)])
def test_one_virtual_stage_is_unchanged(par):
    # bit for bit the 1F1B step of F.STEP_TIME within one node
    a = cm.load_model("llama-2-13b")
    st = cm.training_step_time(a, "h100-sxm", 4096, par, mfu=0.5, overlap=False).iloc[0]
    assert st["virtual_stages"] == 1 and "VP" not in par.label()
    assert st["step_time_s"] == _old_step_time(a, par, "h100-sxm", 4096, 0.5, False, 900e9 / 2)
    assert st["bubble_fraction"] == F.numeric(F.PIPELINE_BUBBLE_FRACTION)(n_p=par.pipeline, m_mb=par.micro_batches)


def test_virtual_stages_are_validated():
    with pytest.raises(ValueError, match=r"Parallelism: virtual_stages=0 must be at least 1"):
        cm.Parallelism(pipeline=2, micro_batches=2, virtual_stages=0)
    with pytest.raises(ValueError, match=r"Parallelism: virtual_stages=1.5 must be a whole number"):
        cm.Parallelism(pipeline=2, micro_batches=2, virtual_stages=1.5)
    with pytest.raises(ValueError, match=r"virtual_stages=2 needs pipeline > 1 \(pipeline=1\)"):
        cm.Parallelism(virtual_stages=2)
    with pytest.raises(ValueError, match=r"virtual_stages=2 needs micro_batches a multiple of pipeline "
                                         r"\(micro_batches=12, pipeline=8"):
        cm.Parallelism(pipeline=8, micro_batches=12, virtual_stages=2)
    # Llama 2 13B: 40 layers do not split into 4 stages x 4 chunks
    par = cm.Parallelism(pipeline=4, micro_batches=8, virtual_stages=4)
    pattern = r"llama-2-13b: num_hidden_layers=40 is not divisible by pipeline=4 x virtual_stages=4 = 16 chunks"
    with pytest.raises(ValueError, match=pattern):
        cm.training_step_time("llama-2-13b", "h100-sxm", 4096, par, mfu=0.4)
    with pytest.raises(ValueError, match=pattern):
        cm.training_memory("llama-2-13b", "h100-sxm", 4096, par)
    cm.training_step_time("llama-2-13b", "h100-sxm", 4096, cm.Parallelism(pipeline=4, micro_batches=8,
                                                                          virtual_stages=5), mfu=0.4)
