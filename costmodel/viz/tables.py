"""Tables for the book: DataFrames rendered as MyST Markdown.

A ``text/markdown`` output is parsed as MyST by the book (``nb_render_markdown_format:
myst`` in ``_config.yml``), so ``$...$`` inside a cell typesets like the prose.
"""

from __future__ import annotations

import math

import pandas as pd
from IPython.display import Markdown

__all__ = ["markdown_table", "si", "symbol_values_table"]

_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """A number with a decimal SI prefix: ``si(989.5e12, "FLOP/s") == "990 TFLOP/s"``. Defined in :ref:`sec_notation`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def _cell(v, float_format: str) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return float_format.format(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, formats: dict | None = None, float_format: str = "{:,.4g}") -> Markdown:
    """Render ``df`` as a Markdown table. Floats use ``float_format``; ``formats``
    maps a column to a callable returning the cell text.
    Defined in :ref:`sec_notation`.
    """
    formats = formats or {}
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_cell(formats[c](row[c]) if c in formats else row[c], float_format) for c in cols) + " |")
    return Markdown("\n".join(lines))


def symbol_values_table(arch) -> pd.DataFrame:
    """The notation's architecture and derived symbols with their values for
    ``arch``: one row per symbol (symbol, meaning, config key, value), from
    :attr:`costmodel.Architecture.symbols`.
    Defined in :ref:`sec_notation`.
    """
    from ..symbols import notation_table

    vals = arch.symbols
    nt = notation_table()
    nt = nt[nt["group"].isin(["architecture", "derived"])].copy()
    nt["value"] = nt["name"].map(lambda n: vals[n]).astype(object)
    return nt[["symbol", "meaning", "hf_config_key", "value"]].reset_index(drop=True)
