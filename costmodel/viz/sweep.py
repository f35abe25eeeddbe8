"""Charts of a sweep (book section ``sec_sweeps``).

They draw the columns of :func:`costmodel.sweep` results and of the queries
on them (:func:`costmodel.pareto_front`, :func:`costmodel.cheapest`); every
number comes from there. Widgets are Vega parameters bound to HTML inputs,
so the charts stay interactive in a static page, without a kernel.

* :func:`pareto_chart`: cost per 1M output tokens against TPOT, coloured by
  model, filtered by device and weight format with dropdowns.
* :func:`demand_chart`: the cheapest fleet of each model as the demand
  grows, with a slider for the demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import altair as alt

__all__ = ["config_label", "pareto_chart", "demand_chart"]


def config_label(df: pd.DataFrame) -> pd.Series:
    """One readable label per row of a sweep: ``"llama-3.1-8b, 2 x h100-sxm,
    fp8, batch 64"``. Defined in :ref:`sec_sweeps`."""
    return (df["model"].astype(str) + ", " + df["n_devices"].astype(int).astype(str) + " x "
            + df["hardware"].astype(str) + ", " + df["weight_dtype"].astype(str) + ", batch "
            + df["batch"].astype(int).astype(str))


def _sig(x, digits: int = 4) -> np.ndarray:
    """``x`` to ``digits`` significant digits: a smaller embedded spec."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
        out = np.round(x * scale) / scale
    return np.where(np.isfinite(out), out, x)


def pareto_chart(df: pd.DataFrame, *, cost: str = "usd_per_1m_output_tokens", latency: str = "tpot_s",
                 device: str | None = None, dtype: str | None = None, width: int = 480,
                 height: int = 340) -> alt.LayerChart:
    """Interactive scatter of a sweep's configurations: ``cost`` (dollars per
    1M output tokens, log axis) against ``latency`` (TPOT, shown in ms, log
    axis), one point per row, coloured by model. Two dropdowns pick the
    device and the weight format; rows whose ``on_front`` column is True
    (the Pareto front of their device and format, from
    :func:`costmodel.pareto_front`) are drawn large and joined by a step
    line. Pass only rows with a finite cost (configurations that fit and have
    a price). Defined in :ref:`sec_sweeps`."""
    devices = list(dict.fromkeys(df["hardware"].astype(str)))
    dtypes = list(dict.fromkeys(df["weight_dtype"].astype(str)))
    device = device or devices[0]
    dtype = dtype or dtypes[0]
    pts = pd.DataFrame({
        "model": df["model"].astype(str), "hardware": df["hardware"].astype(str),
        "weight_dtype": df["weight_dtype"].astype(str), "n_devices": df["n_devices"].astype(int),
        "batch": df["batch"].astype(int), "config": config_label(df),
        "cost": _sig(df[cost]), "latency_ms": _sig(df[latency] * 1e3), "ttft_ms": _sig(df["ttft_s"] * 1e3),
        "tokens_per_s": _sig(df["output_tokens_per_s"]), "on_front": df["on_front"].astype(bool),
    })
    device_p = alt.param(name="device", value=device, bind=alt.binding_select(options=devices, name="Device "))
    dtype_p = alt.param(name="dtype", value=dtype, bind=alt.binding_select(options=dtypes, name="Weights "))
    shown = (alt.datum.hardware == device_p) & (alt.datum.weight_dtype == dtype_p)
    x = alt.X("cost:Q", title="Dollars per 1M output tokens", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="$~g"))
    y = alt.Y("latency_ms:Q", title="Time per output token (ms)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~g"))
    color = alt.Color("model:N", title="Model", sort=list(dict.fromkeys(pts["model"])),
                      legend=alt.Legend(orient="bottom", columns=2, labelLimit=320))
    tooltip = ["config:N", alt.Tooltip("cost:Q", title="$ per 1M tokens", format="$.3~g"),
               alt.Tooltip("latency_ms:Q", title="TPOT (ms)", format=".3~g"),
               alt.Tooltip("ttft_ms:Q", title="TTFT (ms)", format=".3~g"),
               alt.Tooltip("tokens_per_s:Q", title="output tokens/s", format=",.0f")]
    base = alt.Chart(pts).transform_filter(shown)
    cloud = base.mark_point(filled=True, size=30, opacity=0.45).encode(x=x, y=y, color=color, tooltip=tooltip)
    front = base.transform_filter(alt.datum.on_front)
    line = front.mark_line(interpolate="step-after", color="#444", strokeDash=[4, 3]).encode(
        x=x, y=y, order="cost:Q")
    stars = front.mark_point(filled=True, size=140, opacity=1, stroke="black", strokeWidth=1).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    return (alt.layer(cloud, line, stars).add_params(device_p, dtype_p)
            .properties(width=width, height=height,
                        title="Cost against latency: every configuration, the Pareto front large"))


def demand_chart(plan: pd.DataFrame, *, demand: float | None = None, width: int = 480,
                 height: int = 320) -> alt.LayerChart:
    """The cheapest fleet of each model as the demand grows: ``plan`` has one
    row per model and demand (:func:`costmodel.cheapest` of each model's
    rows with an array of demands) and a boolean column ``cheapest`` that
    marks, for each demand, the one row that costs least of all. One line per
    model, dollars per hour against requests per second on log axes. A
    slider moves along the demands (log10 of requests per second): a point
    on every line marks that demand, and a caption names the cheapest
    configuration there, its replicas and its cost. Defined in
    :ref:`sec_sweeps`."""
    demand_s = plan["demand_requests_per_s"].astype(float)
    pts = pd.DataFrame({
        "demand": demand_s, "log10_demand": np.round(np.log10(demand_s), 6),
        "usd_per_hour": _sig(plan["usd_per_hour"]), "model": plan["model"].astype(str),
        "config": config_label(plan), "replicas": plan["replicas"].astype(int),
        "usd_per_1m": _sig(plan["usd_per_1m_output_tokens"]), "cheapest": plan["cheapest"].astype(bool),
    })
    logs = np.unique(pts["log10_demand"].to_numpy())
    step = float(np.round(np.median(np.diff(logs)), 6)) if len(logs) > 1 else 1.0
    start = float(logs[np.argmin(np.abs(logs - np.log10(demand)))]) if demand else float(logs[len(logs) // 2])
    demand_p = alt.param(name="log10_demand", value=start,
                         bind=alt.binding_range(min=float(logs.min()), max=float(logs.max()), step=step,
                                                name="log10(demand, requests/s) "))
    x = alt.X("demand:Q", title="Demand (requests per second)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~g"))
    y = alt.Y("usd_per_hour:Q", title="Cheapest fleet (dollars per hour)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="$~g"))
    models = list(dict.fromkeys(pts["model"]))
    color = alt.Color("model:N", title="Model", sort=models,
                      legend=alt.Legend(orient="bottom", columns=2, labelLimit=320))
    tooltip = ["model:N", "config:N", alt.Tooltip("demand:Q", title="requests/s", format=".3~g"),
               alt.Tooltip("replicas:Q", title="replicas"),
               alt.Tooltip("usd_per_hour:Q", title="$ per hour", format="$,.2f"),
               alt.Tooltip("usd_per_1m:Q", title="$ per 1M tokens", format="$.3~g")]
    base = alt.Chart(pts)
    lines = base.mark_line(strokeWidth=2).encode(x=x, y=y, color=color, order="demand:Q")
    here = base.transform_filter(f"abs(datum.log10_demand - {demand_p.name}) < {step / 2}")
    dots = here.mark_point(filled=True, size=120, stroke="black", strokeWidth=1).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    best = here.transform_filter(alt.datum.cheapest)
    caption = [
        best.transform_calculate(text="format(datum.demand, ',.4~g') + ' requests/s: cheapest is ' + datum.model")
        .mark_text(align="left", baseline="top", x=8, y=6, fontSize=12, color="#222").encode(text="text:N"),
        best.transform_calculate(text="datum.replicas + ' x (' + datum.config + '): ' "
                                      "+ format(datum.usd_per_hour, '$,.2f') + ' per hour'")
        .mark_text(align="left", baseline="top", x=8, y=22, fontSize=12, color="#222").encode(text="text:N"),
    ]
    return (alt.layer(lines, dots, *caption).add_params(demand_p)
            .properties(width=width, height=height, title="The cheapest way to serve a demand, model by model"))
