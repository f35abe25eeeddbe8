"""Tables and charts of the memory chapter (``costmodel.viz.memory``), pinned
to hand derivations from the published configs and papers.

Configs: Hugging Face ``config.json`` of each model (saved in data/models/).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.symbols import S
from costmodel.viz import memory as vm


# ----------------------------------------------------------------------
# KV cache per token
# ----------------------------------------------------------------------
# 2 (K and V) x L x K x d_h x bytes, from each HF config.json
KV_PER_TOKEN_FP16 = [
    ("llama-2-7b", 2 * 32 * 32 * 128 * 2),  # Touvron et al. 2023: L=32, H=K=32 (MHA), d_h=128 -> 524,288
    ("llama-2-70b", 2 * 80 * 8 * 128 * 2),  # L=80, K=8 (GQA)
    ("mistral-7b-v0.1", 2 * 32 * 8 * 128 * 2),  # Jiang et al. 2023 Table 1: n_layers 32, n_kv_heads 8, head_dim 128
    ("gemma-2b", 2 * 18 * 1 * 256 * 2),  # MQA: one KV head of width 256, 18 layers
    ("deepseek-v3", (512 + 64) * 61 * 2),  # MLA: (kv_lora_rank + qk_rope_head_dim) x L, DeepSeek-AI 2024
]


@pytest.mark.parametrize("model,expected", KV_PER_TOKEN_FP16, ids=[m for m, _ in KV_PER_TOKEN_FP16])
def test_kv_per_token_table_matches_hand_derivation(model, expected):
    table = vm.kv_per_token_table(dtype="fp16").set_index("model")
    assert table.loc[model, "kv_bytes_per_token"] == expected


def test_llama_2_7b_kv_per_token_is_half_a_mebibyte():
    # 2 x 32 layers x 32 heads x 128 x 2 B = 524,288 B = 0.5 MiB (Touvron et al. 2023 config)
    assert cm.kv_cache_bytes_per_token("llama-2-7b", "fp16") == 524_288


def test_kv_per_token_table_covers_catalog_and_is_sorted():
    table = vm.kv_per_token_table()
    assert sorted(table["model"]) == sorted(cm.list_models())
    assert table["kv_bytes_per_token"].is_monotonic_decreasing
    assert set(table["attention"]) >= {"MHA", "GQA", "MQA", "MLA"}


# ----------------------------------------------------------------------
# GQA versus the MHA twin (Mistral 7B)
# ----------------------------------------------------------------------
def test_mha_twin_has_one_kv_head_per_query_head():
    twin = vm.mha_twin("mistral-7b-v0.1")
    assert twin.n_kv_heads == twin.n_heads == 32
    assert twin.attention_kind == "MHA"


def test_mistral_gqa_ratio_is_h_over_k():
    # Jiang et al. 2023, Table 1: n_heads 32, n_kv_heads 8 -> the cache shrinks 32/8 = 4x
    df = vm.gqa_comparison("mistral-7b-v0.1", tokens=32768).set_index("variant")
    ratio = df.loc["MHA twin", "kv_bytes_per_token"] / df.loc["as published", "kv_bytes_per_token"]
    assert ratio == pytest.approx(32 / 8)
    for col in ("kv_cache_bytes", "kv_cache_bytes_no_window"):
        assert df.loc["MHA twin", col] / df.loc["as published", col] == pytest.approx(4)


def test_mistral_cache_at_32k_is_capped_by_the_window():
    # Jiang et al. 2023: sliding window W = 4096 in every layer, so the rolling
    # buffer holds 4096 tokens: 4096 x 131,072 B = 536,870,912 B at any longer context.
    df = vm.gqa_comparison("mistral-7b-v0.1", tokens=32768).set_index("variant")
    assert df.loc["as published", "kv_cache_bytes"] == 4096 * 2 * 32 * 8 * 128 * 2
    assert df.loc["as published", "kv_cache_bytes"] == cm.kv_cache_bytes("mistral-7b-v0.1", 4096, "bf16")
    # without the window every block is global: 32,768 tokens x 131,072 B
    assert df.loc["as published", "kv_cache_bytes_no_window"] == 32768 * 131072


def test_kv_vs_context_flattens_after_the_window_only_for_windowed_models():
    contexts = 2 ** np.arange(10, 17)
    df = vm.kv_vs_context_table(["mistral-7b-v0.1", "llama-2-7b"], contexts)
    mistral = df[df["model"] == "mistral-7b-v0.1"].set_index("context_tokens")["kv_cache_bytes"]
    llama = df[df["model"] == "llama-2-7b"].set_index("context_tokens")["kv_cache_bytes"]
    assert mistral.loc[32768] == mistral.loc[4096]
    assert mistral.loc[2048] < mistral.loc[4096]
    # no window: linear in context, 524,288 B per token
    assert np.allclose(llama.to_numpy(), contexts * 524_288)


def test_kv_vs_context_chart_uses_log_axes():
    spec = vm.kv_vs_context_chart(["llama-2-7b", "mistral-7b-v0.1"], [1024, 4096, 32768]).to_dict()
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["encoding"]["y"]["scale"]["type"] == "log"


# ----------------------------------------------------------------------
# Weights, activations, training state
# ----------------------------------------------------------------------
def test_weight_bytes_table_int4_group_scales():
    # int4 = 0.5 B per weight; one fp16 scale (2 B) per 128 weights adds 2/128 B
    df = vm.weight_bytes_table(["llama-2-7b"], group_size=128).set_index("format")
    n = 6_738_415_616  # derived from the Llama-2-7b config (HF safetensors total less 32 x 64 rotary buffers)
    assert df.loc["bf16", "weight_bytes"] == n * 2
    assert df.loc["int4", "weight_bytes"] == n * 0.5
    assert df.loc["int4, fp16 scale per 128", "bytes_per_param"] == pytest.approx(0.5 + 2 / 128)


def test_activations_reduce_to_korthikanti_eq1():
    # Korthikanti et al. 2022, eq. (1): s b h (34 + 5 a s / h) bytes per layer
    gpt = {S.n_kv: S.n_h, S.d_h: S.d / S.n_h, S.d_v: S.d / S.n_h, S.f: 4 * S.d, S.g: 0, S.b_a: 2, S.p_drop: 1, S.phi_fa: 0}
    reduced = F.ACTIVATION_BYTES_PER_BLOCK.subs(gpt)
    assert sp.simplify(reduced - (34 * S.s * S.B * S.d + 5 * S.n_h * S.s**2 * S.B)) == 0


def test_activation_table_gpt2_matches_eq1_numerically():
    # GPT-2 small: h = 768, a = 12, 12 layers, F = 4h, plain GELU MLP (HF config)
    s, h, a, L = 1024, 768, 12, 12
    df = vm.activation_table("gpt2", [s]).set_index("attention_kernel")
    assert df.loc["materialised scores, dropout", "activation_bytes"] == pytest.approx(L * (34 * s * h + 5 * a * s * s))
    assert df.loc["fused attention, no dropout", "activation_bytes"] < df.loc["materialised scores, dropout", "activation_bytes"]


def test_training_state_is_16_bytes_per_param():
    # Rajbhandari et al. 2020 (ZeRO), Sec. 3.1: mixed-precision Adam holds 2 + 2 + 12 = 16 bytes per parameter
    df = vm.training_state_table(["llama-2-7b"], "h100-sxm").iloc[0]
    assert df["training_state_bytes"] == 16 * 6_738_415_616
    assert df["devices_needed"] == math.ceil(16 * 6_738_415_616 / 80e9)


def test_kv_headroom_table():
    row = vm.kv_headroom_table(["llama-3-8b"], ["h100-sxm"]).iloc[0]
    # 8,030,261,248 params x 2 B (Llama-3-8B index total_size 16,060,522,496 B); 80 GB H100
    assert row["weight_bytes"] == 16_060_522_496
    assert row["kv_tokens_that_fit"] == (80e9 - 16_060_522_496) // (2 * 32 * 8 * 128 * 2)


# ----------------------------------------------------------------------
# Fit heatmap
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def fit_data():
    return vm.fit_heatmap_data(context=4096, batch=1)


def test_fit_heatmap_data_covers_every_model_device_dtype(fit_data):
    keys = set(zip(fit_data["model"], fit_data["hardware"], fit_data["weight_dtype"]))
    expected = {(m, h, d) for m in cm.list_models() for h in cm.list_hardware() for d in vm.FIT_DTYPES}
    assert keys == expected
    assert len(fit_data) == len(expected)


def test_llama_2_70b_bf16_does_not_fit_one_h100_but_int4_fits_h200(fit_data):
    cell = fit_data.set_index(["model", "hardware", "weight_dtype"])
    # 68,976,648,192 params x 2 B = 137.95 GB of bf16 weights > 80 GB (H100 SXM)
    bf16 = cell.loc[("llama-2-70b", "h100-sxm", "bf16")]
    assert bf16["weight_bytes"] == 68_976_648_192 * 2
    assert bf16["weight_bytes"] > bf16["memory_bytes"] == 80e9
    assert not bf16["fits"] and bf16["status"] == "does not fit" and bf16["mark"] == "✗"
    # int4: 68,976,648,192 x 0.5 B + 4096 tokens x 327,680 B of KV cache < 141 GB (H200)
    int4 = cell.loc[("llama-2-70b", "h200-sxm", "int4")]
    expected = 68_976_648_192 * 0.5 + 4096 * 2 * 80 * 8 * 128 * 2
    assert int4["total_bytes"] == expected
    assert int4["fits"] == (expected <= 141e9) and int4["fits"]
    assert int4["fraction_of_memory"] == pytest.approx(expected / 141e9)


def test_fit_heatmap_marks_devices_without_memory(fit_data):
    nomem = fit_data[~np.isfinite(fit_data["memory_bytes"].astype(float))]
    assert (nomem["status"] == "no memory figure").all() and (nomem["mark"] == "?").all()


def test_quantising_never_loses_a_fit(fit_data):
    wide = fit_data.pivot_table(index=["model", "hardware"], columns="weight_dtype", values="fits", aggfunc="first")
    assert (wide["int8"] >= wide["bf16"]).all() and (wide["int4"] >= wide["int8"]).all()


def test_fit_heatmap_spec_has_dtype_param(fit_data):
    spec = vm.fit_heatmap(fit_data).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert "weight_dtype" in params
    bind = params["weight_dtype"]["bind"]
    assert bind["input"] == "select" and bind["options"] == list(vm.FIT_DTYPES)
    filters = [t["filter"] for layer in spec["layer"] for t in layer.get("transform", [])]
    filters += [t["filter"] for t in spec.get("transform", [])]
    assert any("weight_dtype" in str(f) for f in filters)
