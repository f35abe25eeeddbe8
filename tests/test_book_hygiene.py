"""Static checks on the book sources and configuration (no build needed).

- Chapters define no functions or classes: formulas live in the ``costmodel``
  package (CONTRIBUTING.md, conventions). Code inside an exercise solution
  (between ``{solution-start}`` and ``{solution-end}``) is exempt.
- No ``_static/`` folder at the repository root: jupyter-book 1.x would add
  every ``*.js``/``*.css`` under it to every page (CONTRIBUTING.md, offline build).
- ``_config.yml`` makes a failing cell fail the build
  (``sphinx.config.nb_execution_raise_on_error: true``).
- Every chapter under ``book/`` is listed in ``_toc.yml``
  (``only_build_toc_files: true`` would otherwise skip it silently).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.rglob("*.md"))

_PARSER = MarkdownIt("commonmark").use(front_matter_plugin).use(colon_fence_plugin)


def _directive(info: str) -> str | None:
    """``"{code-cell} ipython3"`` -> ``"code-cell"``; None for plain fences."""
    info = info.strip()
    if info.startswith("{") and "}" in info:
        return info[1 : info.index("}")]
    return None


def _strip_options(body: str) -> tuple[str, int]:
    """Remove a directive's option block; return (code, number of lines removed).

    MyST allows either ``:key: value`` lines or a ``---`` YAML block at the top.
    """
    lines = body.splitlines(keepends=True)
    i = 0
    if lines and lines[0].strip() == "---":
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            i += 1
        i += 1
    else:
        while i < len(lines) and lines[i].startswith(":"):
            i += 1
    return "".join(lines[i:]), i


def code_cells(text: str) -> list[tuple[int, str, bool]]:
    """``(first code line, source, inside a solution)`` for every ``{code-cell}``.

    Only top-level fences are seen, which is where jupytext/MyST-NB look for
    code cells too.
    """
    cells = []
    in_solution = False
    for token in _PARSER.parse(text):
        if token.type != "fence":
            continue
        name = _directive(token.info)
        if name == "solution-start":
            in_solution = True
        elif name == "solution-end":
            in_solution = False
        elif name == "code-cell":
            source, skipped = _strip_options(token.content)
            first_line = token.map[0] + 2 + skipped if token.map else 0
            cells.append((first_line, source, in_solution))
    return cells


def _to_python(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!cmd``) into plain Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def definitions(source: str) -> list[tuple[int, str]]:
    """``(line, description)`` of every def/async def/lambda/class in ``source``."""
    tree = ast.parse(_to_python(source))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.lineno, f"def {node.name}"))
        elif isinstance(node, ast.ClassDef):
            found.append((node.lineno, f"class {node.name}"))
        elif isinstance(node, ast.Lambda):
            found.append((node.lineno, "lambda"))
    return sorted(found)


def test_there_are_chapters():
    assert CHAPTERS, f"no chapters found under {BOOK}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.relative_to(ROOT).as_posix() for p in CHAPTERS])
def test_chapter_defines_no_functions(chapter):
    rel = chapter.relative_to(ROOT).as_posix()
    problems = []
    for first_line, source, in_solution in code_cells(chapter.read_text(encoding="utf-8")):
        try:
            defs = definitions(source)
        except SyntaxError as exc:
            problems.append(f"{rel}:{first_line + (exc.lineno or 1) - 1}: code cell does not parse: {exc.msg}")
            continue
        if in_solution:
            continue
        for line, what in defs:
            problems.append(
                f"{rel}:{first_line + line - 1}: {what} in a chapter; move it to the costmodel package "
                "(only exercise solutions may define functions)"
            )
    assert not problems, "\n".join(problems)


def test_no_static_folder_at_root():
    assert not (ROOT / "_static").exists(), (
        "_static/ exists at the repository root: jupyter-book 1.x adds every .js/.css under it to "
        "every page. Vendored assets belong in _vendor/ (written by costmodel.sphinxext at build time)."
    )


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}


def test_config_fails_build_on_cell_error():
    cfg = _config()
    sphinx_cfg = ((cfg.get("sphinx") or {}).get("config")) or {}
    assert sphinx_cfg.get("nb_execution_raise_on_error") is True, (
        "_config.yml must set sphinx: config: nb_execution_raise_on_error: true "
        "(otherwise a failing cell is only a warning)"
    )
    assert (cfg.get("execute") or {}).get("allow_errors") is False


def test_config_loads_offline_extension():
    extensions = ((_config().get("sphinx") or {}).get("extra_extensions")) or []
    assert "costmodel.sphinxext" in extensions, (
        "_config.yml must list costmodel.sphinxext under sphinx: extra_extensions "
        "(it vendors Vega and MathJax so the book loads nothing from the network)"
    )


def _toc_files(entry) -> list[str]:
    files = []
    if isinstance(entry, dict):
        for key in ("root", "file"):
            if key in entry:
                files.append(entry[key])
        for value in entry.values():
            if isinstance(value, (list, dict)):
                files.extend(_toc_files(value))
    elif isinstance(entry, list):
        for item in entry:
            files.extend(_toc_files(item))
    return files


def test_every_chapter_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = {str(Path(f).with_suffix("")) for f in _toc_files(toc)}
    missing = [p.relative_to(ROOT).as_posix() for p in CHAPTERS if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"chapters not listed in _toc.yml (they would not be built): {missing}"
    absent = sorted(f for f in listed if not any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb")))
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


# Self-checks of the detector, so the chapter test cannot pass vacuously.
_SAMPLE = """\
---
kernelspec:
  name: python3
---
# T

```{code-cell} ipython3
:tags: [hide-input]
%matplotlib inline
x = sorted([3, 1], key=lambda v: -v)
```

````{solution-start} ex1
:class: dropdown
````

```{code-cell} ipython3
def helper(a):
    return a
```

````{solution-end}
````

```{code-cell} ipython3
---
tags: [remove-cell]
---
class Thing:
    pass
```

```python
def not_a_cell(): ...
```
"""


def test_detector_on_sample():
    cells = code_cells(_SAMPLE)
    assert [in_sol for _, _, in_sol in cells] == [False, True, False]
    found = [(in_sol, [w for _, w in definitions(src)]) for _, src, in_sol in cells]
    assert found == [(False, ["lambda"]), (True, ["def helper"]), (False, ["class Thing"])]
