"""Tables and charts of the inference and validation chapters (book sections
``sec_inference`` and ``sec_validation``).

Every number comes from :mod:`costmodel.inference` (:func:`~costmodel.prefill`,
:func:`~costmodel.decode`, :func:`~costmodel.serving_point`,
:func:`~costmodel.min_devices`, :func:`~costmodel.weight_bytes_stored`) and
:mod:`costmodel.calibrate` (:func:`~costmodel.calibrate.usable_measurements`,
:func:`~costmodel.calibrate.predict`); this module only calls them over grids
of inputs, stacks the results into tidy DataFrames and draws them. Each
latency comes as the ideal bound (the profile :data:`~costmodel.inference.IDEAL`,
``bound_latency_s``) and the expected value (a fitted efficiency profile).

Charts embed their data and bind their parameters to HTML inputs
(``alt.param(bind=...)``), so they work in the static book without a kernel.
Sizes are decimal (1 GB = 1e9 bytes); times in the charts are milliseconds.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from .._validate import as_arch as _arch
from .._validate import as_hardware as _hw
from ..calibrate import METRICS, efficiency_profile, efficiency_table, predict, usable_measurements
from ..catalog import DATA_DIR, hardware_table
from ..dtypes import bytes_per_element
from ..formats import weight_format
from ..inference import (
    DEFAULT_MEMORY_FRACTION,
    IDEAL,
    decode,
    memory_per_device,
    min_devices,
    prefill,
    serving_point,
    weight_bytes_stored,
)

__all__ = [
    "DEFAULT_TOKENS",
    "DEFAULT_BATCHES",
    "DEFAULT_CONTEXTS",
    "QUANT_FORMATS",
    "phase_table",
    "phase_chart",
    "step_bounds_table",
    "step_bounds_chart",
    "latency_table",
    "latency_chart",
    "serving_table",
    "serving_chart",
    "tensor_parallel_table",
    "tensor_parallel_chart",
    "quantisation_table",
    "quantisation_speed_table",
    "quantisation_chart",
    "edge_devices",
    "edge_table",
    "edge_chart",
    "residuals_table",
    "excluded_measurements",
    "predicted_vs_measured_chart",
    "residuals_chart",
]

#: Tokens per step (prompt tokens of a prefill, sequences of a decode batch): 1 to 16,384.
DEFAULT_TOKENS: tuple[int, ...] = tuple(2**k for k in range(15))
#: Batch sizes of the latency and serving charts: 1 to 1,024.
DEFAULT_BATCHES: tuple[int, ...] = tuple(2**k for k in range(11))
#: Prompt lengths / cached contexts of the latency charts: 128 to 32,768 tokens.
DEFAULT_CONTEXTS: tuple[int, ...] = tuple(2**k for k in range(7, 16))
#: Checkpoint formats compared in the quantisation section.
QUANT_FORMATS: tuple[str, ...] = ("bf16", "fp8", "int4", "q4_0", "q4_k_m")

#: The dtypes the step model computes activations in, in its order of preference.
_ACTIVATION_DTYPES = ("bf16", "fp16", "fp32")
_FIGURE_COLORS = {"ideal bound": "#1f77b4", "per-component rooflines at peak": "#9467bd", "expected": "#d62728"}


# ----------------------------------------------------------------------
# helpers: inputs within a model's trained context, compact chart data
# ----------------------------------------------------------------------
def _within_context(arch, tokens, new_tokens: int = 0) -> np.ndarray:
    """The values of ``tokens`` whose pass stays within the model's trained
    context (``max_position_embeddings``): the step model warns beyond it."""
    t = np.asarray(tokens, dtype=np.float64)
    limit = arch.max_position_embeddings
    return t[t + new_tokens <= limit] if limit else t


def _records(df: pd.DataFrame, cols: Sequence[str]) -> alt.InlineData:
    """``df[cols]`` as inline records: floats to 4 significant digits (the
    embedded spec stays small), NaN as null; past Altair's 5,000-row guard."""
    out = df[list(cols)].astype(object)
    for c in cols:
        if pd.api.types.is_float_dtype(df[c]):
            out[c] = [None if not np.isfinite(v) else float(f"{v:.4g}") for v in df[c].to_numpy(dtype=float)]
    return alt.InlineData(values=out.where(out.notna(), None).to_dict(orient="records"))


def _select(name: str, options: Sequence, value, label: str) -> alt.Parameter:
    options = list(options)
    return alt.param(name=name, value=value if value is not None else options[0],
                     bind=alt.binding_select(options=options, name=label))


def _log2_slider(name: str, values, value, label: str) -> alt.Parameter:
    logs = sorted({int(round(math.log2(v))) for v in values})
    start = int(round(math.log2(value))) if value is not None else logs[0]
    return alt.param(name=name, value=start, bind=alt.binding_range(min=logs[0], max=logs[-1], step=1, name=label))


def _figure_color(domain: Sequence[str]) -> alt.Color:
    return alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom"),
                     scale=alt.Scale(domain=list(domain), range=[_FIGURE_COLORS.get(d.split(" (")[0], "#d62728")
                                                                  for d in domain]))


def _expected_label(result) -> str:
    return f"expected ({result.efficiency})"


# ----------------------------------------------------------------------
# Prefill and decode on the roofline
# ----------------------------------------------------------------------
def phase_table(model, hardware_ids: Iterable[str], tokens: Sequence[int] = DEFAULT_TOKENS, *, context: int = 1024,
                weight_dtype: str = "bf16") -> pd.DataFrame:
    """Ideal-bound tokens per second of a prefill of ``tokens`` prompt tokens
    (one sequence) and of a decode step of ``tokens`` sequences with
    ``context`` cached tokens each, on each device. One row per (device,
    phase, tokens per step) that fits in the device's memory and stays within
    the model's trained context: ``bound_latency_s``, ``bound_tokens_per_s``
    (prompt tokens, or output tokens of the batch), ``bound`` (the binding
    resource) and ``compute_time_s``/``memory_time_s``. Defined in
    :ref:`sec_inference`."""
    a = _arch(model)
    frames = []
    for h in hardware_ids:
        pre = prefill(a, h, batch=1, prompt_tokens=_within_context(a, tokens), weight_dtype=weight_dtype,
                      efficiency=IDEAL).to_frame().rename(columns={"prompt_tokens": "tokens_per_step"})
        dec = decode(a, h, batch=np.asarray(tokens, dtype=np.float64), context=context, weight_dtype=weight_dtype,
                     efficiency=IDEAL).to_frame().rename(columns={"batch": "tokens_per_step"})
        frames += [pre.drop(columns="batch"), dec]
    cols = ["model", "hardware", "phase", "tokens_per_step", "bound_latency_s", "bound_tokens_per_s", "bound",
            "compute_time_s", "memory_time_s", "fits"]
    out = pd.concat(frames, ignore_index=True)[cols]
    out["context"] = context
    return out[out["fits"].astype(bool)].reset_index(drop=True)


def phase_chart(df: pd.DataFrame, *, device: str | None = None, width: int = 420, height: int = 300) -> alt.LayerChart:
    """Tokens per second against tokens per step, prefill and decode, from a
    :func:`phase_table`; a dropdown picks the device, the point shape says
    which resource binds. Defined in :ref:`sec_inference`."""
    devices = list(dict.fromkeys(df["hardware"]))
    dev = _select("phase_device", devices, device, "Device ")
    base = alt.Chart(_records(df, ["hardware", "phase", "tokens_per_step", "bound_tokens_per_s", "bound",
                                   "bound_latency_s"])).transform_filter(alt.datum.hardware == dev)
    x = alt.X("tokens_per_step:Q", title="Tokens per step (prompt tokens, or sequences in the decode batch)",
              scale=alt.Scale(type="log", base=2), axis=alt.Axis(format=",d"))
    y = alt.Y("bound_tokens_per_s:Q", title="Tokens per second (ideal bound)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~s"))
    color = alt.Color("phase:N", title="Phase", scale=alt.Scale(domain=["prefill", "decode"],
                                                                range=["#d62728", "#1f77b4"]))
    lines = base.mark_line().encode(x=x, y=y, color=color)
    points = base.mark_point(filled=True, size=60).encode(
        x=x, y=y, color=color,
        shape=alt.Shape("bound:N", title="Bound by", scale=alt.Scale(domain=["memory", "compute"],
                                                                      range=["circle", "square"])),
        tooltip=["hardware:N", "phase:N", "tokens_per_step:Q", "bound:N",
                 alt.Tooltip("bound_tokens_per_s:Q", title="tokens/s", format=".4~s"),
                 alt.Tooltip("bound_latency_s:Q", title="step (s)", format=".3~g")])
    return alt.layer(lines, points).add_params(dev).properties(
        width=width, height=height, title=f"Prefill and decode: tokens per second ({df['model'].iloc[0]})")


# ----------------------------------------------------------------------
# The step: aggregate bound, per-component rooflines, expected
# ----------------------------------------------------------------------
def step_bounds_table(model, hardware, batches: Sequence[int] = DEFAULT_BATCHES,
                      contexts: Sequence[int] = DEFAULT_CONTEXTS, *, weight_dtype: str = "bf16",
                      efficiency=None) -> pd.DataFrame:
    """Time per output token of a decode step over every (batch, context) in
    three figures: the ideal bound (one roofline for the whole step,
    ``bound_latency_s`` under :data:`~costmodel.inference.IDEAL`), the
    per-component rooflines at peak summed (``latency_s`` under ``IDEAL``)
    and the expected value under ``efficiency``. Tidy: one row per (batch,
    context, figure) that fits in memory, with ``tpot_ms`` and
    ``ratio_to_bound``. Defined in :ref:`sec_inference`."""
    a = _arch(model)
    b = np.asarray(batches, dtype=np.float64)[:, None]
    c = _within_context(a, contexts, 1)[None, :]
    ideal = decode(a, hardware, batch=b, context=c, weight_dtype=weight_dtype, efficiency=IDEAL)
    fitted = decode(a, hardware, batch=b, context=c, weight_dtype=weight_dtype, efficiency=efficiency)
    base = ideal.to_frame()[["model", "hardware", "batch", "context", "bound", "fits"]]
    bound = ideal.to_frame()["bound_latency_s"]
    frames = []
    for figure, t in (("ideal bound", bound), ("per-component rooflines at peak", ideal.to_frame()["latency_s"]),
                      (_expected_label(fitted), fitted.to_frame()["latency_s"])):
        frames.append(base.assign(figure=figure, tpot_s=t, tpot_ms=1e3 * t, ratio_to_bound=t / bound))
    out = pd.concat(frames, ignore_index=True)
    return out[out["fits"].astype(bool)].reset_index(drop=True)


def step_bounds_chart(df: pd.DataFrame, *, context: int | None = None, width: int = 250,
                      height: int = 230) -> alt.HConcatChart:
    """Left: time per output token against batch for the three figures of a
    :func:`step_bounds_table`; right: each figure over the ideal bound. A
    slider picks the context (log2). Defined in :ref:`sec_inference`."""
    ctx = _log2_slider("step_log2_context", df["context"], context, "log2(context tokens) ")
    data = df.assign(log2_context=np.log2(df["context"]).round().astype(int))
    base = alt.Chart(_records(data, ["batch", "log2_context", "context", "figure", "tpot_ms", "ratio_to_bound",
                                     "bound"])).transform_filter(alt.datum.log2_context == ctx)
    x = alt.X("batch:Q", title="Batch (sequences)", scale=alt.Scale(type="log", base=2))
    color = _figure_color(list(dict.fromkeys(df["figure"])))
    tip = ["figure:N", "batch:Q", "context:Q", "bound:N", alt.Tooltip("tpot_ms:Q", title="ms/token", format=".3~g"),
           alt.Tooltip("ratio_to_bound:Q", title="/ bound", format=".3f")]
    y_lo, y_hi = float(df["tpot_ms"].min()), float(df["tpot_ms"].max())
    left = base.mark_line(point=True).encode(
        x=x, y=alt.Y("tpot_ms:Q", title="Time per output token (ms)",
                     scale=alt.Scale(type="log", domain=[y_lo / 1.2, y_hi * 1.2])),
        color=color, tooltip=tip).properties(width=width, height=height, title="Decode step")
    right = base.mark_line(point=True).encode(
        x=x, y=alt.Y("ratio_to_bound:Q", title="Over the ideal bound",
                     scale=alt.Scale(domain=[0.9, float(df["ratio_to_bound"].max()) * 1.05])),
        color=color, tooltip=tip).properties(width=width, height=height, title="Figure / ideal bound")
    return alt.hconcat(left, right).add_params(ctx).properties(
        title=f"{df['model'].iloc[0]} on {df['hardware'].iloc[0]}: one roofline or one per component")


# ----------------------------------------------------------------------
# TTFT and TPOT against batch and context
# ----------------------------------------------------------------------
def latency_table(models: Iterable, hardware, batches: Sequence[int] = DEFAULT_BATCHES,
                  contexts: Sequence[int] = DEFAULT_CONTEXTS, *, weight_dtype: str = "bf16",
                  efficiency=None) -> pd.DataFrame:
    """Time to first token (a prefill of ``batch`` prompts of ``context``
    tokens) and time per output token (a decode step of ``batch`` sequences
    with ``context`` cached tokens) of each model on ``hardware``, ideal bound
    and expected, over the grid of batches and contexts within each model's
    trained context. Tidy: model, metric (``TTFT``/``TPOT``), figure, batch,
    context, ``ms`` (NaN where the batch does not fit) and ``fits``.
    Defined in :ref:`sec_inference`."""
    frames = []
    b = np.asarray(batches, dtype=np.float64)[:, None]
    for m in models:
        a = _arch(m)
        for metric, fn, c, key in (("TTFT", prefill, _within_context(a, contexts), "prompt_tokens"),
                                   ("TPOT", decode, _within_context(a, contexts, 1), "context")):
            ideal = fn(a, hardware, batch=b, weight_dtype=weight_dtype, efficiency=IDEAL, **{key: c[None, :]})
            fitted = fn(a, hardware, batch=b, weight_dtype=weight_dtype, efficiency=efficiency, **{key: c[None, :]})
            base = ideal.to_frame().rename(columns={key: "context"})[["model", "hardware", "batch", "context", "fits"]]
            frames.append(base.assign(metric=metric, figure="ideal bound", ms=1e3 * ideal.to_frame()["bound_latency_s"]))
            frames.append(base.assign(metric=metric, figure="expected", ms=1e3 * fitted.to_frame()["latency_s"],
                                      efficiency=fitted.efficiency))
    out = pd.concat(frames, ignore_index=True)
    out["efficiency"] = out["efficiency"].fillna("ideal")
    return out


def latency_chart(df: pd.DataFrame, *, model: str | None = None, batch: int | None = None,
                  context: int | None = None, width: int = 250, height: int = 230) -> alt.HConcatChart:
    """TTFT and TPOT (two panels) against batch from a :func:`latency_table`:
    a dropdown picks the model, one slider the context and another the batch
    whose values are labelled; the ideal bound and the expected value are two
    lines. Defined in :ref:`sec_inference`."""
    mod = _select("lat_model", list(dict.fromkeys(df["model"])), model, "Model ")
    ctx = _log2_slider("lat_log2_context", df["context"], context, "log2(context tokens) ")
    bat = _log2_slider("lat_log2_batch", df["batch"], batch, "log2(batch) ")
    recs = _records(df, ["model", "metric", "figure", "batch", "context", "ms", "fits"])
    color = _figure_color(["ideal bound", "expected"])
    x = alt.X("batch:Q", title="Batch (sequences)", scale=alt.Scale(type="log", base=2))
    panels = []
    for metric, title in (("TTFT", "Time to first token (ms)"), ("TPOT", "Time per output token (ms)")):
        vals = df.loc[(df["metric"] == metric) & np.isfinite(df["ms"]), "ms"]
        y = alt.Y("ms:Q", title=title, scale=alt.Scale(type="log", domain=[float(vals.min()) / 1.2,
                                                                            float(vals.max()) * 1.2]))
        base = alt.Chart(recs).transform_filter((alt.datum.model == mod) & (alt.datum.metric == metric)).transform_calculate(
            log2_context="round(log(datum.context) / LN2)", log2_batch="round(log(datum.batch) / LN2)",
        ).transform_filter(alt.datum.log2_context == ctx)
        lines = base.mark_line().encode(x=x, y=y, color=color)
        at = base.transform_filter(alt.datum.log2_batch == bat)
        dots = at.mark_point(filled=True, size=90).encode(
            x=x, y=y, color=color,
            tooltip=["model:N", "figure:N", "batch:Q", "context:Q", alt.Tooltip("ms:Q", format=".4~g")])
        labelled = at.transform_filter("isValid(datum.ms)").transform_calculate(
            label="format(datum.ms, '.3~g') + ' ms'")
        labels = alt.layer(*(  # the expected value above its point, the bound below
            labelled.transform_filter(alt.datum.figure == fig).mark_text(align="right", dx=-8, dy=dy, fontSize=11)
            .encode(x=x, y=y, color=color, text="label:N") for fig, dy in (("expected", -10), ("ideal bound", 12))))
        caption = at.transform_filter("!datum.fits").transform_aggregate(
            n="count()", groupby=["batch", "context"]).transform_calculate(
            text="'batch ' + datum.batch + ' x ' + datum.context + ' tokens does not fit'").mark_text(
            align="left", baseline="top", x=6, y=6, color="#b2182b").encode(text="text:N")
        panels.append(alt.layer(lines, dots, labels, caption).properties(
            width=width, height=height, title=f"{metric}"))
    return alt.hconcat(*panels).add_params(mod, ctx, bat).properties(
        title=f"Latency on {df['hardware'].iloc[0]} ({df['efficiency'][df['figure'] == 'expected'].iloc[0]})")


# ----------------------------------------------------------------------
# Serving throughput against batch, up to the memory limit
# ----------------------------------------------------------------------
def serving_table(configs: Iterable[Mapping], input_tokens: int, output_tokens: int,
                  batches: Sequence[int] = DEFAULT_BATCHES, *, efficiency=None) -> pd.DataFrame:
    """:func:`~costmodel.serving_point` over ``batches`` for each
    configuration (a mapping with ``model``, ``hardware`` and optionally
    ``n_devices``, ``weight_dtype``), up to and including the largest batch
    that fits (``max_batch``). One row per (configuration, batch): group
    output tokens/s expected and bound, per device and per user, TTFT and
    TPOT, and a ``config`` label. Defined in :ref:`sec_inference`."""
    frames = []
    for cfg in configs:
        kw = {"n_devices": int(cfg.get("n_devices", 1)), "weight_dtype": cfg.get("weight_dtype", "bf16")}
        top = serving_point(cfg["model"], cfg["hardware"], input_tokens, output_tokens, efficiency=efficiency,
                            **kw).iloc[0]
        b_max = int(top["max_batch"])
        if b_max < 1:
            continue
        b = np.unique(np.r_[np.asarray(batches, dtype=np.float64), float(b_max)])
        df = serving_point(cfg["model"], cfg["hardware"], input_tokens, output_tokens, batch=b[b <= b_max],
                           efficiency=efficiency, **kw)
        df["config"] = f"{cfg['model']}, {kw['weight_dtype']}, {kw['n_devices']} x {cfg['hardware']}"
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def serving_chart(df: pd.DataFrame, *, config: str | None = None, width: int = 250,
                  height: int = 230) -> alt.HConcatChart:
    """From a :func:`serving_table`: output tokens per second of the group
    (expected and ideal bound) and per user against batch, with a rule at the
    largest batch that fits; a dropdown picks the configuration.
    Defined in :ref:`sec_inference`."""
    cfg = _select("serving_config", list(dict.fromkeys(df["config"])), config, "Configuration ")
    long = pd.concat([
        df.assign(figure="expected", tokens_per_s=df["output_tokens_per_s"]),
        df.assign(figure="ideal bound", tokens_per_s=df["bound_output_tokens_per_s"]),
    ], ignore_index=True)
    base = alt.Chart(_records(long, ["config", "figure", "batch", "max_batch", "tokens_per_s",
                                     "output_tokens_per_s_per_user", "ttft_s", "tpot_s"])).transform_filter(
        alt.datum.config == cfg)
    x = alt.X("batch:Q", title="Batch (requests in flight)", scale=alt.Scale(type="log", base=2))
    color = _figure_color(["ideal bound", "expected"])
    tip = ["config:N", "figure:N", "batch:Q", alt.Tooltip("tokens_per_s:Q", title="output tok/s", format=".4~s"),
           alt.Tooltip("output_tokens_per_s_per_user:Q", title="tok/s per user", format=".3~s"),
           alt.Tooltip("ttft_s:Q", title="TTFT (s)", format=".3~g"), alt.Tooltip("tpot_s:Q", title="TPOT (s)",
                                                                                format=".3~g")]
    limit = base.transform_filter(alt.datum.batch == alt.datum.max_batch)
    rule = limit.transform_filter(alt.datum.figure == "expected").mark_rule(color="#444", strokeDash=[4, 3]).encode(
        x=x)
    rule_text = limit.transform_filter(alt.datum.figure == "expected").transform_calculate(
        label="'memory limit: batch ' + datum.max_batch").mark_text(
        align="right", dx=-4, y=8, baseline="top", color="#444").encode(x=x, text="label:N")
    left = alt.layer(
        base.mark_line(point=True).encode(
            x=x, y=alt.Y("tokens_per_s:Q", title="Output tokens/s of the group", scale=alt.Scale(type="log"),
                         axis=alt.Axis(format="~s")), color=color, tooltip=tip),
        rule, rule_text,
    ).properties(width=width, height=height, title="Throughput")
    right = alt.layer(
        base.transform_filter(alt.datum.figure == "expected").mark_line(
            point=alt.OverlayMarkDef(color=_FIGURE_COLORS["expected"]), color=_FIGURE_COLORS["expected"])
        .encode(x=x, y=alt.Y("output_tokens_per_s_per_user:Q", title="Output tokens/s per user (expected)",
                             scale=alt.Scale(type="log")), tooltip=tip),
        rule, rule_text,
    ).properties(width=width, height=height, title="Interactivity")
    io = f"{int(df['input_tokens'].iloc[0])} in, {int(df['output_tokens'].iloc[0])} out"
    return alt.hconcat(left, right).add_params(cfg).properties(title=f"Continuous batching, requests of {io}")


# ----------------------------------------------------------------------
# Tensor parallelism
# ----------------------------------------------------------------------
def tensor_parallel_table(models: Iterable, hardware, n_devices: Sequence[int] = (1, 2, 4, 8), *, batch: int = 1,
                          context: int = 1024, input_tokens: int = 1024, output_tokens: int = 256,
                          weight_dtype: str = "bf16", efficiency=None) -> pd.DataFrame:
    """Each model on ``n`` devices of ``hardware`` (tensor parallel) for every
    ``n`` in ``n_devices`` from :func:`~costmodel.min_devices` up: decode time
    per token at ``batch`` and ``context`` (ideal bound, its all-reduce term
    ``communication_s`` and memory term ``memory_s``, and expected), and the
    serving throughput of the group at its largest batch for requests of
    ``input_tokens``/``output_tokens``, total and per device. Degrees that do
    not divide the model's heads are skipped. Defined in
    :ref:`sec_inference`."""
    rows = []
    for m in models:
        a = _arch(m)
        n_min = min_devices(a, hardware, batch=batch, context=context + 1, weight_dtype=weight_dtype)
        for n in n_devices:
            if n < n_min or a.n_heads % n or (a.n_kv_heads > n and a.n_kv_heads % n):
                continue
            kw = dict(n_devices=n, weight_dtype=weight_dtype)
            ideal = decode(a, hardware, batch=batch, context=context, efficiency=IDEAL, **kw)
            fitted = decode(a, hardware, batch=batch, context=context, efficiency=efficiency, **kw)
            sp = serving_point(a, hardware, input_tokens, output_tokens, efficiency=efficiency, **kw).iloc[0]
            rows.append({
                "model": a.name, "hardware": ideal.hardware, "n_devices": n, "min_devices": n_min, "batch": batch,
                "context": context, "tpot_bound_s": ideal.bound_latency_s, "tpot_s": fitted.latency_s,
                "communication_s": ideal.communication_time_s, "memory_s": ideal.memory_time_s,
                "max_batch": int(sp["max_batch"]), "output_tokens_per_s": sp["output_tokens_per_s"],
                "output_tokens_per_s_per_device": sp["output_tokens_per_s_per_device"],
                "efficiency": fitted.efficiency,
            })
    return pd.DataFrame(rows)


def tensor_parallel_chart(df: pd.DataFrame, *, model: str | None = None, width: int = 240,
                          height: int = 220) -> alt.HConcatChart:
    """From a :func:`tensor_parallel_table`: time per output token (expected,
    ideal bound and its all-reduce term) and serving throughput per device
    against the number of devices; a dropdown picks the model.
    Defined in :ref:`sec_inference`."""
    mod = _select("tp_model", list(dict.fromkeys(df["model"])), model, "Model ")
    long = pd.concat([
        df.assign(figure="expected", ms=1e3 * df["tpot_s"]),
        df.assign(figure="ideal bound", ms=1e3 * df["tpot_bound_s"]),
        df.assign(figure="all-reduce term of the bound", ms=1e3 * df["communication_s"]),
    ], ignore_index=True)
    long = long[long["ms"] > 0]
    x = alt.X("n_devices:O", title="Devices (tensor parallel)")
    left = alt.Chart(_records(long, ["model", "figure", "n_devices", "ms"])).transform_filter(
        alt.datum.model == mod).mark_line(point=True).encode(
        x=x, y=alt.Y("ms:Q", title="Time per output token (ms)", scale=alt.Scale(type="log")),
        color=alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["ideal bound", "expected", "all-reduce term of the bound"],
                                        range=[_FIGURE_COLORS["ideal bound"], _FIGURE_COLORS["expected"], "#ff7f0e"])),
        tooltip=["model:N", "figure:N", "n_devices:O", alt.Tooltip("ms:Q", format=".3~g")],
    ).properties(width=width, height=height,
                 title=f"Decode, batch {int(df['batch'].iloc[0])}, context {int(df['context'].iloc[0])}")
    right = alt.Chart(_records(df, ["model", "n_devices", "output_tokens_per_s_per_device", "max_batch"])) \
        .transform_filter(alt.datum.model == mod).mark_bar(color=_FIGURE_COLORS["expected"]).encode(
        x=x, y=alt.Y("output_tokens_per_s_per_device:Q", title="Output tokens/s per device (expected)"),
        tooltip=["model:N", "n_devices:O", "max_batch:Q",
                 alt.Tooltip("output_tokens_per_s_per_device:Q", format=".4~s")],
    ).properties(width=width, height=height, title="Serving at the largest batch that fits")
    return alt.hconcat(left, right).add_params(mod).properties(
        title=f"Tensor parallelism on {df['hardware'].iloc[0]}")


# ----------------------------------------------------------------------
# Quantisation
# ----------------------------------------------------------------------
def quantisation_table(models: Iterable, formats: Sequence[str] = QUANT_FORMATS) -> pd.DataFrame:
    """Bytes a checkpoint of each model stores in each format
    (:func:`~costmodel.weight_bytes_stored`) next to "every parameter at the
    format's nominal width" (the format's element type, 4 bits for int4, q4_0
    and q4_k_m, times the parameter count; :func:`~costmodel.weight_bytes` counts a
    whole checkpoint, 16-bit embedding included). One row per (model,
    format): ``stored_gb``, ``nominal_gb``, ``stored_over_nominal``,
    ``bits_per_param`` (stored bits over all parameters) and ``computes_in``.
    Defined in :ref:`sec_inference`."""
    rows = []
    for m in models:
        a = _arch(m)
        for f in formats:
            fmt = weight_format(f)
            stored, nominal = weight_bytes_stored(a, f), float(a.n_params * bytes_per_element(fmt.dtype))
            rows.append({"model": a.name, "format": fmt.name, "n_params": a.n_params, "stored_gb": stored / 1e9,
                         "nominal_gb": nominal / 1e9, "stored_over_nominal": stored / nominal,
                         "bits_per_param": 8 * stored / a.n_params,
                         "nominal_bits": 8 * bytes_per_element(fmt.dtype),
                         "computes_in": "16 bit (weight-only)" if fmt.weight_only else fmt.dtype})
    return pd.DataFrame(rows)


def quantisation_speed_table(model, hardware, formats: Sequence[str] = QUANT_FORMATS, *, prompt_tokens: int = 1024,
                             context: int = 1024, batch: int = 1, efficiency=None) -> pd.DataFrame:
    """TTFT (a prefill of ``prompt_tokens``) and TPOT (decode at ``context``)
    of ``model`` on one ``hardware`` in each checkpoint format, ideal bound
    and expected, with the dtype its matmuls run in (``compute_dtype``).
    Defined in :ref:`sec_inference`."""
    rows = []
    for f in formats:
        kw = dict(batch=batch, weight_dtype=f)
        pi, pe = (prefill(model, hardware, prompt_tokens=prompt_tokens, efficiency=e, **kw) for e in (IDEAL, efficiency))
        di, de = (decode(model, hardware, context=context, efficiency=e, **kw) for e in (IDEAL, efficiency))
        rows.append({"model": pi.model, "hardware": pi.hardware, "format": weight_format(f).name,
                     "compute_dtype": pi.to_frame()["compute_dtype"].item(),
                     "ttft_bound_s": pi.bound_latency_s, "ttft_s": pe.latency_s,
                     "tpot_bound_s": di.bound_latency_s, "tpot_s": de.latency_s, "prefill_bound": pi.bound,
                     "efficiency": pe.efficiency})
    return pd.DataFrame(rows)


def quantisation_chart(df: pd.DataFrame, *, model: str | None = None, width: int = 380,
                       height: int = 240) -> alt.LayerChart:
    """Bars of the bytes each format stores, with a tick at every parameter
    at the nominal width, from a :func:`quantisation_table`; a dropdown picks
    the model. Defined in :ref:`sec_inference`."""
    mod = _select("quant_model", list(dict.fromkeys(df["model"])), model, "Model ")
    base = alt.Chart(_records(df, ["model", "format", "stored_gb", "nominal_gb", "stored_over_nominal",
                                   "bits_per_param", "computes_in"])).transform_filter(alt.datum.model == mod)
    x = alt.X("format:N", sort=list(dict.fromkeys(df["format"])), title="Checkpoint format")
    tip = ["model:N", "format:N", alt.Tooltip("stored_gb:Q", title="stored (GB)", format=".3~f"),
           alt.Tooltip("nominal_gb:Q", title="nominal (GB)", format=".3~f"),
           alt.Tooltip("bits_per_param:Q", title="bits per parameter", format=".3~f"), "computes_in:N"]
    bars = base.mark_bar(color="#4c78a8").encode(x=x, y=alt.Y("stored_gb:Q", title="Weights (GB)"), tooltip=tip)
    ticks = base.mark_tick(color="black", thickness=2, size=30).encode(x=x, y="nominal_gb:Q", tooltip=tip)
    text = base.transform_calculate(label="format(datum.bits_per_param, '.2f') + ' bits'").mark_text(
        dy=-8, fontSize=11).encode(x=x, y="stored_gb:Q", text="label:N")
    return alt.layer(bars, ticks, text).add_params(mod).properties(
        width=width, height=height,
        title=alt.TitleParams("Stored bytes by format", subtitle="bars: as stored; black ticks: every parameter at "
                                                                   "the nominal width"))


# ----------------------------------------------------------------------
# Edge devices
# ----------------------------------------------------------------------
def edge_devices() -> list[str]:
    """The catalog's laptops, phones and embedded boards, and every Apple
    chip. Defined in :ref:`sec_inference`."""
    t = hardware_table()
    keep = t["category"].isin(["laptop", "embedded", "phone"]) | (t["vendor"] == "Apple")
    return t.loc[keep, "id"].tolist()


def edge_table(models: Iterable, hardware_ids: Iterable[str] | None = None, *, weight_dtype: str = "q4_k_m",
               context: int = 512, efficiency="llama.cpp") -> pd.DataFrame:
    """Single-stream decode (batch 1, ``context`` cached tokens) of each
    model on each device (default :func:`edge_devices`): tokens per second
    expected and ideal bound, whether the device publishes a compute peak in
    a dtype activations are computed in (bf16, fp16 or fp32; without one the
    step model takes decode as purely bandwidth-bound and cannot time a
    prefill), and
    ``memory_status`` ("fits", "does not fit" within the default memory
    fraction, or "no memory figure"). Defined in :ref:`sec_inference`."""
    hw_ids = list(hardware_ids) if hardware_ids is not None else edge_devices()
    rows = []
    for h in hw_ids:
        hw = _hw(h)
        for m in models:
            mem = memory_per_device(m, hw, batch=1, context=context + 1, weight_dtype=weight_dtype).iloc[0]
            status = ("no memory figure" if not math.isfinite(hw.memory_bytes) else
                      "fits" if mem["total_bytes"] <= DEFAULT_MEMORY_FRACTION * hw.memory_bytes else "does not fit")
            row = {"model": _arch(m).name, "hardware": hw.id, "name": hw.name,
                   "has_compute_peak": any(hw.has_peak(d) for d in _ACTIVATION_DTYPES),
                   "memory_bandwidth_bytes_per_s": hw.memory_bandwidth_bytes_per_s, "memory_status": status,
                   "total_gb": mem["total_bytes"] / 1e9, "tokens_per_s": math.nan, "bound_tokens_per_s": math.nan}
            if status != "does not fit":
                fitted = decode(m, hw, context=context, weight_dtype=weight_dtype, efficiency=efficiency)
                row.update(tokens_per_s=fitted.tokens_per_s, bound_tokens_per_s=fitted.bound_tokens_per_s,
                           efficiency=fitted.efficiency)
            rows.append(row)
    out = pd.DataFrame(rows)
    out["weight_dtype"], out["context"] = weight_dtype, context
    return out


def edge_chart(df: pd.DataFrame, *, model: str | None = None, width: int = 380) -> alt.LayerChart:
    """Horizontal bars of single-stream decode tokens/s per device (expected),
    a tick at the ideal bound, devices without a published compute peak in a
    lighter colour and the ones the model does not fit marked; a dropdown
    picks the model. From an :func:`edge_table`. Defined in
    :ref:`sec_inference`."""
    mod = _select("edge_model", list(dict.fromkeys(df["model"])), model, "Model ")
    order = df.drop_duplicates("hardware").sort_values("memory_bandwidth_bytes_per_s")["hardware"].tolist()
    data = df.assign(peak=np.where(df["has_compute_peak"], "publishes a compute peak", "no compute peak published"),
                     note=np.where(df["memory_status"] == "fits", "",
                                   np.where(df["memory_status"] == "does not fit", "does not fit", "memory unknown")),
                     bandwidth_gb_s=df["memory_bandwidth_bytes_per_s"] / 1e9)
    base = alt.Chart(_records(data, ["model", "hardware", "name", "peak", "note", "tokens_per_s",
                                     "bound_tokens_per_s", "bandwidth_gb_s", "total_gb"])).transform_filter(
        alt.datum.model == mod)
    y = alt.Y("hardware:N", sort=order[::-1], title="Device (by memory bandwidth)")
    tip = ["name:N", "peak:N", alt.Tooltip("bandwidth_gb_s:Q", title="bandwidth (GB/s)", format=".0f"),
           alt.Tooltip("total_gb:Q", title="weights + cache (GB)", format=".2f"),
           alt.Tooltip("tokens_per_s:Q", title="expected tok/s", format=".1f"),
           alt.Tooltip("bound_tokens_per_s:Q", title="bound tok/s", format=".1f"), "note:N"]
    bars = base.mark_bar().encode(
        y=y, x=alt.X("tokens_per_s:Q", title="Decode tokens/s, batch 1"),
        color=alt.Color("peak:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["publishes a compute peak", "no compute peak published"],
                                        range=["#4c78a8", "#9ecae9"])), tooltip=tip)
    ticks = base.mark_tick(color="black", thickness=2).encode(y=y, x="bound_tokens_per_s:Q", tooltip=tip)
    notes = base.mark_text(align="left", dx=4, color="#b2182b").encode(
        y=y, x=alt.X("bound_tokens_per_s:Q"), text="note:N")
    missing = base.transform_filter("!isValid(datum.tokens_per_s)").mark_text(align="left", x=4,
                                                                             color="#b2182b").encode(y=y, text="note:N")
    fmt, ctx = df["weight_dtype"].iloc[0], int(df["context"].iloc[0])
    return alt.layer(bars, ticks, notes, missing).add_params(mod).properties(
        width=width, title=alt.TitleParams(f"Single-stream decode on edge devices ({fmt}, context {ctx})",
                                           subtitle="bars: expected; black ticks: ideal bound"))


# ----------------------------------------------------------------------
# Validation: predictions against published measurements
# ----------------------------------------------------------------------
def _engine_profile(engine):
    engines = set(efficiency_table()["engine"])
    return efficiency_profile(engine if engine in engines else None)


def residuals_table(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every row of :func:`~costmodel.calibrate.usable_measurements` (or
    ``rows``) predicted with its engine's fitted profile (the ``default``
    profile for engines without one) by
    :func:`~costmodel.calibrate.predict`: ``measured``, ``predicted``,
    ``bound`` (the ideal bound) in the row's unit, ``ratio`` and
    ``bound_ratio`` (predicted or bound over measured, as a speed: above 1 is
    faster than measured), ``profile``, and ``predictable`` with the
    ``reason`` a row could not be predicted. Defined in
    :ref:`sec_validation`."""
    rows = usable_measurements() if rows is None else rows
    out = []
    for _, r in rows.iterrows():
        prof = _engine_profile(r["engine"])
        speed = METRICS[r["metric"]] == "rate"
        rec = {"id": r["id"], "engine": r["engine"], "engine_version": r.get("engine_version"), "model": r["model"],
               "hw": r["hw"], "fmt": r["fmt"], "metric": r["metric"], "unit": r["unit"], "batch": r["batch"],
               "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"],
               "n_devices": r["n_devices"], "tensor_parallel": r["tensor_parallel"], "measured": r["value"],
               "profile": prof.name, "predictable": True, "reason": ""}
        try:
            p, bound = predict(r, prof)
        except ValueError as e:
            p = bound = math.nan
            rec.update(predictable=False, reason=str(e))
        v = r["value"]
        rec.update(predicted=p, bound=bound, ratio=p / v if speed else v / p,
                   bound_ratio=bound / v if speed else v / bound)
        out.append(rec)
    return pd.DataFrame(out)


def excluded_measurements(raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``data/measurements/inference.csv`` (or ``raw``) that
    :func:`~costmodel.calibrate.usable_measurements` leaves out, each with
    the first reason in its order of checks: a metric the step model does not
    predict (the TensorRT-LLM v0.6.1 A100 rows whose basis, per device or per
    group, is unclear, named apart), not a point value, a model or device
    outside the catalogs (or a device ambiguous between catalog entries),
    missing lengths, or else a precision label it does not map to a weight
    format. Defined in :ref:`sec_validation`."""
    if raw is None:
        with (DATA_DIR / "measurements" / "inference.csv").open("rb") as f:
            raw = pd.read_csv(f, dtype=str)
    usable = set(usable_measurements(raw)["id"])
    x = raw[~raw["id"].isin(usable)].copy()
    in_hw = x["hardware_in_catalog"].eq("true")
    one_candidate = x["hardware_candidates"].fillna("").str.split(";").map(len).eq(1) & x["hardware_candidates"].notna()
    serving = x["metric"].str.startswith("output_tokens_per_s") & x["metric"].ne("output_tokens_per_s_per_user")
    reasons = [
        (x["metric"].eq("output_tokens_per_s_basis_unclear"), "per device or per group unclear (TensorRT-LLM v0.6.1, A100)"),
        (~x["metric"].isin(list(METRICS)), "a metric the step model does not predict"),
        (x["value_kind"].ne("point"), "not a point value (limit, range, approximate, fit)"),
        (x["model_in_catalog"].ne("true"), "model not in the catalog"),
        (~in_hw & ~one_candidate, "device not one catalog device"),
        (serving & (x["input_tokens"].isna() | x["output_tokens"].isna()), "serving rate without input/output lengths"),
    ]
    label = pd.Series(None, index=x.index, dtype=object)
    for cond, text in reversed(reasons):
        label[cond] = text
    x["reason"] = label.fillna("precision label not mapped to a weight format: " + x["weight_dtype"].fillna("(none)"))
    return x.reset_index(drop=True)


def predicted_vs_measured_chart(df: pd.DataFrame, predictions: Mapping[str, str], *, width: int = 380,
                                height: int = 380) -> alt.LayerChart:
    """Log-log scatter of predicted against measured, in each row's unit,
    coloured by engine and shaped by metric, with the line y = x; a dropdown
    picks which prediction column is drawn (``predictions`` maps a label to a
    column of ``df``, e.g. a :func:`residuals_table` with cross-validated
    predictions added). Defined in :ref:`sec_validation`."""
    labels = list(predictions)
    pick = _select("prediction", labels, labels[0], "Prediction ")
    long = pd.concat([df.assign(prediction=label, value=df[col]) for label, col in predictions.items()],
                     ignore_index=True)
    long = long[np.isfinite(long["value"].astype(float)) & (long["value"] > 0)]
    lo = 10 ** math.floor(math.log10(min(long["value"].min(), long["measured"].min())))
    hi = 10 ** math.ceil(math.log10(max(long["value"].max(), long["measured"].max())))
    scale = alt.Scale(type="log", domain=[lo, hi])
    diag = alt.Chart(pd.DataFrame({"measured": [lo, hi], "value": [lo, hi]})).mark_line(
        color="#888", strokeDash=[5, 4]).encode(x=alt.X("measured:Q", scale=scale), y=alt.Y("value:Q", scale=scale))
    points = alt.Chart(_records(long, ["id", "engine", "metric", "model", "hw", "prediction", "measured", "value",
                                       "unit"])).transform_filter(alt.datum.prediction == pick).mark_point(
        filled=True, size=55, opacity=0.75).encode(
        x=alt.X("measured:Q", title="Measured (s or tokens/s, as published)", scale=scale, axis=alt.Axis(format="~g")),
        y=alt.Y("value:Q", title="Predicted (same unit)", scale=scale, axis=alt.Axis(format="~g")),
        color=alt.Color("engine:N", title="Engine", legend=alt.Legend(orient="bottom")),
        shape=alt.Shape("metric:N", title="Metric", legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["id:N", "model:N", "hw:N", "metric:N", "unit:N", alt.Tooltip("measured:Q", format=".4~g"),
                 alt.Tooltip("value:Q", title="predicted", format=".4~g")])
    return alt.layer(diag, points).add_params(pick).properties(
        width=width, height=height, title="Predicted against measured (dashed: y = x)")


def residuals_chart(df: pd.DataFrame, groupings: Mapping[str, str], ratios: Mapping[str, str], *,
                    width: int = 340) -> alt.LayerChart:
    """Ratios of predicted to measured speed (log scale, 1 = exact, above 1 =
    optimistic) by group: one dropdown picks the grouping (``groupings`` maps
    a label to a column of ``df``: engine, device, model...), another which
    ratio column is drawn (``ratios``). Points are coloured by engine and
    shaped by metric. Defined in :ref:`sec_validation`."""
    long = pd.concat([df.assign(grouping=g, group=df[gc].astype(str), which=r, value=df[rc])
                      for g, gc in groupings.items() for r, rc in ratios.items()], ignore_index=True)
    long = long[np.isfinite(long["value"].astype(float))]
    g_pick = _select("residual_grouping", list(groupings), None, "Group by ")
    r_pick = _select("residual_ratio", list(ratios), None, "Ratio ")
    lo, hi = float(long["value"].min()), float(long["value"].max())
    base = alt.Chart(_records(long, ["id", "engine", "metric", "model", "hw", "grouping", "group", "which", "value",
                                     "measured", "unit"])).transform_filter(
        (alt.datum.grouping == g_pick) & (alt.datum.which == r_pick))
    x = alt.X("value:Q", title="Predicted / measured, as a speed (log)",
              scale=alt.Scale(type="log", domain=[min(lo, 0.9) / 1.1, max(hi, 1.1) * 1.1]), axis=alt.Axis(format="~g"))
    y = alt.Y("group:N", title=None, sort="ascending")
    one = alt.Chart(pd.DataFrame({"value": [1.0]})).mark_rule(color="#444").encode(x="value:Q")
    pts = base.mark_point(filled=True, size=45, opacity=0.7).encode(
        x=x, y=y, color=alt.Color("engine:N", title="Engine", legend=alt.Legend(orient="bottom")),
        shape=alt.Shape("metric:N", title="Metric", legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["id:N", "model:N", "hw:N", "metric:N", alt.Tooltip("value:Q", title="ratio", format=".3f"),
                 alt.Tooltip("measured:Q", format=".4~g"), "unit:N"])
    return alt.layer(one, pts).add_params(g_pick, r_pick).properties(
        width=width, title="Residuals (the line: predicted = measured)")
