"""Charts and tables of the hardware catalog (book section ``sec_hardware``)."""

from __future__ import annotations

import math
import re

import altair as alt
import numpy as np
import pandas as pd

from ..catalog import hardware_table
from .tables import source_links

__all__ = ["hardware_display_table", "missing_peak_notes", "compute_bandwidth_chart"]


def hardware_display_table() -> pd.DataFrame:
    """The catalog in display units, one row per device, with its sources
    and when they were read (short headers, so that the table fits the page).
    Defined in :ref:`sec_hardware`."""
    df = hardware_table()
    return pd.DataFrame({
        "id": df["id"],
        "device": df["name"],
        "bf16 TFLOP/s": df["peak_bf16_flop_per_s"] / 1e12,
        "int8 TOP/s": df["peak_int8_op_per_s"] / 1e12,
        "memory GB": df["memory_bytes"] / 1e9,
        "memory GB/s": df["memory_bandwidth_bytes_per_s"] / 1e9,
        "TDP W": df["tdp_w"],
        "source": df["source"].map(source_links),
        "read": df["retrieved"].astype(str).str.replace("-", "\u2011"),  # a date does not break at its hyphen
    })


# A sentence of a catalog note ends with ". " or "; " before a capital or a digit.
_SENTENCE = re.compile(r"(?<=[.;])\s+(?=[A-Z0-9'])")


def missing_peak_notes(dtype: str = "bf16") -> pd.DataFrame:
    """Why catalog devices without a dense ``dtype`` peak have none, in the
    words of the catalog's ``notes`` column: the sentences that name the
    dtype or say why only another one is published. One row per device
    without the peak: ``hardware``, ``name``, ``why`` (empty where the note
    says nothing about the dtype). Defined in :ref:`sec_hardware`.
    """
    df = hardware_table()
    col = f"peak_{dtype}_flop_per_s"
    if col not in df:
        raise ValueError(f"the hardware catalog has no column {col!r}")
    named = re.compile(rf"\b{re.escape(dtype)}\b|why only", re.IGNORECASE)
    rows = []
    for _, r in df[df[col].isna()].iterrows():
        sentences = [s.strip() for s in _SENTENCE.split(str(r["notes"] or "")) if s.strip()]
        why = " ".join(s for s in sentences if named.search(s)).rstrip(";")
        rows.append({"hardware": r["id"], "name": r["name"], "why": why})
    return pd.DataFrame(rows, columns=["hardware", "name", "why"])


# ----------------------------------------------------------------------
# Label placement: presentation only (pixel geometry of the chart).
# ----------------------------------------------------------------------
_CHAR_W, _LINE_H, _POINT_R = 6.0, 12.0, 6.0
_RIDGE_DX, _RIDGE_DY = 2, -6  # ridge-line labels: offset of the text from its anchor
# (dx, dy, align) of a label's anchor relative to its point, nearest first.
_CANDIDATES = [(8, 0, "left"), (-8, 0, "right"), (6, -11, "left"), (6, 11, "left"), (-6, -11, "right"),
               (-6, 11, "right"), (0, -14, "center"), (0, 14, "center")]
_CANDIDATES += [(dx, s * dy, a) for dy in (24, 36, 48) for s in (-1, 1)
                for dx, a in ((10, "left"), (-10, "right"), (0, "center"))]


def _pixels(values, domain, length, flip=False):
    lo, hi = (math.log10(v) for v in domain)
    p = (np.log10(np.asarray(values, dtype=float)) - lo) / (hi - lo) * length
    return length - p if flip else p


def _box(x, y, text, align):
    w = _CHAR_W * len(text)
    left = {"left": x, "right": x - w, "center": x - w / 2}[align]
    return left, y - _LINE_H / 2, left + w, y + _LINE_H / 2


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_layout(px, py, texts, width, height, obstacles=()) -> pd.DataFrame:
    """Greedy placement of one text label per point (pixel coordinates) so
    that no two labels overlap each other, a point or one of the
    ``obstacles`` (pixel boxes: left, top, right, bottom), and every label
    stays inside ``width`` x ``height``. Crowded points choose first. Returns
    one row per point: ``dx``, ``dy`` (label anchor offset in pixels) and
    ``align``. Defined in :ref:`sec_hardware`.
    """
    px, py = np.asarray(px, float), np.asarray(py, float)
    n = len(px)
    points = [(x - _POINT_R, y - _POINT_R, x + _POINT_R, y + _POINT_R) for x, y in zip(px, py)]
    points += [tuple(o) for o in obstacles]
    crowd = [sum(math.hypot(px[i] - px[j], py[i] - py[j]) < 60 for j in range(n)) for i in range(n)]
    placed: list[tuple] = []
    out = [(8.0, 0.0, "left")] * n
    for i in sorted(range(n), key=lambda k: (-crowd[k], px[k])):
        for dx, dy, align in _CANDIDATES:
            box = _box(px[i] + dx, py[i] + dy, texts[i], align)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            clear = not any(_overlaps(box, o) for o in placed + points)
            if inside and clear:
                out[i] = (float(dx), float(dy), align)
                placed.append(box)
                break
        else:  # nowhere free: the nearest candidate that stays inside
            for dx, dy, align in _CANDIDATES:
                box = _box(px[i] + dx, py[i] + dy, texts[i], align)
                if box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height:
                    out[i] = (float(dx), float(dy), align)
                    placed.append(box)
                    break
    return pd.DataFrame(out, columns=["dx", "dy", "align"])


def compute_bandwidth_chart(frame: pd.DataFrame, dtype: str = "bf16", *, width: int = 560,
                            height: int = 380) -> alt.LayerChart:
    """Log-log scatter of peak compute against memory bandwidth, with lines of
    constant ridge intensity (FLOP per byte) behind the devices. Labels are
    placed so that they do not overlap (:func:`label_layout`); a thin line
    joins a label to its point when it had to move away from it.
    Defined in :ref:`sec_hardware`.
    """
    lo = frame["memory_bandwidth_bytes_per_s"].min() / 1.5
    hi = frame["memory_bandwidth_bytes_per_s"].max() * 1.5
    y_lo = frame["peak_flop_per_s"].min() / 2
    y_hi = frame["peak_flop_per_s"].max() * 2
    x_dom, y_dom = (lo, hi), (y_lo, y_hi)

    # Dashed lines of constant ridge point, each labelled where it leaves the plot.
    lines, line_labels, line_boxes = [], [], []
    for r in (30, 100, 300, 1000):
        xs = np.array([max(lo, y_lo / r), min(hi, y_hi / r)])
        if xs[0] >= xs[1]:
            continue
        name = f"{r} FLOP/B"
        lines += [{"ridge": name, "memory_bandwidth_bytes_per_s": x, "peak_flop_per_s": r * x} for x in xs]
        # the label's right end sits on the line, 24 px inside the right or top edge
        ex, ey = float(_pixels(xs[1], x_dom, width)), float(_pixels(r * xs[1], y_dom, height, flip=True))
        shift = max(24 - (width - ex), 24 - ey, 0)  # pixels to walk back along the line
        factor = 10 ** (-shift / width * math.log10(hi / lo))
        line_labels.append({"ridge": name, "memory_bandwidth_bytes_per_s": xs[1] * factor,
                            "peak_flop_per_s": r * xs[1] * factor})
        # its pixel box: right-aligned, ending 2 px left of the anchor, 6 px above it
        lx = float(_pixels(xs[1] * factor, x_dom, width)) - _RIDGE_DX
        ly = float(_pixels(r * xs[1] * factor, y_dom, height, flip=True)) + _RIDGE_DY
        line_boxes.append(_box(lx, ly, name, "right"))
    ridges, ridge_labels = pd.DataFrame(lines), pd.DataFrame(line_labels)

    pts = frame.reset_index(drop=True).copy()
    px = _pixels(pts["memory_bandwidth_bytes_per_s"], x_dom, width)
    py = _pixels(pts["peak_flop_per_s"], y_dom, height, flip=True)
    layout = label_layout(px, py, pts["hardware"].tolist(), width, height, obstacles=line_boxes)
    dx, dy = layout["dx"].to_numpy(), layout["dy"].to_numpy()

    def to_data(x_px, y_px):
        return (10 ** (np.log10(lo) + x_px / width * math.log10(hi / lo)),
                10 ** (np.log10(y_lo) + (height - y_px) / height * math.log10(y_hi / y_lo)))

    # the label anchors back in data coordinates
    pts["label_x"], pts["label_y"] = to_data(px + dx, py + dy)
    pts["align"] = layout["align"]
    # a label above or below its point, or pushed sideways, gets a leader line
    # that stops at the label's near edge
    pts["moved"] = (dy != 0) | (np.abs(dx) > 10)
    pts["rule_x"], pts["rule_y"] = to_data(px + dx, py + dy - np.sign(dy) * _LINE_H / 2)

    x = alt.X("memory_bandwidth_bytes_per_s:Q", scale=alt.Scale(type="log", domain=list(x_dom), nice=False),
              title="Memory bandwidth (byte/s)", axis=alt.Axis(format="~s"))
    y = alt.Y("peak_flop_per_s:Q", scale=alt.Scale(type="log", domain=list(y_dom), nice=False),
              title=f"Dense {dtype} peak (FLOP/s)", axis=alt.Axis(format="~s"))
    layers = [
        alt.Chart(ridges).mark_line(strokeDash=[4, 4], color="#bbbbbb", clip=True).encode(x=x, y=y, detail="ridge:N"),
        alt.Chart(ridge_labels).mark_text(align="right", dx=-_RIDGE_DX, dy=_RIDGE_DY, color="#888888",
                                          fontSize=10).encode(
            x=x, y=y, text="ridge:N"),
    ]
    moved = pts[pts["moved"]]
    if len(moved):
        layers.append(alt.Chart(moved).mark_rule(color="#999999", strokeWidth=0.7).encode(
            x=x, y=y, x2="rule_x:Q", y2="rule_y:Q"))
    layers.append(alt.Chart(pts).mark_point(filled=True, size=70, opacity=0.9).encode(
        x=x, y=y,
        color=alt.Color("category:N", title="Category", legend=alt.Legend(orient="bottom", columns=4)),
        tooltip=["name:N", alt.Tooltip("peak_flop_per_s:Q", format=".3s"),
                 alt.Tooltip("memory_bandwidth_bytes_per_s:Q", format=".3s"),
                 alt.Tooltip("ridge_flop_per_byte:Q", format=".0f")]))
    # labels: the same x and y fields as the points (one shared axis), at the label anchors
    anchors = pts.assign(memory_bandwidth_bytes_per_s=pts["label_x"], peak_flop_per_s=pts["label_y"])
    for align in ("left", "right", "center"):
        part = anchors[anchors["align"] == align]
        if len(part):
            layers.append(alt.Chart(part).mark_text(align=align, baseline="middle", fontSize=10, color="#333333")
                          .encode(x=x, y=y, text="hardware:N"))
    return alt.layer(*layers).properties(
        width=width, height=height, title=f"Compute vs bandwidth ({dtype}); dashed: constant ridge point")
