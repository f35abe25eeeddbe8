"""Formatting helpers of the book (costmodel.viz.tables): numbers as a reader
expects them, tables that keep integers integral, formulas that fit the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.symbols import GROUPS
from costmodel.viz import tables as vt


@pytest.mark.parametrize("value, text", [
    (11008, "11,008"),
    (11008.0, "11,008"),            # an integral float (a column that became float) stays an integer
    (np.int64(8192), "8,192"),
    (np.float64(4096.0), "4,096"),
    (12000.0, "12,000"),            # not 1.2e+04
    (989.5, "989.5"),
    (34.36, "34.36"),
    (0.3, "0.3"),
    (153.016, "153"),
    (True, "1"),
    (False, "0"),
    (float("nan"), "–"),
    (None, "–"),
    (pd.NA, "–"),
])
def test_number(value, text):
    assert vt.number(value) == text


def test_number_never_uses_exponents_in_the_readable_range():
    for v in (12_000.0, 3.4e9 + 0.5, 0.000123, 99_999.5, 1e14 + 0.25):
        assert "e" not in vt.number(v), v


def test_markdown_table_prints_integral_floats_as_integers():
    # one NaN turns an integer column into float64: the values must still print as integers
    df = pd.DataFrame({"symbol": ["$F$", "$W$"], "value": [11008, None]})
    assert df["value"].dtype == float
    text = vt.markdown_table(df).data
    assert "| $F$ | 11,008 |" in text
    assert "1.101e+04" not in text and "11008.0" not in text
    assert "| $W$ | – |" in text


def test_symbol_values_table_shows_integers_and_indicators_as_numbers():
    text = vt.markdown_table(vt.symbol_values_table(cm.load_model("llama-2-7b"))).data
    assert "| $F$ |" in text and "| 11,008 |" in text and "| 32,000 |" in text
    assert "True" not in text and "False" not in text
    assert "e+" not in text


@pytest.mark.parametrize("value, digits, rounded", [
    (487_819, 2, 490_000), (487_819.0, 3, 488_000), (295.37, 2, 300), (0.537, 2, 0.54), (1003.4, 3, 1000),
])
def test_round_sig(value, digits, rounded):
    assert vt.round_sig(value, digits) == rounded
    assert isinstance(vt.round_sig(487_819, 2), int)
    np.testing.assert_allclose(vt.round_sig(np.array([487_819.0, 0.537]), 2), [490_000, 0.54])


def test_source_links_names_links_by_host():
    text = vt.source_links("https://www.nvidia.com/a/b.pdf ; https://resources.nvidia.com/x")
    assert text == "[nvidia.com](https://www.nvidia.com/a/b.pdf); [resources.nvidia.com](https://resources.nvidia.com/x)"
    assert vt.source_links("vendor letter") == "vendor letter"
    assert vt.source_links("https://amd.com/a; https://amd.com/b") == "[amd.com](https://amd.com/a); [amd.com (2)](https://amd.com/b)"
    published = vt.source_links("https://huggingface.co/meta-llama/Llama-2-7b-hf (safetensors total; x)", path=True)
    assert published == "[huggingface.co/meta-llama/Llama-2-7b-hf](https://huggingface.co/meta-llama/Llama-2-7b-hf)"


def test_latex_aligned_breaks_a_long_formula_into_lines():
    text = vt.latex_aligned("N", F.TOTAL_PARAMS, per_line=2)
    assert text.startswith(r"\begin{aligned} N &= ") and text.endswith(r"\end{aligned}")
    n_terms = len(sp.Add.make_args(F.TOTAL_PARAMS))
    assert text.count(r"\\") == (n_terms + 1) // 2 - 1
    # the same terms, in the book's notation
    for term in sp.Add.make_args(F.TOTAL_PARAMS):
        assert cm.latex(term) in text


def test_model_names_are_the_catalogs_display_names():
    names = vt.model_names()
    assert set(names) == set(cm.list_models())
    assert names["llama-2-7b"] == "Llama 2 7B"
    assert all(isinstance(n, str) and n for n in names.values())


@pytest.mark.parametrize("group", GROUPS)
def test_notation_markdown_one_table_per_group(group):
    table = cm.notation_table()
    text = vt.notation_markdown(table, group).data
    rows = table[table["group"] == group]
    assert text.count("\n") == len(rows) + 1  # header, rule, one line per symbol
    for sym in rows["symbol"]:
        assert f"| {sym} |" in text
    header = text.splitlines()[0]
    # workload, precision and hardware symbols come from the caller, not from config.json
    assert ("config.json key" in header) == (group in ("architecture", "derived"))
    # a dimensionless unit prints as an empty cell, not as "1"
    assert "| 1 |" not in text


def test_decades_label_each_power_of_ten_once():
    assert vt.decades((0.5, 2.4e5)) == [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5]
    assert vt.decades((16, 16384)) == [100.0, 1000.0, 1e4]
    assert vt.decades((0.01, 1000)) == [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    assert "'~s'" in vt.COMPACT_LABELS and ">= 1000" in vt.COMPACT_LABELS
