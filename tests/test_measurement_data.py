"""Published measurements and prices in data/: schema, units, provenance, and spot checks against the sources.

The catalogs are described in data/measurements/README.md and data/prices/README.md.
"""

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

INFERENCE_UNITS = {
    "output_tokens_per_s_total": "token/s",
    "output_tokens_per_s_per_device": "token/s/device",
    "output_tokens_per_s_basis_unclear": "token/s",
    "output_tokens_per_s_per_user": "token/s",
    "decode_tokens_per_s": "token/s",
    "prefill_tokens_per_s": "token/s",
    "prefill_time_s": "s",
    "ttft_s": "s",
    "tpot_s": "s",
    "tpot_fit_intercept_s": "s",
    "tpot_fit_slope_s_per_context_token": "s/token",
    "latency_per_input_token_s": "s/token",
    "bandwidth_utilisation": "1",
    "achieved_bandwidth_bytes_per_s": "B/s",
    "latency_ratio": "1",
    "latency_reduction_fraction": "1",
    "throughput_ratio": "1",
}
TRAINING_UNITS = {
    "training_tokens": "token",
    "dataset_tokens": "token",
    "model_params": "param",
    "model_params_active": "param",
    "device_time": "device_s",
    "wall_time": "s",
    "tokens_per_s_per_device": "token/s/device",
    "flop_per_s_per_device": "FLOP/s/device",
    "device_time_per_token": "device_s/token",
    "global_batch_tokens": "token",
    "device_power": "W",
    "energy": "J",
    "co2e": "kg",
    "cost": "USD",
    "price_per_device_hour_assumed": "USD/device_h",
    "pue": "1",
    "mfu": "1",
    "hfu": "1",
}
ROUTING_UNITS = {"cost_reduction": "1", "llm_call_share": "1", "llm_calls_avoided": "1"}
SPECULATIVE_UNITS = {"acceptance_rate": "1", "draft_tokens": "token", "cost_ratio": "1", "speedup": "1"}
FRACTIONS = {"bandwidth_utilisation", "latency_reduction_fraction", "mfu", "hfu"}
VALUE_KINDS = {"point", "approx", "lower_bound", "upper_bound", "range_low", "range_high", "estimate",
               "nominal", "fit", "limit", "illustrative"}
BATCHING = {"", "static", "inflight_max_load", "fixed_concurrency", "single_stream", "mlperf_offline", "mlperf_server"}
PHASES = {"", "pretraining", "context_extension", "post_training", "all"}
ENERGY_UNITS = {"electricity_price": {"USD/kWh"}, "pue": {"1"}, "carbon_intensity": {"gCO2/kWh", "gCO2e/kWh"}}
CLOUD_PRICING = {"on_demand", "capacity_block", "committed_1y", "committed_3y"}
TAGS = {"V1", "V2", "DER"}
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
ID = re.compile(r"^[a-z0-9][a-z0-9._/\-]*$")

FILES = {
    "inference": DATA / "measurements" / "inference.csv",
    "training": DATA / "measurements" / "training.csv",
    "routing": DATA / "measurements" / "routing.csv",
    "speculative": DATA / "measurements" / "speculative.csv",
    "api": DATA / "prices" / "api.csv",
    "cloud": DATA / "prices" / "cloud.csv",
    "energy": DATA / "prices" / "energy.csv",
}
COMMON = ["id", "source", "source_detail", "published", "retrieved", "tag", "notes"]
HARDWARE_COLS = ["hardware", "hardware_in_catalog", "hardware_match", "hardware_candidates", "hardware_as_stated"]
REQUIRED = {
    "inference": COMMON + HARDWARE_COLS + [
        "model", "model_in_catalog", "model_name", "engine", "engine_version", "weight_dtype", "kv_dtype",
        "n_devices", "tensor_parallel", "batch", "batching", "input_tokens", "output_tokens",
        "metric", "value", "unit", "value_kind", "value_as_published", "baseline"],
    "training": COMMON + HARDWARE_COLS + [
        "run", "phase", "model", "model_in_catalog", "model_name", "n_devices", "parallelism", "precision",
        "metric", "value", "unit", "value_kind", "value_as_published"],
    "routing": COMMON + ["system", "strategy", "benchmark", "strong", "weak", "quality", "metric", "value", "unit",
                         "value_kind", "value_as_published", "bibkey"],
    "speculative": COMMON + ["method", "target", "draft", "setting", "hardware_as_stated", "batch", "metric", "value",
                             "unit", "value_kind", "value_as_published", "bibkey"],
    "api": COMMON + ["provider", "model", "context_tier", "input_usd_per_1m_tokens", "output_usd_per_1m_tokens",
                     "price_as_published", "date", "date_note"],
    "cloud": COMMON + HARDWARE_COLS + [
        "provider", "offering", "pricing_model", "devices_per_instance", "usd_per_instance_hour",
        "usd_per_device_hour", "per_device_derived", "price_as_published", "region", "date", "date_note"],
    "energy": COMMON + ["kind", "region", "sector", "scope", "value", "unit", "value_as_published", "period", "date"],
}
# the project's own reference notes are never a source
REFERENCE_NOTES = re.compile(r"shared/reference|reference folder|\b(?:inference|inference_measurements|training|prices|hardware|hybrid|quality)\.md\b")


def load(name):
    """All cells as strings; an empty cell is '' (= not stated)."""
    return pd.read_csv(FILES[name], dtype=str, keep_default_na=False)


def numbers(series):
    """Non-empty cells as floats; raises if one does not parse."""
    return pd.to_numeric(series[series != ""], errors="raise").astype(float)


def one(df, **conds):
    mask = pd.Series(True, index=df.index)
    for col, val in conds.items():
        mask &= df[col] == val
    hits = df[mask]
    assert len(hits) == 1, (conds, len(hits))
    return hits.iloc[0]


@pytest.fixture(scope="module")
def hardware_ids():
    return set(pd.read_csv(DATA / "hardware.csv")["id"])


@pytest.fixture(scope="module")
def model_ids():
    return set(pd.read_csv(DATA / "models" / "catalog.csv")["id"])


# ---------------------------------------------------------------- schema and provenance, every file

@pytest.mark.parametrize("name", sorted(FILES))
def test_columns_ids_and_provenance(name):
    df = load(name)
    assert len(df) > 0
    missing = set(REQUIRED[name]) - set(df.columns)
    assert not missing, missing
    assert df["id"].is_unique, df.loc[df["id"].duplicated(), "id"].tolist()
    bad_ids = [i for i in df["id"] if not ID.match(i)]
    assert not bad_ids, bad_ids
    for col in ("source", "retrieved", "tag"):
        empty = df.loc[df[col].str.strip() == "", "id"].tolist()
        assert not empty, (col, empty)
    assert df["retrieved"].str.match(DATE).all()
    assert pd.to_datetime(df["retrieved"], format="mixed").notna().all()
    assert set(df["tag"]) <= TAGS, set(df["tag"]) - TAGS
    bad_dates = df.loc[(df["published"] != "") & ~df["published"].str.match(DATE), "id"].tolist()
    assert not bad_dates, bad_dates
    cites_notes = df.loc[df["source"].str.contains(REFERENCE_NOTES), "id"].tolist()
    assert not cites_notes, cites_notes
    # a derived value must say so
    der = df[df["tag"] == "DER"]
    assert (der["notes"].str.strip() != "").all()


@pytest.mark.parametrize("name", ["inference", "training", "cloud"])
def test_hardware_ids_match_the_hardware_catalog(name, hardware_ids):
    df = load(name)
    assert set(df["hardware_in_catalog"]) <= {"true", "false"}
    assert set(df["hardware_match"]) <= {"stated", "assumed", "none"}
    in_cat = df["hardware_in_catalog"] == "true"
    # ids that claim to be in the catalog exist there, and ids that do not claim it are not catalog ids
    assert df.loc[in_cat, "hardware"].isin(hardware_ids).all(), sorted(set(df.loc[in_cat, "hardware"]) - hardware_ids)
    assert not df.loc[~in_cat, "hardware"].isin(hardware_ids).any()
    assert (df.loc[in_cat, "hardware_match"] != "none").all()
    assert (df.loc[~in_cat, "hardware_match"] == "none").all()
    assert (df.loc[in_cat, "hardware_candidates"] == df.loc[in_cat, "hardware"]).all()
    for cands in df["hardware_candidates"]:
        for c in filter(None, cands.split(";")):
            assert c in hardware_ids, c
    # an assumed mapping is explained in the notes
    assumed = df[df["hardware_match"] == "assumed"]
    assert (assumed["notes"].str.strip() != "").all()


@pytest.mark.parametrize("name", ["inference", "training"])
def test_model_ids_match_the_model_catalog(name, model_ids):
    df = load(name)
    assert set(df["model_in_catalog"]) <= {"true", "false"}
    in_cat = df["model_in_catalog"] == "true"
    assert df.loc[in_cat, "model"].isin(model_ids).all(), sorted(set(df.loc[in_cat, "model"]) - model_ids)
    assert not df.loc[~in_cat, "model"].isin(model_ids).any()
    assert (df["model_name"].str.strip() != "").all()


# ---------------------------------------------------------------- measurements

@pytest.mark.parametrize("name, units", [("inference", INFERENCE_UNITS), ("training", TRAINING_UNITS)])
def test_metrics_units_and_values(name, units):
    df = load(name)
    unknown = set(df["metric"]) - set(units)
    assert not unknown, unknown
    wrong_unit = df[df["unit"] != df["metric"].map(units)]
    assert wrong_unit.empty, wrong_unit[["id", "metric", "unit"]].values.tolist()
    assert set(df["value_kind"]) <= VALUE_KINDS, set(df["value_kind"]) - VALUE_KINDS
    assert (df["value"] != "").all(), "every measurement row carries a value"
    values = numbers(df["value"])
    assert (values > 0).all(), df.loc[values[values <= 0].index, "id"].tolist()
    frac = df["metric"].isin(FRACTIONS)
    assert (values[frac] <= 1).all()
    assert (df["value_as_published"].str.strip() != "").all()
    # ranges come in pairs (same row but for id, value, kind and notes) with low <= high
    same = [c for c in df.columns if c not in ("id", "value", "value_kind", "notes")]
    for kind in ("range_low", "range_high"):
        for _, row in df[df["value_kind"] == kind].iterrows():
            other = "range_high" if kind == "range_low" else "range_low"
            twin = df[(df[same] == row[same]).all(axis=1) & (df["value_kind"] == other)]
            assert len(twin) == 1, row["id"]
            lo, hi = (row, twin.iloc[0]) if kind == "range_low" else (twin.iloc[0], row)
            assert float(lo["value"]) <= float(hi["value"])


@pytest.mark.parametrize("name, cols", [
    ("inference", ["n_devices", "tensor_parallel", "batch", "input_tokens", "output_tokens"]),
    ("training", ["n_devices"]),
])
def test_configuration_columns_are_positive_integers(name, cols):
    df = load(name)
    for col in cols:
        vals = numbers(df[col])
        assert (vals > 0).all(), col   # not stated is empty, never zero
        assert (vals == vals.round()).all(), col


def test_inference_configuration_is_consistent():
    df = load("inference")
    assert set(df["batching"]) <= BATCHING
    tp = pd.to_numeric(df["tensor_parallel"].replace("", None))
    n = pd.to_numeric(df["n_devices"].replace("", None))
    both = tp.notna() & n.notna()
    assert (tp[both] <= n[both]).all()
    # a per-device throughput needs the device count to turn it into a system rate
    per_dev = df["metric"] == "output_tokens_per_s_per_device"
    assert (df.loc[per_dev, "n_devices"] != "").all()
    # the basis is only unclear where more than one device is involved
    unclear = df["metric"] == "output_tokens_per_s_basis_unclear"
    assert (n[unclear] > 1).all() and df.loc[unclear, "notes"].str.contains("CONFLICT").all()
    # single-stream rows are batch 1
    assert (df.loc[df["batching"] == "single_stream", "batch"] == "1").all()
    # ratio metrics say what they are relative to
    ratios = df["metric"].isin({"latency_ratio", "latency_reduction_fraction", "throughput_ratio"})
    assert (df.loc[ratios, "baseline"].str.strip() != "").all()
    assert (df.loc[~ratios, "baseline"] == "").all()
    # benchmark rules and worked examples are marked so a fit can drop them
    assert (df.loc[df["source"].str.contains("mlperf.conf|v5.0 results"), "value_kind"] == "limit").all()


def test_training_phases_and_conflicts():
    df = load("training")
    assert set(df["phase"]) <= PHASES
    # a contradiction kept as rows has a differing twin of the same run and metric;
    # one against a figure that is not entered (arithmetic) says so
    conflicts = df[df["notes"].str.contains("CONFLICT")]
    assert len(conflicts) >= 8
    for _, row in conflicts.iterrows():
        if "separate row" in row["notes"]:
            values = set(df[(df["run"] == row["run"]) & (df["metric"] == row["metric"])]["value"])
            assert len(values) >= 2, row["id"]
        else:
            assert "not entered" in row["notes"], row["id"]


# ---------------------------------------------------------------- prices

def test_api_prices():
    df = load("api")
    inp, out = numbers(df["input_usd_per_1m_tokens"]), numbers(df["output_usd_per_1m_tokens"])
    assert (inp > 0).all() and (out > 0).all()
    assert ((df["input_usd_per_1m_tokens"] != "") | (df["output_usd_per_1m_tokens"] != "")).all()
    assert (inp < 1000).all() and (out < 1000).all()   # per 1M tokens, not per 1K
    bad = df.loc[(df["date"] != "") & ~df["date"].str.match(DATE), "id"].tolist()
    assert not bad, bad
    assert ((df["date"] != "") | (df["date_note"] != "")).all()


def test_cloud_prices():
    df = load("cloud")
    assert set(df["pricing_model"]) <= CLOUD_PRICING
    assert set(df["per_device_derived"]) <= {"true", "false"}
    dev = numbers(df["usd_per_device_hour"])
    assert len(dev) == len(df) and (dev > 0).all()
    n = numbers(df["devices_per_instance"])
    assert len(n) == len(df) and (n >= 1).all()
    inst = numbers(df["usd_per_instance_hour"])
    assert (inst > 0).all()
    for i in inst.index:
        ratio = dev[i] * n[i] / inst[i]
        tol = 1e-6 if df.at[i, "per_device_derived"] == "true" else 5e-3
        assert abs(ratio - 1) <= tol, df.at[i, "id"]
    # derived per-device prices need an instance price to derive from
    assert (df.loc[df["per_device_derived"] == "true", "usd_per_instance_hour"] != "").all()
    bad = df.loc[(df["date"] != "") & ~df["date"].str.match(DATE), "id"].tolist()
    assert not bad, bad


def test_energy_rows():
    df = load("energy")
    assert set(df["kind"]) <= set(ENERGY_UNITS)
    for kind, units in ENERGY_UNITS.items():
        assert set(df.loc[df["kind"] == kind, "unit"]) <= units, kind
    v = numbers(df["value"])
    assert len(v) == len(df) and (v > 0).all()
    kinds = df["kind"]
    assert (v[kinds == "electricity_price"] < 1).all()   # USD/kWh, not cents
    assert (v[kinds == "pue"] >= 1).all() and (v[kinds == "pue"] < 3).all()
    assert (v[kinds == "carbon_intensity"] > 10).all()   # g/kWh, not kg or lb
    assert (df.loc[kinds == "carbon_intensity", "scope"] != "").all()


# ---------------------------------------------------------------- spot checks against the source text

def test_trtllm_v061_h100_table_row():
    # NVIDIA/TensorRT-LLM docs/source/performance.md @138f96d, "H100 GPUs (FP8)":
    # GPT-J 6B | 1024 | TP 1 | 128 | 128 | 26,150 out tok/s/GPU
    row = one(load("inference"), model="gpt-j-6b", hardware="h100-sxm", batch="1024", tensor_parallel="1",
              input_tokens="128", output_tokens="128", metric="output_tokens_per_s_per_device")
    assert float(row["value"]) == 26150
    assert "138f96d" in row["source"] and row["engine_version"] == "0.6.1" and row["tag"] == "V1"


def test_trtllm_v090_h200_llama70b_row():
    # TensorRT-LLM performance.md "All data was generated using version 0.9.0", "H200 GPUs (FP8)":
    # LLaMA 70B | 1024 | TP 1 | 128 | 128 | 3,989 out tok/s/GPU (Llama-2-70b per the methodology)
    row = one(load("inference"), model="llama-2-70b", hardware="h200-sxm", engine_version="0.9.0", batch="1024",
              input_tokens="128", output_tokens="128", metric="output_tokens_per_s_per_device")
    assert float(row["value"]) == 3989
    assert "0.9.0" in row["source"] and row["kv_dtype"] == "fp8"


def test_trtllm_v090_first_token_latency_row():
    # same file, Low Latency "H100 GPUs (FP8)": LLaMA 70B | 1 | TP 8 | 2048 | 85.1 ms
    row = one(load("inference"), model="llama-2-70b", hardware="h100-sxm", engine_version="0.9.0",
              tensor_parallel="8", input_tokens="2048", metric="ttft_s")
    assert float(row["value"]) == pytest.approx(0.0851)
    assert row["value_as_published"] == "85.1 ms" and row["batch"] == "1"


def test_trtllm_v012_system_total_row():
    # docs/source/performance/perf-overview.md (v0.12.0): LLaMA v3 8B, 2048/2048, TP 1, H100 80GB HBM3 FP8: 8894.11
    row = one(load("inference"), model="llama-3-8b", hardware="h100-sxm", engine_version="0.12.0",
              weight_dtype="fp8", input_tokens="2048", output_tokens="2048")
    assert row["metric"] == "output_tokens_per_s_total" and float(row["value"]) == pytest.approx(8894.11)
    assert row["batching"] == "inflight_max_load" and "perf-overview.md" in row["source"]


@pytest.mark.parametrize("hardware, dtype, tp, lengths, published", [
    # docs/source/performance/perf-overview.md (v0.12.0), Mixtral 8x7B rows of the Throughput Measurements table
    ("h100-sxm", "fp8", "2", ("2048", "2048"), "10479.45"),   # H100 80GB HBM3 / FP8, TP 2
    ("a100-sxm-80gb", "mixed", "2", ("128", "128"), "5921.41"),  # A100-SXM4-80GB / Mixed, TP 2
    ("l40s", "fp8", "4", ("2048", "2048"), "3616.30"),        # L40S / FP8, TP 4 (the L40S TP 2 cells are empty)
])
def test_trtllm_v012_mixtral_rows(hardware, dtype, tp, lengths, published):
    row = one(load("inference"), model="mixtral-8x7b-v0.1", hardware=hardware, engine_version="0.12.0",
              weight_dtype=dtype, tensor_parallel=tp, input_tokens=lengths[0], output_tokens=lengths[1])
    assert row["metric"] == "output_tokens_per_s_total" and row["unit"] == "token/s"
    assert float(row["value"]) == pytest.approx(float(published))   # tokens/s as published, already SI
    assert row["value_as_published"] == f"{float(published):,.2f} tokens/s"
    assert row["n_devices"] == tp and row["batching"] == "inflight_max_load" and row["batch"] == ""
    assert row["model_in_catalog"] == "true" and "perf-overview.md" in row["source"] and row["tag"] == "V1"
    assert (row["kv_dtype"] == "fp8") == (dtype == "fp8")


def test_llamacpp_apple_silicon_row():
    # ggml-org/llama.cpp discussion #4167: M2 Ultra (76 GPU cores), Q4_0 TG (tg128) = 94.27 t/s
    df = load("inference")
    row = one(df, hardware="apple-m2-ultra", weight_dtype="q4_0", metric="decode_tokens_per_s",
              engine="llama.cpp", model="llama-2-7b", hardware_as_stated="Apple M2 Ultra, 76-core GPU, 800 GB/s advertised")
    assert float(row["value"]) == 94.27
    assert "discussions/4167" in row["source"] and row["tag"] == "V2" and row["output_tokens"] == "128"


def test_vllm_fp8_kv_cache_row():
    # vLLM blog 2026-04-22 (fp8-kvcache): Llama-3.1-8B, BF16 weights, FP8 KV, 1x H100, concurrency 8: median ITL 12.93 ms
    row = one(load("inference"), model="llama-3.1-8b", kv_dtype="fp8", batch="8", metric="tpot_s")
    assert float(row["value"]) == pytest.approx(0.01293)
    assert "2026-04-22" in row["source"] and row["hardware_in_catalog"] == "false"


def test_llama2_70b_gpu_hours():
    # meta-llama/llama-models llama2 MODEL_CARD: Llama 2 70B, 1,720,320 GPU hours, 2.0T tokens
    df = load("training")
    row = one(df, run="llama-2-70b", metric="device_time")
    assert float(row["value"]) == pytest.approx(1_720_320 * 3600)
    assert "MODEL_CARD" in row["source"]
    assert float(one(df, run="llama-2-70b", metric="training_tokens")["value"]) == 2.0e12


def test_bloom_gpu_hours_contradiction_kept():
    # BLOOM paper: 1,082,990 GPU-hours; LLaMA Table 15: 1,082,880 for BLOOM
    rows = load("training").query("run == 'bloom-176b' and metric == 'device_time'")
    hours = sorted(float(v) / 3600 for v in rows["value"])
    assert hours == [1_082_880, 1_082_990]
    assert rows["notes"].str.contains("CONFLICT").all()
    assert rows["source"].str.contains("2211.05100").any() and rows["source"].str.contains("2302.13971").any()


def test_deepseek_v3_training_cost():
    # DeepSeek-V3 technical report Table 1: 2,788K H800 GPU hours in total, $5.576M at $2 per GPU hour
    df = load("training")
    assert float(one(df, run="deepseek-v3", phase="all", metric="device_time")["value"]) == pytest.approx(2_788e3 * 3600)
    assert float(one(df, run="deepseek-v3", phase="all", metric="cost")["value"]) == pytest.approx(5.576e6)
    assert float(one(df, run="deepseek-v3", metric="price_per_device_hour_assumed")["value"]) == 2.0


def test_price_spot_checks():
    # Anthropic pricing docs: Claude 3 Opus $15 / $75 per MTok
    opus = one(load("api"), model="claude-3-opus")
    assert (float(opus["input_usd_per_1m_tokens"]), float(opus["output_usd_per_1m_tokens"])) == (15.0, 75.0)
    assert "docs.anthropic.com" in opus["source"]
    # AWS EC2 Capacity Blocks: p5.48xlarge $39.33/h, $4.916 per accelerator-hour
    p5 = one(load("cloud"), offering="p5.48xlarge", pricing_model="capacity_block")
    assert float(p5["usd_per_instance_hour"]) == 39.33 and float(p5["usd_per_device_hour"]) == 4.916
    # EIA Electric Power Annual 2023: Virginia industrial 8.92 cents/kWh
    va = one(load("energy"), kind="electricity_price", region="US-Virginia", sector="industrial")
    assert float(va["value"]) == pytest.approx(0.0892) and "eia.gov" in va["source"]


def test_inference_rows_in_the_catalog_agree_with_its_bandwidth():
    # rows that quote an advertised bandwidth ("Apple M1 Pro, 14-core GPU, 200 GB/s advertised", from the llama.cpp
    # Apple Silicon table of ggml-org/llama.cpp discussion #4167) agree with the catalog row they map to; the table
    # rounds the M1's 68.25 GB/s to 68
    df = load("inference")
    hw = pd.read_csv(DATA / "hardware.csv").set_index("id")["memory_bandwidth_bytes_per_s"]
    rows = df[(df["hardware_in_catalog"] == "true") & df["hardware_as_stated"].str.contains("GB/s advertised")]
    assert len(rows) >= 100
    for _, row in rows.iterrows():
        stated = float(re.search(r"([\d.]+) GB/s advertised", row["hardware_as_stated"]).group(1)) * 1e9
        assert abs(hw[row["hardware"]] - stated) <= 0.5e9, (row["id"], row["hardware"], stated)


def test_inference_rows_map_to_the_bin_they_measured():
    df = load("inference")
    # every GPU-core bin of the llama.cpp Apple Silicon table has its own catalog row
    apple = df[df["source"].str.contains("discussions/4167")]
    assert (apple["hardware_in_catalog"] == "true").all()
    for _, row in apple.iterrows():
        cores = re.search(r"(\d+)-core GPU", row["hardware_as_stated"]).group(1)
        # the M2 rows (8- and 10-core GPU) share apple-m2, which has no GPU-specific cell
        assert row["hardware"] == "apple-m2" or row["hardware"].endswith(f"-{cores}c-gpu") or (
            row["hardware"] in ("apple-m2-ultra", "apple-m3-max") and cores in ("76", "40")), row["id"]
    # Jetson AI Lab: the Super-mode rows map to the Super row; rows that do not say which mode stay ambiguous
    nano = df[df["hardware_as_stated"].str.startswith("Jetson Orin Nano")]
    super_ = nano[nano["hardware_as_stated"].str.contains("Super (8 GB)", regex=False)]
    assert (super_["hardware"] == "jetson-orin-nano-8gb-super").all() and len(super_) == 7
    unclear = nano[nano["hardware"] == "jetson-orin-nano"]
    assert (unclear["hardware_candidates"] == "jetson-orin-nano-8gb;jetson-orin-nano-8gb-super").all()


# ---------------------------------------------------------------- hybrid results: routing and speculative decoding

def _bib_keys():
    return set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M))


@pytest.mark.parametrize("name, units", [("routing", ROUTING_UNITS), ("speculative", SPECULATIVE_UNITS)])
def test_hybrid_result_metrics_units_and_ranges(name, units):
    df = load(name)
    assert set(df["metric"]) <= set(units), set(df["metric"]) - set(units)
    assert (df["unit"] == df["metric"].map(units)).all()
    assert set(df["value_kind"]) <= VALUE_KINDS
    assert (df["value_as_published"].str.strip() != "").all() and (df["source_detail"].str.strip() != "").all()
    assert set(df["bibkey"]) <= _bib_keys(), set(df["bibkey"]) - _bib_keys()
    # every work is cited by its arXiv id (the original source), the same the bibliography names
    assert df["source"].str.contains(r"arXiv:\d{4}\.\d{4,5}|https://").all()
    v = numbers(df["value"])
    assert len(v) == len(df), "every row carries a value"
    by = df["metric"]
    fractions = v[by.isin(["cost_reduction", "llm_call_share", "llm_calls_avoided", "acceptance_rate", "cost_ratio"])]
    assert ((fractions > 0) & (fractions < 1)).all()
    gamma = v[by == "draft_tokens"]
    assert ((gamma >= 1) & (gamma <= 64) & (gamma == gamma.round())).all()
    speed = v[by == "speedup"]
    assert ((speed > 1) & (speed < 10)).all()  # a published speed-up, not a slow-down or a typo in units
    # a range is two rows that agree but for id, value and kind, low <= high
    for _, lo in df[df["value_kind"] == "range_low"].iterrows():
        twin = df[(df["id"] != lo["id"]) & (df["value_kind"] == "range_high") & (df["source"] == lo["source"])
                  & (df["metric"] == lo["metric"]) & (df["target" if name == "speculative" else "system"]
                                                      == lo["target" if name == "speculative" else "system"])]
        assert len(twin) == 1 and float(lo["value"]) <= float(twin.iloc[0]["value"]), lo["id"]
    # a secondary reading says where it was read
    v2 = df[df["tag"] == "V2"]
    assert (v2["notes"].str.strip() != "").all()


def test_routellm_rows():
    # RouteLLM project page (sky.cs.berkeley.edu/project/routellm): "cost reductions of over 85% on MT Bench,
    # 45% on MMLU, and 35% on GSM8K as compared to using only GPT-4"; the ~14% share of queries sent to GPT-4
    # was read only in a secondary summary (llmdeal.me), so V2
    df = load("routing")
    cost = one(df, system="RouteLLM", benchmark="MT-Bench", metric="cost_reduction")
    assert float(cost["value"]) == 0.85 and cost["value_kind"] == "lower_bound" and cost["tag"] == "V1"
    assert "sky.cs.berkeley.edu/project/routellm" in cost["source"]
    share = one(df, system="RouteLLM", benchmark="MT-Bench", metric="llm_call_share")
    assert float(share["value"]) == 0.14 and share["tag"] == "V2" and "llmdeal.me" in share["source"]
    assert [float(one(df, system="RouteLLM", benchmark=b, metric="cost_reduction")["value"])
            for b in ("MMLU", "GSM8K")] == [0.45, 0.35]
    # Ding et al. (Hybrid LLM), abstract: "up to 40% fewer calls to the large model" (calls, not dollars)
    hl = one(df, system="Hybrid LLM", metric="llm_calls_avoided")
    assert float(hl["value"]) == 0.40 and hl["value_kind"] == "upper_bound"


def test_speculative_rows():
    # Leviathan et al. table 2: T5-XXL with a T5-small draft, EnDe greedy: alpha 0.75, gamma 7, 3.4x;
    # appendix table 4: c = 0.02 for T5-small
    df = load("speculative")
    row = {m: float(one(df, draft="T5-small", setting="EnDe, greedy", metric=m)["value"])
           for m in ("acceptance_rate", "draft_tokens", "speedup")}
    assert row == {"acceptance_rate": 0.75, "draft_tokens": 7.0, "speedup": 3.4}
    assert float(one(df, draft="T5-small", metric="cost_ratio")["value"]) == 0.02
    # T5-base and T5-large: the record gives no draft length, so no row
    assert df[(df["draft"].isin(["T5-base", "T5-large"])) & (df["metric"] == "draft_tokens")].empty
    # Chen et al. 2023, abstract: 2-2.5x on Chinchilla 70B, two rows of a range; no draft model stated
    chen = df[df["bibkey"] == "chen2023accelerating"].set_index("value_kind")
    assert (float(chen.loc["range_low", "value"]), float(chen.loc["range_high", "value"])) == (2.0, 2.5)
    assert (chen["draft"] == "").all() and (chen["target"] == "Chinchilla 70B").all()
