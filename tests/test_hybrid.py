"""Hybrids (costmodel.hybrid): each scenario pinned to a hand derivation, the routing
model against published routing results, and bad input refused by name."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import costmodel as cm
from costmodel import calibrate
from costmodel import formulas as F
from costmodel.symbols import S

ROOT = Path(__file__).resolve().parents[1]
DAYS_PER_YEAR = 365.25


# ----------------------------------------------------------------------
# Routing and cascades
# ----------------------------------------------------------------------
def test_two_model_cascade_and_router_by_hand():
    # c_S = 0.002, c_L = 0.05, c_r = 0.0005 USD; 30 % escalate.
    # cascade: every request pays the router and the small model, 30 % also the large one:
    #   0.0005 + 0.002 + 0.3 x 0.05 = 0.0175
    # router: the small model only on the 70 % it answers: 0.0005 + 0.7 x 0.002 + 0.3 x 0.05 = 0.0169
    kw = dict(router_usd_per_request=0.0005)
    cas = cm.cascade_cost(0.002, 0.05, 0.3, **kw).iloc[0]
    rou = cm.routing_cost(0.002, 0.05, 0.3, **kw).iloc[0]
    assert cas["blended_usd_per_request"] == pytest.approx(0.0175)
    assert rou["blended_usd_per_request"] == pytest.approx(0.0169)
    assert cas["saving_vs_llm"] == pytest.approx(1 - 0.0175 / 0.05)
    assert cas["answered_by_slm"] == pytest.approx(0.7)
    # break-even: cascade 1 - (c_S + c_r) / c_L = 1 - 0.0025 / 0.05 = 0.95;
    # router (c_L - c_S - c_r) / (c_L - c_S) = 0.0475 / 0.048
    assert cas["break_even_escalation_rate"] == pytest.approx(0.95)
    assert rou["break_even_escalation_rate"] == pytest.approx(0.0475 / 0.048)
    # at the break-even rate the hybrid costs what the large model costs
    at = cm.cascade_cost(0.002, 0.05, 0.95, **kw).iloc[0]
    assert at["blended_usd_per_request"] == pytest.approx(0.05)


def test_cascade_latency_by_hand():
    # t_S = 1 s, t_L = 4 s, t_r = 0.1 s, 30 % escalate: 0.1 + 1 + 0.3 x 4 = 2.3 s;
    # as slow as the large model alone at (4 - 1 - 0.1) / 4 = 0.725
    row = cm.cascade_cost(0.002, 0.05, 0.3, slm_latency_s=1.0, llm_latency_s=4.0, router_latency_s=0.1).iloc[0]
    assert row["blended_latency_s"] == pytest.approx(2.3)
    assert row["latency_vs_llm"] == pytest.approx(2.3 / 4)
    assert row["latency_break_even_escalation_rate"] == pytest.approx(0.725)


def test_break_even_formula_is_the_solution_and_simplifies_for_a_cascade():
    at = F.HYBRID_SAVING.subs(S.eps_esc, F.BREAK_EVEN_ESCALATION)
    assert sp.simplify(at) == 0
    cascade = F.BREAK_EVEN_ESCALATION.subs({S.kappa_esc: 1, S.c_rt: 0})
    assert sp.simplify(cascade - (1 - S.c_slm / S.c_llm)) == 0
    # a free router never costs more than the large model: epsilon* = 1
    assert sp.simplify(F.BREAK_EVEN_ESCALATION.subs({S.kappa_esc: 0, S.c_rt: 0})) == 1


def test_a_hybrid_that_cannot_pay_says_so():
    # small model plus router cost more than the large model: no escalation rate pays
    df = cm.cascade_cost(0.04, 0.05, [0.0, 0.5], router_usd_per_request=0.02)
    assert not df["hybrid_can_save"].any()
    assert df["break_even_escalation_rate"].isna().all()
    assert (df["saving_vs_llm"] < 0).all()


def test_routing_broadcasts_to_one_row_per_point():
    eps = np.linspace(0, 1, 5)[:, None]
    kappa = np.array([0.0, 0.5, 1.0])[None, :]
    df = cm.routing_cost(0.001, 0.02, eps, slm_paid_on_escalation=kappa)
    assert len(df) == 15
    # kappa only matters for escalated requests: equal at epsilon = 0
    assert df.loc[df["escalation_rate"] == 0, "blended_usd_per_request"].nunique() == 1


def test_implied_escalation_rate_inverts_the_saving():
    eps = np.array([0.05, 0.3, 0.8])
    for kappa in (0.0, 0.4, 1.0):
        sav = cm.routing_cost(0.003, 0.07, eps, slm_paid_on_escalation=kappa,
                              router_usd_per_request=0.001)["saving_vs_llm"].to_numpy()
        back = cm.implied_escalation_rate(sav, 0.003, 0.07, slm_paid_on_escalation=kappa,
                                          router_usd_per_request=0.001)["implied_escalation_rate"]
        assert back.to_numpy() == pytest.approx(eps)
    # more than the small model alone saves: not reachable, and said so
    row = cm.implied_escalation_rate(0.99, 0.003, 0.07).iloc[0]
    assert not row["reachable"] and np.isnan(row["implied_escalation_rate"])


# ----------------------------------------------------------------------
# The routing model against published results (hybrid reference notes, section A)
# ----------------------------------------------------------------------
def _per_token(model, date):
    """USD per 1M output tokens with one input token per output token (RouteLLM's blog convention)."""
    return cm.dated_api_usd_per_1m_output_tokens(model, date, input_tokens=1, output_tokens=1)


GPT4 = [("gpt-4 (8k; 0314/0613)", "2023-03"), ("gpt-4-turbo (1106-preview, 0125, 2024-04-09)", "2023-11-06")]


@pytest.mark.parametrize("strong", GPT4, ids=["gpt-4-8k", "gpt-4-turbo"])
def test_routellm_mt_bench_saving(strong):
    # Ong et al., RouteLLM (arXiv:2406.18665): on MT-Bench the best router (matrix factorisation,
    # GPT-4-judge augmentation) sends about 14% of queries to GPT-4 (weak model Mixtral 8x7B) at 95% of
    # GPT-4's quality, and the project page (sky.cs.berkeley.edu/project/routellm) reports a cost
    # reduction of over 85%. A router at that share, with data/prices/api.csv list prices of GPT-4 and
    # of Mistral's Mixtral endpoint, saves (1 - 0.14)(1 - c_S/c_L): within 3 percentage points of 85%.
    c_s, c_l = _per_token("open-mixtral-8x7b", "2024"), _per_token(*strong)
    saving = cm.routing_cost(c_s, c_l, 0.14)["saving_vs_llm"].iloc[0]
    assert saving == pytest.approx(0.86 * (1 - c_s / c_l))
    assert saving == pytest.approx(0.85, abs=0.03)
    pub = cm.published_routing_results().set_index(["system", "benchmark"]).loc[("RouteLLM", "MT-Bench")]
    assert (pub["llm_call_share"], pub["cost_reduction"]) == (0.14, 0.85)


def test_routellm_saving_read_backwards_gives_its_share():
    # The same result the other way: an 85% saving at GPT-4 (8k) and Mixtral prices means
    # (1 - 0.85 - r) / (1 - r) of queries reached GPT-4, r = 1.4 / 90: about 14%, within 1 point.
    c_s, c_l = _per_token("open-mixtral-8x7b", "2024"), _per_token(*GPT4[0])
    r = c_s / c_l
    assert r == pytest.approx(1.4 / 90)
    eps = cm.implied_escalation_rate(0.85, c_s, c_l)["implied_escalation_rate"].iloc[0]
    assert eps == pytest.approx((0.15 - r) / (1 - r))
    assert eps == pytest.approx(0.14, abs=0.01)


def test_hybrid_llm_fewer_calls_is_a_smaller_saving():
    # Ding et al., Hybrid LLM (ICLR 2024, arXiv:2404.14618), abstract: up to 40% fewer calls to the
    # large model with no drop in quality. In the routing model 40% fewer calls saves 0.40 (1 - r):
    # less than 40% by the small model's share r of the large model's price; with the Groq Llama 3
    # 8B and 70B prices of api.csv (2024), r = 0.13 / 1.38, a saving within 4 points of 40%.
    c_s, c_l = _per_token("llama3-8b-8192", "2024"), _per_token("llama3-70b-8192", "2024")
    r = c_s / c_l
    assert r == pytest.approx(0.13 / 1.38)
    saving = cm.routing_cost(c_s, c_l, 0.60)["saving_vs_llm"].iloc[0]
    assert saving == pytest.approx(0.40 * (1 - r))
    assert 0.40 - 0.04 < saving < 0.40


def test_published_results_cite_keys_in_the_bibliography():
    keys = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M))
    used = set(cm.published_routing_results()["source"]) | set(cm.published_quantisation_quality()["source"]) \
        | set(cm.published_mmlu()["source"]) | set(cm.published_speculative()["source"])
    assert used <= keys, sorted(used - keys)


def test_published_routing_results_are_the_data_file():
    # data/measurements/routing.csv, one row per system and benchmark with the columns book/hybrid.md reads
    pub = cm.published_routing_results()
    assert {"system", "benchmark", "strategy", "strong", "weak", "llm_call_share", "cost_reduction", "bound",
            "quality", "source"} <= set(pub.columns)
    idx = pub.set_index(["system", "benchmark"])
    assert idx.index.is_unique
    assert set(idx.index) == {("RouteLLM", "MT-Bench"), ("RouteLLM", "MMLU"), ("RouteLLM", "GSM8K"),
                              ("Hybrid LLM", "MixInstruct"), ("FrugalGPT", "several"),
                              ("AutoMix", "five reasoning sets")}
    # FrugalGPT (arXiv:2305.05176) "up to 98%", AutoMix (NeurIPS 2024) "over 50%": cascades
    assert idx.loc[("FrugalGPT", "several"), "cost_reduction"] == 0.98
    assert idx.loc[("AutoMix", "five reasoning sets"), "cost_reduction"] == 0.50
    assert set(idx.loc[idx["strategy"] == "cascade"].index.get_level_values(0)) == {"FrugalGPT", "AutoMix"}
    # Hybrid LLM states calls avoided (up to 40%), so the large model still answers 60%
    assert idx.loc[("Hybrid LLM", "MixInstruct"), "llm_call_share"] == pytest.approx(0.60, abs=1e-12)
    assert np.isnan(idx.loc[("Hybrid LLM", "MixInstruct"), "cost_reduction"])
    # the MT-Bench share was read in a secondary source: the result carries the weaker tag
    assert idx.loc[("RouteLLM", "MT-Bench"), "tag"] == "V2"
    assert idx.loc[("RouteLLM", "MT-Bench"), "bound"] == "over (cost); about (share)"
    # a copy: changing it changes nothing the next caller sees
    pub.loc[0, "cost_reduction"] = 0.0
    assert cm.published_routing_results().loc[0, "cost_reduction"] == 0.85


def test_published_quantisation_quality_is_a_view_of_the_awq_rows():
    from costmodel import tradeoff as tr
    q = cm.published_quantisation_quality()
    assert list(q.columns) == ["model", "weight_dtype", "wikitext2_perplexity", "method", "source"]
    got = q.set_index(["model", "weight_dtype"])["wikitext2_perplexity"]
    assert set(got.index) == {(m, d) for m in ("llama-2-7b", "llama-2-13b", "llama-2-70b") for d in ("fp16", "int4")}
    # int4 is AWQ's INT4 (group 128) column of Lin et al. Table 4: 5.60, 4.97, 3.41 against FP16 5.47, 4.88, 3.32
    assert [got[m, "int4"] for m in ("llama-2-7b", "llama-2-13b", "llama-2-70b")] == [5.60, 4.97, 3.41]
    assert [got[m, "fp16"] for m in ("llama-2-7b", "llama-2-13b", "llama-2-70b")] == [5.47, 4.88, 3.32]
    csv = tr.quantisation_perplexity().set_index(["model", "method"])["wikitext2_perplexity"]
    for (m, d), v in got.items():
        assert v == csv[m, {"fp16": "fp16", "int4": "int4-awq"}[d]]


def test_published_mmlu_is_a_view_of_the_benchmark_file():
    from costmodel import tradeoff as tr
    mmlu = cm.published_mmlu().set_index("model")
    assert mmlu.index.is_unique
    # Jiang et al. (Mixtral of Experts) Table 2: 70.6; Touvron et al. (Llama 2) Table 3: 45.3, 54.8, 68.9
    assert mmlu["mmlu"].to_dict() == {"mixtral-8x7b-v0.1": 70.6, "llama-2-7b": 45.3, "llama-2-13b": 54.8,
                                      "llama-2-70b": 68.9}
    assert set(mmlu["source"]) == {"jiang2024mixtral", "touvron2023llama2"}
    b = tr.benchmarks()
    for model, score in mmlu["mmlu"].items():
        assert score in set(b.loc[(b["model"] == model) & (b["benchmark"] == "MMLU"), "score"])


# ----------------------------------------------------------------------
# Lifecycle and break-even volumes
# ----------------------------------------------------------------------
def test_lifecycle_cost_by_hand():
    # 1e6 tokens a day for 12 months (365.25 days) at 2 USD per 1e6, plus 500: 500 + 730.5 = 1230.5
    row = cm.lifecycle_cost(1e6, 12, 2.0, fixed_usd=500).iloc[0]
    assert row["total_usd"] == pytest.approx(1230.5)
    assert row["usd_per_1m_tokens_served"] == pytest.approx(1230.5 / 365.25)
    # with a replica at 2.49 USD/h (59.76 a day) busy half the time: 1e6 tokens cost 4 USD a day,
    # so the floor binds; 1e9 tokens cost 4,000 a day and it does not
    df = cm.lifecycle_cost([1e6, 1e9], 12, 2.0, fixed_usd=500, utilisation=0.5, floor_usd_per_hour=2.49)
    assert df["total_usd"].to_numpy() == pytest.approx([500 + DAYS_PER_YEAR * 59.76, 500 + DAYS_PER_YEAR * 4000])
    assert df["floor_binds"].tolist() == [True, False]
    # the floor stops binding at 24 x 2.49 x 0.5 / 2e-6 = 14.94 M tokens a day
    assert df["floor_tokens_per_day"].iloc[0] == pytest.approx(14.94e6)


def test_break_even_volume_by_hand_without_and_with_a_floor():
    api = cm.ServingOption("API", 3.0)
    own = cm.ServingOption("fine-tuned", 0.5, fixed_usd=10_000)
    # 10,000 + 365.25 N 0.5e-6 = 365.25 N 3e-6  ->  N = 10,000 / (365.25 x 2.5e-6)
    row = cm.break_even_volume(own, api, 12).iloc[0]
    assert row["found"]
    assert row["break_even_tokens_per_day"] == pytest.approx(10_000 / (DAYS_PER_YEAR * 2.5e-6), rel=1e-9)
    assert (row["cheaper_below"], row["cheaper_above"]) == ("API", "fine-tuned")
    # with one replica at 2.49 USD/h (59.76 a day; floor up to 119.52 M tokens a day) the crossing is on
    # the floor: 10,000 + 365.25 x 59.76 = 365.25 N 3e-6
    floored = cm.ServingOption("fine-tuned", 0.5, fixed_usd=10_000, floor_usd_per_hour=2.49)
    row = cm.break_even_volume(floored, api, 12).iloc[0]
    assert row["break_even_tokens_per_day"] == pytest.approx((10_000 / DAYS_PER_YEAR + 59.76) / 3e-6, rel=1e-9)
    assert row["break_even_tokens_per_day"] < floored.floor_tokens_per_day == pytest.approx(119.52e6)
    # a longer service spreads the fixed cost: the break-even volume falls with the months
    months = cm.break_even_volume(own, api, [6, 12, 24])["break_even_tokens_per_day"].to_numpy()
    assert months == pytest.approx(10_000 / (30.4375 * np.array([6, 12, 24]) * 2.5e-6))


def test_two_crossings_are_both_found():
    # A: no fixed cost, 60 USD a day floor (2.5 USD/h), 4 USD per 1e6 tokens beyond it (kink at 15 M);
    # B: 3 USD per 1e6 and a fixed cost of 30 days' floor over one month (D = 30.4375 days).
    # Per day: max(60, 4e-6 N) = 30 + 3e-6 N  ->  N = 10 M on the floor, and N = 30 M beyond it.
    # A root finder on [low, high] alone would see the same sign at both ends and miss both.
    a = cm.ServingOption("A", 4.0, floor_usd_per_hour=2.5)
    b = cm.ServingOption("B", 3.0, fixed_usd=30 * 30.4375)
    df = cm.break_even_volume(a, b, 1)
    assert df["break_even_tokens_per_day"].to_numpy() == pytest.approx([10e6, 30e6], rel=1e-9)
    assert df["cheaper_below"].tolist() == ["B", "A"] and df["cheaper_above"].tolist() == ["A", "B"]
    regions = cm.cheapest_option([a, b], 1, low=1e5, high=1e9)
    assert regions["option"].tolist() == ["B", "A", "B"]
    assert regions["to_tokens_per_day"].to_numpy()[:2] == pytest.approx([10e6, 30e6], rel=1e-9)


def test_no_break_even_in_the_range_is_explicit():
    cheap, dear = cm.ServingOption("cheap", 1.0), cm.ServingOption("dear", 2.0)
    row = cm.break_even_volume(cheap, dear, 12).iloc[0]
    assert not row["found"] and np.isnan(row["break_even_tokens_per_day"])
    assert row["note"] == "no break-even between 1000 and 1e+13 output tokens a day: cheap is cheaper throughout"
    # a crossing outside the range asked for is not extrapolated: 10.95 M tokens a day lies below 1e8
    api, own = cm.ServingOption("API", 3.0), cm.ServingOption("own", 0.5, fixed_usd=10_000)
    assert cm.break_even_volume(own, api, 12, low=1e5, high=1e9)["found"].iloc[0]
    row = cm.break_even_volume(own, api, 12, low=1e8, high=1e10).iloc[0]
    assert not row["found"]
    assert row["note"] == "no break-even between 1e+08 and 1e+10 output tokens a day: own is cheaper throughout"


# ----------------------------------------------------------------------
# Mixture of experts, speculative-decoding pairs, API prices
# ----------------------------------------------------------------------
def test_dense_twins_differ_from_the_moe_by_its_router():
    # Mixtral 8x7B: 32 blocks, 8 experts, width 4096, no router bias: the router holds
    # L E D = 32 x 8 x 4096 = 1,048,576 weights, and the twins lack exactly those
    moe = cm.load_model("mixtral-8x7b-v0.1")
    twins = cm.dense_twins(moe)
    router = 32 * 8 * 4096
    assert moe.n_params - twins["same_total"].n_params == router
    assert moe.n_active_params - twins["same_active"].n_params == router
    assert twins["same_active"].d_ff == 2 * 14336 and twins["same_total"].d_ff == 8 * 14336
    assert not twins["same_total"].is_moe


def test_moe_stores_its_total_twin_and_reads_its_active_twin_at_batch_one():
    df = cm.moe_vs_dense("mixtral-8x7b-v0.1", "h200-sxm", batch=[1, 64], context=1024).set_index(["role", "batch"])
    roles = cm.hybrid.MOE_ROLES
    # weights in bf16: the router's 1,048,576 weights at 2 bytes are the whole difference
    diff = df.loc[(roles["moe"], 1), "weight_bytes"] - df.loc[(roles["same_total"], 1), "weight_bytes"]
    assert diff == pytest.approx(2 * 32 * 8 * 4096)
    # at batch 1 a token reads k of E experts: the ideal bound (the structure alone, at peak) is the same-active
    # twin's (within 1%), far less than the same-total twin's
    b = df["bound_latency_s"]
    assert b[(roles["moe"], 1)] == pytest.approx(b[(roles["same_active"], 1)], rel=0.01)
    assert b[(roles["moe"], 1)] < 0.5 * b[(roles["same_total"], 1)]
    # the expected step also runs the routed experts at eta_expert of the dense efficiencies (fitted on Mixtral's
    # published throughputs): slower than the same-active twin, by at most 1 / eta_expert
    eta = calibrate.efficiency_profile().eta_expert
    t = df["latency_s"]
    assert t[(roles["same_active"], 1)] < t[(roles["moe"], 1)] <= t[(roles["same_active"], 1)] / eta
    # with the dense efficiencies for the experts (no eta_expert) it is the same-active twin's time again
    dense_eff = replace(calibrate.efficiency_profile(), eta_expert=None)
    same = cm.moe_vs_dense("mixtral-8x7b-v0.1", "h200-sxm", batch=1, context=1024, efficiency=dense_eff)
    same = same.set_index("role")["latency_s"]
    assert same[roles["moe"]] == pytest.approx(same[roles["same_active"]], rel=0.01)


def test_dense_twins_refuse_dense_and_partly_dense_models():
    with pytest.raises(ValueError, match=r"moe='llama-2-7b' is a dense model"):
        cm.dense_twins("llama-2-7b")
    with pytest.raises(ValueError, match=r"moe='deepseek-v2-lite': 1 of its 27 blocks are dense"):
        cm.dense_twins("deepseek-v2-lite")


def test_draft_pairs_share_publisher_and_vocabulary():
    pairs = cm.draft_pairs()
    got = set(zip(pairs["draft"], pairs["target"]))
    # Llama 3.2 1B and Meta-Llama-3-70B: both meta-llama, 128,256 tokens; Mistral 7B and Mixtral: mistralai, 32,000
    assert {("llama-3.2-1b", "llama-3-70b"), ("mistral-7b-v0.1", "mixtral-8x7b-v0.1")} <= got
    # Llama 2 7B has 32,000 tokens like Mixtral but another publisher's tokenizer: not a pair
    assert ("llama-2-7b", "mixtral-8x7b-v0.1") not in got
    row = pairs.set_index(["draft", "target"]).loc[("llama-3.2-1b", "llama-3-70b")]
    assert row["active_param_ratio"] == pytest.approx(1235814400 / 70553706496)
    assert (pairs["draft_active_params"] < pairs["target_active_params"]).all()


# Speculative decoding of a pair, by hand from the step model: Leviathan, Kalman and Matias (2023), eq. 1 for the
# expected tokens per step; the step is gamma decode steps of the draft (context growing one token each) and one
# target pass over the gamma + 1 positions on its warm cache, with logits at every position.
SD_DRAFT, SD_TARGET, SD_HW, SD_CONTEXT = "llama-3.2-1b", "llama-3.1-8b", "h100-sxm", 1024


def _speedup_by_hand(alpha: float, gamma: int) -> tuple[float, float, float]:
    """(expected tokens per step, speculative step / plain step, speed-up) from cm.decode and cm.prefill."""
    expected = (1 - alpha ** (gamma + 1)) / (1 - alpha)
    t_dec = cm.decode(SD_TARGET, SD_HW, batch=1, context=SD_CONTEXT).latency_s
    drafting = sum(cm.decode(SD_DRAFT, SD_HW, batch=1, context=SD_CONTEXT + k).latency_s for k in range(gamma))
    verify = cm.prefill(SD_TARGET, SD_HW, batch=1, prompt_tokens=gamma + 1, cached_tokens=SD_CONTEXT,
                        logits="all").latency_s
    ratio = (drafting + verify) / t_dec
    return expected, ratio, expected / ratio


@pytest.mark.parametrize("alpha, gamma", [(0.8, 4), (0.6, 2)])
def test_draft_pair_speedup_by_hand(alpha, gamma):
    price = 2.0  # USD per device-hour, given
    row = cm.draft_pair_speedups(SD_HW, acceptance_rate=alpha, draft_tokens=gamma, context=SD_CONTEXT,
                                 pairs=[(SD_DRAFT, SD_TARGET)], price_per_device_hour=price).iloc[0]
    expected, ratio, speedup = _speedup_by_hand(alpha, gamma)
    assert row["draft_tokens"] == gamma and row["fits"] and row["target_fits"]
    assert row["expected_tokens_per_step"] == pytest.approx(expected, rel=1e-12)
    # the package times the gamma draft steps as gamma times the mean of the first and last (linear in the context)
    assert row["step_time_ratio"] == pytest.approx(ratio, rel=1e-6)
    assert row["speedup"] == pytest.approx(speedup, rel=1e-6)
    # at the break-even rate the tokens per step equal the step-time ratio: sum of alpha^k, k = 0..gamma
    be = row["break_even_acceptance_rate"]
    assert sum(be ** k for k in range(gamma + 1)) == pytest.approx(ratio, rel=1e-6)
    # batch 1 on one device: the device-hour is paid either way, so the price falls by the speed-up
    t_dec = cm.decode(SD_TARGET, SD_HW, batch=1, context=SD_CONTEXT).latency_s
    assert row["usd_per_1m_output_tokens_plain"] == pytest.approx(price / 3600 * t_dec * 1e6, rel=1e-9)
    assert row["usd_per_1m_output_tokens"] == pytest.approx(row["usd_per_1m_output_tokens_plain"] / speedup,
                                                            rel=1e-6)


def test_draft_pair_best_length_is_the_brute_force_best():
    alphas = [0.5, 0.7, 0.8, 0.9]
    best = cm.draft_pair_speedups(SD_HW, acceptance_rate=alphas, context=SD_CONTEXT, pairs=[(SD_DRAFT, SD_TARGET)],
                                  max_draft_tokens=12)
    for alpha, row in zip(alphas, best.itertuples()):
        by_hand = {g: _speedup_by_hand(alpha, g)[2] for g in range(1, 13)}
        g_star = max(by_hand, key=by_hand.get)
        assert row.draft_tokens == g_star
        assert row.speedup == pytest.approx(by_hand[g_star], rel=1e-6)
    # a better draft is worth a longer run
    assert list(best["draft_tokens"]) == sorted(best["draft_tokens"])
    # below the lowest break-even no draft length pays, above it the best one does
    lowest = best["lowest_break_even_acceptance_rate"].iloc[0]
    be = {g: cm.break_even_acceptance_rate(_speedup_by_hand(0.5, g)[1], g) for g in range(1, 13)}
    assert lowest == pytest.approx(min(be.values()), rel=1e-6)
    near = cm.draft_pair_speedups(SD_HW, acceptance_rate=[lowest - 1e-3, lowest + 1e-3], context=SD_CONTEXT,
                                  pairs=[(SD_DRAFT, SD_TARGET)], max_draft_tokens=12)
    assert list(near["pays"]) == [False, True]


def test_draft_pairs_that_do_not_fit_say_so():
    # Llama 3.1 405B in bf16 is 812 GB of weights: more than one or eight H100s (80 GB each) hold
    one = cm.draft_pair_speedups(SD_HW, acceptance_rate=[0.6, 0.8], pairs=[("llama-3.2-1b", "llama-3.1-405b")])
    assert not one["fits"].any() and not one["target_fits"].any()
    assert one[["speedup", "draft_tokens", "expected_tokens_per_step"]].isna().all().all()
    fewest = cm.draft_pair_speedups(SD_HW, acceptance_rate=0.8, pairs=[("llama-3.2-1b", "llama-3.1-405b")],
                                    n_devices=None, max_devices=8)
    assert not fewest["fits"].iloc[0]
    # Meta-Llama-3-70B alone fits on two H100s (70.6 GB of weights, 35.3 GB each), but not with an 8B draft
    # (16.1 GB) on one of them: 35.3 + 16.1 > 0.9 x 80 GiB
    both = cm.draft_pair_speedups(SD_HW, acceptance_rate=0.8, pairs=[("llama-3-8b", "llama-3-70b")], n_devices=2)
    assert both["target_fits"].iloc[0] and not both["fits"].iloc[0] and np.isnan(both["speedup"].iloc[0])
    # asked for the fewest devices, it takes four (three does not divide the 64 heads): draft on one, target on four
    fewest = cm.draft_pair_speedups(SD_HW, acceptance_rate=0.8, pairs=[("llama-3-8b", "llama-3-70b")],
                                    n_devices=None).iloc[0]
    assert (fewest["n_devices"], fewest["draft_n_devices"], bool(fewest["fits"])) == (4, 1, True)


def test_draft_pair_speedups_cover_the_catalog_pairs():
    pairs = cm.draft_pairs()
    got = cm.draft_pair_speedups(SD_HW, acceptance_rate=[0.6, 0.8], n_devices=None)
    assert len(got) == 2 * len(pairs)
    assert set(zip(got["draft"], got["target"])) == set(zip(pairs["draft"], pairs["target"]))
    ok = got[got["fits"]]
    assert (ok["draft_tokens"] >= 1).all() and ok["speedup"].notna().all()
    # speeding up means the speculative step yields more tokens than it costs plain steps
    assert ((ok["speedup"] > 1) == (ok["expected_tokens_per_step"] > ok["step_time_ratio"])).all()


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(acceptance_rate=1.0), r"acceptance_rate=1 must be in \[0, 1\)"),
    (dict(acceptance_rate=-0.1), r"acceptance_rate=-0.1 must be at least 0"),
    (dict(acceptance_rate=0.8, pairs=[("gpt-9", "llama-3-70b")]), r"draft='gpt-9' of the pair .*not a known model"),
    (dict(acceptance_rate=0.8, pairs=[("llama-3.2-1b", "llama-9")]), r"target='llama-9' of the pair"),
    # Qwen2-0.5B (151,936 tokens) cannot draft for Qwen2-7B (152,064): config.json vocab_size
    (dict(acceptance_rate=0.8, pairs=[("qwen2-0.5b", "qwen2-7b")]), r"draft 'qwen2-0.5b' has vocab_size=151936"),
    (dict(acceptance_rate=0.8, pairs=[("qwen2-0.5b", "qwen2-7b")], n_devices=None), r"vocab_size=151936"),
    (dict(acceptance_rate=0.8, pairs=[]), r"pairs is empty"),
    (dict(acceptance_rate=0.8, n_devices=0), r"n_devices=0 must be at least 1"),
])
def test_draft_pair_speedups_refuse_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.draft_pair_speedups(SD_HW, **kwargs)


def test_api_price_per_output_token():
    # 1024 in and 256 out at 0.15 / 0.60 per 1M: 0.60 + 4 x 0.15 = 1.20 per 1M output tokens
    assert cm.api_usd_per_1m_output_tokens(0.15, 0.6, 1024, 256) == pytest.approx(1.2)


# ----------------------------------------------------------------------
# Bad input: a ValueError naming the argument and its value
# ----------------------------------------------------------------------
@pytest.mark.parametrize("call, pattern", [
    (lambda: cm.routing_cost(0.001, 0.02, 1.5), r"escalation_rate=1.5 exceeds"),
    (lambda: cm.cascade_cost(0.001, 0.02, -0.1), r"escalation_rate=-0.1 must be at least 0"),
    (lambda: cm.routing_cost(0.001, 0.02, 0.2, slm_paid_on_escalation=2), r"slm_paid_on_escalation=2 exceeds"),
    (lambda: cm.routing_cost(-0.001, 0.02, 0.2), r"slm_usd_per_request=-0.001 must be at least 0"),
    (lambda: cm.routing_cost(0.001, 0.0, 0.2), r"llm_usd_per_request=0.0 must be positive"),
    (lambda: cm.routing_cost(0.001, 0.02, 0.2, slm_latency_s=1.0), r"llm_latency_s=None: give both"),
    (lambda: cm.implied_escalation_rate(1.5, 0.001, 0.02), r"saving=1.5 exceeds"),
    (lambda: cm.lifecycle_cost(-1e6, 12, 2.0), r"tokens_per_day=-1e\+06 must be at least 0"),
    (lambda: cm.lifecycle_cost(1e6, -3, 2.0), r"months=-3 must be at least 0"),
    (lambda: cm.lifecycle_cost(1e6, 12, 2.0, utilisation=0), r"utilisation=0 must be in \(0, 1\]"),
    (lambda: cm.lifecycle_cost(1e6, 12, 2.0, utilisation=1.5), r"utilisation=1.5 exceeds"),
    (lambda: cm.ServingOption("", 1.0), r"name='' must be a non-empty string"),
    (lambda: cm.ServingOption("x", -1.0), r"usd_per_1m_tokens=-1 must be at least 0"),
    (lambda: cm.break_even_volume(cm.ServingOption("a", 1.0), "b", 12), r"b='b' must be a ServingOption"),
    (lambda: cm.break_even_volume(cm.ServingOption("a", 1.0), cm.ServingOption("b", 2.0), -1),
     r"months=-1 must be at least 0"),
    (lambda: cm.break_even_volume(cm.ServingOption("a", 1.0), cm.ServingOption("b", 2.0), 12, low=1e6, high=1e3),
     r"high=1000.0 must be above low=1000000.0"),
    (lambda: cm.cheapest_option([cm.ServingOption("a", 1.0)], 12), r"at least two ServingOption"),
    (lambda: cm.cheapest_option([cm.ServingOption("a", 1.0), cm.ServingOption("a", 2.0)], 12), r"repeated names"),
    (lambda: cm.api_usd_per_1m_output_tokens(0.1, 0.2, 100, 0), r"output_tokens=0 must be at least 1"),
])
def test_bad_input_names_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
