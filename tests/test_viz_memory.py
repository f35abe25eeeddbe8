"""Tables and charts of the memory chapter (``costmodel.viz.memory``), pinned
to hand derivations from the published configs and papers.

Configs: Hugging Face ``config.json`` of each model (saved in data/models/).
"""

from __future__ import annotations

import numpy as np
import pytest

import costmodel as cm
from costmodel.viz import memory as vm


# ----------------------------------------------------------------------
# KV cache per token. Numbers are pinned once, at the quantity level
# (tests/test_quantities.py); the tables here must show those same numbers.
# ----------------------------------------------------------------------
def test_kv_per_token_table_shows_the_quantity():
    table = vm.kv_per_token_table(dtype="fp16").set_index("model")
    for model in cm.list_models():
        assert table.loc[model, "kv_bytes_per_token"] == cm.kv_cache_bytes_per_token(model, "fp16")
        assert table.loc[model, "kv_elements_per_token_layer"] == cm.load_model(model).kv_elements_per_token_layer


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
def test_weight_bytes_table_shows_the_quantity():
    df = vm.weight_bytes_table(["llama-2-7b"], group_size=128).set_index("format")
    assert df.loc["bf16", "weight_bytes"] == cm.weight_bytes("llama-2-7b", "bf16")
    assert df.loc["int4", "weight_bytes"] == cm.weight_bytes("llama-2-7b", "int4")
    assert df.loc["int4, fp16 scale per 128", "weight_bytes"] == cm.weight_bytes("llama-2-7b", "int4", group_size=128)


def test_activation_table_shows_the_quantity():
    df = vm.activation_table("gpt2", [1024]).set_index("attention_kernel")
    assert df.loc["materialised scores, dropout", "activation_bytes"] == cm.activation_bytes(
        "gpt2", 1024, flash_attention=False, dropout=True)
    assert df.loc["fused attention, no dropout", "activation_bytes"] == cm.activation_bytes("gpt2", 1024)


def test_training_state_table_shows_the_quantities():
    row = vm.training_state_table(["llama-2-7b"], "h100-sxm").iloc[0]
    assert row["training_state_bytes"] == cm.training_state_bytes("llama-2-7b")
    assert row["devices_needed"] == cm.devices_needed(cm.training_state_bytes("llama-2-7b"), "h100-sxm")


def test_kv_headroom_table_shows_the_quantities():
    row = vm.kv_headroom_table(["llama-3-8b"], ["h100-sxm"]).iloc[0]
    assert row["weight_bytes"] == cm.weight_bytes("llama-3-8b")
    assert row["kv_tokens_that_fit"] == cm.kv_tokens_that_fit("llama-3-8b", "h100-sxm")


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
    # 68,976,648,192 params x 2 B = 137.95 GB of bf16 weights > 85.5 GB (H100 SXM: nvidia-smi total 81,559 MiB,
    # github.com/wilicc/gpu-burn/issues/114)
    bf16 = cell.loc[("llama-2-70b", "h100-sxm", "bf16")]
    assert bf16["weight_bytes"] == 68_976_648_192 * 2
    assert bf16["weight_bytes"] > bf16["memory_bytes"] == 81559 * 2**20
    assert not bf16["fits"] and bf16["status"] == "does not fit" and bf16["mark"] == "✗"
    # int4 (GPTQ checkpoint, tests/test_quantities.py) + 4096 tokens x 327,680 B of KV cache < 150.75 GB
    # (H200: nvidia-smi total 143,771 MiB, github.com/thamada/gls gls/H200_smi.py @c0bed08)
    int4 = cell.loc[("llama-2-70b", "h200-sxm", "int4")]
    expected = cm.weight_bytes("llama-2-70b", "int4") + 4096 * 2 * 80 * 8 * 128 * 2
    assert int4["total_bytes"] == expected
    assert int4["fits"] == (expected <= 143771 * 2**20) and int4["fits"]
    assert int4["fraction_of_memory"] == pytest.approx(expected / (143771 * 2**20))


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


def test_fit_heatmap_records_carry_every_encoded_field(fit_data):
    # every field the chart encodes is in the inline records, or cells stack on one row
    spec = vm.fit_heatmap(fit_data).to_dict()
    fields = {e["field"] for layer in spec["layer"] for e in layer["encoding"].values() if "field" in e}
    data = spec["layer"][0].get("data", spec.get("data"))
    record = (data["values"] if "values" in data else spec["datasets"][data["name"]])[0]
    assert fields <= set(record)
