"""Dollars, joules and carbon per token against hand derivations.

The hand derivations use Llama-2-7B's config (data/models/) and the NVIDIA A100
SXM4 80GB datasheet in data/hardware.csv (312 TFLOP/s dense fp16, 2,039 GB/s,
400 W), at the ideal bound (100 % of peak, no overhead), so every time is
bytes / bandwidth or FLOPs / peak. Prices are the rows of data/prices/ named
next to each assertion; edge figures are those of costmodel.cost.EDGE_DEVICES
(sources there and in references.bib).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.inference import IDEAL
from costmodel.symbols import S

# Llama-2-7B (config.json): L 32, D 4096, F 11008, V 32000, 32 heads of 128, untied LM head
N, D, FF, L, V = 6_738_415_616, 4096, 11008, 32, 32000
N_MM = L * (4 * D * D + 3 * D * FF) + V * D  # matmul weights a token uses, LM head included
KV = 2 * 32 * 32 * 128 * 2  # KV-cache bytes per token in fp16
ACT = 32 * (4 * 8192 + 3 * 15104) + 4096 + 32000  # elements each token's matmuls read and write
A100_FP16, A100_BW, A100_TDP = 312e12, 2039e9, 400.0

# A request of 511 prompt tokens and 1 output token at batch 1: the prefill is one pass over 511 tokens
# (compute-bound, the LM head for the last token only), the decode step reads the weights and a 512-token cache
# once.
PROMPT = 511
PREFILL_FLOP = 2 * PROMPT * (N_MM - V * D) + 2 * V * D + 4 * (32 * 128) * L * (PROMPT * (PROMPT + 1) / 2)
TTFT = PREFILL_FLOP / A100_FP16
DECODE_BYTES = 2 * (N - V * D + D) + (PROMPT + 1) * KV + 2 * ACT
TPOT = DECODE_BYTES / A100_BW

HAND = dict(n_devices=1, batch=1, weight_dtype="fp16", efficiency=IDEAL)


def _llama2_cost(**kw):
    return cm.cost_per_million_tokens("llama-2-7b", "a100-sxm-80gb", PROMPT, 1, **{**HAND, **kw}).iloc[0]


def test_dollars_per_million_tokens_by_hand():
    row = _llama2_cost(price_per_device_hour=2.0, utilisation=0.5)
    # at batch 1 the batch's prefill is the request's prompt; its time to first token adds the decode step it
    # is scheduled beside (serving_point, chunked prefill)
    assert row["prefill_s"] == pytest.approx(TTFT, rel=1e-12)
    assert row["ttft_s"] == pytest.approx(TTFT + TPOT, rel=1e-12)
    assert row["tpot_s"] == pytest.approx(TPOT, rel=1e-12)
    # input tokens pay the prefill: $2/h for its seconds over 511 tokens, the hour half busy
    assert row["usd_per_1m_input_tokens"] == pytest.approx(1e6 * 2.0 * TTFT / 3600 / PROMPT / 0.5, rel=1e-12)
    # the output token pays its decode step
    assert row["usd_per_1m_output_tokens"] == pytest.approx(1e6 * 2.0 * TPOT / 3600 / 0.5, rel=1e-12)
    assert row["prefill_share"] == pytest.approx(TTFT / (TTFT + TPOT), rel=1e-12)
    # the request pays the whole cycle: both phases, the hour half busy
    assert row["usd_per_request"] == pytest.approx(2.0 * (TTFT + TPOT) / 3600 / 0.5, rel=1e-12)
    assert row["price_source"] == "given"


def test_batch_shares_the_decode_step_and_utilisation_divides():
    df = cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, batch=[1, 64], utilisation=[[1.0], [0.3]],
                                    price_per_device_hour=2.49)
    assert len(df) == 4 and list(df["batch"]) == [1, 64, 1, 64]
    # a service busy 30 % of the hour pays for the whole hour: every price / 0.3
    for col in ("usd_per_1m_input_tokens", "usd_per_1m_output_tokens", "usd_per_1m_blended_tokens"):
        assert np.allclose(df[col].iloc[2:].to_numpy(), df[col].iloc[:2].to_numpy() / 0.3, rtol=1e-12)
    # per output token: n t_dec / B device-seconds
    one = df.iloc[1]
    assert one["usd_per_1m_output_tokens"] == pytest.approx(1e6 * 2.49 * one["tpot_s"] / 3600 / 64, rel=1e-12)
    # a larger batch makes output tokens cheaper (the weights are read once per step for all sequences)
    assert df["usd_per_1m_output_tokens"].iloc[1] < df["usd_per_1m_output_tokens"].iloc[0] / 10


def test_blended_price_mixes_input_and_output():
    row = _llama2_cost(price_per_device_hour=2.0, blend_ratio=3)
    expected = (3 * row["usd_per_1m_input_tokens"] + row["usd_per_1m_output_tokens"]) / 4
    assert row["usd_per_1m_blended_tokens"] == pytest.approx(expected, rel=1e-12)
    # default blend: the request's own input / output tokens, so the blend is the request's price per token
    own = _llama2_cost(price_per_device_hour=2.0)
    assert own["blend_ratio"] == PROMPT
    assert own["usd_per_1m_blended_tokens"] == pytest.approx(1e6 * own["usd_per_request"] / (PROMPT + 1), rel=1e-12)


def test_catalog_price_is_the_cheapest_dated_offer_and_named():
    row = cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, date="2026").iloc[0]
    # Lambda H100 SXM: $2.49 (April 2026) below $2.99 (2026): data/prices/cloud.csv
    assert row["price_per_device_hour_usd"] == 2.49
    assert (row["price_source"], row["price_date"]) == ("lambda/h100-sxm/on-demand/2.49", "2026-04")
    given = cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, price_per_device_hour=2.49).iloc[0]
    assert given["usd_per_1m_output_tokens"] == row["usd_per_1m_output_tokens"]


def test_missing_prices_raise_naming_what_exists():
    with pytest.raises(ValueError, match=r"date=None: prices change.*dates that exist: \['2026', '2026-04'\]"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256)
    with pytest.raises(ValueError, match=r"hardware='l4' has no row in data/prices/cloud.csv"):
        cm.cost_per_million_tokens("llama-3.2-1b", "l4", 1024, 256, date="2026")
    with pytest.raises(ValueError, match=r"filed as \['a100-80gb'\]"):
        cm.cost_per_million_tokens("llama-3.1-8b", "a100-sxm-80gb", 1024, 256, date="2026")
    with pytest.raises(ValueError, match=r"price_per_device_hour=2.0 and date='2026': give the price or"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, date="2026", price_per_device_hour=2.0)


def test_bad_numbers_name_the_argument():
    with pytest.raises(ValueError, match=r"utilisation=0 must be in \(0, 1\]"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, price_per_device_hour=2, utilisation=0)
    with pytest.raises(ValueError, match=r"utilisation=1.5 exceeds"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, price_per_device_hour=2, utilisation=1.5)
    with pytest.raises(ValueError, match=r"price_per_device_hour=-1 must be at least 0"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, price_per_device_hour=-1)
    with pytest.raises(ValueError, match=r"output_tokens=0 must be at least 1"):
        cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 0, price_per_device_hour=2)


def test_dollars_per_output_token_with_the_prompts_by_hand():
    # 2 devices at $3.60 per device-hour writing 1,000 tokens/s: $7.20 an hour over 3.6e6 tokens = $2 per 1M;
    # 2 x 700 W over 1,000 tokens/s = 1.4 J per token. Half busy: twice the dollars, the same joules.
    assert cm.cost_per_million_output_tokens(1000.0, 2, 3.6, 700.0) == (2.0, 1.4e6)
    usd, joules = cm.cost_per_million_output_tokens(1000.0, 2, 3.6, 700.0, utilisation=0.5, pue=1.2)
    assert (usd, joules) == (pytest.approx(4.0), pytest.approx(1.68e6))
    # NaN means unknown (a device without a price, a configuration that does not fit), never an error
    usd, joules = cm.cost_per_million_output_tokens(np.array([1000.0, np.nan, 0.0]), 1, np.nan, 700.0)
    assert np.isnan(usd).all() and joules[0] == pytest.approx(7e5) and np.isnan(joules[1:]).all()


def test_output_token_price_with_prompts_is_the_split_prices_recombined():
    # The planner's and the sweeps' convention (output tokens pay the prompts' prefill too) against the
    # cost module's split one: n_in x input price + n_out x output price, over n_out.
    row = cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, batch=32, date="2026").iloc[0]
    usd, _ = cm.cost_per_million_output_tokens(row["output_tokens_per_s"], 1, row["price_per_device_hour_usd"])
    recombined = (1024 * row["usd_per_1m_input_tokens"] + 256 * row["usd_per_1m_output_tokens"]) / 256
    assert usd == pytest.approx(recombined, rel=1e-12)
    assert usd == pytest.approx(row["usd_per_request"] / 256 * 1e6, rel=1e-12)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(price_per_device_hour_usd=-1.0), r"price_per_device_hour_usd=-1 must be at least 0"),
    (dict(power_w=-5.0), r"power_w=-5 must be at least 0"),
    (dict(n_devices=0), r"n_devices=0 must be at least 1"),
    (dict(utilisation=0.0), r"utilisation=0.0 must be in \(0, 1\]"),
    (dict(pue=0.5), r"pue=0.5 must be at least 1"),
    (dict(output_tokens_per_s="fast"), r"output_tokens_per_s='fast' must be a number"),
    (dict(output_tokens_per_s=np.ones(3), price_per_device_hour_usd=np.ones(2)), r"output_tokens_per_s.*price_per"),
])
def test_output_token_price_refuses_bad_numbers_by_name(kwargs, pattern):
    args = dict(output_tokens_per_s=1000.0, n_devices=1, price_per_device_hour_usd=2.0, power_w=700.0) | kwargs
    with pytest.raises(ValueError, match=pattern):
        cm.cost_per_million_output_tokens(**args)


def test_a_batch_that_does_not_fit_costs_nan():
    # Llama 3 70B in bf16 (141 GB) does not fit on one 80 GB H100 at any batch
    df = cm.cost_per_million_tokens("llama-3-70b", "h100-sxm", 1024, 256, batch=[1, 2], price_per_device_hour=2.49)
    assert not df["fits"].any() and df["usd_per_1m_output_tokens"].isna().all()


def test_cost_formulas_are_the_training_cost_per_token():
    # c_dev per hour x device-seconds: the same expression as a training run's cost
    assert sp.simplify(F.COST_PER_OUTPUT_TOKEN - S.c_dev * S.n_dev * S.t_dec / (3600 * S.B * S.U_srv)) == 0
    assert sp.simplify(F.PREFILL_SHARE + S.n_out * S.t_dec / F.SERVING_CYCLE_TIME - 1) == 0


# ----------------------------------------------------------------------
# Energy and carbon
# ----------------------------------------------------------------------
def _llama2_energy(**kw):
    return cm.energy_per_million_tokens("llama-2-7b", "a100-sxm-80gb", PROMPT, 1, **{**HAND, **kw}).iloc[0]


def test_joules_per_token_by_hand():
    row = _llama2_energy(pue=1.0)
    # the decode step at the A100's 400 W TDP; the prefill pass over 511 tokens
    assert row["joules_per_output_token"] == pytest.approx(A100_TDP * TPOT, rel=1e-12)
    assert row["joules_per_input_token"] == pytest.approx(A100_TDP * TTFT / PROMPT, rel=1e-12)
    assert row["kwh_per_1m_output_tokens"] == pytest.approx(A100_TDP * TPOT * 1e6 / 3.6e6, rel=1e-12)
    # default grid: EIA 2023 U.S. average, 367.41 gCO2/kWh (data/prices/energy.csv)
    assert row["kg_co2_per_1m_output_tokens"] == pytest.approx(row["kwh_per_1m_output_tokens"] * 0.36741, rel=1e-12)


def test_idle_power_pue_and_power_fraction():
    # half-busy hour: the idle half as long again at 100 W; PUE 1.2; 80 % of TDP while busy
    row = _llama2_energy(pue=1.2, utilisation=0.5, idle_power_w=100, power_fraction=0.8)
    assert row["joules_per_output_token"] == pytest.approx(1.2 * TPOT * (0.8 * 400 + 100), rel=1e-12)
    # default PUE: the Uptime Institute's 2023 survey average, 1.58 (data/prices/energy.csv)
    assert _llama2_energy()["joules_per_output_token"] == pytest.approx(1.58 * 400 * TPOT, rel=1e-12)
    # the numeric path is the sympy expression
    fn = F.numeric(F.ENERGY_PER_OUTPUT_TOKEN)
    assert row["joules_per_output_token"] == pytest.approx(
        fn(PUE=1.2, P_dev=400, P_idle=100, u_pow=0.8, U_srv=0.5, n_dev=1, t_dec=TPOT, B=1), rel=1e-12)


def test_electricity_bill_per_token_by_hand():
    # U.S. EIA, Electric Power Annual 2023: average industrial price in Virginia, 8.92 cents per kWh
    row_id = "electricity-price/us-virginia/industrial/2023-annual"
    assert cm.electricity_price(row_id) == 0.0892
    df = cm.energy_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, batch=[8, 64],
                                      electricity_usd_per_kwh=row_id)
    for kind in ("input", "output", "blended"):
        assert df[f"electricity_usd_per_1m_{kind}_tokens"].tolist() == pytest.approx(
            (df[f"kwh_per_1m_{kind}_tokens"] * 0.0892).tolist(), rel=1e-12)
    given = cm.energy_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, batch=8, electricity_usd_per_kwh=0.1)
    assert given["electricity_usd_per_1m_output_tokens"].iloc[0] == pytest.approx(
        0.1 * given["kwh_per_1m_output_tokens"].iloc[0], rel=1e-12)
    assert "electricity_usd_per_1m_output_tokens" not in cm.energy_per_million_tokens(
        "llama-3.1-8b", "h100-sxm", 1024, 256, batch=8).columns
    with pytest.raises(ValueError, match=r"electricity_usd_per_kwh='pue/global/data-center/2023' is not an "
                                         r"electricity_price row"):
        cm.energy_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, electricity_usd_per_kwh=
                                     "pue/global/data-center/2023")
    with pytest.raises(ValueError, match=r"electricity_usd_per_kwh=-0.1 must be at least 0"):
        cm.energy_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, electricity_usd_per_kwh=-0.1)


def test_energy_needs_a_device_power():
    # Google publishes no TDP for TPU v5e (data/hardware.csv)
    with pytest.raises(ValueError, match=r"hardware 'tpu-v5e' has no published tdp_w; pass device_power_w"):
        cm.energy_per_million_tokens("llama-3.1-8b", "tpu-v5e", 1024, 256)
    ok = cm.energy_per_million_tokens("llama-3.2-1b", "tpu-v5e", 1024, 256, device_power_w=200, pue=1.0).iloc[0]
    assert ok["fits"]
    # 200 W for the decode step's n t_dec / B device-seconds
    assert ok["joules_per_output_token"] == pytest.approx(
        200 * cm.cost_per_million_tokens("llama-3.2-1b", "tpu-v5e", 1024, 256, date="2026")
        .eval("tpot_s / batch").iloc[0], rel=1e-12)


def test_shared_energy_helpers_are_training_s():
    # BLOOM: 1,082,990 A100-hours at 400 W, PUE 1 -> 433,196 kWh (Luccioni et al. 2022)
    assert cm.energy_kwh(1_082_990, "a100-sxm-80gb", pue=1.0) == pytest.approx(433_196, rel=1e-6)
    assert cm.training_energy_kwh(1_082_990, "a100-sxm-80gb", pue=1.0) == cm.energy_kwh(1_082_990, "a100-sxm-80gb",
                                                                                         pue=1.0)
    assert cm.co2e_kg(1000.0) == pytest.approx(367.41) and cm.training_co2e_kg(1000.0, 436) == cm.co2e_kg(1000.0, 436)
    with pytest.raises(ValueError, match=r"device_hours=-1 must be at least 0"):
        cm.energy_kwh(-1, device_power_w=10)


# ----------------------------------------------------------------------
# Edge devices
# ----------------------------------------------------------------------
def test_phone_joules_and_battery_by_hand():
    row = cm.edge_energy_per_token("llama-3.2-1b", "phone", context=512).iloc[0]
    t = cm.decode("llama-3.2-1b", "snapdragon-8-gen-3", context=512, weight_dtype="q4_0").latency_s
    # about 3 W sustained (Tarkoma et al. 2014); a 13.09 Wh battery (iFixit, Galaxy S10 teardown)
    assert row["seconds_per_token"] == pytest.approx(t, rel=1e-12)
    assert row["joules_per_token"] == pytest.approx(3.0 * t, rel=1e-12)
    assert row["tokens_per_charge"] == pytest.approx(13.09 * 3600 / (3.0 * t), rel=1e-12)
    assert row["battery_pct_per_1k_tokens"] == pytest.approx(100 * 1000 * 3.0 * t / (13.09 * 3600), rel=1e-12)
    assert np.isnan(row["marginal_joules_per_token"])  # no idle figure for the phone


def test_laptop_marginal_joules_subtract_the_idle_draw():
    row = cm.edge_energy_per_token("llama-3.2-1b", "laptop").iloc[0]
    # Apple: Mac mini (2023) with M2, 7 W idle, 50 W at CPU maximum; MacBook Air (M2) battery 52.6 Wh
    assert row["marginal_joules_per_token"] == pytest.approx((50 - 7) * row["seconds_per_token"], rel=1e-12)
    assert row["tokens_per_charge"] == pytest.approx(52.6 * 3600 / (50 * row["seconds_per_token"]), rel=1e-12)


def test_edge_device_figures_can_be_given_and_are_checked():
    # a catalog device: its tdp_w (Jetson Orin Nano 8GB: 15 W), no battery
    jet = cm.edge_energy_per_token("llama-3.2-1b", "jetson-orin-nano-8gb", context=[256, 1024])
    assert list(jet["power_w"]) == [15.0, 15.0] and jet["battery_wh"].isna().all()
    assert jet["joules_per_token"].iloc[1] > jet["joules_per_token"].iloc[0]  # a longer cache to read
    mine = cm.edge_energy_per_token("llama-3.2-1b", "phone", device_power_w=5.0, battery_wh=20.0).iloc[0]
    assert (mine["power_source"], mine["battery_source"]) == ("given", "given")
    assert mine["tokens_per_charge"] == pytest.approx(20 * 3600 / (5 * mine["seconds_per_token"]), rel=1e-12)
    with pytest.raises(ValueError, match=r"device='watch' must be one of \['laptop', 'phone'\]"):
        cm.edge_energy_per_token("llama-3.2-1b", "watch")
    with pytest.raises(ValueError, match=r"device=3.5 must be one of"):
        cm.edge_energy_per_token("llama-3.2-1b", 3.5)
    with pytest.raises(ValueError, match=r"has no power figure; pass device_power_w"):
        cm.edge_energy_per_token("llama-3.2-1b", "apple-m3-max")
    with pytest.raises(ValueError, match=r"battery_wh=0 must be at least 0.001"):
        cm.edge_energy_per_token("llama-3.2-1b", "phone", battery_wh=0)


def test_results_are_tidy_frames():
    df = cm.cost_per_million_tokens("llama-3.2-1b", "h100-sxm", [256, 1024], 128, date="2026")
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert {"usd_per_1m_input_tokens", "usd_per_1m_output_tokens", "price_source", "prefill_share"} <= set(df.columns)


# ----------------------------------------------------------------------
# The chapter's tables (costmodel.viz.cost)
# ----------------------------------------------------------------------
def test_offers_table_puts_dated_api_prices_beside_self_hosting():
    from costmodel.viz import cost as vc

    df = vc.self_hosted_vs_api_data(["llama-3-8b"], ["h100-sxm"], date="2026", api_date="2024", input_tokens=1024,
                                    output_tokens=256)
    api = df[df["kind"] == "API"].iloc[0]
    # Groq llama3-8b-8192: $0.05 in, $0.08 out per million (LiteLLM map, 2024); blended at 4 in per 1 out
    assert (api["offer"], api["input"], api["output"]) == ("groq llama3-8b-8192", 0.05, 0.08)
    assert api["blended"] == pytest.approx((4 * 0.05 + 0.08) / 5, rel=1e-12)
    own = df[df["kind"] == "self-hosted"].iloc[0]
    assert own["offer"] == "1 x h100-sxm" and own["usd_per_device_hour"] == 2.49
    chart = vc.self_hosted_vs_api_chart(df).to_dict()
    assert chart["encoding"]["x"]["scale"]["type"] == "log"


def test_chapter_charts_bind_their_controls():
    from costmodel.viz import cost as vc

    curve = vc.cost_vs_batch_data(["llama-3.2-1b"], "h100-sxm", date="2026", input_tokens=1024, output_tokens=256,
                                  batches=[1, 2, 4], utilisations=[0.5, 1.0])
    assert len(curve) == 6 and set(curve["utilisation_pct"]) == {50, 100}
    # utilisation divides the price
    half = curve.set_index(["batch", "utilisation"])["usd_per_1m_output_tokens"]
    assert half[(2.0, 0.5)] == pytest.approx(2 * half[(2.0, 1.0)], rel=1e-12)
    params = {p["name"] for p in vc.cost_vs_batch_chart(curve).to_dict()["params"]}
    assert params == {"utilisation", "log2_batch"}
    grid = vc.speculative_data([("llama-3.1-8b", "llama-3.2-1b", "h100-sxm", 1, 1)], [0.5, 0.8], [1, 2])
    assert len(grid) == 4
    params = {p["name"] for p in vc.speculative_chart(grid).to_dict()["params"]}
    assert params == {"draft_tokens", "batch"}
    pub = vc.published_speculative_table()
    # Leviathan et al. EnDe greedy, T5-small: the closed form at alpha 0.75, gamma 7, c 0.02 (worked by hand above)
    assert pub["model_speedup"].iloc[0] == pytest.approx((1 - 0.75**8) / (0.25 * 1.14), rel=1e-12)
    assert list(pub["gamma_used"]) == ["7", "7", "5", "5", "9 (best)", "6 (best)"]
