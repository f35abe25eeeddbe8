"""The SLM-vs-LLM chapter's numbers (costmodel.tradeoff): every cell equals the
package function it comes from, every claim has exactly one verdict, the closed
models carry labels and no invented figure, and a model that does not fit is a
cell with its shortfall."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import costmodel as cm
from costmodel import tradeoff as tr
from costmodel.inference import DEFAULT_MEMORY_FRACTION
from costmodel.planner import compare

CTX = tr.INPUT_TOKENS + tr.OUTPUT_TOKENS


@pytest.fixture(scope="module")
def checks() -> pd.DataFrame:
    return tr.fact_check()


@pytest.fixture(scope="module")
def facts() -> dict:
    return tr.facts()


# ----------------------------------------------------------------------
# The claims and their verdicts
# ----------------------------------------------------------------------
def test_every_claim_has_exactly_one_verdict(checks):
    claims = tr.article_claims()
    assert sorted(claims["claim"]) == list(range(1, 35))  # the article's 34 numbered claims
    assert list(checks["claim"]) == list(range(1, 35))
    assert checks["claim"].is_unique
    assert set(checks["verdict"]) <= set(tr.VERDICTS)
    assert checks["verdict"].notna().all() and (checks["evidence"].str.len() > 20).all()
    assert checks["section"].str.startswith("sec_slm_vs_llm").all()


def test_claim_sources_are_stated():
    for df in (tr.article_claims(), tr.article_figures()):
        assert df["source"].str.contains("Architecture Battle").all()
        assert (df["retrieved"] == "2026-11").all()


def test_range_verdict_logic():
    assert tr.range_verdict([12, 18, 24], 12, 24) == "holds"
    assert tr.range_verdict([12, 18, 32, 32], 12, 24) == "partly holds"
    assert tr.range_verdict([18, 32, 32], 12, 24) == "does not hold"
    assert tr.range_verdict([math.nan], 12, 24) == "cannot be checked"
    assert tr.range_verdict([7e9], high=1e10) == "holds"  # open lower bound
    assert tr.range_verdict([5e9], low=1e10) == "does not hold"  # open upper bound


def test_layer_claim_is_computed_from_the_configs(checks):
    # configs (Hugging Face config.json, data/models): num_hidden_layers is 32 for both
    assert cm.load_model("llama-2-7b").n_layers == 32
    assert cm.load_model("mistral-7b-v0.1").n_layers == 32
    layers = [cm.load_model(m).n_layers for m in tr.SLM_MODELS]
    lo, hi = tr.article_figures().query("claim == 9")[["low", "high"]].iloc[0]
    assert (lo, hi) == (12, 24)
    expected = tr.range_verdict(layers, lo, hi)
    assert checks.set_index("claim").loc[9, "verdict"] == expected == "does not hold"


def test_the_gqa_claim_uses_the_kv_cache_of_the_config(facts):
    # Mistral 7B config: 32 layers, 8 KV heads of 128 -> 2*32*8*128*2 B = 131,072 B per token (bf16)
    assert facts["mistral_kv_per_token"] == 131072.0
    assert facts["mha_kv_per_token"] == 4 * facts["mistral_kv_per_token"]
    assert facts["mistral_tpot_bn"] < facts["mha_tpot_bn"]
    assert facts["mistral_max_batch"] > facts["mha_max_batch"]


def test_verdict_counts_add_up(checks):
    assert checks["verdict"].value_counts().sum() == 34


# ----------------------------------------------------------------------
# The six-row table equals the functions it comes from
# ----------------------------------------------------------------------
def test_summary_parameters_equal_the_configs():
    row = tr.summary_table().set_index("aspect").loc["Parameters"]
    assert row["slm_low"] == min(cm.load_model(m).n_params for m in tr.SLM_MODELS)
    assert row["slm_high"] == max(cm.load_model(m).n_params for m in tr.SLM_MODELS)
    assert row["llm_low"] == min(cm.load_model(m).n_params for m in tr.LLM_MODELS)
    assert row["llm_high"] == max(cm.load_model(m).n_params for m in tr.LLM_MODELS)
    assert row["section"] == "sec_slm_vs_llm_params"


def test_summary_training_equals_training_flops():
    row = tr.summary_table().set_index("aspect").loc["Training"]
    runs = cm.published_training_runs()
    flops = []
    for m in tr.SLM_MODELS:
        r = runs[(runs["model"] == m) & runs["phase"].isin(["", "all"])]
        r = r if len(r) else runs[runs["model"] == m]
        if len(r) and r["training_tokens"].notna().all():
            flops.append(cm.training_flops(m, float(r["training_tokens"].sum())))
    assert row["slm_low"] == pytest.approx(min(flops)) and row["slm_high"] == pytest.approx(max(flops))


def test_summary_latency_equals_serving_point():
    row = tr.summary_table().set_index("aspect").loc["Latency"]
    tpots = {}
    for m in tr.SLM_MODELS + tr.LLM_MODELS:
        n = cm.min_devices(m, "h100-sxm", batch=1, context=CTX, weight_dtype="bf16")
        sp = cm.serving_point(m, "h100-sxm", tr.INPUT_TOKENS, tr.OUTPUT_TOKENS, n_devices=n, batch=1)
        tpots[m] = float(sp["tpot_s"].iloc[0])
    assert row["slm_low"] == pytest.approx(min(tpots[m] for m in tr.SLM_MODELS), rel=1e-12)
    assert row["slm_high"] == pytest.approx(max(tpots[m] for m in tr.SLM_MODELS), rel=1e-12)
    assert row["llm_low"] == pytest.approx(min(tpots[m] for m in tr.LLM_MODELS), rel=1e-12)
    assert row["llm_high"] == pytest.approx(max(tpots[m] for m in tr.LLM_MODELS), rel=1e-12)


def test_summary_accuracy_equals_the_benchmark_file():
    row = tr.summary_table().set_index("aspect").loc["Accuracy"]
    b = tr.benchmarks()
    mmlu = b[b["benchmark"] == "MMLU"].set_index("model")["score"]
    slm = [mmlu[m] for m in tr.SLM_MODELS if m in mmlu]
    llm = [mmlu[m] for m in tr.LLM_MODELS if m in mmlu]
    assert (row["slm_low"], row["slm_high"]) == (min(slm), max(slm))
    assert (row["llm_low"], row["llm_high"]) == (min(llm), max(llm))
    # Llama 2 paper, Table 3: 45.3 (7B) and 68.9 (70B), MMLU 5-shot
    assert mmlu["llama-2-7b"] == 45.3 and mmlu["llama-2-70b"] == 68.9


def test_summary_cost_equals_planner_compare():
    row = tr.summary_table().set_index("aspect").loc["Cost"]
    cheap = tr.cheapest_serving()
    m = cheap.loc[cheap["usd_per_1m_low"].idxmin()]
    price = tr.dated_price(m["hardware"], tr.PRICE_DATE, **tr.PRICED_DEVICES[m["hardware"]])
    again = compare([m["model"]], [m["hardware"]], input_tokens=tr.INPUT_TOKENS, output_tokens=tr.OUTPUT_TOKENS,
                    batch=int(m["slo_batch"]), price_per_device_hour_usd=price["low"]).iloc[0]
    assert m["usd_per_1m_low"] == pytest.approx(float(again["usd_per_1m_output_tokens"]), rel=1e-12)
    assert min(row["slm_low"], row["llm_low"]) == pytest.approx(m["usd_per_1m_low"], rel=1e-12)
    # the batch priced meets the target; one more does not (or none fits)
    t = tr.mlperf_latency_target()
    assert m["tpot_s"] <= t["tpot_s"] and m["ttft_s"] <= t["ttft_s"]


def test_summary_cells_quote_their_numbers():
    tab = tr.summary_table()
    assert len(tab) == 6
    assert list(tab["aspect"]) == ["Parameters", "Training", "Hardware", "Latency", "Accuracy", "Cost"]
    for col in ("slm", "llm"):
        assert tab[col].str.contains(r"\d").all()


def test_mlperf_target_is_the_published_constraint():
    # MLCommons loadgen mlperf.conf, Llama 2 70B server scenario: TTFT 2000 ms, TPOT 200 ms
    t = tr.mlperf_latency_target()
    assert t["ttft_s"] == 2.0 and t["tpot_s"] == 0.2
    assert "mlperf.conf" in t["source"]


# ----------------------------------------------------------------------
# Rows against their functions
# ----------------------------------------------------------------------
def test_latency_table_equals_serving_point_and_decode():
    lat = tr.latency_table(["phi-2", "llama-3-70b"], ["h100-sxm", "apple-m2"], ["bf16", "int4"], (1, 16))
    r = lat[(lat["model"] == "phi-2") & (lat["hardware"] == "h100-sxm") & (lat["weight_dtype"] == "int4")
            & (lat["batch"] == 16)].iloc[0]
    sp = cm.serving_point("phi-2", "h100-sxm", tr.INPUT_TOKENS, tr.OUTPUT_TOKENS, weight_dtype="int4", batch=16)
    assert r["tpot_s"] == pytest.approx(float(sp["tpot_s"].iloc[0]), rel=1e-12)
    assert r["ttft_s"] == pytest.approx(float(sp["ttft_s"].iloc[0]), rel=1e-12)
    # a laptop without a compute peak: the decode step only, TTFT empty
    r = lat[(lat["model"] == "phi-2") & (lat["hardware"] == "apple-m2") & (lat["weight_dtype"] == "bf16")
            & (lat["batch"] == 1)].iloc[0]
    d = cm.decode("phi-2", "apple-m2", context=tr.INPUT_TOKENS + (tr.OUTPUT_TOKENS - 1) // 2)
    assert r["tpot_s"] == pytest.approx(float(d.latency_s), rel=1e-12)
    assert math.isnan(r["ttft_s"]) and "no compute peak" in r["note"]


def test_training_table_published_and_estimated():
    tt = tr.training_table().set_index("model")
    runs = cm.published_training_runs()
    l2 = runs[(runs["model"] == "llama-2-70b")].iloc[0]
    # Llama 2 model card: 1,720,320 A100-80GB GPU-hours for the 70B model
    assert tt.loc["llama-2-70b", "device_hours"] == float(l2["device_hours"]) == 1720320
    assert tt.loc["llama-2-70b", "device_hours_basis"] == "published"
    price = tr.dated_price("a100-80gb", tr.PRICE_DATE)
    assert tt.loc["llama-2-70b", "cost_low_usd"] == pytest.approx(1720320 * price["low"])
    assert tt.loc["llama-2-70b", "cost_high_usd"] == pytest.approx(1720320 * price["high"])
    # Gemma 2B: 512 TPUv5e and 3T tokens published (Gemma report), device-hours estimated
    assert tt.loc["gemma-2b", "device_hours_basis"].startswith("estimated")
    est = cm.training_run("gemma-2b", "tpu-v5e", 3e12, 512, cm.load_model("gemma-2b").max_position_embeddings,
                          parallelism=cm.Parallelism(data=512, zero_stage=3), check_fit=False)
    assert tt.loc["gemma-2b", "device_hours"] == pytest.approx(float(est["device_hours"].iloc[0]), rel=1e-12)
    # Mistral publishes no training tokens: unknown, not estimated
    assert math.isnan(tt.loc["mistral-7b-v0.1", "tokens"]) and tt.loc["mistral-7b-v0.1", "tokens_basis"] == "not published"


def test_dated_price_agrees_with_price_per_device_hour():
    p = tr.dated_price("tpu-v5e", "2026-04", provider="gcp", region="US regions")
    assert p["low"] == p["high"] == cm.price_per_device_hour("tpu-v5e", "2026-04", provider="gcp",
                                                            region="US regions")
    # Lambda's H100 SXM is quoted at $2.49 and $2.99 (two 2026 pages): a range, not a silent pick
    h = tr.dated_price("h100-sxm", "2026-04", provider="lambda")
    assert (h["low"], h["high"]) == (2.49, 2.99)
    with pytest.raises(ValueError, match="disagree"):
        cm.price_per_device_hour("h100-sxm", "2026-04", provider="lambda")
    assert tr.dated_price("a100-sxm-40gb", "2026-04") is None  # capacity blocks only, undated


def test_api_prices_loader():
    # OpenAI GPT-4 (8k): $30 / $60 per 1M tokens from March 2023 (LangChain price map, Ibbaka)
    g = cm.api_prices("gpt-4 (8k; 0314/0613)")
    assert (g["input_usd_per_1m_tokens"].iloc[0], g["output_usd_per_1m_tokens"].iloc[0]) == (30, 60)
    with pytest.raises(ValueError, match="close names"):
        cm.api_prices("gpt-4-8k")
    assert set(tr.api_price_table()["model"]) == set(tr.ALL_MODELS)


def test_benchmark_rows_carry_sources():
    b = tr.benchmarks()
    assert b["id"].is_unique
    assert b["source"].str.len().gt(10).all() and (b["retrieved"] == "2026-11").all()
    assert b["tag"].isin(["V1", "V2"]).all()
    pct = b[b["unit"] == "%"]
    assert pct["score"].between(0, 100).all()
    in_cat = b[b["model_in_catalog"]]
    assert set(in_cat["model"]) <= set(cm.list_models())
    assert not set(b.loc[~b["model_in_catalog"], "model"]) & set(cm.list_models())


def test_quantisation_perplexity_rows():
    q = tr.quantisation_perplexity().set_index(["model", "method"])["wikitext2_perplexity"]
    # AWQ paper, Table 4: Llama-2-7B FP16 5.47, INT4 AWQ 5.60; Llama-2-70B INT4 AWQ 3.41
    assert q["llama-2-7b", "fp16"] == 5.47 and q["llama-2-7b", "int4-awq"] == 5.60
    assert q["llama-2-70b", "int4-awq"] == 3.41


# ----------------------------------------------------------------------
# Closed models: labels, no invented figure
# ----------------------------------------------------------------------
def test_closed_models_are_labelled_and_carry_no_architecture_numbers():
    p = tr.parameters_table(list(tr.CLOSED_MODELS)).set_index("model")
    assert p.loc["gpt-4", "status"] == "rumoured" and p.loc["gemini-1.5-pro", "status"] == "unknown"
    for col in ("n_params", "n_layers", "d_model"):
        assert col not in p or p[col].isna().all()
    tt = tr.training_table(list(tr.CLOSED_MODELS))
    assert tt[["tokens", "training_flop", "device_hours", "cost_low_usd"]].isna().all().all()
    mh = tr.minimum_hardware(list(tr.CLOSED_MODELS))
    assert mh["weight_bytes"].isna().all() and mh["note"].str.startswith("unknown").all()
    with pytest.raises(ValueError):  # no architecture to load
        cm.load_model("gpt-4")


def test_the_closed_column_quotes_only_sourced_figures():
    closed = tr.summary_table().set_index("aspect")["closed"]
    assert "rumoured" in closed["Parameters"] and "no source" in closed["Parameters"]
    for aspect in ("Training", "Hardware", "Latency"):
        assert not re.search(r"\d", closed[aspect]), closed[aspect]
    # every number in the closed column is an article figure, a published score or a list price
    figs = tr.article_figures()
    allowed = {round(v / 1e12, 2) for v in figs.loc[figs["subject"].isin(["gpt-4", "gemini-1.5-pro"]),
                                                   ["low", "high"]].stack()}
    b = tr.benchmarks()
    allowed |= set(b.loc[b["model"].isin(list(tr.CLOSED_MODELS)), "score"].round(2))
    api = tr.api_price_table(list(tr.CLOSED_MODELS))
    allowed |= set(api["output_usd_per_1m"].round(2)) | set(api["input_usd_per_1m"].round(2))
    for aspect, text in closed.items():
        nums = [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.?\d*", text.replace("GPT-4", "")
                                                                 .replace("Gemini 1.5", ""))]
        assert all(round(x, 2) in allowed for x in nums), (aspect, text, nums)


def test_closed_models_in_the_explorer_are_unknown():
    e = tr.explorer_data(["gpt-4"], ["h100-sxm"], ["bf16"], (1,))
    assert set(e["cell"]) <= {"unknown", "API only", "–"}
    assert e["value"].isna().all()


# ----------------------------------------------------------------------
# A model that does not fit is a cell with its shortfall; unknown ids suggest
# ----------------------------------------------------------------------
def test_a_model_that_does_not_fit_gives_its_shortfall():
    f = tr.fit_table("llama-3-70b", "apple-m2", "int4").iloc[0]
    need = cm.memory_per_device("llama-3-70b", "apple-m2", batch=1, context=CTX, weight_dtype="int4")
    short = float(need["total_bytes"].iloc[0]) - cm.load_hardware("apple-m2").memory_bytes * DEFAULT_MEMORY_FRACTION
    assert short > 0
    assert not f["fits_one"] and f["shortfall_bytes"] == pytest.approx(short, rel=1e-12)
    assert math.isnan(f["n_devices"]) and "interconnect" in f["note"]
    lat = tr.latency_table("llama-3-70b", "apple-m2", "int4", (1,)).iloc[0]
    assert not lat["fits"] and math.isnan(lat["tpot_s"]) and f"{short / 1e9:.1f} GB" in lat["note"]
    e = tr.explorer_data(["llama-3-70b"], ["apple-m2"], ["int4"], (1,))
    cell = e[e["column"] == "Devices"].iloc[0]
    assert cell["cell"].startswith("short ") and cell["cell"].endswith(" GB") and math.isnan(cell["value"])
    assert float(cell["cell"].split()[1]) == pytest.approx(short / 1e9, rel=5e-3)


def test_a_batch_that_does_not_fit_is_a_cell_not_a_crash():
    lat = tr.latency_table("llama-3-70b", "h100-sxm", "int8", (1, 64)).set_index("batch")
    assert lat.loc[1, "fits"] and not lat.loc[64, "fits"]
    assert "does not fit" in lat.loc[64, "note"] and math.isnan(lat.loc[64, "tpot_s"])


def test_unknown_ids_suggest_the_closest():
    with pytest.raises(ValueError, match="closest ids: .*llama-2-7b"):
        tr.resolve_model("llama2-7b")
    with pytest.raises(ValueError, match="gpt-4"):
        tr.resolve_model("gpt4")
    with pytest.raises(ValueError, match="closest ids"):
        tr.latency_table("mistral-7b")
    assert tr.resolve_model("gemini-1.5-pro") == "gemini-1.5-pro"


def test_explorer_cells_equal_the_latency_table():
    e = tr.explorer_data(["phi-2"], ["t4"], ["bf16"], (1,))
    lat = tr.latency_table("phi-2", "t4", "bf16", (1,)).iloc[0]
    tpot = e[(e["column"] == "TPOT")].iloc[0]
    assert tpot["value"] == lat["tpot_s"]
    assert set(e["column"]) == set(tr.EXPLORER_COLUMNS)
    w = e[e["column"] == "Weights"].iloc[0]
    assert w["value"] == cm.weight_bytes("phi-2", "bf16")


def test_explorer_chart_has_four_menus():
    from costmodel.viz.tradeoff import explorer_chart

    e = tr.explorer_data(["phi-2", "gpt-4"], ["t4", "h100-sxm"], ["bf16", "int4"], (1, 16))
    spec = explorer_chart(e).to_dict()
    names = {p["name"] for p in spec["params"]}
    assert names == {"device", "dtype", "batch", "target"}
    assert all("bind" in p for p in spec["params"])


def test_the_rumoured_count_is_used_only_as_a_labelled_rumour(facts, checks):
    figs = tr.article_figures().set_index(["claim", "subject"])
    assert figs.loc[(5, "gpt-4"), "status"] == "rumoured"
    n = figs.loc[(5, "gpt-4"), "low"]
    # bf16: 2 bytes per parameter, no structure; devices by capacity alone
    assert facts["rumour_bf16_gb"] * 1e9 == pytest.approx(2 * n)
    assert facts["rumour_bf16_h100-sxm"] == cm.devices_needed(2 * n, "h100-sxm")
    assert "rumour" in checks.set_index("claim").loc[18, "evidence"]
    assert checks.set_index("claim").loc[18, "section"] == "sec_slm_vs_llm_rumour"


def test_fine_tuning_claims_come_from_costmodel_finetune(facts):
    s = tr.INPUT_TOKENS + tr.OUTPUT_TOKENS
    full = cm.full_finetune("llama-2-70b", "h100-sxm", s, s).iloc[0]
    assert facts["ft_full_llama-2-70b_gb"] * 1e9 == pytest.approx(float(full["total_bytes"]), rel=1e-12)
    q = cm.qlora_finetune("llama-2-70b", "l40s", s, s).iloc[0]
    assert facts["qlora_l70_gb"] * 1e9 == pytest.approx(float(q["total_bytes"]), rel=1e-12)
    assert facts["qlora_l70_fits_l40s"] == bool(q["fits"])
    fed = cm.federated_finetune("phi-2", "jetson-orin-nano-8gb", rounds=1, local_tokens=s, seq_len=s,
                                uplink_bytes_per_s=1.0).iloc[0]
    assert facts["fed_lora_update_gb"] * 1e9 == float(fed["update_bytes_per_round"])
