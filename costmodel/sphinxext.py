"""Sphinx extension that makes the costmodel book load nothing from the network.

Listed in ``_config.yml`` under ``sphinx: extra_extensions`` as
``costmodel.sphinxext`` (matplotlib and Altair keep their Sphinx extensions
apart from their libraries in the same way). When the build starts it vendors

* the Vega/Vega-Lite/vega-embed bundle from ``vl_convert.javascript_bundle``
  (wrapped in an IIFE that exposes ``vegaEmbed``, ``vega`` and ``vegaLite`` on
  ``window``), which the chart renderer of :mod:`costmodel.offline` calls, and
* MathJax 3 (``es5/tex-mml-chtml.js`` and its woff-v2 fonts) from the
  ``django-static-mathjax`` wheel,

into ``<book root>/_vendor/`` and points ``html_static_path``,
``html_js_files`` and ``mathjax_path`` at those copies. The folder is
deliberately NOT called ``_static``: jupyter-book 1.x adds every ``*.js`` under
a ``_static`` folder to every page (CONTRIBUTING.md, "Building the book
offline").

Two page hooks run as each HTML page is written: one offers the executed
notebook of a MyST-Markdown chapter for download without a launch provider, the
other drops script tags that reach a page twice.

Like the renderer, this module imports only the standard library at import
time; Altair, vl-convert and the MathJax package are imported where they are
used, and Sphinx only hands it objects.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = [
    "VENDOR_DIRNAME",
    "VEGA_BUNDLE_RELPATH",
    "MATHJAX_RELPATH",
    "vendor_assets",
    "setup",
]

#: Build-time folder (relative to the book root) holding vendored JS/fonts.
VENDOR_DIRNAME = "_vendor"

#: Paths of the vendored files, relative to the vendor folder. After the HTML
#: build they sit at the same relative path under ``_build/html/_static/``.
VEGA_BUNDLE_RELPATH = "vega/costmodel-vega-bundle.js"
MATHJAX_RELPATH = "mathjax/es5/tex-mml-chtml.js"
_MATHJAX_FONTS_RELDIR = "mathjax/es5/output/chtml/fonts/woff-v2"

# Bump when the shape of the vendored files changes, so stale copies are rewritten.
_VENDOR_FORMAT = "1"
_STAMP_NAME = ".costmodel-vendor.json"


def _mathjax_es5_dir() -> Path:
    """The ``es5`` folder of MathJax 3 shipped inside the django-static-mathjax wheel."""
    root = importlib.resources.files("mathjax") / "static" / "mathjax" / "es5"
    path = Path(str(root))
    if not (path / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(
            f"MathJax 3 not found at {path}; install django-static-mathjax (see requirements.txt)"
        )
    return path


def _versions() -> dict[str, str]:
    import altair as alt
    import vl_convert

    vl_version = alt.SCHEMA_VERSION.lstrip("v")  # e.g. "6.4.1"
    mathjax_version = ""
    try:
        mathjax_version = importlib.metadata.version("django-static-mathjax")
    except Exception:  # pragma: no cover - metadata missing is not fatal
        pass
    return {
        "format": _VENDOR_FORMAT,
        "vega_lite": vl_version,
        "vl_convert": getattr(vl_convert, "__version__", ""),
        "mathjax": mathjax_version,
    }


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _vega_bundle(vl_version: str) -> str:
    import vl_convert

    major_minor = ".".join(vl_version.split(".")[:2])
    supported = vl_convert.get_vegalite_versions()
    if major_minor in supported:
        bundle = vl_convert.javascript_bundle(vl_version=major_minor)
    else:  # fall back to vl-convert's latest Vega-Lite
        bundle = vl_convert.javascript_bundle()
    # The bundle declares top-level const/function names and ends by assigning
    # window.vegaEmbed / window.vega / window.vegaLite; an IIFE keeps the
    # declarations out of the page's global scope.
    return (
        "/* Vega, Vega-Lite and vega-embed, bundled offline by vl-convert for costmodel. */\n"
        "(function () {\n" + bundle + "\n})();\n"
    )


def vendor_assets(dest: str | os.PathLike) -> Path:
    """Write the Vega bundle and MathJax 3 into ``dest`` (created if needed).

    Idempotent: a stamp file records the versions written; when it matches and
    the files exist nothing is rewritten (a no-op costs a few stat calls).
    Returns ``dest`` as a :class:`Path`.
    """
    dest = Path(dest)
    versions = _versions()
    stamp = dest / _STAMP_NAME
    targets = [dest / VEGA_BUNDLE_RELPATH, dest / MATHJAX_RELPATH, dest / _MATHJAX_FONTS_RELDIR]
    try:
        current = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current == versions and all(p.exists() for p in targets):
        return dest

    _atomic_write_text(dest / VEGA_BUNDLE_RELPATH, _vega_bundle(versions["vega_lite"]))

    es5 = _mathjax_es5_dir()
    mj_js = dest / MATHJAX_RELPATH
    mj_js.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(es5 / "tex-mml-chtml.js", mj_js)
    fonts_dst = dest / _MATHJAX_FONTS_RELDIR
    if fonts_dst.exists():
        shutil.rmtree(fonts_dst)
    shutil.copytree(es5 / "output" / "chtml" / "fonts" / "woff-v2", fonts_dst)
    for name in ("LICENSE",):
        lic = es5.parent / name
        if lic.is_file():
            shutil.copyfile(lic, dest / "mathjax" / name)

    _atomic_write_text(stamp, json.dumps(versions, indent=1, sort_keys=True) + "\n")
    return dest


def _vendor_dir(app: Any) -> Path:
    return Path(app.srcdir) / VENDOR_DIRNAME


def _on_config_inited(app: Any, config: Any) -> None:
    """Vendor the assets and point the HTML build at them (static path, JS, MathJax)."""
    vendor = vendor_assets(_vendor_dir(app))
    static = list(config.html_static_path or [])
    if str(vendor) not in static:
        static.append(str(vendor))  # absolute; Sphinx joins it with confdir unchanged
    config.html_static_path = static

    js_files = list(config.html_js_files or [])
    names = [j[0] if isinstance(j, (tuple, list)) else j for j in js_files]
    if VEGA_BUNDLE_RELPATH not in names:
        # Blocking (no defer/async): chart scripts in the body may call vegaEmbed at once.
        js_files.append(VEGA_BUNDLE_RELPATH)
    config.html_js_files = js_files

    # Relative to _static/ (Sphinx prefixes it); MathJax finds its fonts
    # relative to the script's own URL.
    config.mathjax_path = MATHJAX_RELPATH


def _offer_ipynb_download(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Put the executed notebook of a MyST-Markdown page in ``_sources/`` for download.

    sphinx-book-theme only copies ``jupyter_execute/<page>.ipynb`` to ``_sources/``
    (and adds the ".ipynb" entry to the download button) when a launch provider
    (Binder, JupyterHub, Colab, thebe) is configured; this book has none, as they
    need the network. This handler does the same copy and sets
    ``context["ipynb_source"]``; it runs before the theme builds its header
    buttons (priority 500 < 501).
    """
    if not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return
    metadata = app.env.metadata.get(pagename, {})
    if "kernelspec" not in metadata:
        return
    outdir = Path(app.outdir)
    executed = outdir.parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = outdir / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop repeated ``<script>`` entries from the page.

    With jupyter-book 1.0.4 / Sphinx 7.4, inline scripts added by sphinx-thebe
    and sphinx-togglebutton reach the page twice (once with ``filename=None``,
    once with ``''``, which Sphinx's own de-duplication treats as different).
    The second ``const THEBE_JS_URL = ...`` then throws "Identifier
    'THEBE_JS_URL' has already been declared" on every page. Keep the first of
    each (filename, priority, attributes).
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (
            getattr(js, "filename", js) or "",
            getattr(js, "priority", None),
            tuple(sorted((k, str(v)) for k, v in attrs.items())),
        )
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    if len(unique) != len(scripts):
        scripts[:] = unique  # in place: Sphinx restores its own list after each page


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point: ``sphinx: extra_extensions: [costmodel.sphinxext]``."""
    # config-inited (not builder-inited) because the HTML builder reads
    # html_js_files in its init(), which runs before builder-inited fires.
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _offer_ipynb_download, priority=500)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": _VENDOR_FORMAT, "parallel_read_safe": True, "parallel_write_safe": True}

