"""Tables and charts of the training chapter (book section ``sec_training``).

Every number comes from :mod:`costmodel.training` and :mod:`costmodel.prices`
(which evaluate the sympy expressions of :mod:`costmodel.formulas`); this
module only assembles tidy DataFrames and draws them with Altair. Charts with
controls precompute every combination and filter in the browser
(``alt.param`` bound to a select), so they work in the static book without a
kernel.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from .._validate import as_arch, as_hardware
from ..catalog import list_hardware, load_hardware
from ..prices import cloud_prices
from ..training import (
    RECOMPUTE,
    Parallelism,
    default_mfu,
    training_co2e_kg,
    training_energy_kwh,
    training_flops,
    training_memory,
)
from .tables import model_names

__all__ = [
    "MEMORY_COMPONENTS",
    "ATTENTION_KERNELS",
    "conventions_table",
    "memory_breakdown_data",
    "memory_breakdown_chart",
    "validation_chart",
    "run_cost_energy_table",
]

#: Memory components, bottom to top of the stacked bars.
MEMORY_COMPONENTS: tuple[str, ...] = ("weights", "gradients", "optimizer", "activations")


def conventions_table(models: Iterable, seq_len: int | Mapping[str, int]) -> pd.DataFrame:
    """Training FLOPs per token of each model under each convention of
    :func:`costmodel.training_flops`, one row per model: 6N (all and
    non-embedding N), PaLM's model FLOPs at ``seq_len`` (a number, or a
    model -> length mapping), and hardware FLOPs with selective and full
    recomputation, with each as a ratio to 6N. Defined in :ref:`sec_training`.
    """
    rows = []
    for m in models:
        a = as_arch(m, "models")
        s = seq_len[a.name] if isinstance(seq_len, Mapping) else seq_len
        six = float(training_flops(a, 1.0))
        conv = {
            "6N, non-embedding N": float(training_flops(a, 1.0, params="non_embedding")),
            "6N + 12LHQT (model)": float(training_flops(a, 1.0, s)),
            "+ selective recompute": float(training_flops(a, 1.0, s, "selective")),
            "+ full recompute": float(training_flops(a, 1.0, s, "full")),
        }
        rows.append({"model": a.name, "seq_len": s, "n_params": a.n_active_params, "6N": six,
                     **conv, **{f"{k} / 6N": v / six for k, v in conv.items()}})
    return pd.DataFrame(rows)


#: Attention kernels offered by the memory chart: fused (flash) attention
#: stores no score matrix; materialised scores are stored for the backward pass.
ATTENTION_KERNELS: Mapping[str, bool] = {"fused": True, "materialised scores": False}


def memory_breakdown_data(model, hardware, seq_len: int, layouts: Sequence[Mapping], *,
                          zero_stages: Sequence[int] = (0, 1, 2, 3), recomputes: Sequence[str] = RECOMPUTE,
                          attention: Sequence[str] = tuple(ATTENTION_KERNELS), optimizer: str = "adam") -> pd.DataFrame:
    """Bytes per device of ``model`` on ``hardware`` for every layout in
    ``layouts`` (keyword arguments of :class:`costmodel.Parallelism`, without
    ``zero_stage``), ZeRO stage, recomputation and attention kernel (keys of
    :data:`ATTENTION_KERNELS`): long form, one row per (layout, stage,
    recompute, attention, component) with ``gb`` (decimal), the layout's
    ``total_gb``, the device's ``memory_gb`` and ``fits``.
    Defined in :ref:`sec_training`.
    """
    arch, hw = as_arch(model), as_hardware(hardware)
    frames = []
    for kw in layouts:
        for z in zero_stages:
            par = Parallelism(**{**kw, "zero_stage": z})
            for rc in recomputes:
                for kernel in attention:
                    df = training_memory(arch, hw, seq_len, par, recompute=rc, optimizer=optimizer,
                                         flash_attention=ATTENTION_KERNELS[kernel])
                    df["attention"] = kernel
                    frames.append(df)
    wide = pd.concat(frames, ignore_index=True)
    wide["layout"] = [f"{lab}{' SP' if sp and t > 1 else ''}" for lab, sp, t in
                      zip(wide["layout"], wide["sequence_parallel"], wide["tensor"])]
    long = wide.melt(id_vars=["model", "hardware", "layout", "zero_stage", "recompute", "attention", "seq_len",
                              "total_bytes",
                              "memory_bytes", "fits", "shortfall_bytes"],
                     value_vars=[f"{c}_bytes" for c in MEMORY_COMPONENTS], var_name="component", value_name="bytes")
    long["component"] = long["component"].str.removesuffix("_bytes")
    long["order"] = long["component"].map({c: i for i, c in enumerate(MEMORY_COMPONENTS)})
    long["gb"] = long["bytes"] / 1e9
    long["total_gb"] = long["total_bytes"] / 1e9
    long["memory_gb"] = long["memory_bytes"] / 1e9
    long["zero_stage"] = long["zero_stage"].astype(str)
    return long


def memory_breakdown_chart(data: pd.DataFrame, *, zero_stage: int = 1, width: int = 460,
                           height: int = 260) -> alt.LayerChart:
    """Stacked bars of bytes per device by component for each layout, with
    the device's memory as a rule; three menus (``alt.param`` named
    ``zero_stage``, ``attention`` and ``recompute``, bound to selects and
    evaluated by Vega in the browser) pick the ZeRO stage (first shown:
    ``zero_stage``), the attention kernel and the recomputation, in that
    order: the attention kernel matters only while the scores are stored. ``data``
    from :func:`memory_breakdown_data`. Defined in :ref:`sec_training`.
    """
    stages = sorted(data["zero_stage"].unique())
    recomputes = list(dict.fromkeys(data["recompute"]))
    kernels = list(dict.fromkeys(data["attention"]))
    layouts = list(dict.fromkeys(data["layout"]))
    first = str(zero_stage) if str(zero_stage) in stages else stages[0]
    zero = alt.param(name="zero_stage", value=first, bind=alt.binding_select(options=stages, name="ZeRO stage "))
    rec = alt.param(name="recompute", value=recomputes[0],
                    bind=alt.binding_select(options=recomputes, name="Recomputation "))
    att = alt.param(name="attention", value=kernels[0], bind=alt.binding_select(options=kernels, name="Attention "))
    base = alt.Chart(data).transform_filter(
        "datum.zero_stage == zero_stage && datum.recompute == recompute && datum.attention == attention")
    bars = base.mark_bar().encode(
        x=alt.X("layout:N", sort=layouts, title="Parallel layout", axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("gb:Q", stack="zero", title="GB per device"),
        color=alt.Color("component:N", sort=list(MEMORY_COMPONENTS), title="Component",
                        scale=alt.Scale(scheme="tableau10")),
        order=alt.Order("order:Q"),
        tooltip=["layout:N", "component:N", alt.Tooltip("gb:Q", format=".1f", title="GB"),
                 alt.Tooltip("total_gb:Q", format=".1f", title="total GB"), "fits:N"],
    )
    memory_gb = float(data["memory_gb"].iloc[0])
    rule = alt.Chart(pd.DataFrame({"memory_gb": [memory_gb]})).mark_rule(color="#b2182b", strokeDash=[5, 3]).encode(
        y="memory_gb:Q")
    label = alt.Chart(pd.DataFrame({"memory_gb": [memory_gb], "text": [f"device memory {memory_gb:.0f} GB"]})) \
        .mark_text(align="left", dx=4, dy=-6, color="#b2182b").encode(y="memory_gb:Q", text="text:N", x=alt.value(0))
    row = data.iloc[0]
    # the model's and the device's display names, as the book's prose has them
    model = model_names().get(row["model"], row["model"])
    device = load_hardware(row["hardware"]).name if row["hardware"] in list_hardware() else row["hardware"]
    return (
        alt.layer(bars, rule, label)
        .add_params(zero, att, rec)
        .properties(width=width, height=height, title=alt.TitleParams(
            f"Training memory per device: {model} on {device}",
            subtitle=f"sequences of {int(row['seq_len']):,} tokens; choose ZeRO stage, attention and "
                     "recomputation below"))
    )


def validation_chart(validation: pd.DataFrame, *, size: int = 320) -> alt.LayerChart:
    """Predicted (leave-one-out, at the MFU fitted to the other runs) against
    reported device-hours for the runs used in the fit, log-log, with the
    line of agreement and the lines a factor of the leave-one-out RMS error
    above and below. ``validation`` from :func:`costmodel.training_validation`.
    Defined in :ref:`sec_training`.
    """
    used = validation[validation["used_in_fit"]].copy()
    factor = default_mfu().loo_factor
    lo = float(min(used["device_hours_reported"].min(), used["device_hours_predicted_loo"].min()) / 2)
    hi = float(max(used["device_hours_reported"].max(), used["device_hours_predicted_loo"].max()) * 2)
    xs = np.geomspace(lo, hi, 2)
    lines = pd.DataFrame({
        "x": np.tile(xs, 3), "y": np.concatenate([xs, xs * factor, xs / factor]),
        "line": np.repeat(["agreement", f"x {factor:.2f} (LOO RMS)", f"/ {factor:.2f} (LOO RMS)"], 2),
    })
    scale = alt.Scale(type="log", domain=[lo, hi])
    guide = alt.Chart(lines).mark_line(color="#888").encode(
        x=alt.X("x:Q", scale=scale, title="Reported device-hours"),
        y=alt.Y("y:Q", scale=scale, title="Predicted device-hours (leave-one-out)"),
        strokeDash=alt.StrokeDash("line:N", title=None, legend=alt.Legend(orient="bottom")),
    )
    used["residual_pct"] = 100 * used["residual_loo"]
    points = alt.Chart(used).mark_circle(size=70, color="#1f77b4").encode(
        x=alt.X("device_hours_reported:Q", scale=scale), y=alt.Y("device_hours_predicted_loo:Q", scale=scale),
        tooltip=["run:N", "hardware:N", alt.Tooltip("device_hours_reported:Q", format=",.0f"),
                 alt.Tooltip("device_hours_predicted_loo:Q", format=",.0f"),
                 alt.Tooltip("implied_mfu:Q", format=".1%"), alt.Tooltip("residual_pct:Q", format="+.0f",
                                                                          title="residual %")],
    )
    text = points.mark_text(align="left", dx=6, fontSize=10).encode(text="run:N")
    return alt.layer(guide, points, text).properties(
        width=size, height=size, title=alt.TitleParams(
            "Published device-hours against the prediction",
            subtitle=f"each run predicted at the MFU fitted to the others (default {default_mfu().value:.1%})"))


def run_cost_energy_table(validation: pd.DataFrame, *, pricing_model: str = "on_demand") -> pd.DataFrame:
    """For each run used in the fit: reported device-hours; energy at the
    device's TDP with the default PUE and the CO2 at the default grid
    intensity (:func:`costmodel.training_energy_kwh`,
    :func:`costmodel.training_co2e_kg`); and the cost at the lowest and
    highest per-device-hour price that ``data/prices/cloud.csv`` lists for
    that device (``pricing_model``, any date: a range of listed prices,
    not one price at one date). Defined in :ref:`sec_training`.
    """
    used = validation[validation["used_in_fit"]]
    rows = []
    for r in used.itertuples(index=False):
        hw_id = r.hardware.split(";")[0]
        prices = cloud_prices(hw_id)
        prices = prices[prices["pricing_model"] == pricing_model]["usd_per_device_hour"]
        kwh = float(training_energy_kwh(r.device_hours_reported, hw_id))
        rows.append({
            "run": r.run, "hardware": hw_id, "device_hours": r.device_hours_reported, "energy_mwh": kwh / 1e3,
            "co2e_t": float(training_co2e_kg(kwh)) / 1e3,
            "usd_per_device_hour_low": float(prices.min()) if len(prices) else np.nan,
            "usd_per_device_hour_high": float(prices.max()) if len(prices) else np.nan,
        })
    df = pd.DataFrame(rows)
    df["cost_musd_low"] = df["device_hours"] * df["usd_per_device_hour_low"] / 1e6
    df["cost_musd_high"] = df["device_hours"] * df["usd_per_device_hour_high"] / 1e6
    return df
