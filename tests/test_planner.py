"""The planner: compare(), its notebook under papermill, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import costmodel as cm
from costmodel import planner

ROOT = Path(__file__).resolve().parents[1]


def test_compare_is_the_serving_point_on_the_fewest_devices():
    df = planner.compare(["llama-3-8b", "llama-2-70b"], ["h100-sxm"], input_tokens=512, output_tokens=128,
                         price_per_device_hour_usd=2.5).set_index("model")
    # Llama-2-70B in bf16 (138 GB) needs two 80 GB H100s; Llama-3-8B one
    assert df.loc["llama-2-70b", "n_devices"] == cm.min_devices("llama-2-70b", "h100-sxm", context=640) == 2
    assert df.loc["llama-3-8b", "n_devices"] == 1
    sp = cm.serving_point("llama-2-70b", "h100-sxm", 512, 128, n_devices=2).iloc[0]
    row = df.loc["llama-2-70b"]
    assert row["output_tokens_per_s"] == pytest.approx(sp["output_tokens_per_s"])
    # dollars per 1M output tokens: price x devices / 3600 s / (tokens/s) x 1e6
    assert row["usd_per_1m_output_tokens"] == pytest.approx(2.5 * 2 / 3600 / sp["output_tokens_per_s"] * 1e6)


def test_compare_prices_each_device_at_its_cheapest_dated_offer():
    df = planner.compare(["llama-3-8b"], ["h100-sxm", "l4"], date="2026").set_index("hardware")
    # data/prices/cloud.csv: Lambda's H100 SXM at $2.49 (2026-04) is the cheapest 2026 offer; no L4 row
    h100 = df.loc["h100-sxm"]
    assert (h100["price_per_device_hour_usd"], h100["price_source"]) == (2.49, "lambda/h100-sxm/on-demand/2.49")
    assert h100["usd_per_1m_output_tokens"] == pytest.approx(2.49 / 3600 / h100["output_tokens_per_s"] * 1e6)
    l4 = df.loc["l4"]
    assert l4["fits"] and pd.isna(l4["usd_per_1m_output_tokens"]) and "hardware='l4' has no row" in l4["note"]
    with pytest.raises(ValueError, match=r"price_per_device_hour_usd=2.0 and date='2026': give prices or"):
        planner.compare(["llama-3-8b"], ["h100-sxm"], price_per_device_hour_usd=2.0, date="2026")
    with pytest.raises(ValueError, match=r"date='last year' must be a date"):
        planner.compare(["llama-3-8b"], ["h100-sxm"], date="last year")


def test_cost_table_is_the_cost_module_on_the_fewest_devices():
    df = planner.cost_table(["llama-3.2-1b", "llama-3-70b"], "h100-sxm", date="2026", utilisation=0.5).set_index("model")
    # Meta-Llama-3-70B in bf16 (141 GB) needs two 80 GB H100s
    assert df.loc["llama-3-70b", "n_devices"] == 2 and df.loc["llama-3.2-1b", "n_devices"] == 1
    c = cm.cost_per_million_tokens("llama-3-70b", "h100-sxm", 1024, 256, n_devices=2, date="2026",
                                   utilisation=0.5).iloc[0]
    e = cm.energy_per_million_tokens("llama-3-70b", "h100-sxm", 1024, 256, n_devices=2).iloc[0]
    row = df.loc["llama-3-70b"]
    assert row["price_source"] == "lambda/h100-sxm/on-demand/2.49"
    for col in ("usd_per_1m_input_tokens", "usd_per_1m_output_tokens", "usd_per_1m_blended_tokens"):
        assert row[col] == c[col]
    assert row["kwh_per_1m_output_tokens"] == e["kwh_per_1m_output_tokens"]
    with pytest.raises(ValueError, match=r"hardware='l4' has no row in data/prices/cloud.csv"):
        planner.cost_table("llama-3.2-1b", "l4", date="2026")


def test_cli_cost_prints_dollars_and_energy(tmp_path):
    r = _cli("cost", "llama-3.2-1b", "--hardware", "h100-sxm", "--date", "2026", "--csv", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    assert "usd_per_1m_blended_tokens" in r.stdout and "lambda/h100-sxm/on-demand/2.49" in r.stdout
    df = pd.read_csv(tmp_path / "c.csv")
    expected = planner.cost_table("llama-3.2-1b", "h100-sxm", date="2026")
    assert df["usd_per_1m_output_tokens"].tolist() == pytest.approx(expected["usd_per_1m_output_tokens"].tolist())
    r = _cli("cost", "llama-3.2-1b", "--hardware", "h100-sxm")
    assert r.returncode == 2 and "one of the arguments --date --price is required" in r.stderr


def test_compare_reports_what_does_not_fit():
    # Llama-2-70B in bf16 (138 GB) on an Apple M2 (24 GB, no interconnect in the catalog): a row saying so
    df = planner.compare(["llama-2-70b"], ["apple-m2"], weight_dtypes=["bf16"])
    assert not df["fits"].iloc[0]
    assert "does not fit on one apple-m2" in df["note"].iloc[0] and "no published interconnect" in df["note"].iloc[0]


@pytest.mark.parametrize("params, pattern", [
    ({"models": "llama-3-8b"}, r"planner parameter models='llama-3-8b' must be list or tuple"),
    ({"input_tokens": "1024"}, r"planner parameter input_tokens='1024' must be int"),
    ({"batch": True}, r"planner parameter batch=True must be int or NoneType"),
    ({"hardware": ["h100-sxm", 3]}, r"planner parameter hardware=\['h100-sxm', 3\] must be a list of ids"),
    ({"colour": "red"}, r"unknown planner parameter 'colour'"),
])
def test_parameters_of_the_wrong_type_name_the_parameter(params, pattern):
    with pytest.raises(ValueError, match=pattern):
        planner.check_parameters(**params)


@pytest.fixture(scope="module")
def planner_notebook(tmp_path_factory):
    import jupytext

    nb = jupytext.read(ROOT / "book" / "planner.md")
    path = tmp_path_factory.mktemp("planner") / "planner.ipynb"
    jupytext.write(nb, path)
    return path


def test_planner_notebook_under_papermill_writes_its_csv(planner_notebook, tmp_path):
    import papermill as pm

    out_dir = tmp_path / "plan"
    pm.execute_notebook(
        str(planner_notebook), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
        parameters={"models": ["qwen2-0.5b", "llama-3-8b"], "hardware": ["l4"], "weight_dtypes": ["bf16"],
                    "input_tokens": 300, "output_tokens": 50, "output_dir": str(out_dir),
                    "price_per_device_hour_usd": {"l4": 0.8}},
    )
    df = pd.read_csv(out_dir / "comparison.csv")
    assert df[["model", "hardware"]].values.tolist() == [["qwen2-0.5b", "l4"], ["llama-3-8b", "l4"]]
    expected = planner.compare(["qwen2-0.5b", "llama-3-8b"], ["l4"], input_tokens=300, output_tokens=50,
                               price_per_device_hour_usd={"l4": 0.8})
    assert df["usd_per_1m_output_tokens"].tolist() == pytest.approx(expected["usd_per_1m_output_tokens"].tolist())
    assert (out_dir / "throughput_vs_latency.svg").read_text().startswith("<svg")


def test_planner_notebook_refuses_a_parameter_of_the_wrong_type(planner_notebook, tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="planner parameter input_tokens"):
        pm.execute_notebook(str(planner_notebook), str(tmp_path / "bad.ipynb"), kernel_name="python3",
                            progress_bar=False, parameters={"input_tokens": "many"})


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "costmodel.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_compare_prints_a_table_and_writes_csv(tmp_path):
    r = _cli("compare", "llama-3-8b", "phi-2", "--hardware", "h100-sxm", "--input-tokens", "512",
             "--output-tokens", "64", "--price", "2.5", "--csv", str(tmp_path / "t.csv"))
    assert r.returncode == 0, r.stderr
    assert "llama-3-8b" in r.stdout and "phi-2" in r.stdout and "usd_per_1m_output_tokens" in r.stdout
    df = pd.read_csv(tmp_path / "t.csv")
    expected = planner.compare(["llama-3-8b", "phi-2"], ["h100-sxm"], input_tokens=512, output_tokens=64,
                               price_per_device_hour_usd=2.5)
    assert df["output_tokens_per_s"].tolist() == pytest.approx(expected["output_tokens_per_s"].tolist())


def test_cli_prices_at_a_date():
    r = _cli("compare", "llama-3-8b", "--hardware", "h100-sxm", "--date", "2026")
    assert r.returncode == 0, r.stderr
    assert "lambda/h100-sxm/on-demand/2.49" in r.stdout


@pytest.mark.parametrize("args, pattern", [
    (("compare", "llama-3-8x", "--hardware", "h100-sxm"), "model_id='llama-3-8x' is not a known model id; did you mean"),
    (("compare", "llama-3-8b", "--hardware", "h100"), "hardware_id='h100' is not a known hardware id"),
    (("compare", "llama-3-8b", "--hardware", "h100-sxm", "--dtype", "int3"), "weight_dtypes='int3'"),
    (("compare", "llama-3-8b", "--hardware", "h100-sxm", "--batch", "-4"), "batch=-4 must be at least 1"),
])
def test_cli_errors_are_one_line_without_traceback(args, pattern):
    r = _cli(*args)
    assert r.returncode == 2
    assert pattern in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [("--help",), ("compare", "--help"), ("models", "--help"), ("hardware", "--help")])
def test_cli_help(args):
    r = _cli(*args)
    assert r.returncode == 0 and "usage: costmodel" in r.stdout


def test_cli_lists_the_catalogs():
    models, hardware = _cli("models"), _cli("hardware")
    assert models.returncode == hardware.returncode == 0
    assert all(m in models.stdout for m in cm.list_models())
    assert all(h in hardware.stdout for h in cm.list_hardware())


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'costmodel = "costmodel.cli:main_entry"' in text
