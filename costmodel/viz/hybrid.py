"""Charts of the hybrids chapter (book section ``sec_hybrid``).

Every number comes from :mod:`costmodel.hybrid` (and, through the chapter,
from :func:`costmodel.planner.compare` and the price catalogs); this module
only draws the tidy DataFrames it is given. Controls (``alt.param`` bound to
a slider, a menu or radio buttons) filter precomputed rows in the browser,
so the charts work in the static book without a kernel.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from .tables import COMPACT_LABELS, decades, round_sig

__all__ = ["routing_chart", "draft_pair_chart", "moe_chart", "quantisation_chart", "lifecycle_chart"]

_LEGEND = alt.Legend(orient="bottom", direction="vertical", titleOrient="top", labelLimit=320)


def _small(df: pd.DataFrame, columns) -> pd.DataFrame:
    """The columns a chart needs, floats at 4 significant digits (a smaller embedded spec)."""
    out = df[list(columns)].copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = round_sig(out[c].to_numpy(), 4)
    return out


def routing_chart(data: pd.DataFrame, published: pd.DataFrame, *, width: int = 230,
                  height: int = 240) -> alt.HConcatChart:
    """Two panels over the escalation rate: the saving against the large
    model alone (left; zero is the break-even) and, for pairs with
    latencies, the latency relative to the large model alone (right; one is
    the break-even). A slider (``kappa``) sets the share of the small model's
    work an escalated request has already spent: 0 is a router, 1 a cascade.
    ``data`` is :func:`costmodel.routing_cost` output over a grid of
    ``escalation_rate`` and ``slm_paid_on_escalation`` (rounded to 0.1) with a
    ``pair`` column; ``published`` holds the published points to mark
    (``system``, ``benchmark``, ``llm_call_share``, ``cost_reduction``).
    Defined in :ref:`sec_hybrid`.
    """
    cols = ["pair", "escalation_rate", "slm_paid_on_escalation", "saving_vs_llm"]
    timed = "latency_vs_llm" in data
    d = _small(data, cols + (["latency_vs_llm"] if timed else []))
    kappa = alt.param(name="kappa", value=0.0,
                      bind=alt.binding_range(min=0, max=1, step=0.1,
                                             name="Share of the small model's work spent before escalating "))
    pairs = list(dict.fromkeys(d["pair"]))
    color = alt.Color("pair:N", sort=pairs, title="Small -> large model", legend=_LEGEND)
    x = alt.X("escalation_rate:Q", title="Escalation rate",
              scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))
    at_kappa = "abs(datum.slm_paid_on_escalation - kappa) < 1e-6"
    saving = alt.Chart(d).transform_filter(at_kappa).mark_line().encode(
        x=x, y=alt.Y("saving_vs_llm:Q", title="Saving against the large model alone", axis=alt.Axis(format="%")),
        color=color, tooltip=["pair:N", alt.Tooltip("escalation_rate:Q", format=".0%"),
                              alt.Tooltip("saving_vs_llm:Q", format=".1%", title="saving")])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(y="y:Q")
    pub = published.dropna(subset=["llm_call_share", "cost_reduction"])
    pub = pub.assign(label=pub["system"] + ", " + pub["benchmark"])
    marks = alt.Chart(pub).mark_point(shape="diamond", size=140, filled=True, color="black").encode(
        x="llm_call_share:Q", y="cost_reduction:Q",
        shape=alt.Shape("label:N", title="Published", legend=_LEGEND),
        tooltip=["system:N", "benchmark:N", alt.Tooltip("llm_call_share:Q", format=".0%", title="to large model"),
                 alt.Tooltip("cost_reduction:Q", format=".0%", title="cost reduction"), "quality:N"])
    left = alt.layer(zero, saving, marks).properties(width=width, height=height,
                                                     title="Cost: saving per request")
    if not timed:
        return alt.hconcat(left).add_params(kappa)
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(y="y:Q")
    lat = alt.Chart(d.dropna(subset=["latency_vs_llm"])).transform_filter(at_kappa).mark_line().encode(
        x=x, y=alt.Y("latency_vs_llm:Q", title="Latency relative to the large model alone",
                     axis=alt.Axis(format=".1f")),
        color=color, tooltip=["pair:N", alt.Tooltip("escalation_rate:Q", format=".0%"),
                              alt.Tooltip("latency_vs_llm:Q", format=".2f", title="latency ratio")])
    right = alt.layer(one, lat).properties(width=width, height=height, title="Latency per request")
    return alt.hconcat(left, right).add_params(kappa).resolve_scale(color="shared")


def draft_pair_chart(data: pd.DataFrame, *, device: str | None = None, width: int = 420,
                     height: int = 260) -> alt.LayerChart:
    """Speed-up of speculative decoding over plain decoding against the
    acceptance rate, a line per draft model, for the target a menu
    (``target``) picks; each point at the best draft length for its rate.
    A dashed rule at 1 marks where a draft stops paying. Pairs that do not
    fit are left out (and the menu offers only targets with a pair that
    fits); the colours and their legend cover every draft of every target,
    so the chart keeps its size when the menu changes. ``data`` is
    :func:`costmodel.draft_pair_speedups` output, ``draft`` and ``target``
    as the labels to show; ``device`` names the device in the subtitle
    (default: the ``hardware`` ids). Defined in :ref:`sec_hybrid`.
    """
    priced = "usd_per_1m_output_tokens" in data
    cols = ["draft", "target", "n_devices", "draft_n_devices", "acceptance_rate", "draft_tokens", "speedup",
            "expected_tokens_per_step", "draft_cost_ratio", "step_time_ratio", "break_even_acceptance_rate",
            "lowest_break_even_acceptance_rate"]
    cols += ["usd_per_1m_output_tokens", "usd_per_1m_output_tokens_plain"] if priced else []
    d = _small(data[data["fits"].astype(bool)], cols)
    targets = list(dict.fromkeys(d["target"]))
    choice = alt.param(name="target", value=targets[0],
                       bind=alt.binding_select(options=targets, name="Target model "))
    drafts = list(dict.fromkeys(d["draft"]))
    y_dom = [min(0.0, float(d["speedup"].min())), float(d["speedup"].max()) * 1.05]
    tip = ["draft:N", "target:N", alt.Tooltip("n_devices:Q", title="devices"),
           alt.Tooltip("acceptance_rate:Q", format=".3f", title="acceptance rate"),
           alt.Tooltip("draft_tokens:Q", title="draft tokens per step"), alt.Tooltip("speedup:Q", format=".2f"),
           alt.Tooltip("expected_tokens_per_step:Q", format=".2f", title="tokens per step"),
           alt.Tooltip("draft_cost_ratio:Q", format=".3f", title="draft step / target step"),
           alt.Tooltip("step_time_ratio:Q", format=".3f", title="speculative step / target step"),
           alt.Tooltip("lowest_break_even_acceptance_rate:Q", format=".3f", title="pays from")]
    if priced:
        tip += [alt.Tooltip("usd_per_1m_output_tokens:Q", format=".2f", title="USD per 1M, speculative"),
                alt.Tooltip("usd_per_1m_output_tokens_plain:Q", format=".2f", title="USD per 1M, plain")]
    lines = alt.Chart(d).transform_filter(alt.datum.target == choice).mark_line(
        point=alt.OverlayMarkDef(size=22)).encode(
        x=alt.X("acceptance_rate:Q", title="Acceptance rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("speedup:Q", title="Speed-up over plain decoding", scale=alt.Scale(domain=y_dom, nice=False)),
        color=alt.Color("draft:N", sort=drafts, scale=alt.Scale(domain=drafts), title="Draft model",
                        legend=_LEGEND),
        tooltip=tip)
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(y="y:Q")
    hw = device or ", ".join(dict.fromkeys(data["hardware"]))
    batch = ", ".join(f"{b:g}" for b in dict.fromkeys(data["batch"]))
    return alt.layer(one, lines).add_params(choice).properties(width=width, height=height, title=alt.TitleParams(
        "Speculative decoding of the catalog's draft pairs",
        subtitle=[f"batch {batch} on {hw}, the best draft length at each rate",
                  "below the dashed line the draft slows decoding down"]))


def moe_chart(data: pd.DataFrame, *, device: str | None = None, width: int = 460, height: int = 260) -> alt.Chart:
    """Time per output token against the batch size for a mixture of experts
    and its two dense twins, on a log-log grid; a menu (``moe``) picks the
    mixture of experts. Points where the weights and caches do not fit are
    left out. ``data`` is :func:`costmodel.moe_vs_dense` output for one or
    more models with a ``moe`` column (the menu's labels); ``device`` names
    the device in the subtitle (default: the ``hardware`` ids).
    Defined in :ref:`sec_hybrid`.
    """
    d = data[data["fits"].astype(bool)].assign(ms_per_token=lambda f: f["latency_s"] * 1e3)
    d = _small(d, ["moe", "role", "batch", "ms_per_token", "tokens_per_s"])
    models = list(dict.fromkeys(d["moe"]))
    choice = alt.param(name="moe", value=models[0], bind=alt.binding_select(options=models, name="Mixture of experts "))
    roles = list(dict.fromkeys(d["role"]))
    b_dom = (float(d["batch"].min()), float(d["batch"].max()))
    y_dom = (float(d["ms_per_token"].min()) / 1.5, float(d["ms_per_token"].max()) * 1.5)
    hw = device or ", ".join(dict.fromkeys(data["hardware"]))
    return (
        alt.Chart(d).transform_filter(alt.datum.moe == choice)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch:Q", title="Batch (sequences decoded together)",
                    scale=alt.Scale(type="log", domain=list(b_dom), nice=False),
                    axis=alt.Axis(values=decades(b_dom) + [b_dom[1]], labelExpr=COMPACT_LABELS)),
            y=alt.Y("ms_per_token:Q", title="Time per output token (ms)",
                    scale=alt.Scale(type="log", domain=list(y_dom), nice=False),
                    axis=alt.Axis(values=decades(y_dom), labelExpr=COMPACT_LABELS)),
            color=alt.Color("role:N", sort=roles, title="Model", legend=_LEGEND),
            tooltip=["role:N", "batch:Q", alt.Tooltip("ms_per_token:Q", format=".3~g", title="ms per token"),
                     alt.Tooltip("tokens_per_s:Q", format=",.0f", title="tokens/s (batch)")],
        )
        .add_params(choice)
        .properties(width=width, height=height, title=alt.TitleParams(
            "A mixture of experts between its dense twins", subtitle=f"decode step on one {hw}"))
    )


def quantisation_chart(data: pd.DataFrame, *, width: int = 280, height: int = 240) -> alt.HConcatChart:
    """Published perplexity (lower is better) against the weight memory
    (left) and against dollars per million output tokens on the device a
    menu (``device``) picks (right), one point per model and weight format.
    ``data`` has ``device``, ``model`` (display name), ``weight_dtype``,
    ``weight_gb``, ``usd_per_1m_output_tokens`` and ``wikitext2_perplexity``.
    Defined in :ref:`sec_hybrid`.
    """
    d = _small(data, ["device", "model", "weight_dtype", "weight_gb", "usd_per_1m_output_tokens",
                      "wikitext2_perplexity", "n_devices"])
    devices = list(dict.fromkeys(d["device"]))
    choice = alt.param(name="device", value=devices[0], bind=alt.binding_select(options=devices, name="Device "))
    models = list(dict.fromkeys(d["model"]))
    color = alt.Color("model:N", sort=models, title="Model", legend=_LEGEND)
    shape = alt.Shape("weight_dtype:N", title="Weights", legend=_LEGEND)
    y = alt.Y("wikitext2_perplexity:Q", title="WikiText-2 perplexity (published)", scale=alt.Scale(zero=False))
    tip = ["model:N", "weight_dtype:N", alt.Tooltip("weight_gb:Q", format=".1f", title="weights (GB)"),
           alt.Tooltip("wikitext2_perplexity:Q", format=".2f", title="perplexity")]
    base = alt.Chart(d).transform_filter(alt.datum.device == choice)
    left = base.mark_point(filled=True, size=110).encode(
        x=alt.X("weight_gb:Q", title="Weights (GB)", scale=alt.Scale(type="log")), y=y, color=color,
        shape=shape, tooltip=tip).properties(width=width, height=height, title="Quality against memory")
    right = base.mark_point(filled=True, size=110).encode(
        x=alt.X("usd_per_1m_output_tokens:Q", title="USD per million output tokens", scale=alt.Scale(type="log")),
        y=y, color=color, shape=shape,
        tooltip=tip + ["n_devices:Q", alt.Tooltip("usd_per_1m_output_tokens:Q", format=".3f", title="USD per 1M")],
    ).properties(width=width, height=height, title="Quality against price")
    return alt.hconcat(left, right).add_params(choice).resolve_scale(color="shared", shape="shared")


def lifecycle_chart(curves: pd.DataFrame, regions: pd.DataFrame, *, width: int = 520,
                    height: int = 260) -> alt.VConcatChart:
    """Total cost of each option against the output tokens served a day
    (log-log, top), and which option is cheapest at each volume (a strip,
    bottom), for the months a slider picks and the scenario the menus pick.
    ``curves`` is :meth:`costmodel.ServingOption.cost` output stacked over a
    grid of volumes, with the scenario columns ``api`` and ``fixed`` (menu
    labels) and ``months``; ``regions`` is :func:`costmodel.cheapest_option`
    output with the same scenario columns. Defined in :ref:`sec_hybrid`.
    """
    c = _small(curves, ["api", "fixed", "months", "option", "tokens_per_day", "total_usd"])
    r = _small(regions, ["api", "fixed", "months", "option", "from_tokens_per_day", "to_tokens_per_day"])
    months = sorted(c["months"].unique())
    step = float(months[1] - months[0]) if len(months) > 1 else 1.0
    m_p = alt.param(name="months", value=float(months[len(months) // 3]),
                    bind=alt.binding_range(min=float(months[0]), max=float(months[-1]), step=step,
                                           name="Months of service "))
    apis = list(dict.fromkeys(c["api"]))
    api_p = alt.param(name="api", value=apis[0], bind=alt.binding_select(options=apis, name="Hosted API "))
    fixes = list(dict.fromkeys(c["fixed"]))
    fix_p = alt.param(name="fixed", value=fixes[0],
                      bind=alt.binding_radio(options=fixes, name="Small model's fixed cost "))
    pick = "datum.api == api && datum.fixed == fixed && abs(datum.months - months) < 1e-6"
    options = list(dict.fromkeys(c["option"]))
    color = alt.Color("option:N", sort=options, title="Option", legend=_LEGEND)
    n_dom = (float(c["tokens_per_day"].min()), float(c["tokens_per_day"].max()))
    x_scale = alt.Scale(type="log", domain=list(n_dom), nice=False)
    x_axis = alt.Axis(values=decades(n_dom), labelExpr=COMPACT_LABELS)
    y_dom = (float(c["total_usd"].min()) / 2, float(c["total_usd"].max()) * 2)
    top = alt.Chart(c).transform_filter(pick).mark_line().encode(
        x=alt.X("tokens_per_day:Q", title=None, scale=x_scale, axis=x_axis),
        y=alt.Y("total_usd:Q", title="Total cost (USD)", scale=alt.Scale(type="log", domain=list(y_dom), nice=False),
                axis=alt.Axis(values=decades(y_dom), labelExpr=COMPACT_LABELS)),
        color=color, tooltip=["option:N", alt.Tooltip("tokens_per_day:Q", format=".3~s", title="tokens/day"),
                              alt.Tooltip("total_usd:Q", format=",.0f", title="USD")],
    ).properties(width=width, height=height, title="Lifecycle cost: fixed cost plus serving")
    strip = alt.Chart(r).transform_filter(pick).mark_rect().encode(
        x=alt.X("from_tokens_per_day:Q", title="Output tokens served per day", scale=x_scale, axis=x_axis),
        x2="to_tokens_per_day:Q", color=color,
        tooltip=["option:N", alt.Tooltip("from_tokens_per_day:Q", format=".3~s", title="from tokens/day"),
                 alt.Tooltip("to_tokens_per_day:Q", format=".3~s", title="to tokens/day")],
    ).properties(width=width, height=24, title=alt.TitleParams("Cheapest", fontSize=11, anchor="start"))
    return alt.vconcat(top, strip).add_params(m_p, api_p, fix_p).resolve_scale(color="shared")
