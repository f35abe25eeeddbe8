"""Tables and charts of the cost and speculative-decoding chapters (book
sections ``sec_cost`` and ``sec_speculative``).

Every number comes from :mod:`costmodel.cost` and :mod:`costmodel.prices`
(which evaluate the sympy expressions of :mod:`costmodel.formulas`); this
module assembles tidy DataFrames from those calls and draws them with
Altair. Charts with controls precompute every combination and filter in the
browser (``alt.param`` bound to a slider or a select), so they work in the
static book without a kernel.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from .._validate import as_arch, as_hardware
from ..cost import (
    API_OPEN_WEIGHTS,
    EDGE_DEVICES,
    cost_per_million_tokens,
    edge_energy_per_token,
    energy_per_million_tokens,
    published_speculative,
    speculative_decode,
    speculative_speedup,
)
from ..inference import min_devices
from ..prices import api_cost_per_million_tokens, energy_table

__all__ = [
    "self_hosted_vs_api_data",
    "self_hosted_vs_api_chart",
    "cost_vs_batch_data",
    "cost_vs_batch_chart",
    "carbon_data",
    "carbon_chart",
    "edge_table",
    "speculative_data",
    "speculative_chart",
    "published_speculative_table",
]


def _n_devices(model, hardware, context: int) -> int:
    return min_devices(model, hardware, batch=1, context=context)


def self_hosted_vs_api_data(models: Iterable, devices: Iterable, *, date, api_date, input_tokens: int,
                            output_tokens: int) -> pd.DataFrame:
    """USD per million input, output and blended tokens of each model served
    on each device (the fewest devices that hold it,
    :func:`costmodel.min_devices`, at the largest batch that fits, priced at
    the cheapest catalog offer at ``date``), and the list prices at
    ``api_date`` of every hosted API that serves the same open weights
    (:data:`costmodel.API_OPEN_WEIGHTS`). Long form, one row per (model,
    offer): ``offer`` names the device and count or the API, ``kind`` is
    ``self-hosted`` or ``API``, ``price_note`` the catalog row and its date.
    Blended prices mix the request's own input/output ratio.
    Defined in :ref:`sec_cost`.
    """
    rows = []
    ratio = input_tokens / output_tokens
    for m in models:
        arch = as_arch(m, "models")
        for d in devices:
            hw = as_hardware(d, "devices")
            n = _n_devices(arch, hw, input_tokens + output_tokens)
            r = cost_per_million_tokens(arch, hw, input_tokens, output_tokens, n_devices=n, date=date).iloc[0]
            rows.append({"model": arch.name, "offer": f"{n} x {hw.id}", "kind": "self-hosted", "where": hw.id,
                         "input": r["usd_per_1m_input_tokens"], "output": r["usd_per_1m_output_tokens"],
                         "blended": r["usd_per_1m_blended_tokens"], "batch": r["batch"],
                         "usd_per_device_hour": r["price_per_device_hour_usd"],
                         "price_note": f"{r['price_source']} ({r['price_date']})"})
        for (provider, api_model), catalog_id in API_OPEN_WEIGHTS.items():
            if catalog_id != arch.name:
                continue
            p = api_cost_per_million_tokens(api_model, api_date, provider)
            rows.append({"model": arch.name, "offer": f"{provider} {api_model}", "kind": "API",
                         "where": f"{provider} API",
                         "input": p.input_usd_per_1m_tokens, "output": p.output_usd_per_1m_tokens,
                         "blended": (ratio * p.input_usd_per_1m_tokens + p.output_usd_per_1m_tokens) / (ratio + 1),
                         "batch": math.nan, "usd_per_device_hour": math.nan, "price_note": f"{p.row_id} ({p.date})"})
    return pd.DataFrame(rows)


def self_hosted_vs_api_chart(data: pd.DataFrame, *, width: int = 420, height: int = 220) -> alt.Chart:
    """Dot plot of USD per million blended tokens, one row per model, a dot
    per offer: circles for self-hosted devices and diamonds for APIs,
    coloured by device or provider, on a log axis. ``data`` from
    :func:`self_hosted_vs_api_data`. Defined in :ref:`sec_cost`.
    """
    models = list(dict.fromkeys(data["model"]))
    return alt.Chart(data).mark_point(size=120, filled=True, opacity=0.85).encode(
        y=alt.Y("model:N", sort=models, title=None),
        x=alt.X("blended:Q", scale=alt.Scale(type="log"), title="USD per million tokens (blended)"),
        color=alt.Color("where:N", title="Device or API", scale=alt.Scale(scheme="tableau10")),
        shape=alt.Shape("kind:N", title="Kind", scale=alt.Scale(domain=["self-hosted", "API"],
                                                                range=["circle", "diamond"])),
        tooltip=["model:N", "offer:N", "kind:N", alt.Tooltip("input:Q", format=".3f", title="$/1M in"),
                 alt.Tooltip("output:Q", format=".3f", title="$/1M out"),
                 alt.Tooltip("blended:Q", format=".3f", title="$/1M blended"), alt.Tooltip("batch:Q", format=".0f"),
                 alt.Tooltip("usd_per_device_hour:Q", format=".2f", title="$/device-hour"), "price_note:N"],
    ).properties(width=width, height=height, title=alt.TitleParams(
        "Self-hosted at full load beside hosted-API list prices",
        subtitle="dated prices; hover for the catalog row of each"))


def cost_vs_batch_data(models: Iterable, hardware, *, date, input_tokens: int, output_tokens: int,
                       batches: Sequence[int], utilisations: Sequence[float]) -> pd.DataFrame:
    """USD per million output and blended tokens of each model on the
    fewest devices of ``hardware`` that hold it, for every batch in
    ``batches`` and utilisation in ``utilisations`` (long form; NaN where the
    batch does not fit), with ``log2_batch`` and ``max_batch`` for the
    chart's sliders. Defined in :ref:`sec_cost`.
    """
    b = np.asarray(batches, dtype=float)[:, None]
    u = np.asarray(utilisations, dtype=float)[None, :]
    frames = []
    hw = as_hardware(hardware)
    for m in models:
        arch = as_arch(m, "models")
        n = _n_devices(arch, hw, input_tokens + output_tokens)
        df = cost_per_million_tokens(arch, hw, input_tokens, output_tokens, n_devices=n, date=date, batch=b,
                                     utilisation=u)
        full = cost_per_million_tokens(arch, hw, input_tokens, output_tokens, n_devices=n, date=date).iloc[0]
        df["max_batch"] = full["batch"]
        df["model_label"] = f"{arch.name} ({n} x {hw.id})"
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["log2_batch"] = np.log2(out["batch"]).round().astype(int)
    out["utilisation_pct"] = (100 * out["utilisation"]).round().astype(int)
    keep = ["model", "model_label", "hardware", "n_devices", "batch", "log2_batch", "max_batch", "fits", "utilisation",
            "utilisation_pct", "usd_per_1m_output_tokens", "usd_per_1m_input_tokens", "usd_per_1m_blended_tokens",
            "price_source", "price_per_device_hour_usd", "tpot_s"]
    return out[keep]


def cost_vs_batch_chart(data: pd.DataFrame, *, width: int = 400, height: int = 280) -> alt.LayerChart:
    """USD per million output tokens against the batch (log-log), a line per
    model, with two sliders evaluated by Vega in the browser: the
    utilisation of the paid hour (``utilisation``, in percent) and the batch
    (``log2_batch``), whose point is marked and labelled with its price.
    ``data`` from :func:`cost_vs_batch_data`. Defined in :ref:`sec_cost`.
    """
    util = sorted(data["utilisation_pct"].unique())
    logs = sorted(data["log2_batch"].unique())
    u_p = alt.param(name="utilisation", value=int(util[-1]),
                    bind=alt.binding_range(min=int(util[0]), max=int(util[-1]), step=int(util[1] - util[0]),
                                           name="Busy share of the paid hour (%) "))
    b_p = alt.param(name="log2_batch", value=int(logs[len(logs) // 2]),
                    bind=alt.binding_range(min=int(logs[0]), max=int(logs[-1]), step=1, name="log2(batch) "))
    shown = data[data["fits"]].copy()
    base = alt.Chart(shown).transform_filter("datum.utilisation_pct == utilisation")
    x = alt.X("batch:Q", scale=alt.Scale(type="log", base=2), title="Batch (running requests)")
    # one domain for every slider position, so the axis does not move under the reader
    lo, hi = float(shown["usd_per_1m_output_tokens"].min()), float(shown["usd_per_1m_output_tokens"].max())
    y = alt.Y("usd_per_1m_output_tokens:Q", scale=alt.Scale(type="log", domain=[lo, hi], nice=True),
              title="USD per 1M output tokens")
    color = alt.Color("model_label:N", title="Model")
    lines = base.mark_line(point=alt.OverlayMarkDef(size=25)).encode(x=x, y=y, color=color)
    at = base.transform_filter("datum.log2_batch == log2_batch")
    tooltip = ["model_label:N", alt.Tooltip("batch:Q", format=".0f"), alt.Tooltip("utilisation:Q", format=".0%"),
               alt.Tooltip("usd_per_1m_output_tokens:Q", format=".3f", title="$/1M out"),
               alt.Tooltip("usd_per_1m_input_tokens:Q", format=".3f", title="$/1M in"),
               alt.Tooltip("usd_per_1m_blended_tokens:Q", format=".3f", title="$/1M blended"), "price_source:N"]
    dots = at.mark_point(filled=True, size=160).encode(x=x, y=y, color=color, tooltip=tooltip)
    labels = at.transform_calculate(label="'$' + format(datum.usd_per_1m_output_tokens, '.3~f')").mark_text(
        align="left", dx=9, dy=-6, fontSize=11).encode(x=x, y=y, color=color, text="label:N")
    row = data.iloc[0]
    return alt.layer(lines, dots, labels).add_params(u_p, b_p).properties(
        width=width, height=height, title=alt.TitleParams(
            f"Price per output token against the batch on {row['hardware']}",
            subtitle=f"{row['price_source']} at ${row['price_per_device_hour_usd']:.2f} per device-hour; "
                     "move the sliders"))


def carbon_data(models: Iterable, devices: Iterable, *, input_tokens: int, output_tokens: int,
                pue: float | None = None) -> pd.DataFrame:
    """kWh and kg CO2 per million output and blended tokens of each model on
    each device (the fewest that hold it, largest batch that fits, the
    device's TDP, ``pue`` or the default), at every grid carbon intensity in
    ``data/prices/energy.csv`` (``grid`` names the row's region, sector,
    scope and period). Defined in :ref:`sec_cost`.
    """
    grids = energy_table("carbon_intensity")
    frames = []
    for m in models:
        arch = as_arch(m, "models")
        for d in devices:
            hw = as_hardware(d, "devices")
            n = _n_devices(arch, hw, input_tokens + output_tokens)
            df = energy_per_million_tokens(arch, hw, input_tokens, output_tokens, n_devices=n, pue=pue,
                                           carbon_intensity_g_per_kwh=grids["value"].to_numpy())
            df["grid"] = [f"{r.region} {r.sector.replace('_', ' ')}, {r.scope} ({r.period})"
                          for r in grids.itertuples()]
            df["offer"] = f"{n} x {hw.id}"
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def carbon_chart(data: pd.DataFrame, *, width: int = 420, height: int = 160) -> alt.Chart:
    """Dot plot of grams of CO2 per thousand output tokens (log axis) for
    each model, a dot per offer coloured by device, with a select
    (``grid``) that picks the grid's carbon intensity. ``data`` from
    :func:`carbon_data`. Defined in :ref:`sec_cost`.
    """
    grids = list(dict.fromkeys(data["grid"]))
    grid = alt.param(name="grid", value=grids[0], bind=alt.binding_select(options=grids, name="Grid "))
    shown = data.assign(g_per_1k=data["kg_co2_per_1m_output_tokens"])  # kg per million = g per thousand
    models = list(dict.fromkeys(shown["model"]))
    return alt.Chart(shown).transform_filter("datum.grid == grid").mark_point(size=120, filled=True).encode(
        y=alt.Y("model:N", sort=models, title=None),
        x=alt.X("g_per_1k:Q", scale=alt.Scale(type="log"), title="g CO2 per thousand output tokens"),
        color=alt.Color("hardware:N", title="Device", scale=alt.Scale(scheme="tableau10")),
        tooltip=["model:N", "offer:N", alt.Tooltip("joules_per_output_token:Q", format=".3f", title="J/token"),
                 alt.Tooltip("kwh_per_1m_output_tokens:Q", format=".3f", title="kWh per 1M"),
                 alt.Tooltip("g_per_1k:Q", format=".3f", title="g CO2 per 1k"),
                 alt.Tooltip("carbon_intensity_g_per_kwh:Q", format=".0f", title="g/kWh"), "grid:N"],
    ).add_params(grid).properties(width=width, height=height, title=alt.TitleParams(
        "Carbon per output token at full load", subtitle="TDP x PUE; choose the grid below"))


def edge_table(models: Iterable, devices: Iterable = tuple(EDGE_DEVICES), *, context: int = 1024,
               weight_dtype: str = "q4_0") -> pd.DataFrame:
    """Joules per token, tokens per second, tokens per battery charge and
    battery share per thousand tokens of each model on each edge device
    (:func:`costmodel.edge_energy_per_token`), one row per pair.
    Defined in :ref:`sec_cost`.
    """
    frames = [edge_energy_per_token(m, d, context=context, weight_dtype=weight_dtype) for m in models for d in devices]
    return pd.concat(frames, ignore_index=True)


def speculative_data(pairs: Iterable[tuple], acceptance_rates: Sequence[float], draft_tokens: Sequence[int],
                     batches: Sequence[int] = (1,), *, context: int = 1024) -> pd.DataFrame:
    """Speed-up of speculative decoding over the grid of acceptance rates,
    draft lengths and batches for each (target, draft, hardware, n_devices,
    draft_n_devices) in ``pairs`` (:func:`costmodel.speculative_decode`),
    long form with a ``pair`` label and only the columns the chart uses.
    Defined in :ref:`sec_speculative`.
    """
    a = np.asarray(acceptance_rates, dtype=float)[:, None, None]
    g = np.asarray(draft_tokens, dtype=float)[None, :, None]
    b = np.asarray(batches, dtype=float)[None, None, :]
    frames = []
    for target, draft, hw, n, nd in pairs:
        df = speculative_decode(target, draft, hw, acceptance_rate=a, draft_tokens=g, batch=b, context=context,
                                n_devices=n, draft_n_devices=nd)
        df["pair"] = f"{target} + {draft} ({n} x {hw}" + (f", draft on {nd})" if n > 1 else ")")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    keep = ["pair", "acceptance_rate", "draft_tokens", "batch", "speedup", "expected_tokens_per_step",
            "draft_cost_ratio", "verify_cost_ratio", "break_even_acceptance_rate", "fits"]
    return out[keep].astype({"draft_tokens": int, "batch": int})


def speculative_chart(data: pd.DataFrame, *, width: int = 460, height: int = 280) -> alt.LayerChart:
    """Speed-up against the acceptance rate, a line per model pair, with a
    slider for the draft length (``draft_tokens``) and a select for the
    batch (``batch``), evaluated by Vega in the browser; a rule at 1 marks
    where speculation stops paying. ``data`` from :func:`speculative_data`.
    Defined in :ref:`sec_speculative`.
    """
    gammas = sorted(data["draft_tokens"].unique())
    batches = [int(b) for b in sorted(data["batch"].unique())]
    g_p = alt.param(name="draft_tokens", value=int(gammas[min(3, len(gammas) - 1)]),
                    bind=alt.binding_range(min=int(gammas[0]), max=int(gammas[-1]), step=1,
                                           name="Draft tokens per step "))
    b_p = alt.param(name="batch", value=batches[0], bind=alt.binding_select(options=batches, name="Batch "))
    shown = data[data["fits"]]
    base = alt.Chart(shown).transform_filter("datum.draft_tokens == draft_tokens && datum.batch == batch")
    x = alt.X("acceptance_rate:Q", title="Acceptance rate (alpha)", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("speedup:Q", title="Speed-up over plain decoding")
    lines = base.mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=x, y=y, color=alt.Color("pair:N", title="Target + draft",
                                  legend=alt.Legend(orient="bottom", columns=1, labelLimit=460)),
        tooltip=["pair:N", alt.Tooltip("acceptance_rate:Q", format=".3f"), "draft_tokens:Q", "batch:Q",
                 alt.Tooltip("speedup:Q", format=".2f"), alt.Tooltip("expected_tokens_per_step:Q", format=".2f"),
                 alt.Tooltip("draft_cost_ratio:Q", format=".3f", title="draft step / target step"),
                 alt.Tooltip("verify_cost_ratio:Q", format=".3f", title="verify / target step"),
                 alt.Tooltip("break_even_acceptance_rate:Q", format=".3f", title="break-even alpha")])
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#b2182b", strokeDash=[5, 3]).encode(y="y:Q")
    return alt.layer(one, lines).add_params(g_p, b_p).properties(
        width=width, height=height, title=alt.TitleParams(
            "Speculative decoding: speed-up against the acceptance rate",
            subtitle="below the dashed line a draft model slows decoding down"))


def published_speculative_table() -> pd.DataFrame:
    """The published results of :func:`costmodel.cost.published_speculative`
    that state an acceptance rate and a draft cost ratio, beside Leviathan et
    al.'s closed form at their acceptance rate, draft length and draft cost
    ratio (where the paper's draft length is not in the record, the closed
    form's best one, 1 to 32, marked in ``gamma_used``) and the ratio model /
    published. Defined in :ref:`sec_speculative`.
    """
    rows = []
    pub = published_speculative()
    for r in pub[pub["acceptance_rate"].notna() & pub["cost_ratio"].notna()].to_dict("records"):
        stated = not math.isnan(r["draft_tokens"])
        gammas = np.array([r["draft_tokens"]]) if stated else np.arange(1, 33)
        speed = np.asarray(speculative_speedup(r["acceptance_rate"], gammas, r["cost_ratio"]), dtype=float)
        best = int(np.argmax(speed))
        rows.append({**r, "gamma_used": f"{int(gammas[best])}" + ("" if stated else " (best)"),
                     "model_speedup": float(speed[best]), "model / published": float(speed[best] / r["speedup"])})
    return pd.DataFrame(rows)
