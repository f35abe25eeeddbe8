"""Tests of the roofline chapter's data and charts (costmodel.viz.roofline)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import costmodel as cm
from costmodel.viz import roofline as rv
from costmodel.viz.tables import model_names

MODELS = ("llama-2-7b", "llama-3-8b", "mixtral-8x7b-v0.1")
BATCHES = (1, 2, 4, 8)
PROMPT = 1024


@pytest.fixture(scope="module")
def dataset():
    return rv.roofline_dataset(MODELS, batches=BATCHES, prompt_tokens=PROMPT, dtype="bf16")


def test_dataset_rows_and_columns(dataset):
    devices = rv.devices_with_peak("bf16")
    assert devices and all(cm.load_hardware(h).has_peak("bf16") for h in devices)
    # every (model, device, phase, batch) exactly once
    assert len(dataset) == len(MODELS) * len(devices) * 2 * len(BATCHES)
    assert not dataset.duplicated(["model", "hardware", "phase", "batch"]).any()
    assert set(dataset["model"]) == set(MODELS)
    assert set(dataset["hardware"]) == set(devices)
    assert set(dataset["phase"]) == {"prefill", "decode"}
    assert sorted(dataset["batch"].unique()) == list(BATCHES)
    expected = {
        "model", "hardware", "phase", "batch", "tokens", "flop", "bytes", "intensity_flop_per_byte",
        "time_compute_s", "time_memory_s", "time_s", "bound", "tokens_per_s", "fits",
        "peak_flop_per_s", "memory_bandwidth_bytes_per_s", "ridge_flop_per_byte", "log2_batch",
        "attained_flop_per_s",
    }
    assert expected <= set(dataset.columns)
    assert (dataset["log2_batch"] == np.log2(dataset["batch"])).all()
    # attained performance lies on the roof: min(peak, bandwidth x intensity)
    roof = np.minimum(dataset["peak_flop_per_s"],
                      dataset["memory_bandwidth_bytes_per_s"] * dataset["intensity_flop_per_byte"])
    np.testing.assert_allclose(dataset["attained_flop_per_s"], roof, rtol=1e-9)


def test_dataset_skips_devices_without_peak():
    no_peak = [h for h in cm.list_hardware() if not cm.load_hardware(h).has_peak("bf16")]
    assert no_peak, "the catalog is expected to have devices without a published bf16 peak"
    df = rv.roofline_dataset(["llama-2-7b"], hardware_ids=["h100-sxm", no_peak[0]], batches=[1])
    assert set(df["hardware"]) == {"h100-sxm"}
    with pytest.raises(ValueError):
        rv.roofline_dataset(["llama-2-7b"], hardware_ids=[no_peak[0]], batches=[1])


def test_decode_intensity_llama2_7b_batch1_bf16(dataset):
    # Hand derivation from the Llama-2-7B config (hidden_size D=4096, num_hidden_layers L=32,
    # 32 query and 32 key/value heads of width 128, intermediate_size F=11008, vocab V=32000,
    # gated MLP, untied LM head):
    #   matmul weights per token N_mm = L (4 D^2 + 3 D F) + V D
    #                                 = 32 (67,108,864 + 135,266,304) + 131,072,000 = 6,607,077,376
    #   all parameters N = N_mm + V D (embedding) + (2 L + 1) D (RMSNorms)        = 6,738,415,616
    # One decode step at cache length C = 1024 (the token attends to C + 1 positions):
    #   FLOP  = 2 N_mm + 4 L D (C + 1)     (2 per multiply-add; QK^T and AV)
    #   bytes = 2 (N - V D + D) + 2 x 2 L D (C + 1) + 2 A  (bf16 weights but the input embedding, of
    #           which one row is read; K and V of C cached tokens read and one written; the
    #           A = L (4 x 2D + 3 (D + F)) + D + V activation elements the matmuls read and write)
    # = 13.75e9 FLOP / 13.75e9 bytes, about 1 FLOP/byte: 2 N_mm FLOP over ~2 N_mm bytes.
    D, L, F, V, C = 4096, 32, 11008, 32000, PROMPT
    n_mm = L * (4 * D**2 + 3 * D * F) + V * D
    n = n_mm + V * D + (2 * L + 1) * D
    flop = 2 * n_mm + 4 * L * D * (C + 1)
    moved = 2 * (n - V * D + D) + 2 * 2 * L * D * (C + 1) + 2 * (L * (8 * D + 3 * (D + F)) + D + V)
    row = dataset.query("model == 'llama-2-7b' and hardware == 'h100-sxm' and phase == 'decode' and batch == 1")
    assert len(row) == 1
    intensity = float(row["intensity_flop_per_byte"].iloc[0])
    assert intensity == pytest.approx(flop / moved, rel=1e-9)
    assert intensity == pytest.approx(1.0, rel=0.05)
    assert row["bound"].iloc[0] == "memory"


def test_h100_sxm_bf16_ridge():
    # NVIDIA H100 Tensor Core GPU datasheet (SXM5): dense BF16 989.5 TFLOP/s (the 1,979 figure
    # carries the 2:4-sparsity asterisk), HBM3 bandwidth 3.35 TB/s.
    expected = 989.5e12 / 3.35e12
    table = cm.ridge_table(dtype="bf16")
    h100 = table.loc[table["hardware"] == "h100-sxm", "ridge_flop_per_byte"]
    assert float(h100.iloc[0]) == pytest.approx(expected, rel=1e-12)
    assert float(cm.ridge_intensity(cm.load_hardware("h100-sxm"), "bf16")) == pytest.approx(expected, rel=1e-12)
    assert table["ridge_flop_per_byte"].is_monotonic_decreasing


def test_roofline_lines_pass_through_ridge(dataset):
    lines = rv.roofline_lines(dataset, (0.1, 1e5))
    h = lines[lines["hardware"] == "h100-sxm"].sort_values("intensity_flop_per_byte")
    assert len(h) == 3
    ridge = 989.5e12 / 3.35e12
    assert h["intensity_flop_per_byte"].iloc[1] == pytest.approx(ridge)
    assert h["attainable_flop_per_s"].iloc[1] == pytest.approx(989.5e12)
    assert h["attainable_flop_per_s"].iloc[0] == pytest.approx(3.35e12 * 0.1)
    assert h["attainable_flop_per_s"].iloc[2] == pytest.approx(989.5e12)


def test_roofline_chart_has_batch_buttons_and_dropdowns(dataset):
    spec = rv.roofline_chart(dataset, device="h100-sxm", model="llama-2-7b").to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["device"]["bind"]["input"] == "select"
    assert set(params["device"]["bind"]["options"]) == set(dataset["hardware"])
    assert params["device"]["value"] == "h100-sxm"
    assert params["model"]["bind"]["input"] == "select"
    assert params["model"]["bind"]["options"] == list(MODELS)
    # the reader picks the batch size itself, not its logarithm
    batch = params["batch"]["bind"]
    assert batch["input"] == "radio"
    assert batch["options"] == list(BATCHES)
    assert params["batch"]["value"] in BATCHES
    assert "log2" not in json.dumps(params)
    text = json.dumps(spec)
    # the params drive filters, so moving them changes what is drawn
    for name in ("device", "model", "batch"):
        assert f"{name})" in text or f"=== {name}" in text or f"== {name}" in text, name


def test_roofline_chart_names_models_by_their_catalog_name(dataset):
    spec = rv.roofline_chart(dataset).to_dict()
    model = {p["name"]: p for p in spec["params"]}["model"]["bind"]
    names = model_names()
    assert model["labels"] == [names[m] for m in model["options"]]
    assert model["labels"][0] != model["options"][0]


def _layers(spec):
    for layer in spec.get("layer", []):
        yield layer
        yield from _layers(layer)


def test_roofline_chart_axes_hug_the_data_and_print_compact_ticks(dataset):
    spec = rv.roofline_chart(dataset).to_dict()
    xs = [l["encoding"]["x"] for l in _layers(spec) if "encoding" in l and "scale" in l["encoding"].get("x", {})]
    assert xs
    lo, hi = xs[0]["scale"]["domain"]
    intensities = np.concatenate([dataset["intensity_flop_per_byte"], dataset["ridge_flop_per_byte"]])
    # within a factor 2.5 of the data at both ends: no empty decades
    assert intensities.min() / 2.5 <= lo <= intensities.min()
    assert intensities.max() <= hi <= intensities.max() * 2.5
    assert xs[0]["scale"]["type"] == "log" and xs[0]["scale"]["nice"] is False
    # one labelled tick per decade, printed 1k, 100k rather than 1000, 100000
    expr = xs[0]["axis"]["labelExpr"]
    assert "'~s'" in expr and ">= 1000" in expr
    ticks = xs[0]["axis"]["values"]
    assert ticks == [10.0 ** k for k in range(round(np.log10(ticks[0])), round(np.log10(ticks[-1])) + 1)]
    assert lo <= ticks[0] < 10 * lo and hi / 10 < ticks[-1] <= hi


def test_roofline_chart_says_points_are_at_peak(dataset):
    spec = rv.roofline_chart(dataset).to_dict()
    assert (dataset["eta_compute"] == 1).all() and (dataset["eta_memory"] == 1).all()
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "100%" in subtitle and "upper bound" in subtitle
    slow = rv.roofline_dataset(["llama-2-7b"], hardware_ids=["h100-sxm"], batches=[1], eta_compute=0.5,
                               eta_memory=0.8)
    assert "50%" in " ".join(rv.roofline_chart(slow).to_dict()["title"]["subtitle"])
    fast = dataset.query("model == 'llama-2-7b' and hardware == 'h100-sxm' and batch == 1")
    assert slow["time_s"].min() > fast["time_s"].min()


def test_ridge_chart_spec():
    spec = rv.ridge_chart(cm.ridge_table()).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "ridge_flop_per_byte"
