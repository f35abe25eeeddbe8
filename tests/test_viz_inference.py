"""Tables and charts of the inference and validation chapters (costmodel.viz.inference).

The tables must show exactly what the step model computes (prefill, decode,
serving_point, weight_bytes_stored), over the inputs they say; the charts must
carry their data and the HTML-bound parameters that make them work without a
kernel. Published numbers are pinned once, at the quantity level
(tests/test_inference.py); where one is repeated here, its source is named.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import costmodel as cm
from costmodel import calibrate as C
from costmodel.inference import IDEAL
from costmodel.viz import inference as vi

MODEL, DEVICE = "llama-3.1-8b", "h100-sxm"


def _params(chart) -> dict:
    return {p["name"]: p for p in chart.to_dict()["params"]}


def _uses(chart, name: str) -> bool:
    """The spec refers to the parameter somewhere other than its definition."""
    spec = chart.to_dict()
    spec.pop("params")
    return name in json.dumps(spec)


def _values(chart) -> list[dict]:
    """Every inline record of a chart (layers, concatenations)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and "values" in data:
                found.extend(data["values"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    spec = chart.to_dict()
    walk(spec)
    for ds in spec.get("datasets", {}).values():
        found.extend(ds)
    return found


# ----------------------------------------------------------------------
# prefill and decode
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def phases():
    return vi.phase_table(MODEL, [DEVICE, "l4"], context=1024)


def test_phase_table_is_the_step_model(phases):
    assert set(phases["phase"]) == {"prefill", "decode"} and set(phases["hardware"]) == {DEVICE, "l4"}
    assert phases["fits"].all()
    row = phases.query("hardware == @DEVICE and phase == 'prefill' and tokens_per_step == 512").iloc[0]
    assert row["bound_latency_s"] == cm.prefill(MODEL, DEVICE, prompt_tokens=512, efficiency=IDEAL).bound_latency_s
    row = phases.query("hardware == @DEVICE and phase == 'decode' and tokens_per_step == 16").iloc[0]
    ref = cm.decode(MODEL, DEVICE, batch=16, context=1024, efficiency=IDEAL)
    assert row["bound_tokens_per_s"] == pytest.approx(ref.bound_tokens_per_s, rel=1e-12)


def test_phases_cross_the_ridge_at_its_tokens(phases):
    # bf16 prefill: about 2 FLOP per weight and token over 2 bytes per weight, so intensity ~ T;
    # the H100 SXM ridge is 989.5e12 / 3.35e12 = 295 FLOP/byte (NVIDIA H100 datasheet)
    pre = phases.query("hardware == @DEVICE and phase == 'prefill'").set_index("tokens_per_step")["bound"]
    assert pre[256] == "memory" and pre[512] == "compute"
    # decode with 1024 cached tokens stays memory-bound at every batch that fits
    dec = phases.query("hardware == @DEVICE and phase == 'decode'")
    assert (dec["bound"] == "memory").all()
    # and the batches that do not fit are dropped, not drawn as NaN
    assert dec["tokens_per_step"].max() < max(vi.DEFAULT_TOKENS)


def test_phase_chart_has_a_device_menu(phases):
    chart = vi.phase_chart(phases, device="l4")
    p = _params(chart)["phase_device"]
    assert p["bind"]["input"] == "select" and p["value"] == "l4" and set(p["bind"]["options"]) == {DEVICE, "l4"}
    assert _uses(chart, "phase_device")


# ----------------------------------------------------------------------
# the step's three figures
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def steps():
    return vi.step_bounds_table(MODEL, "h200-sxm", batches=[1, 64, 512], contexts=[256, 1024],
                                efficiency="tensorrt-llm")


def test_step_bounds_order(steps):
    wide = steps.pivot_table(index=["batch", "context"], columns="figure", values="tpot_s")
    assert set(wide.columns) == {"ideal bound", "per-component rooflines at peak", "expected (fitted:tensorrt-llm)"}
    # a sum of per-component maxima is never below the maximum of the sums; efficiencies and overheads add
    assert (wide["per-component rooflines at peak"] >= wide["ideal bound"] * (1 - 1e-12)).all()
    assert (wide["expected (fitted:tensorrt-llm)"] > wide["per-component rooflines at peak"]).all()
    # at batch 1 the step is one memory-bound roofline: the two ideal figures agree
    assert wide.loc[(1, 1024), "per-component rooflines at peak"] == pytest.approx(wide.loc[(1, 1024), "ideal bound"])
    # at batch 512 the matmuls cross the ridge while attention stays memory-bound: the bound is optimistic
    assert wide.loc[(512, 1024), "per-component rooflines at peak"] > 1.1 * wide.loc[(512, 1024), "ideal bound"]
    r = steps.query("figure == 'ideal bound'")
    assert (r["ratio_to_bound"] == 1).all()


def test_step_bounds_chart_has_a_context_slider(steps):
    chart = vi.step_bounds_chart(steps, context=1024)
    s = _params(chart)["step_log2_context"]["bind"]
    assert (s["input"], s["min"], s["max"], s["step"]) == ("range", 8, 10, 1)
    assert _params(chart)["step_log2_context"]["value"] == 10
    assert _uses(chart, "step_log2_context")


# ----------------------------------------------------------------------
# TTFT and TPOT
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def latency():
    return vi.latency_table(["phi-1.5", MODEL], DEVICE, batches=[1, 8, 512], contexts=[1024, 4096, 32768],
                            efficiency="tensorrt-llm")


def test_latency_table_stays_within_the_trained_context(latency):
    # phi-1.5 config.json: max_position_embeddings 2048
    phi = latency[latency["model"] == "phi-1.5"]
    assert set(phi["context"]) == {1024}
    assert set(latency.loc[latency["model"] == MODEL, "context"]) == {1024, 4096, 32768}
    assert set(latency["metric"]) == {"TTFT", "TPOT"} and set(latency["figure"]) == {"ideal bound", "expected"}


def test_latency_table_is_the_step_model(latency):
    t = latency.set_index(["model", "metric", "figure", "batch", "context"])["ms"]
    ref = cm.prefill(MODEL, DEVICE, batch=8, prompt_tokens=4096, efficiency="tensorrt-llm")
    assert t[(MODEL, "TTFT", "expected", 8, 4096)] == pytest.approx(1e3 * ref.latency_s, rel=1e-12)
    assert t[(MODEL, "TTFT", "ideal bound", 8, 4096)] == pytest.approx(1e3 * ref.bound_latency_s, rel=1e-12)
    ref = cm.decode(MODEL, DEVICE, batch=8, context=4096, efficiency=IDEAL)
    assert t[(MODEL, "TPOT", "ideal bound", 8, 4096)] == pytest.approx(1e3 * ref.bound_latency_s, rel=1e-12)
    # 512 sequences of 32k tokens do not fit in 80 GB: NaN, marked
    row = latency.query("model == @MODEL and metric == 'TPOT' and batch == 512 and context == 32768")
    assert row["ms"].isna().all() and not row["fits"].any()
    fine = latency[latency["fits"]]
    wide = fine.pivot_table(index=["model", "metric", "batch", "context"], columns="figure", values="ms")
    assert (wide["expected"] > wide["ideal bound"]).all()


def test_latency_chart_has_two_sliders_and_a_menu(latency):
    chart = vi.latency_chart(latency, model=MODEL, context=4096, batch=8)
    p = _params(chart)
    assert p["lat_model"]["bind"]["input"] == "select" and p["lat_model"]["value"] == MODEL
    assert (p["lat_log2_context"]["bind"]["min"], p["lat_log2_context"]["bind"]["max"]) == (10, 15)
    assert p["lat_log2_context"]["value"] == 12
    assert (p["lat_log2_batch"]["bind"]["min"], p["lat_log2_batch"]["bind"]["max"]) == (0, 9)
    assert p["lat_log2_batch"]["value"] == 3
    for name in p:
        assert _uses(chart, name), name
    records = _values(chart)
    assert len(records) == len(latency)
    assert {"model", "metric", "figure", "batch", "context", "ms", "fits"} <= set(records[0])


# ----------------------------------------------------------------------
# serving
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def serving():
    configs = [{"model": MODEL, "hardware": DEVICE}, {"model": "llama-3-70b", "hardware": DEVICE, "n_devices": 4},
               {"model": "llama-2-70b", "hardware": "l4"}]  # 138 GB of weights on one 24 GB card: left out
    return vi.serving_table(configs, 1024, 256, batches=[1, 16, 256, 1024], efficiency="tensorrt-llm")


def test_serving_table_ends_at_the_memory_limit(serving):
    assert set(serving["config"]) == {f"{MODEL}, bf16, 1 x {DEVICE}", f"llama-3-70b, bf16, 4 x {DEVICE}"}
    for _, g in serving.groupby("config"):
        b_max = g["max_batch"].iloc[0]
        assert g["batch"].max() == b_max and (g["batch"] <= b_max).all() and g["fits"].all()
        assert 1024 not in set(g["batch"])  # above the limit for both
    top = serving[serving["config"].str.startswith(MODEL)].iloc[-1]
    tput = cm.serving_throughput(MODEL, DEVICE, 1024, 256, efficiency="tensorrt-llm")
    assert top["output_tokens_per_s"] == pytest.approx(tput, rel=1e-12)
    assert (serving["bound_output_tokens_per_s"] > serving["output_tokens_per_s"]).all()


def test_serving_chart_marks_the_limit(serving):
    chart = vi.serving_chart(serving)
    p = _params(chart)["serving_config"]
    assert p["bind"]["input"] == "select" and p["bind"]["options"] == list(dict.fromkeys(serving["config"]))
    text = json.dumps(chart.to_dict())
    assert "memory limit: batch" in text and "datum.batch === datum.max_batch" in text.replace('"', "")


# ----------------------------------------------------------------------
# tensor parallelism
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tp():
    return vi.tensor_parallel_table([MODEL, "llama-3-70b"], DEVICE, n_devices=(1, 2, 3, 4), efficiency="tensorrt-llm")


def test_tensor_parallel_table(tp):
    n = tp.groupby("model")["n_devices"].apply(list).to_dict()
    # 3 does not divide 32 heads; Llama 3 70B (140 GB in bf16) needs two 80 GB devices
    assert n == {MODEL: [1, 2, 4], "llama-3-70b": [2, 4]}
    one = tp.query("model == @MODEL").set_index("n_devices")
    assert one.loc[1, "communication_s"] == 0 and one.loc[2, "communication_s"] > 0
    assert one.loc[2, "tpot_bound_s"] == pytest.approx(
        cm.decode(MODEL, DEVICE, context=1024, n_devices=2, efficiency=IDEAL).bound_latency_s)
    np.testing.assert_allclose(tp["output_tokens_per_s_per_device"], tp["output_tokens_per_s"] / tp["n_devices"])


def test_tensor_parallel_chart(tp):
    chart = vi.tensor_parallel_chart(tp, model="llama-3-70b")
    assert _params(chart)["tp_model"]["value"] == "llama-3-70b" and _uses(chart, "tp_model")


# ----------------------------------------------------------------------
# quantisation
# ----------------------------------------------------------------------
def test_quantisation_table():
    q = vi.quantisation_table(["llama-3-8b"]).set_index("format")
    assert list(q.index) == list(vi.QUANT_FORMATS)
    assert q.loc["bf16", "stored_over_nominal"] == 1
    # GPTQ int4 with 16-bit embeddings and LM head: 43 % over N / 2 bytes (tests/test_inference.py derives it)
    assert q.loc["int4", "stored_over_nominal"] == pytest.approx(1.4266, abs=1e-4)
    assert q.loc["int4", "nominal_bits"] == 4 and q.loc["fp8", "nominal_bits"] == 8
    assert q.loc["q4_k_m", "computes_in"] == "16 bit (weight-only)" and q.loc["fp8", "computes_in"] == "fp8"


def test_weight_only_formats_do_not_speed_up_prefill():
    s = vi.quantisation_speed_table(MODEL, DEVICE, efficiency="tensorrt-llm").set_index("format")
    assert s.loc["int4", "compute_dtype"] == "bf16" and s.loc["fp8", "compute_dtype"] == "fp8"
    assert s.loc["int4", "ttft_bound_s"] == s.loc["bf16", "ttft_bound_s"]
    assert s.loc["fp8", "ttft_bound_s"] < 0.6 * s.loc["bf16", "ttft_bound_s"]
    assert s.loc["int4", "tpot_bound_s"] < 0.5 * s.loc["bf16", "tpot_bound_s"]


def test_quantisation_chart():
    chart = vi.quantisation_chart(vi.quantisation_table([MODEL, "gemma-2b"]), model="gemma-2b")
    assert _params(chart)["quant_model"]["value"] == "gemma-2b" and _uses(chart, "quant_model")


# ----------------------------------------------------------------------
# edge devices
# ----------------------------------------------------------------------
def test_edge_table_flags_devices():
    e = vi.edge_table(["llama-3.2-1b", "llama-3-70b"], ["apple-m2", "jetson-agx-orin-64gb", "snapdragon-8-gen-3",
                                                        "jetson-orin-nano-8gb"])
    t = e.set_index(["model", "hardware"])
    # Apple publishes no GPU peak; the Jetson AGX Orin datasheet gives an fp32 CUDA-core peak
    assert not t.loc[("llama-3.2-1b", "apple-m2"), "has_compute_peak"]
    assert t.loc[("llama-3.2-1b", "jetson-agx-orin-64gb"), "has_compute_peak"]
    assert t.loc[("llama-3.2-1b", "snapdragon-8-gen-3"), "memory_status"] == "no memory figure"
    assert t.loc[("llama-3-70b", "jetson-orin-nano-8gb"), "memory_status"] == "does not fit"
    assert math.isnan(t.loc[("llama-3-70b", "jetson-orin-nano-8gb"), "tokens_per_s"])
    ref = cm.decode("llama-3.2-1b", "apple-m2", context=512, weight_dtype="q4_k_m", efficiency="llama.cpp")
    assert t.loc[("llama-3.2-1b", "apple-m2"), "tokens_per_s"] == ref.tokens_per_s
    assert t.loc[("llama-3.2-1b", "apple-m2"), "bound_tokens_per_s"] == ref.bound_tokens_per_s
    chart = vi.edge_chart(e)
    assert _uses(chart, "edge_model")


def test_edge_devices_are_the_small_ones():
    ids = vi.edge_devices()
    assert "apple-m2-ultra" in ids and "jetson-orin-nano-8gb" in ids and "snapdragon-8-gen-3" in ids
    assert "h100-sxm" not in ids and "rtx-4090" not in ids


# ----------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def residuals():
    return vi.residuals_table()


def test_residuals_cover_every_usable_row(residuals):
    usable = C.usable_measurements()
    assert list(residuals["id"]) == list(usable["id"])
    ok = residuals[residuals["predictable"]]
    assert len(ok) >= 80 and (residuals["reason"] == "").equals(residuals["predictable"])
    # the ideal bound is never beaten (speed ratios: bound over measured)
    assert (ok["bound_ratio"] >= 1).all()
    assert ok["predicted"].notna().all() and residuals.loc[~residuals["predictable"], "predicted"].isna().all()
    # a row is unpredictable for a prefill on a device without a compute peak, or for a format the engine did
    # not run (calibrate.NOT_PREDICTED: gpt-oss on llama.cpp)
    bad = residuals[~residuals["predictable"]]
    known = tuple(C.NOT_PREDICTED.values())
    assert (bad["reason"].str.contains("publishes no compute peak") | bad["reason"].isin(known)).all()
    assert bad["reason"].isin(known).sum() == ((bad["engine"] == "llama.cpp") & (bad["fmt"] == "mxfp4-moe")).sum() > 0


def test_residual_ratio_is_a_speed(residuals):
    r = residuals[(residuals["metric"] == "ttft_s") & residuals["predictable"]].iloc[0]
    assert r["ratio"] == pytest.approx(r["measured"] / r["predicted"])
    r = residuals[(residuals["metric"] == "decode_tokens_per_s") & residuals["predictable"]].iloc[0]
    assert r["ratio"] == pytest.approx(r["predicted"] / r["measured"])
    row = C.usable_measurements().set_index("id").loc[r["id"]]
    p, b = C.predict(row, C.efficiency_profile(r["engine"]))
    assert (r["predicted"], r["bound"]) == (p, b) and r["profile"] == f"fitted:{r['engine']}"


def test_excluded_measurements_say_why():
    raw = pd.read_csv(C.EFFICIENCY_CSV.parent / "measurements" / "inference.csv", dtype=str)
    ex = vi.excluded_measurements(raw)
    usable = C.usable_measurements(raw)
    assert len(ex) + len(usable) == len(raw) and not set(ex["id"]) & set(usable["id"])
    assert ex["reason"].notna().all() and (ex["reason"] != "").all()
    # the TensorRT-LLM v0.6.1 A100 rows at TP > 1 (data/measurements/README.md, "Contradictions kept")
    unclear = ex[ex["metric"] == "output_tokens_per_s_basis_unclear"]
    assert len(unclear) and unclear["reason"].str.contains("unclear").all()
    # a row blamed on its precision label becomes usable once the label is one the calibration maps
    blamed = ex[ex["reason"].str.startswith("precision label")]
    assert len(blamed)
    fixed = raw[raw["id"].isin(blamed["id"])].assign(weight_dtype="bf16")
    assert len(C.usable_measurements(fixed)) == len(blamed)


def test_validation_charts(residuals):
    ok = residuals[residuals["predictable"]]
    chart = vi.predicted_vs_measured_chart(ok, {"fitted": "predicted", "ideal bound": "bound"})
    p = _params(chart)["prediction"]
    assert p["bind"]["options"] == ["fitted", "ideal bound"] and _uses(chart, "prediction")
    assert len([v for v in _values(chart) if "prediction" in v]) == 2 * len(ok)
    chart = vi.residuals_chart(ok, {"device": "hw", "engine": "engine"}, {"fitted": "ratio", "bound": "bound_ratio"})
    p = _params(chart)
    assert p["residual_grouping"]["bind"]["options"] == ["device", "engine"]
    assert p["residual_ratio"]["bind"]["options"] == ["fitted", "bound"]
    assert _uses(chart, "residual_grouping") and _uses(chart, "residual_ratio")
