"""The hybrids chapter's speculative-decoding chart (costmodel.viz.hybrid.draft_pair_chart):
it carries the numbers of costmodel.draft_pair_speedups for the pairs that fit, a menu
bound in the HTML that picks the target, and colours fixed over every draft."""

from __future__ import annotations

import numpy as np
import pytest

import costmodel as cm
from costmodel.viz import hybrid as vh

DEVICE = "h100-sxm"
# Llama 3.2 1B drafts for Llama 3.1 8B (both fit on one H100); Llama 3.1 405B fits on no single one
PAIRS = [("llama-3.2-1b", "llama-3.1-8b"), ("llama-3.2-1b", "llama-3-70b"), ("llama-3-8b", "llama-3-70b"),
         ("llama-3.2-1b", "llama-3.1-405b")]


@pytest.fixture(scope="module")
def data():
    return cm.draft_pair_speedups(DEVICE, acceptance_rate=np.round(np.arange(0, 0.91, 0.1), 2), pairs=PAIRS,
                                  n_devices=None, price_per_device_hour=2.0)


def _records(spec) -> list[dict]:
    return [r for ds in spec.get("datasets", {}).values() for r in ds]


def test_chart_carries_the_pairs_that_fit(data):
    spec = vh.draft_pair_chart(data, device="H100 SXM").to_dict()
    rows = [r for r in _records(spec) if "speedup" in r]
    assert len(rows) == int(data["fits"].sum()) == 3 * 10
    assert {r["target"] for r in rows} == {"llama-3.1-8b", "llama-3-70b"}  # 405B does not fit: not drawn
    got = {(r["draft"], r["target"], r["acceptance_rate"]): r["speedup"] for r in rows}
    ref = data[data["fits"]].set_index(["draft", "target", "acceptance_rate"])["speedup"]
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-3)  # 4 significant digits in the embedded spec


def test_menu_offers_the_targets_and_filters_on_them(data):
    chart = vh.draft_pair_chart(data)
    spec = chart.to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["target"]["bind"]["input"] == "select"
    assert params["target"]["bind"]["options"] == ["llama-3.1-8b", "llama-3-70b"]
    lines = spec["layer"][1]
    assert lines["transform"] == [{"filter": "(datum.target === target)"}]
    # one colour per draft over every target, so the legend does not change with the menu
    assert lines["encoding"]["color"]["scale"]["domain"] == ["llama-3.2-1b", "llama-3-8b"]
    # the break-even rule at a speed-up of 1
    assert {"y": 1.0} in _records(spec)


def test_subtitle_names_the_device_and_batch(data):
    first = vh.draft_pair_chart(data).to_dict()["title"]["subtitle"][0]
    assert first.startswith("batch 1 on h100-sxm,")
    assert "on H100 SXM," in vh.draft_pair_chart(data, device="H100 SXM").to_dict()["title"]["subtitle"][0]
