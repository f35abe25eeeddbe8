"""Data and Altair charts for the roofline chapter (book section ``sec_roofline``).

The functions here only assemble tidy DataFrames from
:func:`costmodel.phase_roofline` and :func:`costmodel.ridge_intensity` and turn
them into charts; every number comes from the formulas in
:mod:`costmodel.formulas`.

* :func:`roofline_dataset`: one row per (model, device, phase, batch).
* :func:`roofline_lines`: the roof of each device, three points per device.
* :func:`roofline_chart`: the interactive log-log roofline (device and model
  dropdowns, a batch-size slider), kernel-free.
* :func:`ridge_chart`: the ridge point of every device (:func:`costmodel.ridge_table`).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..catalog import list_hardware, load_hardware, load_model
from ..inference import phase_roofline
from ..quantities import attainable_flop_per_s, ridge_intensity, ridge_table

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
) -> pd.DataFrame:
    """Where prefill and decode of each model land on each device's roofline.

    One row per (model, device, phase, batch), from
    :func:`costmodel.phase_roofline` with ``weight_dtype=dtype`` (KV cache and
    compute in the same dtype) and a decode context of ``prompt_tokens``.
    Devices without a published ``dtype`` peak are skipped (default: every
    catalog device that has one). Memory capacity is not enforced; the column
    ``fits`` says whether weights plus the KV cache fit in one device.

    Added columns: ``log2_batch``, ``attained_flop_per_s`` (FLOP / time, which
    lies on the roof by construction), ``peak_flop_per_s``,
    ``memory_bandwidth_bytes_per_s``, ``ridge_flop_per_byte`` and ``fits``.
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
                check_fit=False,
            )
            df["dtype"] = dtype
            df["peak_flop_per_s"] = hw.peak_flops(dtype)
            df["memory_bandwidth_bytes_per_s"] = hw.memory_bandwidth_bytes_per_s
            df["ridge_flop_per_byte"] = float(ridge_intensity(hw, dtype))
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
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
    devs = df.drop_duplicates("hardware")[["hardware", "dtype", "ridge_flop_per_byte"]]
    frames = []
    for _, r in devs.iterrows():
        points = np.array(sorted({lo, min(max(r["ridge_flop_per_byte"], lo), hi), hi}))
        frames.append(pd.DataFrame({"hardware": r["hardware"], "intensity_flop_per_byte": points,
                                    "attainable_flop_per_s": attainable_flop_per_s(r["hardware"], points, r["dtype"])}))
    return pd.concat(frames, ignore_index=True)


def _decade_floor(x: float) -> float:
    return 10.0 ** math.floor(math.log10(x))


def _decade_ceil(x: float) -> float:
    return 10.0 ** math.ceil(math.log10(x))


def _round_sig(x: np.ndarray, digits: int = 4) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (positive values)."""
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
    return np.round(x * scale) / scale


def _intensity_domain(df: pd.DataFrame) -> tuple[float, float]:
    i = pd.concat([df["intensity_flop_per_byte"], df["ridge_flop_per_byte"]])
    return _decade_floor(float(i.min())), _decade_ceil(float(i.max()))


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

    Two dropdowns pick the device and the model, a slider picks log2 of the
    batch size. The chart draws the device's roof, the path of prefill and
    decode over every batch size in ``df`` (faint), and large points at the
    selected batch, which move along the paths as the slider moves. All data
    are embedded in the spec and filtered in the browser
    (``transform_filter``), so no kernel is needed.
    Defined in :ref:`sec_roofline`.
    """
    devices = list(dict.fromkeys(df["hardware"]))
    models = list(dict.fromkeys(df["model"]))
    log2b = sorted(df["log2_batch"].unique())
    device = device or ("h100-sxm" if "h100-sxm" in devices else devices[0])
    model = model or models[0]
    start = int(math.log2(batch)) if batch else int(log2b[0])

    device_p = alt.param(name="device", value=device,
                         bind=alt.binding_select(options=devices, name="Device "))
    model_p = alt.param(name="model", value=model,
                        bind=alt.binding_select(options=models, name="Model "))
    batch_p = alt.param(name="log2_batch", value=start,
                        bind=alt.binding_range(min=int(log2b[0]), max=int(log2b[-1]), step=1,
                                               name="log2(batch size) "))

    x_dom = _intensity_domain(df)
    y_lo = _decade_floor(float(df["attained_flop_per_s"].min()))
    y_hi = _decade_ceil(float(df["peak_flop_per_s"].max()))
    x = alt.X("intensity_flop_per_byte:Q", title="Arithmetic intensity (FLOP/byte)",
              scale=alt.Scale(type="log", domain=list(x_dom)), axis=alt.Axis(format="~g"))
    y_title = "Attained performance (FLOP/s)"

    cols = ["model", "hardware", "phase", "batch", "log2_batch", "intensity_flop_per_byte",
            "attained_flop_per_s", "time_s", "bound", "tokens_per_s", "fits"]
    pts = df[cols].copy()
    pts["time_ms"] = pts.pop("time_s") * 1e3
    for c in ("intensity_flop_per_byte", "attained_flop_per_s", "time_ms", "tokens_per_s"):
        pts[c] = _round_sig(pts[c].to_numpy())  # 4 significant digits keep the embedded spec small
    lines = roofline_lines(df, x_dom)

    on_device = alt.datum.hardware == device_p
    selected = on_device & (alt.datum.model == model_p)

    roof = (
        alt.Chart(lines)
        .mark_line(color="black", strokeWidth=2)
        .encode(x=x, y=alt.Y("attainable_flop_per_s:Q", title=y_title, axis=alt.Axis(format="~s"),
                             scale=alt.Scale(type="log", domain=[y_lo, y_hi])))
        .transform_filter(on_device)
    )
    base = alt.Chart(pts).transform_filter(selected)
    y = alt.Y("attained_flop_per_s:Q", title=y_title)
    color = alt.Color("phase:N", scale=_PHASE_COLORS, title="Phase")
    paths = base.mark_line(point=alt.OverlayMarkDef(size=20), opacity=0.35).encode(
        x=x, y=y, color=color, detail="phase:N", order="batch:Q")
    at_batch = base.transform_filter(alt.datum.log2_batch == batch_p)
    tooltip = [
        "model:N", "hardware:N", "phase:N", "batch:Q",
        alt.Tooltip("intensity_flop_per_byte:Q", title="FLOP/byte", format=".3~s"),
        alt.Tooltip("attained_flop_per_s:Q", title="FLOP/s", format=".3~s"),
        alt.Tooltip("time_ms:Q", title="time (ms)", format=".3~g"),
        alt.Tooltip("tokens_per_s:Q", title="tokens/s", format=".4~s"),
        "bound:N", alt.Tooltip("fits:N", title="fits in memory"),
    ]
    dots = at_batch.mark_point(filled=True, size=180, opacity=1).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    # Decode labels go right of their point, prefill labels (near the right edge) left and below.
    labelled = at_batch.transform_calculate(
        label="datum.phase + ', batch ' + datum.batch + ' (' + datum.bound + '-bound)'")
    labels = alt.layer(
        labelled.transform_filter(alt.datum.phase == "decode")
        .mark_text(align="left", dx=10, dy=-10, fontSize=12).encode(x=x, y=y, color=color, text="label:N"),
        labelled.transform_filter(alt.datum.phase == "prefill")
        .mark_text(align="right", dx=-8, dy=18, fontSize=12).encode(x=x, y=y, color=color, text="label:N"),
    )
    caption = (
        alt.Chart(pts)
        .transform_filter(selected & (alt.datum.log2_batch == batch_p) & (alt.datum.phase == "decode"))
        .transform_calculate(text="'batch ' + datum.batch + ': decode step ' + format(datum.time_ms, '.3~g') + ' ms, '"
                                  " + (datum.fits ? 'fits in memory' : 'does NOT fit in one device')")
        .mark_text(align="left", baseline="top", x=8, y=8, fontSize=12, color="#333")
        .encode(text="text:N")
    )
    return (
        alt.layer(roof, paths, dots, labels, caption)
        .add_params(device_p, model_p, batch_p)
        .properties(width=width, height=height,
                    title="Roofline: prefill and decode at the selected batch size")
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
