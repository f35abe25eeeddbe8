"""Documentation that is executed, so it cannot drift from the code.

- Every ``>>>`` example in a docstring of every ``costmodel`` module runs and
  prints what the docstring says.
- The code under "## Use it in your notebook" in README.md runs as written,
  block by block, like notebook cells; a comment that gives exact numbers
  ("exact counts: 6738415616, ...") must match what the line evaluates to.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import costmodel

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = "## Use it in your notebook"

MODULES = sorted(
    ["costmodel", *(m.name for m in pkgutil.walk_packages(costmodel.__path__, "costmodel."))]
)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _run_doctests(module_name: str) -> tuple[int, int, str]:
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, module_name):
        runner.run(test, out=report.append)
    return runner.failures, runner.tries, "".join(report)


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name):
    failures, _, report = _run_doctests(module_name)
    assert failures == 0, report


def test_doctests_are_found():
    # the package docstring carries examples; if none run, the finder is broken
    assert "costmodel.offline" in MODULES and "costmodel.viz" in MODULES
    _, tries, _ = _run_doctests("costmodel")
    assert tries >= 4


def _section_blocks(text: str, heading: str) -> list[str]:
    """The ```python blocks between ``heading`` and the next heading of its level."""
    start = text.index(heading + "\n")
    level = heading.split(" ")[0]
    end = text.find(f"\n{level} ", start + len(heading))
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def _exact_numbers(line: str) -> tuple[int, ...] | None:
    """``... # exact counts: 6738415616, 6738415616`` -> (6738415616, 6738415616)."""
    m = re.search(r"#\s*exact[^:#]*:\s*([\d_, ]+)$", line)
    return tuple(int(x.replace("_", "")) for x in m.group(1).split(",") if x.strip()) if m else None


def test_readme_notebook_code_runs_as_written():
    import altair as alt

    blocks = _section_blocks(README.read_text(encoding="utf-8"), SECTION)
    assert len(blocks) >= 1 and "import costmodel" in blocks[0]
    renderer = alt.renderers.active
    namespace: dict = {"__name__": "__readme__"}
    checked = 0
    try:
        for block in blocks:
            lines = block.splitlines()
            for stmt in ast.parse(block).body:  # one statement at a time, as in a notebook cell
                code = compile(ast.Module([stmt], []), "README.md", "exec")
                if isinstance(stmt, ast.Expr):
                    code = compile(ast.Expression(stmt.value), "README.md", "eval")
                value = eval(code, namespace)  # noqa: S307 - the README's own code
                expected = _exact_numbers(lines[stmt.end_lineno - 1])
                if expected is not None:
                    got = value if isinstance(value, tuple) else (value,)
                    assert tuple(int(v) for v in got) == expected, lines[stmt.end_lineno - 1]
                    checked += 1
    finally:
        alt.renderers.enable(renderer)
    assert checked >= 1, "the README states exact counts; none were checked"


def test_exact_numbers_parser():
    assert _exact_numbers("arch.n_params  # exact counts: 6738415616, 6738415616") == (6738415616, 6738415616)
    assert _exact_numbers("cm.forward_flops(arch)  # FLOP of one decode step") is None


def test_readme_names_every_supported_family():
    text = README.read_text(encoding="utf-8")
    listed = text[text.index("Supported `model_type` families:"):text.index("Bad input (a missing field")]
    names = set(re.findall(r"[a-z0-9_]+", listed))
    missing = [f for f in costmodel.SUPPORTED_FAMILIES if f not in names]
    assert not missing, missing


def test_references_bib_parses():
    # a missing brace is otherwise found only by a full book build
    from pybtex.database import parse_file

    entries = parse_file(str(ROOT / "references.bib")).entries
    assert len(entries) >= 20 and "pope2022efficiently" in entries
