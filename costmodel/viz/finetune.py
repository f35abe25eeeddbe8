"""Charts of the fine-tuning chapter (book section ``sec_finetune``).

Every number comes from :mod:`costmodel.finetune` and :mod:`costmodel.scaling`;
these builders only reshape the frames they are given and draw them with
Altair. Charts with a slider carry every precomputed value and filter in the
browser (``alt.param`` bound to a range), so they work in the static book.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = [
    "MEMORY_PARTS",
    "memory_chart",
    "rank_slider_chart",
    "rlhf_memory_chart",
    "federated_chart",
    "scaling_chart",
    "inference_optimal_chart",
]

#: Memory columns of the fine-tuning frames, bottom to top of the stacked bars, with their labels.
MEMORY_PARTS: tuple[tuple[str, str], ...] = (
    ("frozen_bytes", "frozen base"), ("trainable_weights_bytes", "trainable weights"),
    ("gradients_bytes", "gradients"), ("optimizer_bytes", "optimizer state"), ("activations_bytes", "activations"),
)
_RED = "#b2182b"


def _long_memory(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    long = frame.melt(id_vars=keys, value_vars=[c for c, _ in MEMORY_PARTS], var_name="part", value_name="bytes")
    labels = dict(MEMORY_PARTS)
    long["component"] = long["part"].map(labels)
    long["order"] = long["part"].map({c: i for i, (c, _) in enumerate(MEMORY_PARTS)})
    long["gb"] = long["bytes"] / 1e9
    return long


def _stacked_bars(chart: alt.Chart, techniques: list[str], what: str) -> alt.Chart:
    """Bars of GB by component, stacked per technique; ``what`` leads the tooltip."""
    return chart.mark_bar().encode(
        x=alt.X("technique:N", sort=techniques, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("gb:Q", stack="zero", title="GB per device"),
        color=alt.Color("component:N", sort=[lbl for _, lbl in MEMORY_PARTS], title="Component",
                        scale=alt.Scale(scheme="tableau10"), legend=alt.Legend(orient="bottom", columns=3)),
        order=alt.Order("order:Q"),
        tooltip=[what, "technique:N", "component:N", alt.Tooltip("gb:Q", format=".2f", title="GB"),
                 alt.Tooltip("total_gb:Q", format=".1f", title="total GB"), "fits:N"],
    )


def memory_chart(frame: pd.DataFrame, *, width: int = 200, height: int = 220) -> alt.LayerChart:
    """Stacked bars of GB per device by component (:data:`MEMORY_PARTS`), one
    bar per technique, one panel per model and device, with the device's
    capacity as a dashed rule. ``frame``: rows of
    :func:`costmodel.full_finetune`, :func:`costmodel.lora_finetune` and
    :func:`costmodel.qlora_finetune` (one device each).
    Defined in :ref:`sec_finetune`."""
    data = frame.assign(panel=frame["model"] + " on " + frame["hardware"], memory_gb=frame["memory_bytes"] / 1e9,
                        total_gb=frame["total_bytes"] / 1e9)
    long = _long_memory(data, ["panel", "technique", "memory_gb", "total_gb", "fits"])
    techniques = list(dict.fromkeys(frame["technique"]))
    bars = _stacked_bars(alt.Chart(), techniques, "panel:N")
    rule = alt.Chart().mark_rule(color=_RED, strokeDash=[5, 3]).encode(y="mean(memory_gb):Q")
    return alt.layer(bars, rule, data=long).properties(width=width, height=height).facet(
        facet=alt.Facet("panel:N", title=None), columns=2).resolve_scale(y="independent").properties(
        title=alt.TitleParams("Fine-tuning memory per device, by component",
                              subtitle="dashed: the device's memory; each panel has its own scale"))


def rank_slider_chart(frame: pd.DataFrame, *, width: int = 240, height: int = 220) -> alt.HConcatChart:
    """LoRA and QLoRA across ranks, with a slider for log2 of the rank: GB
    per device by component (the full fine-tune as a constant reference bar
    when ``frame`` has one) and trainable parameters. ``frame``: rows of
    :func:`costmodel.lora_finetune` and :func:`costmodel.qlora_finetune` over
    ranks that are powers of two (rank NaN for the full fine-tune).
    Defined in :ref:`sec_finetune`."""
    data = frame.assign(memory_gb=frame["memory_bytes"] / 1e9, total_gb=frame["total_bytes"] / 1e9,
                        trainable_m=frame["trainable_params"] / 1e6,
                        log2_rank=frame["rank"].map(lambda r: -1 if pd.isna(r) else int(r).bit_length() - 1))
    ranks = sorted(int(r) for r in frame["rank"].dropna().unique())
    lo, hi = ranks[0].bit_length() - 1, ranks[-1].bit_length() - 1
    param = alt.param(name="log2_rank", value=3 if lo <= 3 <= hi else lo,
                      bind=alt.binding_range(min=lo, max=hi, step=1, name="log2(rank) "))
    keep = "datum.log2_rank == log2_rank || datum.log2_rank < 0"
    long = _long_memory(data, ["technique", "log2_rank", "rank", "memory_gb", "total_gb", "fits", "trainable_m"])
    techniques = list(dict.fromkeys(frame["technique"]))
    mem = _stacked_bars(alt.Chart(long).transform_filter(keep), techniques, "rank:Q")
    rule = alt.Chart(data).mark_rule(color=_RED, strokeDash=[5, 3]).encode(y="mean(memory_gb):Q")
    adapters = data[data["log2_rank"] >= 0]
    params = alt.Chart(adapters).transform_filter(keep).mark_bar().encode(
        x=alt.X("technique:N", sort=techniques, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("trainable_m:Q", title="trainable parameters (millions)",
                scale=alt.Scale(domain=[0, float(adapters["trainable_m"].max()) * 1.05])),
        color=alt.value("#4c78a8"),
        tooltip=["technique:N", "rank:Q", alt.Tooltip("trainable_m:Q", format=",.2f", title="millions")],
    )
    row = frame.iloc[0]
    return alt.hconcat(
        alt.layer(mem, rule).properties(width=width, height=height, title="GB per device (dashed: memory)"),
        params.properties(width=width * 2 // 3, height=height, title="Trainable parameters"),
    ).add_params(param).properties(title=alt.TitleParams(
        f"LoRA rank: {row['model']} on {row['hardware']}",
        subtitle="move the slider: rank = 2^k on the targeted matrices"))


def rlhf_memory_chart(frame: pd.DataFrame, *, width: int = 200, height: int = 220) -> alt.HConcatChart:
    """RLHF against DPO: GB per device by model role and FLOPs per sample
    (per pair for DPO) by phase. ``frame``: long form with columns
    ``technique``, ``kind`` (``"memory"`` or ``"flops"``), ``part`` and
    ``value`` (bytes or FLOP), as the chapter assembles it from
    :func:`costmodel.rlhf_ppo` and :func:`costmodel.dpo`.
    Defined in :ref:`sec_finetune`."""
    data = frame.assign(scaled=frame["value"] / frame["kind"].map({"memory": 1e9, "flops": 1e12}))
    order = list(dict.fromkeys(frame["technique"]))

    def panel(kind, title):
        return alt.Chart(data[data["kind"] == kind]).mark_bar().encode(
            x=alt.X("technique:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("scaled:Q", stack="zero", title=title),
            color=alt.Color("part:N", title="Model" if kind == "memory" else "Phase",
                            scale=alt.Scale(scheme="tableau10" if kind == "memory" else "set2"),
                            legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["technique:N", "part:N", alt.Tooltip("scaled:Q", format=",.2f", title=title)],
        ).properties(width=width, height=height)

    return alt.hconcat(panel("memory", "GB per device"), panel("flops", "TFLOP per sample")).resolve_scale(
        color="independent").properties(title="RLHF (PPO) against DPO: memory by model, FLOPs by phase")


def federated_chart(frame: pd.DataFrame, *, width: int = 420, height: int = 260) -> alt.Chart:
    """Seconds a client spends on the link per federated round against its
    uplink bandwidth, one line per method (log-log). ``frame``: rows of
    :func:`costmodel.federated_finetune` over uplink bandwidths, with a
    ``label`` column naming each line. Defined in :ref:`sec_finetune`."""
    data = frame.assign(uplink_mbit_s=frame["uplink_bytes_per_s"] * 8 / 1e6,
                        update_mb=frame["update_bytes_per_round"] / 1e6)
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("uplink_mbit_s:Q", scale=alt.Scale(type="log"), title="client uplink (Mbit/s)"),
        y=alt.Y("link_time_per_round_s:Q", scale=alt.Scale(type="log"), title="link time per round (s)"),
        color=alt.Color("label:N", title="update"),
        tooltip=["label:N", alt.Tooltip("uplink_mbit_s:Q", format=",.1f", title="Mbit/s"),
                 alt.Tooltip("update_mb:Q", format=",.1f", title="MB per round"),
                 alt.Tooltip("link_time_per_round_s:Q", format=",.1f", title="s")],
    ).properties(width=width, height=height, title=alt.TitleParams(
        f"Federated rounds of {frame['model'].iloc[0]}: time on the link",
        subtitle="download of the trainable state plus upload of the update, per client and round"))


def scaling_chart(iso: pd.DataFrame, frontier: pd.DataFrame, *, width: int = 420, height: int = 320) -> alt.LayerChart:
    """Iso-loss curves over parameters and training tokens (``iso``: columns
    ``n_params``, ``tokens``, ``loss``, from :func:`costmodel.tokens_for_loss`)
    with the compute-optimal frontier of each fit (``frontier``: rows of
    :func:`costmodel.compute_optimal`), log-log. Defined in :ref:`sec_finetune`."""
    iso = iso.assign(level=iso["loss"].map(lambda x: f"L = {x:.2f}"))
    curves = alt.Chart(iso).mark_line(color="#999999", strokeWidth=1).encode(
        x=alt.X("n_params:Q", scale=alt.Scale(type="log"), title="parameters N", axis=alt.Axis(format="~s")),
        y=alt.Y("tokens:Q", scale=alt.Scale(type="log"), title="training tokens", axis=alt.Axis(format="~s")),
        detail="level:N", tooltip=["level:N", alt.Tooltip("n_params:Q", format=".3s"),
                                   alt.Tooltip("tokens:Q", format=".3s")])
    labels = alt.Chart(iso).transform_filter("datum.label_here").mark_text(
        align="left", dx=3, fontSize=10, color="#666666").encode(x="n_params:Q", y="tokens:Q", text="level:N")
    lines = alt.Chart(frontier).mark_line(strokeWidth=2.5).encode(
        x="n_params:Q", y="tokens:Q",
        color=alt.Color("fit:N", title="compute-optimal, fit", legend=alt.Legend(orient="bottom")),
        tooltip=["fit:N", alt.Tooltip("flops:Q", format=".2e", title="FLOPs"),
                 alt.Tooltip("n_params:Q", format=".3s"), alt.Tooltip("tokens:Q", format=".3s"),
                 alt.Tooltip("tokens_per_param:Q", format=".1f")])
    return alt.layer(curves, labels, lines).properties(width=width, height=height, title=alt.TitleParams(
        "Iso-loss curves and the compute-optimal frontier",
        subtitle="grey: equal predicted loss (Besiroglu et al. fit); colour: minimum loss at each 6ND budget"))


def inference_optimal_chart(curves: pd.DataFrame, optima: pd.DataFrame, *, width: int = 440,
                            height: int = 300) -> alt.LayerChart:
    """Lifetime FLOPs (training plus serving) of the models that reach one
    loss, against their size, with the optimum marked, and a slider for log10
    of the tokens served. ``curves``: ``n_params``, ``total_flops`` and
    ``log10_tokens`` (from :func:`costmodel.lifetime_flops`); ``optima``: rows
    of :func:`costmodel.inference_optimal` with ``log10_tokens``.
    Defined in :ref:`sec_finetune`."""
    steps = sorted(curves["log10_tokens"].unique())
    step = float(steps[1] - steps[0]) if len(steps) > 1 else 1.0
    param = alt.param(name="log10_tokens", value=steps[len(steps) // 2],
                      bind=alt.binding_range(min=steps[0], max=steps[-1], step=step, name="log10(tokens served) "))
    keep = "datum.log10_tokens == log10_tokens"
    x = alt.X("n_params:Q", scale=alt.Scale(type="log"), title="parameters N", axis=alt.Axis(format="~s"))
    y = alt.Y("total_flops:Q", scale=alt.Scale(type="log"), title="training + serving FLOPs",
              axis=alt.Axis(format=".0e"))
    line = alt.Chart(curves).transform_filter(keep).mark_line(color="#4c78a8").encode(
        x=x, y=y, tooltip=[alt.Tooltip("n_params:Q", format=".3s"), alt.Tooltip("total_flops:Q", format=".3e")])
    best = alt.Chart(optima).transform_filter(keep).mark_point(color=_RED, size=90, filled=True).encode(
        x="n_params:Q", y="total_flops:Q",
        tooltip=[alt.Tooltip("n_params:Q", format=".3s", title="optimal N"),
                 alt.Tooltip("tokens_per_param:Q", format=",.0f", title="tokens per parameter"),
                 alt.Tooltip("flops_saved_fraction:Q", format=".1%", title="saved vs Chinchilla-optimal")])
    chin = alt.Chart(optima).transform_filter(keep).mark_rule(color="#999999", strokeDash=[4, 3]).encode(
        x="chinchilla_n_params:Q")
    text = alt.Chart(optima).transform_filter(keep).mark_text(align="left", dx=8, dy=-8, color=_RED).encode(
        x="n_params:Q", y="total_flops:Q", text=alt.Text("n_params:Q", format=".3s"))
    return alt.layer(line, chin, best, text).add_params(param).properties(
        width=width, height=height, title=alt.TitleParams(
            "The inference-aware optimum moves with the tokens served",
            subtitle="blue: every model that reaches the target loss; red: the cheapest over its lifetime; "
                     "dashed: Chinchilla-optimal"))
