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
import re
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
    return [(line, source, in_solution) for line, source, in_solution, _ in tagged_code_cells(text)]


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


# ----------------------------------------------------------------------
# What a reader sees: the same anatomy in every chapter (STYLE.md item 7)
# ----------------------------------------------------------------------
# Chapters proper: the pages with a section label (not the intro, the
# references or the status page).
SECTIONS = [p for p in CHAPTERS if re.search(r"^\(sec_[a-z0-9_]+\)=", p.read_text(encoding="utf-8"), re.M)]
BIB = ROOT / "references.bib"


def _fences(text: str) -> list:
    return [t for t in _PARSER.parse(text) if t.type == "fence"]


def _options(body: str) -> dict[str, str]:
    """The ``:key: value`` (or YAML) options at the top of a directive body."""
    lines = body.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1) if "---" in lines[1:] else len(lines)
        return {k: str(v) for k, v in (yaml.safe_load("\n".join(lines[1:end])) or {}).items()}
    opts = {}
    for line in lines:
        m = re.match(r"^:([\w-]+):\s*(.*)$", line)
        if not m:
            break
        opts[m.group(1)] = m.group(2).strip()
    return opts


def tagged_code_cells(text: str) -> list[tuple[int, str, bool, set[str]]]:
    """``(first code line, source, inside a solution, tags)`` for every ``{code-cell}``."""
    cells = []
    in_solution = False
    for token in _fences(text):
        name = _directive(token.info)
        if name == "solution-start":
            in_solution = True
        elif name == "solution-end":
            in_solution = False
        elif name == "code-cell":
            source, skipped = _strip_options(token.content)
            first_line = token.map[0] + 2 + skipped if token.map else 0
            tags = set(re.findall(r"[\w-]+", _options(token.content).get("tags", "")))
            cells.append((first_line, source, in_solution, tags))
    return cells


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_there_are_sections():
    assert {p.stem for p in SECTIONS} >= {"notation", "roofline", "memory", "hardware"}


@pytest.mark.parametrize("chapter", SECTIONS, ids=_ids(SECTIONS))
def test_chapter_anatomy(chapter):
    text = chapter.read_text(encoding="utf-8")
    rel = chapter.relative_to(ROOT).as_posix()
    # "The question" is a level-2 heading in every chapter, never a bold paragraph
    assert re.findall(r"^#+ The question[ \t]*$", text, re.M) == ["## The question"], rel
    assert "**The question.**" not in text, rel
    assert re.search(r"^## Exercises\s*$", text, re.M), rel
    admonitions = [(t.info.strip(), _options(t.content)) for t in _fences(text) if _directive(t.info) == "admonition"]
    takeaways = [o for info, o in admonitions if info.endswith("Takeaway")]
    rules = [(info, o) for info, o in admonitions if info.endswith("Rules of thumb")]
    assert len(takeaways) == 1 and takeaways[0].get("class") == "important", f"{rel}: one Takeaway, class important"
    assert len(rules) == 1 and rules[0][1].get("class") == "tip", f"{rel}: one 'Rules of thumb' box, class tip"
    body = next(t.content for t in _fences(text) if t.info.strip().endswith("Rules of thumb"))
    assert "{glue:text}" in body, f"{rel}: the rules of thumb quote glued values"


@pytest.mark.parametrize("chapter", SECTIONS, ids=_ids(SECTIONS))
def test_exercises_are_numbered_per_chapter(chapter):
    text = chapter.read_text(encoding="utf-8")
    exercises = [t for t in _fences(text) if _directive(t.info) == "exercise"]
    assert exercises, f"{chapter.name}: no exercises"
    solutions = {t.info.split("}", 1)[1].strip() for t in _fences(text) if _directive(t.info) == "solution-start"}
    for n, t in enumerate(exercises, start=1):
        subtitle = t.info.split("}", 1)[1].strip()
        opts = _options(t.content)
        # sphinx-exercise numbers across the whole book; the chapter numbers its own
        assert "nonumber" in opts, f"{chapter.name}: exercise {n} needs :nonumber:"
        assert subtitle.startswith(f"{n}. "), f"{chapter.name}: exercise {n} is titled {subtitle!r}"
        assert opts.get("label") in solutions, f"{chapter.name}: exercise {n} has no solution"


_SOLUTION = re.compile(r"\{solution-start\}[^\n]*\n(.*?)\{solution-end\}", re.S)


@pytest.mark.parametrize("chapter", SECTIONS, ids=_ids(SECTIONS))
def test_solutions_estimate_before_they_compute(chapter):
    text = chapter.read_text(encoding="utf-8")
    for body in _SOLUTION.findall(text):
        code = body.find("{code-cell}")
        assert code > 0, f"{chapter.name}: a solution without a code check"
        prose = body[:code]
        assert "back of an envelope" in prose.lower() or "before computing" in prose.lower(), (
            f"{chapter.name}: a solution must reason before its code check:\n{body[:200]}")


# Cells that only display a package formula, style a table or draw a chart are
# plumbing; sympy derivations (limits, solutions, simplifications) are content.
_FORMULA = re.compile(r"cm\.latex\(|latex_aligned\(")
_TABLE_OR_CHART = re.compile(r"\b(styled|markdown_table|notation_markdown)\(|_chart\(|fit_heatmap\(|alt\.Chart\(")
_DERIVATION = re.compile(r"sp\.(limit|solve|simplify|diff|integrate)\(")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids(CHAPTERS))
def test_plumbing_is_hidden_and_derivations_are_shown(chapter):
    problems = []
    for line, source, in_solution, tags in tagged_code_cells(chapter.read_text(encoding="utf-8")):
        if in_solution or "remove-cell" in tags:
            continue
        where = f"{chapter.name}:{line}"
        if _DERIVATION.search(source):
            if "remove-input" in tags:
                problems.append(f"{where}: a sympy derivation is hidden (remove-input); show it")
        elif _FORMULA.search(source) and "remove-input" not in tags:
            problems.append(f"{where}: a cell that only displays a formula needs the remove-input tag")
        if _TABLE_OR_CHART.search(source) and not tags & {"hide-input", "remove-input"}:
            problems.append(f"{where}: a table or chart cell needs hide-input (or remove-input)")
    assert not problems, "\n".join(problems)


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), re.M))


def test_citations_use_one_style_and_exist():
    keys = _bib_keys()
    problems, cited = [], set()
    for chapter in CHAPTERS:
        text = chapter.read_text(encoding="utf-8")
        # {cite:p} in parentheses, {cite:t} where the authors are the subject: never a bare {cite}
        # and never "Name et al. {cite...}" (the role already prints the names)
        for m in re.finditer(r"\{cite\}`", text):
            problems.append(f"{chapter.name}: bare {{cite}} at offset {m.start()}; use {{cite:p}} or {{cite:t}}")
        for m in re.finditer(r"et al\.\s*\{cite", text):
            problems.append(f"{chapter.name}: 'et al.' before a citation role; use {{cite:t}}")
        for role_keys in re.findall(r"\{cite:[pt]\}`([^`]+)`", text):
            cited |= {k.strip() for k in role_keys.split(",")}
    assert not problems, "\n".join(problems)
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"
    assert {"pope2022efficiently", "kwon2023efficient"} <= cited


# ----------------------------------------------------------------------
# Numbers and names in the prose (STYLE.md item 6)
# ----------------------------------------------------------------------
def prose(text: str) -> str:
    """The text a reader reads as prose: no front matter, fences, math,
    inline code, roles (glue, cite, ref) or headings' labels."""
    out = []
    lines = text.splitlines()
    fenced = set()
    for token in _PARSER.parse(text):
        if token.type in ("fence", "front_matter", "code_block") and token.map:
            fenced.update(range(*token.map))
    for i, line in enumerate(lines):
        if i not in fenced:
            out.append(line)
    s = "\n".join(out)
    s = re.sub(r"\$\$.*?\$\$", " ", s, flags=re.S)
    s = re.sub(r"\$[^$\n]+\$", " ", s)
    s = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", s)
    s = re.sub(r"`[^`]*`", " ", s)
    s = re.sub(r"^\(sec_[\w]+\)=$", " ", s, flags=re.M)
    s = re.sub(r"\]\([^)]*\)", "]", s)
    return s


# A typed quantity: a decimal number, a number with thousands separators, or
# three or more digits standing alone (not part of H100, bf16, v0.1 or 2:4,
# nor a software version such as Python 3.11).
_TYPED_NUMBER = re.compile(r"(?<![\w.:/^-])(?<!Python )(\d+\.\d+|\d{1,3}(?:,\d{3})+|\d{3,})(?![\w:/-]|\.\d)")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_ids(CHAPTERS))
def test_no_typed_numbers_in_prose(chapter):
    found = _TYPED_NUMBER.findall(prose(chapter.read_text(encoding="utf-8")))
    assert not found, f"{chapter.name}: numbers typed into the prose (glue them): {found}"


def _name_variants(model_id: str, name: str) -> set[str]:
    """Spellings of a model other than its display name that prose might use."""
    variants = {name.replace(" ", "-"), name.replace("-", " ")}
    for prefix in ("Meta-", "Meta "):
        if name.startswith(prefix):
            variants |= {name[len(prefix):], name[len(prefix):].replace("-", " ")}
    base = re.sub(r"[ -]v\d+(\.\d+)*$", "", name)
    if base != name:
        variants |= {base, base.replace(" ", "-")}
    return {v for v in variants if v and v != name}


def test_models_have_one_display_name_in_prose():
    from costmodel.viz.tables import model_names

    problems = []
    for chapter in CHAPTERS:
        names = model_names()
        text = prose(chapter.read_text(encoding="utf-8"))
        for name in sorted(names.values(), key=len, reverse=True):  # the display names themselves are fine
            text = text.replace(name, " ")
        for model_id, name in names.items():
            for variant in _name_variants(model_id, name):
                if re.search(rf"(?<![\w-]){re.escape(variant)}(?![\w-])", text):
                    problems.append(f"{chapter.name}: {variant!r} should be the catalog's name {name!r}")
    assert not problems, "\n".join(problems)


def test_prose_detectors_on_sample():
    sample = "The H100 has 2:4 sparsity and v0.1 of bf16 on Python 3.11; it took 487,819 tokens, 6.74 GB or 1024.\n" \
             "```{code-cell} ipython3\nx = 12345\n```\n$x = 4096$ and {glue:text}`a:,.0f` and `1234`."
    assert _TYPED_NUMBER.findall(prose(sample)) == ["487,819", "6.74", "1024"]
    assert _name_variants("llama-2-7b", "Llama 2 7B") == {"Llama-2-7B"}
    # the variant check runs on the prose with every display name blanked out
    assert "Mistral 7B" in _name_variants("mistral-7b-v0.1", "Mistral 7B v0.1")
    assert "Llama-3-8B" in _name_variants("llama-3-8b", "Meta-Llama-3-8B")
    assert "Mistral 7B" in _name_variants("mistral-7b-v0.1", "Mistral 7B v0.1")
