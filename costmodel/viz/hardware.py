"""Charts and tables of the hardware catalog (book section ``sec_hardware``)."""

from __future__ import annotations

from urllib.parse import urlparse

import altair as alt
import pandas as pd

from ..catalog import hardware_table

__all__ = ["hardware_display_table", "compute_bandwidth_chart"]


def _links(source: str) -> str:
    """``url ; url`` -> Markdown links named after their host."""
    out = []
    for part in str(source).split(";"):
        part = part.strip()
        if part.startswith("http"):
            host = urlparse(part).netloc.removeprefix("www.")
            out.append(f"[{host}]({part})")
        elif part:
            out.append(part)
    return "; ".join(out)


def hardware_display_table() -> pd.DataFrame:
    """The catalog in display units, one row per device, with its sources. Defined in :ref:`sec_hardware`."""
    df = hardware_table()
    return pd.DataFrame({
        "id": df["id"],
        "device": df["name"],
        "bf16 TFLOP/s": df["peak_bf16_flop_per_s"] / 1e12,
        "int8 TOP/s": df["peak_int8_op_per_s"] / 1e12,
        "memory GB": df["memory_bytes"] / 1e9,
        "bandwidth GB/s": df["memory_bandwidth_bytes_per_s"] / 1e9,
        "TDP W": df["tdp_w"],
        "source": df["source"].map(_links),
        "retrieved": df["retrieved"],
    })


def compute_bandwidth_chart(frame: pd.DataFrame, dtype: str = "bf16") -> alt.Chart:
    """Log-log scatter of peak compute against memory bandwidth, with lines of
    constant ridge intensity (FLOP per byte) behind the devices.
    Defined in :ref:`sec_hardware`.
    """
    lo = frame["memory_bandwidth_bytes_per_s"].min() / 1.5
    hi = frame["memory_bandwidth_bytes_per_s"].max() * 1.5
    ridges = pd.DataFrame([
        {"ridge": f"{r} FLOP/B", "memory_bandwidth_bytes_per_s": bw, "peak_flop_per_s": r * bw}
        for r in (30, 100, 300, 1000) for bw in (lo, hi)
    ])
    y_lo = frame["peak_flop_per_s"].min() / 2
    y_hi = frame["peak_flop_per_s"].max() * 2
    x = alt.X("memory_bandwidth_bytes_per_s:Q", scale=alt.Scale(type="log", domain=[lo, hi]),
              title="Memory bandwidth (byte/s)", axis=alt.Axis(format="~s"))
    y = alt.Y("peak_flop_per_s:Q", scale=alt.Scale(type="log", domain=[y_lo, y_hi]),
              title=f"Dense {dtype} peak (FLOP/s)", axis=alt.Axis(format="~s"))
    lines = alt.Chart(ridges).mark_line(strokeDash=[4, 4], color="#bbbbbb", clip=True).encode(
        x=x, y=y, detail="ridge:N")
    labels = alt.Chart(ridges[ridges.memory_bandwidth_bytes_per_s == hi]).mark_text(
        align="right", dx=-4, dy=-6, color="#888888", clip=True).encode(x=x, y=y, text="ridge:N")
    points = alt.Chart(frame).mark_point(filled=True, size=80).encode(
        x=x, y=y, color=alt.Color("category:N", title="Category"),
        tooltip=["name:N", alt.Tooltip("peak_flop_per_s:Q", format=".3s"),
                 alt.Tooltip("memory_bandwidth_bytes_per_s:Q", format=".3s"),
                 alt.Tooltip("ridge_flop_per_byte:Q", format=".0f")])
    names = points.mark_text(align="left", dx=7, fontSize=10).encode(text="hardware:N", color=alt.value("#333333"))
    return (lines + labels + points + names).properties(
        width=560, height=380, title=f"Compute vs bandwidth ({dtype}); dashed: constant ridge point")
