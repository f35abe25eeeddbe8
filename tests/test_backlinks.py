"""Every public callable names the book section that derives or uses it, in
one form ("Defined in :ref:`sec_...`", as d2l does), and that label exists."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import costmodel

BOOK = Path(__file__).resolve().parents[1] / "book"
LABELS = {m for p in BOOK.glob("*.md") for m in re.findall(r"^\((sec_[a-z0-9_]+)\)=", p.read_text(), re.M)}
MODULES = ["costmodel", "costmodel.viz.roofline", "costmodel.viz.memory", "costmodel.viz.hardware", "costmodel.viz.tables", "costmodel.offline", "costmodel.viz.training", "costmodel.viz.inference", "costmodel.viz.finetune", "costmodel.viz.sweep", "costmodel.viz.hybrid", "costmodel.viz.tradeoff"]
MODULES += ["costmodel.viz.cost"]  # sec_cost and sec_speculative
BACKLINK = re.compile(r"Defined in\s+:ref:`(sec_[a-z0-9_]+)`")


def _public():
    for mod in MODULES:
        m = importlib.import_module(mod)
        for name in m.__all__:
            obj = getattr(m, name)
            if callable(obj) and not name.endswith("Like"):
                yield f"{mod}.{name}", obj


@pytest.mark.parametrize("name, obj", list(_public()), ids=lambda x: x if isinstance(x, str) else "")
def test_public_callable_links_back_to_an_existing_section(name, obj):
    doc = inspect.getdoc(obj) or ""
    found = BACKLINK.findall(doc)
    assert found, f"{name} has no 'Defined in :ref:`sec_...`' back-link"
    assert set(found) <= LABELS, f"{name} links to {set(found) - LABELS}, not a label of the book ({sorted(LABELS)})"


def test_the_book_has_the_labels_the_package_uses():
    assert {"sec_notation", "sec_roofline", "sec_memory", "sec_hardware"} <= LABELS
