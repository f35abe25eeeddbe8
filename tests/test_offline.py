"""The offline chart renderer (costmodel.offline) and the book's Sphinx extension
(costmodel.sphinxext), without building the book.

- A spec string holding ``</script>`` or ``<!--`` cannot end the script tag the
  renderer emits, and the embedded spec still parses back to the same JSON.
- ``vendor_assets`` writes the Vega bundle and MathJax, rewrites nothing while
  its stamp matches, and rewrites when the stamp is stale.
- The config-inited hook points the HTML build at the vendored copies, once.
- Both modules import only the standard library at import time.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from costmodel import offline, sphinxext

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = "</script><script>alert(1)</script> <!-- a & b \u2028 -->"


def _embedded(html: str, var: str) -> str:
    """The JSON text assigned to ``var`` in the emitted script."""
    m = re.search(rf"^\s*var {var} = (.*);$", html, flags=re.MULTILINE)
    assert m, f"no 'var {var} = ...;' line in the emitted HTML"
    return m.group(1)


def test_render_chart_escapes_script_breakouts():
    spec = {
        "title": HOSTILE,
        "mark": "point",
        "data": {"values": [{"label": HOSTILE, "x": 1}]},
    }
    html = offline.render_chart(spec)["text/html"]
    # One script element, closed once, at the very end: nothing in the spec ends it early.
    assert html.count("<script") == 1
    assert html.lower().count("</script") == 1
    assert html.rstrip().endswith("</script>")
    assert "<!--" not in html
    spec_text = _embedded(html, "spec")
    assert "<" not in spec_text and ">" not in spec_text and "\u2028" not in spec_text
    assert json.loads(spec_text) == spec


def test_render_chart_embed_options_round_trip():
    bundle = offline.render_chart({"mark": "bar"}, renderer="canvas", tooltip={"theme": "</script>"})
    html = bundle["text/html"]
    assert json.loads(_embedded(html, "opts")) == {
        "actions": False, "renderer": "canvas", "tooltip": {"theme": "</script>"},
    }
    assert f'class="{offline.CHART_CLASS}"' in html
    assert bundle["text/plain"] == "<Altair chart: bar>"


def test_render_chart_ids_are_unique():
    ids = {re.search(r'<div id="([^"]+)"', offline.render_chart({"mark": "bar"})["text/html"]).group(1)
           for _ in range(50)}
    assert len(ids) == 50


def test_enable_offline_renderer_registers_and_enables():
    import altair as alt

    before = alt.renderers.active
    try:
        offline.enable_offline_renderer()
        assert alt.renderers.active == offline.RENDERER_NAME
        chart = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        bundle = chart._repr_mimebundle_()
        bundle = bundle[0] if isinstance(bundle, tuple) else bundle  # (data, metadata) in older Altair
        assert offline.CHART_CLASS in bundle["text/html"]
    finally:
        alt.renderers.enable(before)


@pytest.mark.parametrize("path", ["costmodel/offline.py", "costmodel/sphinxext.py"])
def test_module_imports_only_the_standard_library(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    third_party = []
    for node in tree.body:  # module level only: imports inside functions are lazy
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        third_party += [n for n in names if n.split(".")[0] not in sys.stdlib_module_names | {"__future__"}]
    assert not third_party, f"{path} imports {third_party} at import time"


def test_old_names_still_resolve_from_offline():
    assert offline.vendor_assets is sphinxext.vendor_assets
    assert offline.setup is sphinxext.setup
    with pytest.raises(AttributeError):
        offline.no_such_name  # noqa: B018


# --------------------------------------------------------------------------
# Vendoring
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vendored(tmp_path_factory):
    dest = tmp_path_factory.mktemp("vendor")
    assert sphinxext.vendor_assets(dest) == dest
    return dest


def test_vendor_assets_writes_vega_and_mathjax(vendored):
    bundle = (vendored / sphinxext.VEGA_BUNDLE_RELPATH).read_text(encoding="utf-8")
    assert len(bundle) > 100_000
    assert bundle.lstrip().startswith("/*") and "(function () {" in bundle
    assert "vegaEmbed" in bundle
    mathjax = vendored / sphinxext.MATHJAX_RELPATH
    assert mathjax.stat().st_size > 100_000
    fonts = list((vendored / "mathjax/es5/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) > 10
    stamp = json.loads((vendored / sphinxext._STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["format"] == sphinxext._VENDOR_FORMAT and stamp["vega_lite"]


def test_vendor_assets_is_idempotent(vendored, monkeypatch):
    files = [vendored / sphinxext.VEGA_BUNDLE_RELPATH, vendored / sphinxext.MATHJAX_RELPATH]
    mtimes = [p.stat().st_mtime_ns for p in files]

    def must_not_run(*args, **kwargs):
        raise AssertionError("vendor_assets rewrote files although its stamp matched")

    monkeypatch.setattr(sphinxext, "_vega_bundle", must_not_run)
    monkeypatch.setattr(sphinxext, "_mathjax_es5_dir", must_not_run)
    sphinxext.vendor_assets(vendored)
    assert [p.stat().st_mtime_ns for p in files] == mtimes


def test_vendor_assets_rewrites_on_a_stale_stamp(vendored):
    stamp = vendored / sphinxext._STAMP_NAME
    good = stamp.read_text(encoding="utf-8")
    bundle = vendored / sphinxext.VEGA_BUNDLE_RELPATH
    bundle.write_text("stale", encoding="utf-8")
    stamp.write_text(json.dumps({"format": "0"}), encoding="utf-8")
    sphinxext.vendor_assets(vendored)
    assert bundle.read_text(encoding="utf-8") != "stale"
    assert stamp.read_text(encoding="utf-8") == good


def test_config_inited_points_the_build_at_the_vendored_copies(vendored, monkeypatch):
    calls = []
    monkeypatch.setattr(sphinxext, "vendor_assets", lambda dest: calls.append(Path(dest)) or Path(dest))
    app = SimpleNamespace(srcdir=str(vendored.parent))
    config = SimpleNamespace(html_static_path=["other"], html_js_files=[("x.js", {"defer": ""})], mathjax_path="")
    for _ in range(2):  # a second run (e.g. Sphinx re-reading the config) adds nothing twice
        sphinxext._on_config_inited(app, config)
    vendor = vendored.parent / sphinxext.VENDOR_DIRNAME
    assert calls == [vendor, vendor]
    assert config.html_static_path == ["other", str(vendor)]
    assert config.html_js_files == [("x.js", {"defer": ""}), sphinxext.VEGA_BUNDLE_RELPATH]
    assert config.mathjax_path == sphinxext.MATHJAX_RELPATH


def test_setup_connects_the_hooks():
    connected = []
    app = SimpleNamespace(connect=lambda event, fn, priority=500: connected.append((event, fn, priority)))
    meta = sphinxext.setup(app)
    assert ("config-inited", sphinxext._on_config_inited, 500) in connected
    assert ("html-page-context", sphinxext._offer_ipynb_download, 500) in connected
    assert ("html-page-context", sphinxext._dedupe_scripts, 900) in connected
    assert meta["parallel_read_safe"] and meta["parallel_write_safe"]


def test_dedupe_scripts_keeps_the_first_of_each():
    js = lambda filename, **attrs: SimpleNamespace(filename=filename, priority=500, attributes=attrs)  # noqa: E731
    a, a_again, b = js("a.js"), js("a.js"), js("b.js", defer="")
    inline, inline_again = js(None, body="const X = 1"), js("", body="const X = 1")
    scripts = [a, inline, b, a_again, inline_again]
    sphinxext._dedupe_scripts(None, "page", "page.html", {"script_files": scripts}, None)
    assert scripts == [a, inline, b]
