"""An Altair renderer whose charts work in a page that loads nothing from the network.

Altair's default HTML output loads vega, vega-lite and vega-embed from a CDN.
The renderer registered here as ``"costmodel"`` (:func:`enable_offline_renderer`)
instead emits a ``<div>`` plus a call to ``vegaEmbed`` that expects a locally
served bundle; the book's Sphinx extension, :mod:`costmodel.sphinxext`, vendors
that bundle (and MathJax) at build time. Parameters bound to HTML inputs
(``alt.param(bind=alt.binding_range(...))``, ``alt.binding_select``) keep
working in the static page because Vega evaluates them in the browser.

Chapters use the renderer from a hidden first cell::

    from costmodel.offline import enable_offline_renderer
    enable_offline_renderer()

This module imports only the standard library at import time; Altair is
imported by :func:`enable_offline_renderer`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = [
    "RENDERER_NAME",
    "CHART_CLASS",
    "enable_offline_renderer",
    "render_chart",
]

#: Name under which the renderer is registered with ``alt.renderers``.
RENDERER_NAME = "costmodel"

# CSS class carried by every chart container the renderer emits; the browser
# test looks for it.
CHART_CLASS = "costmodel-chart"


def _script_safe_json(obj: Any) -> str:
    """JSON for embedding inside ``<script>``: no ``</script>`` or ``<!--`` breakouts."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_chart(spec: dict, **embed_options: Any) -> dict[str, str]:
    """Return a Jupyter mimebundle (``text/html`` + ``text/plain``) for a Vega-Lite spec.

    The HTML is a ``<div class="costmodel-chart">`` followed by a script that
    calls ``vegaEmbed`` from the locally vendored bundle, with ``actions: false``
    and the SVG renderer. Extra keyword arguments are merged into the vega-embed
    options (e.g. ``renderer="canvas"``).
    Defined in :ref:`sec_notation`.
    """
    div_id = f"{CHART_CLASS}-{uuid.uuid4().hex[:12]}"
    options = {"actions": False, "renderer": "svg"}
    options.update(embed_options)
    spec_json = _script_safe_json(spec)
    opts_json = _script_safe_json(options)
    # The bundle is a blocking <script> in <head>, so vegaEmbed normally exists
    # when this runs; the DOMContentLoaded path covers a deferred bundle. Outside
    # the book (plain Jupyter) there is no bundle: say so instead of failing
    # silently.
    script = f"""<script type="text/javascript">
(function () {{
  var target = "#{div_id}";
  var spec = {spec_json};
  var opts = {opts_json};
  function show() {{
    if (typeof window.vegaEmbed !== "function") {{
      var el = document.querySelector(target);
      if (el) {{
        el.textContent = "[chart not shown: the costmodel Vega bundle is not loaded on this page; "
          + "inside Jupyter use alt.renderers.enable('default')]";
      }}
      return;
    }}
    window.vegaEmbed(target, spec, opts).catch(function (err) {{
      console.error("costmodel chart " + target + " failed to render:", err);
    }});
  }}
  if (typeof window.vegaEmbed === "function" || document.readyState !== "loading") {{
    show();
  }} else {{
    document.addEventListener("DOMContentLoaded", show);
  }}
}})();
</script>"""
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    mark = spec.get("mark")
    if isinstance(mark, dict):
        mark = mark.get("type")
    if mark is None:
        kinds = [k for k in ("layer", "hconcat", "vconcat", "concat", "facet", "repeat") if k in spec]
        mark = kinds[0] if kinds else "chart"
    plain = f"<Altair chart: {mark}" + (f", title {title!r}" if title else "") + ">"
    return {
        "text/html": f'<div id="{div_id}" class="{CHART_CLASS}"></div>\n{script}',
        "text/plain": plain,
    }


def enable_offline_renderer(**embed_options: Any) -> None:
    """Register (once) and enable the ``"costmodel"`` Altair renderer.

    Call this in a hidden first cell of every chapter that draws charts.
    Keyword arguments are passed to vega-embed as options.
    Defined in :ref:`sec_notation`.
    """
    import altair as alt

    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, render_chart)
    alt.renderers.enable(RENDERER_NAME, **embed_options)


# The Sphinx extension and its vendoring helpers lived in this module until they
# moved to costmodel.sphinxext; the old names still resolve, imported on first use.
_MOVED_TO_SPHINXEXT = frozenset(
    {"VENDOR_DIRNAME", "VEGA_BUNDLE_RELPATH", "MATHJAX_RELPATH", "vendor_assets", "setup"}
)


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_SPHINXEXT:
        from . import sphinxext

        return getattr(sphinxext, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
