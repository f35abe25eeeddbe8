"""The inference step model against hand derivations and published measurements.

Hand derivations use the configs in data/models/ and the datasheet figures in
data/hardware.csv; each source is named next to its assertion.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import costmodel as cm
from costmodel import calibrate as C
from costmodel import formulas as F
from costmodel import inference as I
from costmodel.formats import weight_format
from costmodel.inference import IDEAL

# Llama-2-7B (config.json): L 32, D 4096, F 11008, V 32000, MHA with 32 heads of 128
N_L27 = 6_738_415_616
KV_L27 = 524_288  # 2 x 32 x 32 x 128 x 2 bytes per token in 16 bit
# elements each token's matmuls read and write: q, k, v, o (4096 -> 4096), gate, up (4096 -> 11008),
# down (11008 -> 4096) per block, plus the LM head (4096 -> 32000)
ACT_L27 = 32 * (4 * 8192 + 3 * 15104) + 4096 + 32000


def test_ideal_decode_of_llama2_7b_on_a100_is_its_bytes_over_bandwidth():
    # fp16 weights, all but the 32000 x 4096 input embedding of which one row is read, the KV cache of
    # 511 tokens read and one written, the activations; A100 SXM4 80GB: 2,039 GB/s (NVIDIA datasheet)
    r = cm.decode("llama-2-7b", "a100-sxm-80gb", batch=1, context=511, weight_dtype="fp16", efficiency=IDEAL)
    moved = 2 * (N_L27 - 32000 * 4096 + 4096) + 512 * KV_L27 + 2 * ACT_L27
    assert r.bytes_moved == pytest.approx(moved, rel=1e-12)
    assert r.bound_latency_s == pytest.approx(moved / 2039e9, rel=1e-12)
    assert r.latency_s == r.bound_latency_s and r.bound == "memory"
    assert r.tokens_per_s == pytest.approx(2039e9 / moved)


def test_kv_footprint_to_the_byte():
    df = cm.memory_per_device("llama-2-7b", "a100-sxm-80gb", batch=8, context=4096, weight_dtype="fp16")
    assert df["kv_cache_bytes"].item() == 8 * 4096 * KV_L27
    assert df["weight_bytes"].item() == 2 * N_L27


def test_tensor_parallel_all_reduce_time():
    # ring all-reduce: 2 (n - 1) / n of M bytes over the link; 2 H100 SXM on NVLink 4, 900 GB/s total,
    # 450 GB/s each way (NVIDIA H100 datasheet): 1 GB takes 1e9 / 450e9 s
    t = cm.evaluate(F.ALLREDUCE_TIME, n_t=2, M_op=1e9, beta_link=450e9, alpha_link=0)
    assert t == pytest.approx(1e9 / 450e9)
    # Llama-2-70B decode at batch 1 on 2 H100: two all-reduces per block of one 8192-wide bf16 activation
    r = cm.decode("llama-2-70b", "h100-sxm", batch=1, context=128, n_devices=2, efficiency=IDEAL,
                  memory_fraction=1.0)
    assert r.communication_time_s == pytest.approx(80 * 2 * (8192 * 2) / 450e9)
    # the weights split two ways: about half the single-device memory time
    one = cm.decode("llama-2-70b", "h200-sxm", batch=1, context=128, efficiency=IDEAL, memory_fraction=1.0)
    assert r.memory_time_s == pytest.approx(one.memory_time_s * 4.8e12 / 3.35e12 / 2, rel=0.01)


def test_link_efficiency_divides_the_all_reduce_time_only():
    # Llama-2-70B decode at batch 1 on 2 H100 (as above): the all-reduces move 80 x 2 x (8192 x 2) bytes at
    # 450 GB/s each way, 5.825 us at 100 %; at eta_link 0.5 they take twice that, so the expected step is
    # longer by exactly 80 x 2 x 16384 / 450e9 x (1 / 0.5 - 1) s, and the ideal bound does not move
    def step(eta_link):
        prof = I.EfficiencyProfile("t", 0.5, 0.8, 1e-5, 2e-6, eta_link=eta_link)
        return cm.decode("llama-2-70b", "h100-sxm", batch=1, context=128, n_devices=2, efficiency=prof,
                         memory_fraction=1.0)

    full, half, unset = step(1.0), step(0.5), step(None)
    assert half.latency_s - full.latency_s == pytest.approx(80 * 2 * 16384 / 450e9 * (1 / 0.5 - 1), rel=1e-9)
    assert half.bound_latency_s == full.bound_latency_s
    # a profile without eta_link runs the interconnect at eta_memory, as profiles did before it
    assert unset.latency_s == pytest.approx(step(0.8).latency_s, rel=1e-12)
    # one device: no collective, eta_link plays no part
    one = [cm.decode("llama-2-7b", "h100-sxm", batch=1, context=128,
                     efficiency=I.EfficiencyProfile("t", 0.5, 0.8, eta_link=e)).latency_s for e in (0.3, 1.0)]
    assert one[0] == one[1]
    for bad in (0.0, 1.5, True):
        with pytest.raises(ValueError, match="eta_link"):
            I.EfficiencyProfile("t", 0.5, 0.8, eta_link=bad)


def test_expert_efficiency_scales_the_routed_experts_only():
    # Mixtral 8x7B (config.json): 32 MoE blocks of 8 experts, each a gate, an up (4096 -> 14336) and a down
    # (14336 -> 4096) matrix, top 2. Decode at batch 1 on one H200: the token touches 2 experts per block, which
    # read 32 x 2 x 3 x 4096 x 14336 weights and 32 x 2 x 3 x (4096 + 14336) activations (each matmul's input
    # and output), 2 bytes each in bf16, at 4.8 TB/s x eta_memory 0.8; their 2 x 32 x 2 x 3 x 4096 x 14336 FLOP
    # at 989.5 TFLOP/s x 0.5 take less (45 us against 5.9 ms). eta_expert x scales both efficiencies of this
    # component, so its roofline term becomes T_e / x and the step is longer by exactly T_e x (1 / x - 1)
    m_e = (32 * 2 * 3 * 4096 * 14336 + 32 * 2 * 3 * (4096 + 14336)) * 2
    f_e = 2 * 32 * 2 * 3 * 4096 * 14336
    t_e = max(m_e / (4.8e12 * 0.8), f_e / (989.5e12 * 0.5))
    assert t_e == m_e / (4.8e12 * 0.8)

    def step(model, eta_expert):
        prof = I.EfficiencyProfile("t", 0.5, 0.8, 1e-5, 2e-6, eta_expert=eta_expert)
        return cm.decode(model, "h200-sxm", batch=1, context=128, efficiency=prof, memory_fraction=1.0)

    unset = step("mixtral-8x7b-v0.1", None)
    for x in (0.5, 0.72):
        r = step("mixtral-8x7b-v0.1", x)
        assert r.latency_s - unset.latency_s == pytest.approx(t_e * (1 / x - 1), rel=1e-9)
        # the ideal bound stays at 100 % of peak
        assert r.bound_latency_s == unset.bound_latency_s
    # None: the experts at the dense efficiencies, the numbers of profiles without the field, bit for bit
    assert unset.latency_s == step("mixtral-8x7b-v0.1", 1.0).latency_s
    # a dense model has no expert component: eta_expert plays no part
    dense = [step("llama-2-7b", x).latency_s for x in (None, 0.3, 1.0)]
    assert dense[0] == dense[1] == dense[2]
    for bad in (0.0, -0.5, 1.5, True, "0.7", math.nan):
        with pytest.raises(ValueError, match="eta_expert"):
            I.EfficiencyProfile("t", 0.5, 0.8, eta_expert=bad)


def test_prefill_computes_logits_for_the_last_token_only():
    # Qwen2-0.5B: V 151,936 x D 896 LM head; 'all' adds 2 x (T - 1) x V x D FLOP
    last = cm.prefill("qwen2-0.5b", "h100-sxm", prompt_tokens=1024, efficiency=IDEAL)
    every = cm.prefill("qwen2-0.5b", "h100-sxm", prompt_tokens=1024, efficiency=IDEAL, logits="all")
    assert every.flop - last.flop == pytest.approx(2 * 1023 * 151936 * 896)


def test_mla_decode_uses_the_absorbed_attention_width():
    # DeepSeek-V3 decode: per cached position and block, 2 H (2 r_kv + d_rope) FLOP, H 128, r_kv 512,
    # d_rope 64 (DeepSeek-V3 config), against 2 H (d_h + d_v) = 2 x 128 x 320 in the per-head form
    a = cm.load_model("deepseek-v3")
    assert a.evaluate(F.MLA_ABSORBED_ATTENTION_WIDTH) / a.attention_width == pytest.approx((2 * 512 + 64) / 320)
    r1 = cm.decode(a, "h200-sxm", batch=1, context=4095, n_devices=8, weight_dtype="fp8", efficiency=IDEAL)
    r2 = cm.decode(a, "h200-sxm", batch=1, context=8191, n_devices=8, weight_dtype="fp8", efficiency=IDEAL)
    per_position = (r2.flop - r1.flop) * 8 / 4096 / 61  # per device x 8, per added position and block
    assert per_position == pytest.approx(2 * 128 * (2 * 512 + 64))


def test_weight_only_formats_compute_in_16_bit_everywhere():
    # w4a16: the same int4 checkpoint computes in bf16 on an H100 and on an A100 (both have bf16 peaks)
    for hw in ("h100-sxm", "a100-sxm-80gb", "rtx-4090"):
        r = cm.prefill("llama-3-8b", hw, prompt_tokens=512, weight_dtype="int4", efficiency=IDEAL)
        assert r.to_frame()["compute_dtype"].item() == "bf16"
    # fp8 weights compute in fp8 where the device has fp8 tensor cores, else weight-only in bf16
    assert cm.prefill("llama-3-8b", "h100-sxm", prompt_tokens=512, weight_dtype="fp8",
                      efficiency=IDEAL).to_frame()["compute_dtype"].item() == "fp8"
    assert cm.prefill("llama-3-8b", "a100-sxm-80gb", prompt_tokens=512, weight_dtype="fp8",
                      efficiency=IDEAL).to_frame()["compute_dtype"].item() == "bf16"
    # w8a8 is asked for explicitly; a dtype the device lacks is refused by name
    assert cm.prefill("llama-3-8b", "a100-sxm-80gb", prompt_tokens=512, weight_dtype="int8", compute_dtype="int8",
                      efficiency=IDEAL).to_frame()["compute_dtype"].item() == "int8"
    with pytest.raises(ValueError, match="no published dense peak for dtype='fp8'"):
        cm.prefill("llama-3-8b", "a100-sxm-80gb", prompt_tokens=512, compute_dtype="fp8", efficiency=IDEAL)


def test_checkpoint_bytes_keep_embeddings_and_lm_head_in_16_bit():
    # Llama-3-8B: V 128,256 x D 4096 embedding and an untied LM head, norms 32 x 2 x 4096 + 4096
    n, vd, norms = 8_030_261_248, 128_256 * 4096, 32 * 2 * 4096 + 4096
    matrices = n - 2 * vd - norms
    # GPTQ/AWQ int4, group 128: 4 bits + (16-bit scale + 4-bit zero) / 128
    assert cm.weight_bytes_stored("llama-3-8b", "int4") == pytest.approx(
        matrices * (4 + 20 / 128) / 8 + 2 * vd * 2 + norms * 2)
    # that is 43 % more than counting every parameter at half a byte
    assert cm.weight_bytes_stored("llama-3-8b", "int4") / (n / 2) == pytest.approx(1.4266, abs=1e-4)
    # nvidia/Llama-3.1-8B-Instruct-FP8 is 8.49 GiB (Jetson AI Lab workshop page, listed with its vLLM
    # measurement in data/measurements/inference.csv): within 1 %
    assert cm.weight_bytes_stored("llama-3-8b", "fp8") / 2**30 == pytest.approx(8.49, rel=0.01)


def test_gguf_sizes_from_block_layouts():
    # llama-bench reports Llama-2-7B F16 as 12.55 GiB (llama.cpp discussion #4167): f16 matrices and fp32 norms
    norms = 32 * 2 * 4096 + 4096
    assert cm.weight_bytes_stored("llama-2-7b", "fp16") + norms * 2 == pytest.approx(12.55 * 2**30, rel=5e-4)
    # Q4_0: 18 bytes per 32 weights, output tensor Q6_K (210 bytes per 256), norms fp32 (ggml-common.h)
    matrices = N_L27 - 2 * 32000 * 4096 - norms
    q4 = (matrices + 32000 * 4096) * 18 / 32 + 32000 * 4096 * 210 / 256 + norms * 4
    assert cm.weight_bytes_stored("llama-2-7b", "q4_0") == pytest.approx(q4)
    assert weight_format("Q4_K_M").matmul_bits_by_record["down"] == pytest.approx((4.5 + 6.5625) / 2)


@pytest.mark.parametrize("model, shards_gb, card_gib", [
    # openai/gpt-oss-20b on Hugging Face, Files (tree/main): model-0000{0,1,2}-of-00002.safetensors
    # 4.79 + 4.8 + 4.17 GB; the model card (arXiv:2508.10925) gives a 12.8 GiB checkpoint (quoted by
    # fitmygpu.com/models/gpt-oss-20b: "OpenAI's GPT-OSS model card lists a 12.8 GiB checkpoint")
    ("gpt-oss-20b", 4.79 + 4.8 + 4.17, 12.8),
    # openai/gpt-oss-120b on Hugging Face, Files (tree/main/original): 65.2 GB; the model card: 60.8 GiB
    # (quoted by fitmygpu.com/models/gpt-oss-120b)
    ("gpt-oss-120b", 65.2, 60.8),
])
def test_gpt_oss_checkpoint_size(model, shards_gb, card_gib):
    # routed experts MXFP4 (4.25 bits), everything else bf16 (config.json quantization_config). Both
    # published figures are rounded to 3 significant figures (at most 0.4 % for 12.8 GiB; the shard
    # sizes 0.1 % each); safetensors headers add tens of kB. 0.5 % covers the rounding.
    stored = cm.weight_bytes_stored(model, "mxfp4-moe")
    assert stored / 1e9 == pytest.approx(shards_gb, rel=0.005)
    assert stored / 2**30 == pytest.approx(card_gib, rel=0.005)
    # whole-model formats miss it: bf16 overstates it 3x or more, "mxfp4" (4-bit attention, router and
    # embeddings) understates it by 2 % (120b) to 7 % (20b, whose embeddings weigh more)
    assert cm.weight_bytes_stored(model, "bf16") / stored > 3.0
    assert cm.weight_bytes_stored(model, "mxfp4") / stored < 0.98


def test_gpt_oss_checkpoint_by_hand():
    # gpt-oss-20b config: L 24, D 2880, 32 experts of F 2880 (gate, up, down: 3 D F each), V 201,088,
    # untied LM head; total 20,914,757,184 parameters (HF safetensors metadata, data/models/catalog.csv)
    n, experts = 20_914_757_184, 24 * 32 * 3 * 2880 * 2880
    assert cm.weight_bytes_stored("gpt-oss-20b", "mxfp4-moe") == pytest.approx(
        experts * 4.25 / 8 + (n - experts) * 2)
    # the experts are 91 % of the parameters ("90+%", model card arXiv:2508.10925)
    assert experts / n == pytest.approx(0.9137, abs=1e-4)


def test_expert_only_formats_refuse_dense_models():
    with pytest.raises(ValueError, match=r"'mxfp4-moe'.*model 'llama-2-7b' has no routed experts.*'bf16'"):
        cm.weight_bytes_stored("llama-2-7b", "mxfp4-moe")
    with pytest.raises(ValueError, match=r"model 'llama-3-8b' has no routed experts"):
        cm.decode("llama-3-8b", "h100-sxm", context=128, weight_dtype="mxfp4-moe")
    # another MoE model takes it: Mixtral's experts at 4.25 bits, attention and the rest at 16
    a = cm.load_model("mixtral-8x7b-v0.1")
    experts = 32 * 8 * 3 * 4096 * 14336
    assert cm.weight_bytes_stored(a, "mxfp4-moe") == pytest.approx(experts * 4.25 / 8 + (a.n_params - experts) * 2)


def test_gpt_oss_checkpoint_computes_in_16_bit():
    # weight-only: the experts are expanded to the activation dtype (bf16 on an H100, though it has an fp8 peak)
    r = cm.prefill("gpt-oss-120b", "h100-sxm", prompt_tokens=512, weight_dtype="mxfp4-moe", efficiency=IDEAL)
    assert r.to_frame()["compute_dtype"].item() == "bf16"
    # DGX Spark publishes only an fp4 peak: decode (bandwidth-bound) is timed, prefill is not
    d = cm.decode("gpt-oss-20b", "dgx-spark-gb10", context=16, weight_dtype="mxfp4-moe", efficiency=IDEAL)
    assert d.bound == "memory"
    with pytest.raises(ValueError, match="publishes no compute peak"):
        cm.prefill("gpt-oss-20b", "dgx-spark-gb10", prompt_tokens=512, weight_dtype="mxfp4-moe", efficiency=IDEAL)


def test_gpt_oss_mxfp4_rows_are_mapped_but_not_fitted(measured):
    # the "mxfp4" rows of gpt-oss name its MXFP4-expert checkpoints (llama.cpp, DGX Spark, benches/dgx-spark.md)
    gpt = C.usable_measurements().query("model.str.startswith('gpt-oss')", engine="python")
    assert len(gpt) >= 4 and (gpt["fmt"] == "mxfp4-moe").all()
    # ... but llama.cpp runs its GGUF: llama-bench reports 11.27 GiB for gpt-oss-20b (the row's notes), the
    # checkpoint is 12.8 GiB (model card), and the measured 84.10 tokens/s beats the checkpoint's ideal bound
    # (its bytes at DGX Spark's 273 GB/s), so the rows are not predicted, fitted or cross-validated
    assert not measured["model"].str.startswith("gpt-oss").any()
    row = gpt[gpt["metric"] == "decode_tokens_per_s"].query("model == 'gpt-oss-20b'").iloc[0]
    with pytest.raises(ValueError, match="llama.cpp runs its own GGUF file of gpt-oss"):
        C.predict(row, IDEAL)
    bound = cm.decode("gpt-oss-20b", "dgx-spark-gb10", context=16, weight_dtype="mxfp4-moe", efficiency=IDEAL)
    assert row["value"] == 84.10 and bound.bound_tokens_per_s < row["value"]
    # an "mxfp4" row of another model is left unmapped: which of its tensors are MXFP4 is not known
    raw = gpt.drop(columns=["hw", "fmt"]).iloc[[0]]
    assert len(C.usable_measurements(raw)) == 1
    assert C.usable_measurements(raw.assign(model="mixtral-8x7b-v0.1")).empty


def test_devices_without_a_compute_peak_decode_but_do_not_prefill():
    # Apple M2 (catalog): 100 GB/s, no published GPU peak
    r = cm.decode("llama-2-7b", "apple-m2", batch=1, context=64, weight_dtype="q4_0", efficiency=IDEAL)
    assert r.bound == "memory" and r.to_frame()["compute_dtype"].item() == "unknown"
    assert r.bound_latency_s == pytest.approx(r.bytes_moved / 100e9)
    with pytest.raises(ValueError, match="publishes no compute peak, so a prefill time cannot be computed"):
        cm.prefill("llama-2-7b", "apple-m2", prompt_tokens=512, weight_dtype="q4_0", efficiency=IDEAL)


def test_min_devices_and_does_not_fit():
    # Llama-2-70B bf16: 137.95 GB of weights; 90 % of 81,559 MiB per H100 (nvidia-smi) -> 2 devices
    assert cm.min_devices("llama-2-70b", "h100-sxm", batch=1, context=4096) == 2
    with pytest.raises(ValueError, match=r"does not fit on 1 x h100-sxm: needs 1\d\d\.\d GB per device"):
        cm.decode("llama-2-70b", "h100-sxm", context=4000)
    df = cm.decode("llama-2-70b", "h100-sxm", batch=np.array([1, 2]), context=4000).to_frame()
    assert not df["fits"].any() and df["latency_s"].isna().all()


@pytest.mark.parametrize("kwargs, pattern", [
    ({"n_devices": 3}, r"num_attention_heads=32 does not divide by tensor_parallel=3"),
    ({"n_devices": 0}, r"n_devices=0 must be at least 1"),
    ({"n_devices": 2, "pipeline_parallel": 3}, r"not a multiple of pipeline_parallel=3"),
    ({"batch": 0}, r"batch=0 must be at least 1"),
    ({"batch": 1.5}, r"batch=1.5 must be a whole number"),
    ({"weight_dtype": "int3"}, r"weight_dtype='int3' is not a known weight format"),
    ({"efficiency": "tgi"}, r"efficiency='tgi' has no fitted profile"),
])
def test_bad_input_names_the_value(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.decode("llama-2-7b", "h100-sxm", context=128, **{"batch": 1, **kwargs})


def test_every_input_broadcasts_and_has_a_column():
    df = cm.prefill("llama-3-8b", "h100-sxm", batch=np.array([[1], [8]]), prompt_tokens=np.array([128, 2048]),
                    efficiency=IDEAL).to_frame()
    assert len(df) == 4 and {"batch", "prompt_tokens", "cached_tokens", "n_devices", "weight_dtype"} <= set(df)
    assert df.set_index(["batch", "prompt_tokens"]).loc[(8, 2048), "latency_s"] > 0
    with pytest.raises(ValueError, match=r"incompatible shapes: batch \(3,\), prompt_tokens \(2,\)"):
        cm.prefill("llama-3-8b", "h100-sxm", batch=np.ones(3), prompt_tokens=np.ones(2))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cm.decode("llama-2-7b", "h100-sxm", context=8191)  # Llama-2: trained on 4096 positions
    assert any("exceeds the trained context" in str(x.message) for x in w)


def test_serving_throughput_and_point():
    sp = cm.serving_point("llama-3-8b", "h100-sxm", 1024, 256, ttft_slo_s=0.5, tpot_slo_s=0.05).iloc[0]
    # the largest batch fills 90 % of the device (vLLM's default gpu_memory_utilization)
    cap = cm.load_hardware("h100-sxm").memory_bytes
    assert sp["total_bytes"] <= 0.9 * cap < sp["total_bytes"] + sp["kv_cache_bytes"] / sp["batch"] + 128256 * 4
    assert 1 <= sp["slo_batch"] <= sp["batch"]
    tput = cm.serving_throughput("llama-3-8b", "h100-sxm", 1024, 256)
    assert tput == pytest.approx(sp["output_tokens_per_s"])
    # continuous batching: in one request's lifetime, one prefill of the batch's prompts and 256 decode steps
    whole = cm.prefill("llama-3-8b", "h100-sxm", batch=sp["batch"], prompt_tokens=1024, memory_fraction=1.0)
    assert tput == pytest.approx(sp["batch"] * 256 / (whole.latency_s + 256 * sp["tpot_s"]))
    # a new request's first token: its own prompt beside one decode step of the running batch
    own = cm.prefill("llama-3-8b", "h100-sxm", prompt_tokens=1024)
    assert sp["ttft_s"] == pytest.approx(own.latency_s + sp["tpot_s"])
    # a group of 8 serves more than one device, arrays broadcast
    out = cm.serving_throughput("llama-3-70b", "h100-sxm", np.array([128, 2048]), 128, n_devices=8)
    assert out.shape == (2,) and np.all(out > 0)
    assert math.isnan(cm.serving_throughput("llama-2-70b", "l4", 128, 128))  # 138 GB on one 24 GB card


# ----------------------------------------------------------------------
# Published measurements (data/measurements/inference.csv)
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def measured():
    return C.predictable_measurements()


def test_enough_measurements_are_predictable(measured):
    assert len(measured) >= 80
    assert {"tensorrt-llm", "llama.cpp"} <= set(measured["engine"])


def test_the_ideal_bound_is_never_beaten(measured):
    for _, r in measured.iterrows():
        _, bound = C.predict(r, IDEAL)
        speed = C.METRICS[r["metric"]] == "rate"
        assert (bound >= r["value"]) if speed else (bound <= r["value"]), r["id"]


@pytest.mark.parametrize("engine, median_limit, max_limit", [
    # just above where the model is today, held-out models (leave one model out), the cv_median_abs_error
    # and cv_max_ratio scripts/fit_efficiency.py wrote to data/efficiency.csv: llama.cpp 14.1 % and 1.74x,
    # tensorrt-llm 15.5 % and 2.49x (18.9 % with the 13 Mixtral 8x7B rows of the v0.12.0 table before
    # eta_expert, which pulled the shared efficiencies slower for the dense models; 14.4 % before those rows;
    # 19.3 % and 2.89x before eta_link). The worst is Mixtral held out: no other MoE model fits eta_expert,
    # so it is predicted about 20 % too fast (book/validation.md). The goal is 10 % and 2x
    ("llama.cpp", 0.15, 1.8),
    ("tensorrt-llm", 0.16, 2.6),
])
def test_cross_validated_error(measured, engine, median_limit, max_limit):
    cv = C.cross_validate(measured[measured["engine"] == engine], "model")
    err = np.abs(cv["ratio"] - 1)
    assert np.median(err) < median_limit
    assert np.max(np.maximum(cv["ratio"], 1 / cv["ratio"])) < max_limit


def test_fitted_profiles_are_the_ones_stored():
    table = C.efficiency_table().set_index("engine")
    assert {"default", "tensorrt-llm", "llama.cpp"} <= set(table.index)
    p = cm.inference.IDEAL
    assert p.eta_compute == 1
    prof = C.efficiency_profile("llama.cpp")
    assert 0 < prof.eta_memory <= 1 and prof.name == "fitted:llama.cpp"
    # llama.cpp's rows are all on one device: nothing fits eta_link, so its interconnect runs at eta_memory
    assert prof.eta_link is None and prof.link_efficiency == prof.eta_memory
    trt = C.efficiency_profile("tensorrt-llm")
    assert 0 < trt.eta_link <= 1 and trt.eta_link == table.loc["tensorrt-llm", "eta_link"]
    # llama.cpp predicts no mixture-of-experts row: nothing fits eta_expert, its experts run at the dense
    # efficiencies; TensorRT-LLM's Mixtral rows fit it
    assert prof.eta_expert is None
    assert 0 < trt.eta_expert <= 1 and trt.eta_expert == table.loc["tensorrt-llm", "eta_expert"]
    assert (table["cv_median_abs_error"] > 0).all()
    assert isinstance(pd.read_csv(C.EFFICIENCY_CSV), pd.DataFrame)


# A point's frame is built from cached pieces (inference._point_frame: a column
# index per set of names, a string array per value, the blocks planned once per
# set of columns). Each frame must be what the pandas constructor builds from the
# same columns, and must own its pieces: changing one frame changes no other.
def test_point_frame_is_the_constructors_frame():
    for df in (cm.serving_point("llama-2-7b", "h100-sxm", 1024, 256, batch=8),
               cm.serving_point("mixtral-8x7b-v0.1", "h100-sxm", [128, 1024], 64, n_devices=2, weight_dtype="fp8"),
               cm.decode("llama-2-7b", "h100-sxm", batch=8, context=1024).to_frame()):
        built = pd.DataFrame({c: df[c].to_numpy() for c in df.columns})
        pd.testing.assert_frame_equal(df, built, check_exact=True)
        assert df._mgr.is_consolidated()


def test_point_frames_share_nothing():
    def point():
        return cm.serving_point("llama-2-7b", "h100-sxm", 1024, 256, batch=8)

    a, b = point(), point()
    kept = b.copy(deep=True)
    a.columns.name = "changed"
    a.loc[0, "model"] = "another model"
    a.loc[0, "decode_bound"] = "compute"
    a.loc[0, "ttft_s"] = -1.0
    a.loc[0, "n_devices"] = 7
    for df in (b, point()):
        assert df.columns.name is None
        pd.testing.assert_frame_equal(df, kept, check_exact=True)
