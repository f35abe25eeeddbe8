"""Data and Altair charts for the roofline chapter (book section ``sec_roofline``).

The functions here only assemble tidy DataFrames from
:func:`costmodel.phase_roofline` and :func:`costmodel.ridge_intensity` and turn
them into charts; every number comes from the formulas in
:mod:`costmodel.formulas`.

* :func:`roofline_dataset`: one row per (model, device, phase, batch).
* :func:`roofline_lines`: the roof of each device, three points per device.
* :func:`roofline_chart`: the interactive log-log roofline (device and model
  dropdowns, batch-size buttons), kernel-free.
* :func:`ridge_chart`: the ridge point of every device (:func:`costmodel.ridge_table`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..catalog import list_hardware, load_hardware, load_model
from ..inference import phase_roofline
from ..quantities import attainable_flop_per_s, ridge_intensity, ridge_table
from .tables import COMPACT_LABELS, decades, model_names, round_sig

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_BATCHES",
    "devices_with_peak",
    "roofline_dataset",
    "roofline_lines",
    "roofline_chart",
    "ridge_chart",
]

#: Models shown in the interactive roofline: dense MHA, GQA, small, and a MoE.
DEFAULT_MODELS: tuple[str, ...] = (
    "llama-2-7b",
    "llama-3-8b",
    "mistral-7b-v0.1",
    "phi-2",
    "gemma-2b",
    "mixtral-8x7b-v0.1",
)
#: Batch sizes: powers of two from 1 to 256.
DEFAULT_BATCHES: tuple[int, ...] = tuple(2**k for k in range(9))

_PHASE_COLORS = alt.Scale(domain=["prefill", "decode"], range=["#d62728", "#1f77b4"])


def devices_with_peak(dtype: str = "bf16", hardware_ids: Iterable[str] | None = None) -> list[str]:
    """Ids of the catalog devices (or of ``hardware_ids``) that publish a dense
    peak for ``dtype``; the others cannot be placed on a roofline.
    Defined in :ref:`sec_roofline`.
    """
    ids = list(hardware_ids) if hardware_ids is not None else list_hardware()
    return [h for h in ids if load_hardware(h).has_peak(dtype)]


def roofline_dataset(
    models: Sequence[str] = DEFAULT_MODELS,
    hardware_ids: Sequence[str] | None = None,
    batches: Sequence[int] = DEFAULT_BATCHES,
    prompt_tokens: int = 1024,
    dtype: str = "bf16",
    *,
    eta_compute: float = 1.0,
    eta_memory: float = 1.0,
) -> pd.DataFrame:
    """Where prefill and decode of each model land on each device's roofline.

    One row per (model, device, phase, batch), from
    :func:`costmodel.phase_roofline` with ``weight_dtype=dtype`` (KV cache and
    compute in the same dtype) and a decode context of ``prompt_tokens``.
    Devices without a published ``dtype`` peak are skipped (default: every
    catalog device that has one). Memory capacity is not enforced; the column
    ``fits`` says whether weights plus the KV cache fit in one device. Every
    point is modelled at the fractions ``eta_compute`` and ``eta_memory`` of
    peak (default 1, i.e. 100 %: an upper bound on speed).

    Added columns: ``model_name`` (the catalog's display name),
    ``log2_batch``, ``attained_flop_per_s`` (FLOP / time, which lies on the
    roof by construction), ``peak_flop_per_s``,
    ``memory_bandwidth_bytes_per_s``, ``ridge_flop_per_byte``, ``fits``,
    ``eta_compute`` and ``eta_memory``.
    Defined in :ref:`sec_roofline`.
    """
    hw_ids = devices_with_peak(dtype, hardware_ids)
    if not hw_ids:
        raise ValueError(f"no device in {hardware_ids!r} publishes a dense {dtype} peak")
    b = np.asarray(batches, dtype=np.float64)
    frames = []
    for m in models:
        arch = load_model(m)
        for h in hw_ids:
            hw = load_hardware(h)
            df = phase_roofline(
                arch, hw, prompt_tokens=prompt_tokens, batch=b, weight_dtype=dtype, kv_dtype=dtype,
                eta_compute=eta_compute, eta_memory=eta_memory, check_fit=False,
            )
            df["dtype"] = dtype
            df["eta_compute"] = eta_compute
            df["eta_memory"] = eta_memory
            df["peak_flop_per_s"] = hw.peak_flops(dtype)
            df["memory_bandwidth_bytes_per_s"] = hw.memory_bandwidth_bytes_per_s
            df["ridge_flop_per_byte"] = float(ridge_intensity(hw, dtype, eta_compute=eta_compute,
                                                              eta_memory=eta_memory))
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    names = model_names()
    out.insert(1, "model_name", out["model"].map(lambda m: names.get(m, m)))
    out["log2_batch"] = np.log2(out["batch"]).round().astype(int)
    out["attained_flop_per_s"] = out["flop"] / out["time_s"]
    return out


def roofline_lines(df: pd.DataFrame, intensity_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """The roof min(pi, beta I) of every device in ``df`` (a
    :func:`roofline_dataset`), as three points per device: the left end of the
    range, the ridge and the right end (straight segments on log-log axes).
    Defined in :ref:`sec_roofline`.
    """
    lo, hi = intensity_range or _intensity_domain(df)
    devs = df.drop_duplicates("hardware")
    frames = []
    for _, r in devs.iterrows():
        points = np.array(sorted({lo, min(max(r["ridge_flop_per_byte"], lo), hi), hi}))
        roof = attainable_flop_per_s(r["hardware"], points, r["dtype"], eta_compute=r.get("eta_compute", 1.0),
                                     eta_memory=r.get("eta_memory", 1.0))
        frames.append(pd.DataFrame({"hardware": r["hardware"], "intensity_flop_per_byte": points,
                                    "attainable_flop_per_s": roof}))
    return pd.concat(frames, ignore_index=True)


def _log_domain(values, pad: float = 2.0) -> tuple[float, float]:
    """[min / pad, max * pad] of positive ``values``: a log axis that hugs the data."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(v.min() / pad), float(v.max() * pad)


def _intensity_domain(df: pd.DataFrame) -> tuple[float, float]:
    return _log_domain(pd.concat([df["intensity_flop_per_byte"], df["ridge_flop_per_byte"]]))


def roofline_chart(
    df: pd.DataFrame,
    *,
    device: str | None = None,
    model: str | None = None,
    batch: int | None = None,
    width: int = 470,
    height: int = 340,
) -> alt.LayerChart:
    """Interactive log-log roofline of a :func:`roofline_dataset`.

    Two dropdowns pick the device and the model (listed by display name),
    radio buttons pick the batch size among those in ``df``. The chart draws
    the device's roof, the path of prefill and decode over every batch size
    (faint), and large points at the selected batch, which move along the
    paths as the batch changes. The subtitle states the efficiency the points
    are modelled at (100 % of peak by default: upper bounds on speed). All
    data are embedded in the spec and filtered in the browser
    (``transform_filter``), so no kernel is needed.
    Defined in :ref:`sec_roofline`.
    """
    devices = list(dict.fromkeys(df["hardware"]))
    models = list(dict.fromkeys(df["model"]))
    names = dict(zip(df["model"], df["model_name"])) if "model_name" in df else {m: m for m in models}
    batches = sorted(int(b) for b in df["batch"].unique())
    device = device or ("h100-sxm" if "h100-sxm" in devices else devices[0])
    model = model or models[0]
    start = int(batch) if batch in batches else batches[0]

    device_p = alt.param(name="device", value=device,
                         bind=alt.binding_select(options=devices, name="Device "))
    model_p = alt.param(name="model", value=model,
                        bind=alt.binding_select(options=models, labels=[names[m] for m in models], name="Model "))
    batch_p = alt.param(name="batch", value=start,
                        bind=alt.binding_radio(options=batches, name="Batch size "))

    x_dom = _intensity_domain(df)
    lines = roofline_lines(df, x_dom)
    # a decade of room under the lowest point, for the decode labels and the caption
    y_lo = min(float(df["attained_flop_per_s"].min()), float(lines["attainable_flop_per_s"].min())) / 10
    y_hi = float(df["peak_flop_per_s"].max()) * 3
    x = alt.X("intensity_flop_per_byte:Q", title="Arithmetic intensity (FLOP/byte)",
              scale=alt.Scale(type="log", domain=list(x_dom), nice=False),
              axis=alt.Axis(values=decades(x_dom), labelExpr=COMPACT_LABELS))
    y_title = "Attained performance (FLOP/s)"

    cols = ["model", "hardware", "phase", "batch", "intensity_flop_per_byte",
            "attained_flop_per_s", "time_s", "bound", "tokens_per_s", "fits"]
    pts = df[cols].copy()
    pts["model_name"] = pts["model"].map(names)
    pts["time_ms"] = pts.pop("time_s") * 1e3
    for c in ("intensity_flop_per_byte", "attained_flop_per_s", "time_ms", "tokens_per_s"):
        pts[c] = round_sig(pts[c].to_numpy(), 4)  # 4 significant digits keep the embedded spec small

    on_device = alt.datum.hardware == device_p
    selected = on_device & (alt.datum.model == model_p)

    roof = (
        alt.Chart(lines)
        .mark_line(color="black", strokeWidth=2, clip=True)
        .encode(x=x, y=alt.Y("attainable_flop_per_s:Q", title=y_title,
                             axis=alt.Axis(values=decades((y_lo, y_hi)), format="~s"),
                             scale=alt.Scale(type="log", domain=[y_lo, y_hi], nice=False)))
        .transform_filter(on_device)
    )
    base = alt.Chart(pts).transform_filter(selected)
    y = alt.Y("attained_flop_per_s:Q", title=y_title)
    color = alt.Color("phase:N", scale=_PHASE_COLORS, title="Phase")
    paths = base.mark_line(point=alt.OverlayMarkDef(size=20), opacity=0.35).encode(
        x=x, y=y, color=color, detail="phase:N", order="batch:Q")
    at_batch = base.transform_filter(alt.datum.batch == batch_p)
    tooltip = [
        alt.Tooltip("model_name:N", title="model"), "hardware:N", "phase:N", "batch:Q",
        alt.Tooltip("intensity_flop_per_byte:Q", title="FLOP/byte", format=".3~s"),
        alt.Tooltip("attained_flop_per_s:Q", title="FLOP/s (at most)", format=".3~s"),
        alt.Tooltip("time_ms:Q", title="time, at least (ms)", format=".3~g"),
        alt.Tooltip("tokens_per_s:Q", title="tokens/s, at most", format=".4~s"),
        "bound:N", alt.Tooltip("fits:N", title="fits in memory"),
    ]
    dots = at_batch.mark_point(filled=True, size=180, opacity=1).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    # Decode points lie on the slanted roof: their label goes below and to the right, under
    # the roof. Prefill points lie on (or near) the flat roof: their label goes above and to
    # the left, over it. The roof separates the two, so they cannot collide.
    labelled = at_batch.transform_calculate(label="datum.phase + ' (' + datum.bound + '-bound)'")
    labels = alt.layer(
        labelled.transform_filter(alt.datum.phase == "decode")
        .mark_text(align="left", dx=10, dy=16, fontSize=12).encode(x=x, y=y, color=color, text="label:N"),
        labelled.transform_filter(alt.datum.phase == "prefill")
        .mark_text(align="right", dx=-8, dy=-14, fontSize=12).encode(x=x, y=y, color=color, text="label:N"),
    )
    # The caption sits in the bottom-right corner, which the roof never reaches.
    caption = (
        alt.Chart(pts)
        .transform_filter(selected & (alt.datum.batch == batch_p) & (alt.datum.phase == "decode"))
        .transform_calculate(text="'batch ' + datum.batch + ': decode step ≥ ' + format(datum.time_ms, '.3~g')"
                                  " + ' ms, ' + (datum.fits ? 'fits in memory' : 'does NOT fit')")
        .mark_text(align="right", baseline="bottom", x=width - 8, y=height - 8, fontSize=12, color="#333")
        .encode(text="text:N")
    )
    eta_c = float(df["eta_compute"].iloc[0]) if "eta_compute" in df else 1.0
    eta_m = float(df["eta_memory"].iloc[0]) if "eta_memory" in df else 1.0
    subtitle = [f"Modelled at {eta_c:.0%} of peak compute and {eta_m:.0%} of peak bandwidth:",
                "speeds are upper bounds, times lower bounds"]
    return (
        alt.layer(roof, paths, dots, labels, caption)
        .add_params(device_p, model_p, batch_p)
        .properties(width=width, height=height,
                    title=alt.TitleParams("Roofline: prefill and decode at the selected batch size",
                                          subtitle=subtitle))
    )


def ridge_chart(table: pd.DataFrame, *, width: int = 420, dtype: str = "bf16") -> alt.Chart:
    """Horizontal bars of the ridge intensity of each device in a
    :func:`costmodel.ridge_table`, coloured by category.
    Defined in :ref:`sec_roofline`.
    """
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            y=alt.Y("hardware:N", sort="-x", title=None),
            x=alt.X("ridge_flop_per_byte:Q", title=f"Ridge intensity, {dtype} (FLOP/byte)"),
            color=alt.Color("category:N", title="Category"),
            tooltip=[
                "name:N",
                alt.Tooltip("peak_flop_per_s:Q", title=f"peak {dtype} FLOP/s", format=".4~s"),
                alt.Tooltip("memory_bandwidth_bytes_per_s:Q", title="bandwidth (B/s)", format=".4~s"),
                alt.Tooltip("ridge_flop_per_byte:Q", title="ridge (FLOP/byte)", format=".0f"),
            ],
        )
        .properties(width=width, title=f"Ridge point of each device ({dtype} dense peak / bandwidth)")
    )
