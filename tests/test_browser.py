"""Load every page of the built book in headless Chromium, offline.

Serves ``_build/html`` on 127.0.0.1, aborts (and records) every request to any
other host, and checks on each page: no external request was attempted, no
console error or uncaught exception, every chart rendered (``svg.marks`` or a
``canvas`` inside ``.vega-embed``), every ``.math`` element typeset by MathJax,
and, where a chart has a slider, radio buttons or a menu, that using them
changes the chart. What a reader sees is checked too: no two texts of a chart
overlap, no text lies outside its chart, and no table or chart is cut off by
a scrolling or clipping container. A full-page screenshot of each page goes to
``_build/screenshots/<page>.png``.

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
    n_choices: int = 0
    choices_without_effect: list[str] = field(default_factory=list)
    layout_problems: list[str] = field(default_factory=list)
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


# Layout as a reader sees it: overlapping or clipped chart texts, and tables or
# charts wider than the container that holds them.
_LAYOUT_PROBLEMS = r"""() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none'
      && parseFloat(el.getAttribute('fill-opacity') ?? el.getAttribute('opacity') ?? '1') > 0
      && (el.textContent || '').trim() !== '';
  };
  document.querySelectorAll('.vega-embed svg.marks').forEach((svg, c) => {
    const box = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll('text')).filter(visible);
    const rects = texts.map(t => t.getBoundingClientRect());
    // rotated labels (an axis at -50 degrees) overlap as boxes only in their own frame
    const frame = (t) => {
      const m = /translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)\s*rotate\(([-\d.e]+)\)/.exec(t.getAttribute('transform') || '');
      return m ? {x: +m[1], y: +m[2], angle: +m[3]} : null;
    };
    const frames = texts.map(frame);
    const overlap = (a, b) => {
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      return w > 2 && h > 2;
    };
    texts.forEach((t, i) => {
      const r = rects[i];
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        problems.push(`chart #${c}: text "${t.textContent.trim()}" lies outside the chart`);
      }
      for (let j = 0; j < i; j++) {
        const fi = frames[i], fj = frames[j];
        let hit;
        if ((fi && fi.angle) || (fj && fj.angle)) {
          if (!fi || !fj || fi.angle !== fj.angle || t.parentNode !== texts[j].parentNode) continue;
          // j's box in i's rotated frame: rotate the offset between their origins by -angle
          const a = -fi.angle * Math.PI / 180, dx = fj.x - fi.x, dy = fj.y - fi.y;
          const ox = dx * Math.cos(a) - dy * Math.sin(a), oy = dx * Math.sin(a) + dy * Math.cos(a);
          const bi = t.getBBox(), bj = texts[j].getBBox();
          hit = overlap({left: bi.x, right: bi.x + bi.width, top: bi.y, bottom: bi.y + bi.height},
                        {left: bj.x + ox, right: bj.x + ox + bj.width, top: bj.y + oy, bottom: bj.y + oy + bj.height});
        } else {
          hit = overlap(r, rects[j]);
        }
        if (hit) {
          problems.push(`chart #${c}: texts "${texts[j].textContent.trim()}" and "${t.textContent.trim()}" overlap`);
        }
      }
    });
  });
  const clipped = (el, what) => {
    for (let a = el.parentElement; a && a.tagName !== 'ARTICLE' && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX) && a.scrollWidth > a.clientWidth + 1) {
        problems.push(`${what} is cut off: ${a.scrollWidth}px of content in a ${a.clientWidth}px container`);
        return;
      }
    }
    const r = el.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 1) {
      problems.push(`${what} runs past the right edge of the page`);
    }
  };
  document.querySelectorAll('article table').forEach((t, i) => {
    const head = (t.querySelector('th') || {}).textContent || '';
    clipped(t, `table #${i} (${head.trim()}...)`);
  });
  document.querySelectorAll('article .vega-embed').forEach((e, i) => clipped(e, `chart #${i}`));
  return problems;
}"""


def _wait_for_change(page, chart, before) -> bool:
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
        return True
    except Exception:
        return False


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

        # Layout of the page as loaded, as the screenshot shows it.
        result.layout_problems = page.evaluate(_LAYOUT_PROBLEMS)

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
            if not _wait_for_change(page, chart, before):
                result.sliders_without_effect.append(
                    f"slider #{i} ({slider.get_attribute('name') or ''}) moved {current:g} -> {target:g}, chart unchanged"
                )

        # The charts as the sliders left them must be readable too.
        if result.n_sliders:
            result.layout_problems += [f"after the sliders moved: {p}" for p in page.evaluate(_LAYOUT_PROBLEMS)]

        # Radio buttons and menus bound to a chart: choosing another option changes it.
        groups = page.locator(".vega-embed .vega-bindings select, .vega-embed .vega-bindings .vega-bind-radio")
        result.n_choices = groups.count()
        for i in range(result.n_choices):
            group = groups.nth(i)
            chart = group.locator("xpath=ancestor::*[contains(@class,'vega-embed')][1]")
            before = chart.evaluate(_CHART_SNAPSHOT)
            if group.evaluate("el => el.tagName") == "SELECT":
                options = group.locator("option")
                current = group.input_value()
                values = [options.nth(k).get_attribute("value") for k in range(options.count())]
                others = [v for v in values if v != current]
                if not others:
                    continue
                group.select_option(others[-1])
                label = f"menu #{i} {current!r} -> {others[-1]!r}"
            else:
                radios = group.locator("input[type=radio]")
                unchecked = [k for k in range(radios.count()) if not radios.nth(k).is_checked()]
                if not unchecked:
                    continue
                radios.nth(unchecked[-1]).check()
                label = f"radio group #{i} -> {radios.nth(unchecked[-1]).get_attribute('value')!r}"
            if not _wait_for_change(page, chart, before):
                result.choices_without_effect.append(f"{label}: chart unchanged")
            else:  # the chart as redrawn must be readable too
                result.layout_problems += [f"after {label}: {p}" for p in page.evaluate(_LAYOUT_PROBLEMS)]

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


@pytest.mark.parametrize("rel", PAGES or ["<no built book>"])
def test_page_layout_is_readable(visits, rel):
    """No overlapping or clipped chart text, no table or chart cut off by its container."""
    if rel not in visits:
        pytest.fail(BUILD_FIRST.format(HTML_DIR), pytrace=False)
    r = visits[rel]
    assert not r.layout_problems, f"{rel}:\n  " + "\n  ".join(r.layout_problems)
    assert not r.choices_without_effect, f"{rel}: inputs without effect: {r.choices_without_effect}"


def test_some_page_has_radio_buttons_or_menus(visits):
    assert any(r.n_choices for r in visits.values()), "no chart of the book has a menu or radio buttons"


def test_screenshots_saved(visits):
    missing = [rel for rel, r in visits.items() if not (r.screenshot and r.screenshot.is_file())]
    assert not missing, f"no screenshot for {missing}"


def test_some_page_has_a_slider(visits):
    with_slider = [rel for rel, r in visits.items() if r.n_sliders]
    assert with_slider, "no page of the book has an interactive slider (input[type=range])"


def test_some_page_has_a_chart_and_math(visits):
    assert any(r.n_charts for r in visits.values()), "no page of the book renders a chart"
    assert any(r.n_math for r in visits.values()), "no page of the book has math"
