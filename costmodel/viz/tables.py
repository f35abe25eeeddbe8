"""Tables and text for the book: DataFrames rendered as MyST Markdown, numbers
formatted for reading, formulas broken over lines.

A ``text/markdown`` output is parsed as MyST by the book (``nb_render_markdown_format:
myst`` in ``_config.yml``), so ``$...$`` inside a cell typesets like the prose.
Nothing here computes a quantity: these helpers only format what
:mod:`costmodel.quantities` and the catalogs return.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Iterable
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from IPython.display import Markdown

__all__ = [
    "markdown_table",
    "si",
    "number",
    "round_sig",
    "decades",
    "COMPACT_LABELS",
    "source_links",
    "latex_aligned",
    "model_names",
    "notation_markdown",
    "symbol_values_table",
]

_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """A number with a decimal SI prefix: ``si(989.5e12, "FLOP/s") == "990 TFLOP/s"``. Defined in :ref:`sec_notation`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def round_sig(x, digits: int = 2):
    """``x`` rounded to ``digits`` significant digits, for quoting an estimate
    without spurious precision: ``round_sig(487_819) == 490_000``. Integers
    stay integers; arrays are rounded elementwise (zeros stay zero).
    Defined in :ref:`sec_notation`.
    """
    a = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(np.where(a == 0, 1.0, a))))
    scale = 10.0 ** (digits - 1 - exponent)
    out = np.round(a * scale) / scale
    if out.ndim:
        return out
    if isinstance(x, numbers.Integral) or float(out).is_integer():
        return int(out)
    return float(out)


def decades(domain) -> list[float]:
    """The powers of ten inside ``domain`` (low, high): the tick values of a
    log axis that labels each decade once, without crowded 2, 3, 5 ticks.
    Defined in :ref:`sec_roofline`."""
    lo, hi = (float(v) for v in domain)
    return [10.0 ** k for k in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)]


#: A Vega ``labelExpr`` for log axes: plain numbers below 1,000 (0.5, 10,
#: 200), SI prefixes from 1,000 on (1k, 100k, 1M).
COMPACT_LABELS = "datum.value >= 1000 ? format(datum.value, '~s') : format(datum.value, '~g')"


def number(v, digits: int = 4) -> str:
    """A number as a table shows it: integral values as integers with
    thousands separators (``11008.0`` -> ``"11,008"``), others with up to
    ``digits`` significant digits and never in exponent notation between
    1e-4 and 1e15 (``989.5`` -> ``"989.5"``, ``0.30`` -> ``"0.3"``); booleans
    as 0 and 1, missing values as an en dash.
    Defined in :ref:`sec_notation`.
    """
    if v is None or v is pd.NA or (isinstance(v, numbers.Real) and math.isnan(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if not 1e-4 <= abs(v) < 1e15:
        return f"{v:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cell(v, float_format: str | None) -> str:
    if isinstance(v, str):
        return v.replace("|", "\\|").replace("\n", " ")
    if isinstance(v, (numbers.Number, np.bool_)) or v is None or v is pd.NA:
        if float_format is not None and isinstance(v, float) and not math.isnan(v) and not v.is_integer():
            return float_format.format(v)
        return number(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, formats: dict | None = None, float_format: str | None = None) -> Markdown:
    """Render ``df`` as a Markdown table. Numbers go through :func:`number`
    (integral values print as integers, whatever the column's dtype); a
    ``float_format`` applies to non-integral floats only; ``formats`` maps a
    column to a callable returning the cell text.
    Defined in :ref:`sec_notation`.
    """
    formats = formats or {}
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_cell(formats[c](row[c]) if c in formats else row[c], float_format) for c in cols) + " |")
    return Markdown("\n".join(lines))


_URL = re.compile(r"https?://[^\s;,)]+")


def source_links(source: str, *, path: bool = False) -> str:
    """Every URL in a catalog ``source`` cell as a Markdown link named after
    its host (and, with ``path=True``, its path): ``"https://www.nvidia.com/x
    ; https://b.org"`` -> ``"[nvidia.com](…); [b.org](…)"``. Text without a
    URL is kept.
    Defined in :ref:`sec_hardware`.
    """
    text = str(source)
    urls = _URL.findall(text)
    if not urls:
        return text.strip()
    out, seen = [], {}
    for url in urls:
        parts = urlparse(url)
        name = parts.netloc.removeprefix("www.") + (parts.path.rstrip("/") if path else "")
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"  # two pages of one host stay apart
        out.append(f"[{label}]({url})")
    return "; ".join(out)


def latex_aligned(lhs: str, terms: Iterable, per_line: int = 1, latex=None) -> str:
    """LaTeX of ``lhs = t1 + t2 + ...`` broken over lines with ``aligned``,
    ``per_line`` terms a line, so that a long formula fits the page. ``terms``
    is a sympy sum (split into its terms) or a list of expressions; each is
    rendered by ``latex`` (default :func:`costmodel.latex`, the book's
    notation). Defined in :ref:`sec_notation`.
    """
    import sympy as sp

    if latex is None:
        from ..symbols import latex
    if isinstance(terms, sp.Basic):
        terms = sp.Add.make_args(terms)
    rendered = [latex(t) for t in terms]
    lines = [" + ".join(rendered[i:i + per_line]) for i in range(0, len(rendered), per_line)]
    body = r" \\ &+ ".join(lines)
    return r"\begin{aligned} " + lhs + r" &= " + body + r" \end{aligned}"


def model_names() -> dict[str, str]:
    """Catalog id -> the model's display name (the catalog's ``name``
    column), the one name the book uses for each model in prose, tables and
    charts. Defined in :ref:`sec_notation`.
    """
    from ..catalog import model_table

    table = model_table()
    return dict(zip(table["model"], table["name"].fillna(table["model"])))


#: Columns of the notation that each group of symbols shows (workload,
#: precision and hardware symbols have no config.json key).
_GROUP_COLUMNS = {
    "architecture": ["symbol", "meaning", "unit", "hf_config_key"],
    "derived": ["symbol", "meaning", "hf_config_key"],
    "counts": ["symbol", "meaning"],
    "workload": ["symbol", "meaning", "unit"],
    "precision": ["symbol", "meaning", "unit"],
    "hardware": ["symbol", "meaning", "unit"],
    "inference": ["symbol", "meaning", "unit"],
    "training": ["symbol", "meaning", "unit"],
    "finetune": ["symbol", "meaning", "unit"],
    "cost": ["symbol", "meaning", "unit"],
    "hybrid": ["symbol", "meaning", "unit"],
}
_HEADERS = {"symbol": "symbol", "meaning": "meaning", "unit": "unit", "hf_config_key": "config.json key"}


def notation_markdown(table: pd.DataFrame, group: str) -> Markdown:
    """The rows of one ``group`` of :func:`costmodel.notation_table` as a
    Markdown table with the columns that group uses; unit 1 (dimensionless)
    prints as an empty cell. Defined in :ref:`sec_notation`.
    """
    cols = _GROUP_COLUMNS[group]
    rows = table[table["group"] == group][cols].copy()
    if "unit" in rows:
        rows["unit"] = rows["unit"].where(rows["unit"] != "1", "")
    return markdown_table(rows.rename(columns=_HEADERS))


def symbol_values_table(arch) -> pd.DataFrame:
    """The notation's architecture and derived symbols with their values for
    ``arch``: one row per symbol (symbol, meaning, config key, value), from
    :attr:`costmodel.Architecture.symbols`; indicators print as 0 or 1.
    Defined in :ref:`sec_notation`.
    """
    from ..symbols import notation_table

    vals = arch.symbols
    nt = notation_table()
    nt = nt[nt["group"].isin(["architecture", "derived"])].copy()
    nt["value"] = nt["name"].map(lambda n: int(vals[n]) if isinstance(vals[n], (bool, np.bool_)) else vals[n]).astype(object)
    return nt[["symbol", "meaning", "hf_config_key", "value"]].reset_index(drop=True)
