"""Load every page of the built book in headless Chromium, offline.

Serves ``_build/html`` on 127.0.0.1, aborts (and records) every request to any
other host, and checks on each page: no external request was attempted, no
console error or uncaught exception, every chart rendered (``svg.marks`` or a
``canvas`` inside ``.vega-embed``), every ``.math`` element typeset by MathJax,
and, where a chart has a slider, that moving it changes the chart. A full-page
screenshot of each page goes to ``_build/screenshots/<page>.png``.

Build the book first: ``.venv/bin/jupyter-book build . -W -n --keep-going``.
Uses the system Chromium at /usr/bin/chromium through the playwright package
(never ``playwright install``).
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
# BOOK_HTML_DIR / BOOK_SCREENSHOT_DIR override the locations (e.g. for a build
# made with --path-output); the defaults are the normal build's.
HTML_DIR = Path(os.environ.get("BOOK_HTML_DIR", ROOT / "_build" / "html"))
SHOT_DIR = Path(os.environ.get("BOOK_SCREENSHOT_DIR", ROOT / "_build" / "screenshots"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
BUILD_FIRST = (
    "The built book is missing ({}). Build the book first: "
    ".venv/bin/jupyter-book build . -W -n --keep-going"
)
# Pages that are not chapters: Sphinx's generated index/search pages, copied
# sources, build reports and static assets.
EXCLUDED_DIRS = {"_sources", "_static", "_images", "reports", "_downloads"}
EXCLUDED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
# Chart containers: our offline renderer's div, plus Altair's default renderer
# div (which would try a CDN and so fail the external-request check).
CHART_SELECTOR = ".costmodel-chart, [id^='altair-viz']"
RENDERED_SELECTOR = ".vega-embed svg.marks, .vega-embed canvas, svg.marks, canvas"
TIMEOUT_MS = 20_000


def _pages() -> list[str]:
    if not HTML_DIR.is_dir():
        return []
    pages = []
    for path in sorted(HTML_DIR.rglob("*.html")):
        rel = path.relative_to(HTML_DIR)
        if rel.parts[0] in EXCLUDED_DIRS or rel.name in EXCLUDED_PAGES:
            continue
        pages.append(rel.as_posix())
    return pages


PAGES = _pages()


@dataclass
class PageResult:
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    broken_local: list[str] = field(default_factory=list)
    n_charts: int = 0
    unrendered_charts: list[str] = field(default_factory=list)
    n_math: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    n_sliders: int = 0
    sliders_without_effect: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def server():
    if not HTML_DIR.is_dir():
        pytest.fail(BUILD_FIRST.format(HTML_DIR), pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} not found (Debian: apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# JavaScript run in the page -------------------------------------------------

_WAIT_MATHJAX = """async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  if (mj && mj.typesetPromise) { await mj.typesetPromise(); }
  return true;
}"""

_ALL_CHARTS_RENDERED = """([charts, rendered]) => {
  const els = Array.from(document.querySelectorAll(charts));
  return els.every(el => el.querySelector(rendered) !== null);
}"""

_CHART_STATE = """([charts, rendered]) => {
  return Array.from(document.querySelectorAll(charts)).map((el, i) => ({
    id: el.id || ('chart #' + i),
    rendered: el.querySelector(rendered) !== null,
    inEmbed: el.classList.contains('vega-embed') || el.querySelector('.vega-embed') !== null,
  }));
}"""

_MATH_STATE = """() => Array.from(document.querySelectorAll('.math')).map((el, i) => ({
  text: (el.textContent || '').trim().slice(0, 60) || ('math #' + i),
  typeset: el.querySelector('mjx-container') !== null || el.tagName.toLowerCase() === 'mjx-container',
}))"""

# Snapshot of one chart: its SVG markup, or canvas pixels as a data URL.
_CHART_SNAPSHOT = """(el) => {
  const root = el.closest('.vega-embed') || el;
  const svg = root.querySelector('svg.marks');
  if (svg) return svg.outerHTML;
  const canvas = root.querySelector('canvas');
  if (canvas) return canvas.toDataURL();
  return '';
}"""


def _visit(browser, base_url: str, rel: str) -> PageResult:
    result = PageResult()
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(route_obj):
        url = route_obj.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1":
            route_obj.continue_()
        else:
            result.external_requests.append(url)
            route_obj.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: result.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")
        if msg.type == "error"
        else None,
    )
    page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
    page.on(
        "response",
        lambda resp: result.broken_local.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None,
    )
    try:
        page.goto(f"{base_url}/{rel}", wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)

        # Math: wait for MathJax's first typeset pass, then check every element.
        page.evaluate(_WAIT_MATHJAX)
        maths = page.evaluate(_MATH_STATE)
        result.n_math = len(maths)
        result.untypeset_math = [m["text"] for m in maths if not m["typeset"]]

        # Charts: vegaEmbed renders asynchronously.
        args = [CHART_SELECTOR, RENDERED_SELECTOR]
        try:
            page.wait_for_function(_ALL_CHARTS_RENDERED, arg=args, timeout=TIMEOUT_MS)
        except Exception:  # reported per chart below
            pass
        charts = page.evaluate(_CHART_STATE, args)
        result.n_charts = len(charts)
        result.unrendered_charts = [
            c["id"] for c in charts if not (c["rendered"] and c["inEmbed"])
        ]

        # Screenshot of the page as loaded, before any interaction.
        shot = SHOT_DIR / Path(rel).with_suffix(".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        result.screenshot = shot

        # Sliders: move each one and require its chart to change.
        sliders = page.locator("input[type=range]")
        result.n_sliders = sliders.count()
        for i in range(result.n_sliders):
            slider = sliders.nth(i)
            chart = slider.locator("xpath=ancestor::*[contains(@class,'vega-embed')][1]")
            if chart.count() == 0:
                result.sliders_without_effect.append(f"slider #{i} is not inside a chart")
                continue
            before = chart.evaluate(_CHART_SNAPSHOT)
            lo = float(slider.get_attribute("min") or 0)
            hi = float(slider.get_attribute("max") or 100)
            current = float(slider.input_value())
            target = hi if abs(current - hi) > abs(current - lo) else lo
            slider.fill(f"{target:g}")
            try:
                page.wait_for_function(
                    "([el, before]) => {"
                    "  const root = el.closest('.vega-embed') || el;"
                    "  const svg = root.querySelector('svg.marks');"
                    "  const now = svg ? svg.outerHTML : (root.querySelector('canvas') || {toDataURL: () => ''}).toDataURL();"
                    "  return now !== before; }",
                    arg=[chart.element_handle(), before],
                    timeout=5_000,
                )
            except Exception:
                result.sliders_without_effect.append(
                    f"slider #{i} ({slider.get_attribute('name') or ''}) moved {current:g} -> {target:g}, chart unchanged"
                )

    except Exception as exc:  # navigation/timeouts: report, don't hide the rest
        result.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        context.close()
    return result


@pytest.fixture(scope="module")
def visits(server, browser) -> dict[str, PageResult]:
    """Visit every page once; the tests below assert on the recorded results."""
    return {rel: _visit(browser, server, rel) for rel in PAGES}


def test_book_is_built():
    assert HTML_DIR.is_dir(), BUILD_FIRST.format(HTML_DIR)
    assert PAGES, BUILD_FIRST.format(f"no pages under {HTML_DIR}")


@pytest.mark.parametrize("rel", PAGES or ["<no built book>"])
def test_page_offline_and_rendered(visits, rel):
    if rel not in visits:
        pytest.fail(BUILD_FIRST.format(HTML_DIR), pytrace=False)
    r = visits[rel]
    failures = []
    if r.problems:
        failures.append(f"page could not be checked: {r.problems}")
    if r.external_requests:
        failures.append(f"{len(r.external_requests)} external request(s) attempted: {r.external_requests}")
    if r.console_errors:
        failures.append(f"console errors: {r.console_errors}")
    if r.page_errors:
        failures.append(f"uncaught page errors: {r.page_errors}")
    if r.broken_local:
        failures.append(f"local resources missing or failing: {r.broken_local}")
    if r.unrendered_charts:
        failures.append(f"{len(r.unrendered_charts)}/{r.n_charts} chart(s) not rendered: {r.unrendered_charts}")
    if r.untypeset_math:
        failures.append(f"{len(r.untypeset_math)}/{r.n_math} math element(s) not typeset: {r.untypeset_math}")
    if r.sliders_without_effect:
        failures.append(f"sliders without effect: {r.sliders_without_effect}")
    assert not failures, f"{rel}:\n  " + "\n  ".join(failures)


def test_screenshots_saved(visits):
    missing = [rel for rel, r in visits.items() if not (r.screenshot and r.screenshot.is_file())]
    assert not missing, f"no screenshot for {missing}"


def test_some_page_has_a_slider(visits):
    with_slider = [rel for rel, r in visits.items() if r.n_sliders]
    assert with_slider, "no page of the book has an interactive slider (input[type=range])"


def test_some_page_has_a_chart_and_math(visits):
    assert any(r.n_charts for r in visits.values()), "no page of the book renders a chart"
    assert any(r.n_math for r in visits.values()), "no page of the book has math"
