"""The rendered book, read in a real browser (headless Chromium driven by Playwright).

Every page of the book is served from localhost and checked the way a student would notice
a problem: a request that leaves the machine or fails, a JavaScript error, math left as raw
LaTeX, a missing image or one without alt text, a solution that will not open, a search that
finds nothing, a figure that turns dark in dark mode. The first screen of each page, light and
dark, is saved under ``_build/screenshots/``. Where no Chromium is installed the tests skip and
say how to get one (``make test`` installs Debian's ``chromium`` when it runs as root).

A page load costs about two CPU-seconds (MathJax typesets every formula), so each page is
visited once: test_page_renders_offline's visit also switches the page to dark mode, opens its
solutions and measures its code blocks, and the tests of those parts read what it found
(``FOUND``). Run on its own (``-k``), each of those tests visits the page itself.

Every page is also read on a phone (390x844, dark mode) by test_browser_phone.py, with this
module's browser, server and accessibility audit. axe-core (shipped inside
axe-playwright-python, so offline) fails a page on any serious or critical violation: here at
1280 px in light mode on the whole page; on the phone in dark mode on the whole page except a
lab's code cells and outputs, audited in dark mode on one lab (``PHONE_CELLS_AUDITED_ON``:
they look the same on every lab).
"""
from __future__ import annotations

import functools
import http.server
import io
import re
import threading
import traceback
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ROOT, toc_files
from coursetools.pdf import find_chromium  # the Chromium the print edition drives too

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGES = ["index"] + toc_files() + ["genindex", "search"]
CHAPTERS = [page for page in toc_files() if page.startswith("chapters/")]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-quic", "--no-first-run", "--disable-component-update",
                  "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# The two screens every page is read on: a laptop, and a phone (an iPhone 12-15's viewport).
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(book):
    """Serve the built book on a free localhost port; yield its base URL."""
    assert book.returncode == 0, f"the book did not build:\n{book.log[-3000:]}"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    handler = functools.partial(Quiet, directory=str(book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found, so the rendered book is not checked in a browser: "
                    "install Debian's chromium (`apt-get install chromium`, which `make test` "
                    "does when run as root) or point $CHROMIUM at a Chromium binary")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        except sync_api.Error as error:
            raise AssertionError(f"{executable} is installed but did not start: {error}") from error
        yield browser
        browser.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


class Visit:
    """One page opened in a fresh browser context, with everything worth complaining about."""

    def __init__(self, chromium, url: str, settle: bool = True, viewport: dict | None = None,
                 color_scheme: str = "light"):
        self.problems: list[str] = []
        self.context = chromium.new_context(viewport=viewport or DESKTOP,
                                            color_scheme=color_scheme,
                                            has_touch=(viewport or DESKTOP) == PHONE)
        # The network is effectively off: anything not on localhost is refused and reported.
        self.context.route("**/*", self._only_localhost)
        # A loaded CI machine (three test workers on two cores) can take over 30 s, the
        # default, to load a long lab page: a slow page is not a broken one.
        self.context.set_default_timeout(90_000)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(
            f"failed request: {request.url} ({request.failure})"))
        self.page.on("response", lambda response: response.status >= 400 and self.problems.append(
            f"HTTP {response.status} for {response.url}"))
        self.page.goto(url, wait_until="load")
        if settle:  # every late request (fonts, MathJax's parts) done, so all can be checked
            self.page.wait_for_load_state("networkidle")

    def _only_localhost(self, route):
        host = urlparse(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.problems.append(f"request to another host: {route.request.url}")
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def close(self):
        self.context.close()


def page_url(site: str, page: str) -> str:
    return f"{site}/{page}.html"


def screenshot_path(page: str, suffix: str = "") -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{page.replace('/', '__')}{suffix}.png"


# JavaScript run in the page. Kept as data so each check reads as one step in Python.
WAIT_FOR_MATH = """async () => {
  if (!document.querySelector('.math')) return 'no math';
  if (!window.MathJax || !MathJax.startup) return 'MathJax did not load';
  await MathJax.startup.promise;
  return 'typeset';
}"""
MATH_REPORT = """() => {
  const maths = [...document.querySelectorAll('.math')];
  const untypeset = maths.filter(m => !m.querySelector('mjx-container'))
                         .map(m => m.textContent.trim().slice(0, 60));
  const errors = [...document.querySelectorAll('mjx-merror')]
                   .map(e => e.getAttribute('data-mjx-error') || e.textContent);
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, textarea, mjx-container').forEach(e => e.remove());
  return {count: maths.length, untypeset, errors, text: main.textContent};
}"""
IMAGE_REPORT = """async () => {
  const images = [...document.querySelectorAll('img')];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return images.map(img => ({src: img.getAttribute('src'), alt: img.getAttribute('alt'),
                             width: img.naturalWidth}));
}"""
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\\[A-Za-z]")


def meaningful_alt(alt: str | None, src: str) -> bool:
    """Alt text that says something: not empty, not the file's name (Sphinx's fallback)."""
    if not alt or not alt.strip():
        return False
    return not (alt == src or re.search(r"\.(png|jpe?g|svg|gif)$", alt.strip(), re.I))


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(chromium, site, page):
    visit = Visit(chromium, page_url(site, page))
    try:
        state = visit.page.evaluate(WAIT_FOR_MATH)
        if state == "MathJax did not load":
            visit.problems.append("math: the page has math but MathJax did not load")
        math = visit.page.evaluate(MATH_REPORT)
        if math["untypeset"]:
            visit.problems.append(f"math: {len(math['untypeset'])} of {math['count']} formulas "
                                  f"not typeset, e.g. {math['untypeset'][0]!r}")
        visit.problems += [f"math: TeX error {error!r}" for error in math["errors"]]
        raw = RAW_MATH.search(math["text"])
        if raw:
            start = max(raw.start() - 40, 0)
            visit.problems.append(f"math: raw LaTeX visible: {math['text'][start:raw.end() + 40]!r}")
        for image in visit.page.evaluate(IMAGE_REPORT):
            if image["width"] == 0:
                visit.problems.append(f"image did not load: {image['src']}")
            if not meaningful_alt(image["alt"], image["src"] or ""):
                visit.problems.append(f"image without alt text: {image['src']} (alt={image['alt']!r})")
        # The first screen only: a full-page screenshot of a long lab costs 2-5 CPU-seconds.
        visit.page.screenshot(path=str(screenshot_path(page)))
        # The other tests' parts of this page, in an order where none disturbs the next: dark
        # mode (switched back), then the solutions (one is clicked open), then the code
        # widths (measured with every folded block open).
        for part, (run, pages) in PARTS.items():
            if page in pages:
                FOUND[part, page] = outcome(run, visit.page, page)
    finally:
        visit.close()
    assert not visit.problems, f"page {page}:\n  " + "\n  ".join(visit.problems)


def outcome(run, page_obj, page: str) -> str:
    """``""`` if ``run(page_obj, page)`` passes on the open page, else what went wrong (a
    failed check's message; for any other error, its type, message and traceback)."""
    try:
        run(page_obj, page)
    except AssertionError as error:
        return str(error) or f"a check failed on page {page}"
    except Exception as error:  # a crash of one part must not hide the page's other results
        return f"page {page}: {type(error).__name__}: {error}\n{traceback.format_exc()}"
    return ""


# (part, page) -> "" or the failure, filled by test_page_renders_offline's visit. A module's
# tests run on one xdist worker (--dist loadfile), so the dict is shared by all of them.
FOUND: dict[tuple[str, str], str] = {}


def check_part(chromium, site, part: str, page: str) -> None:
    """Fail with what the render visit found for ``part`` of ``page``, or check it now."""
    found = FOUND.get((part, page))
    if found is None:  # run on its own (-k): visit the page here
        visit = Visit(chromium, page_url(site, page), settle=False)
        try:
            found = outcome(PARTS[part][0], visit.page, page)
        finally:
            visit.close()
    if found:
        pytest.fail(found)


def chapter_solution_opens(page_obj, page: str) -> None:
    solutions = page_obj.locator(".solution.dropdown")
    assert solutions.count() > 0, f"page {page}: no 'check your understanding' solution found"
    solution = solutions.first
    body = solution.locator(":scope > :not(.admonition-title)").first
    assert not body.is_visible(), f"page {page}: the first solution is open before any click"
    solution.locator(".admonition-title").click()
    body.wait_for(state="visible", timeout=5000)


@pytest.mark.parametrize("page", CHAPTERS)
def test_solution_opens_when_clicked(chromium, site, page):
    check_part(chromium, site, "chapter solutions", page)


def test_search_finds_double_descent(chromium, site):
    visit = Visit(chromium, f"{site}/search.html?q=double+descent")
    try:
        visit.page.wait_for_selector("#search-results ul.search li", timeout=15000)
        hits = visit.page.eval_on_selector_all("#search-results ul.search li a",
                                               "links => links.map(a => a.getAttribute('href'))")
        visit.page.screenshot(path=str(screenshot_path("search", "-double-descent")), full_page=True)
    finally:
        visit.close()
    assert hits, "search page: searching for 'double descent' found nothing"
    if "chapters/01_double_descent" in toc_files():
        assert any("01_double_descent" in hit for hit in hits), (
            f"search page: 'double descent' does not find Chapter 1; it finds {hits}")
    assert not visit.problems, "search page:\n  " + "\n  ".join(visit.problems)


def edge_lightness(png: bytes, inset: dict) -> float:
    """Median lightness (0 black .. 1 white) of a 4-pixel frame just inside an image's content.

    ``inset`` gives the element's padding in pixels (the theme pads images in dark mode);
    the frame is taken inside it, on the figure itself, where a white figure background
    stays light under the theme's dimming filter and a transparent one turns dark.
    """
    import matplotlib.image
    import numpy as np

    rgb = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    height, width = rgb.shape[:2]
    top, left = round(inset["top"]), round(inset["left"])
    bottom, right = height - round(inset["bottom"]), width - round(inset["right"])
    # 6 more pixels in: the element's rounded corners and a sub-pixel row at its edge show
    # the page behind it, which says nothing about the figure.
    content = rgb[top + 6:bottom - 6, left + 6:right - 6]
    frame = [content[:4].reshape(-1, 3), content[-4:].reshape(-1, 3),
             content[:, :4].reshape(-1, 3), content[:, -4:].reshape(-1, 3)]
    # The median: axis labels or a title may reach the edge of a tight figure, but most of
    # the frame is background.
    return float(np.median(np.concatenate(frame).mean(axis=1)))


PADDING = """img => { const s = getComputedStyle(img);
  return {top: parseFloat(s.paddingTop) + parseFloat(s.borderTopWidth),
          left: parseFloat(s.paddingLeft) + parseFloat(s.borderLeftWidth),
          bottom: parseFloat(s.paddingBottom) + parseFloat(s.borderBottomWidth),
          right: parseFloat(s.paddingRight) + parseFloat(s.borderRightWidth)}; }"""


FIGURE_PAGES = [page for page in toc_files()
                if page.startswith("labs/") or page.startswith("chapters/")]


THEME_IS = "theme => document.documentElement.dataset.theme === theme"


def figures_stay_light_in_dark_mode(page_obj, page: str) -> None:
    """The reader's system asks for dark mode: the theme follows, and every figure keeps its
    light background (a transparent one would show black axes on a dark page).

    The preference changes while the page is open; the theme applies it with the same code
    as when a page loads in dark mode (pydata-sphinx-theme's ``setTheme``)."""
    page_obj.emulate_media(color_scheme="dark")
    try:
        try:
            page_obj.wait_for_function(THEME_IS, arg="dark", timeout=5000)
        except sync_api.Error:
            theme = page_obj.evaluate("() => document.documentElement.dataset.theme")
            raise AssertionError(f"page {page}: the theme did not switch to dark mode ({theme!r})")
        page_obj.evaluate(IMAGE_REPORT)  # every image loaded and decoded before measuring
        images = page_obj.locator(".bd-content img")
        dark = []
        for i in range(images.count()):
            image = images.nth(i)
            image.scroll_into_view_if_needed()
            # Transitions finished, so the screenshot shows the settled dark theme.
            shot = image.screenshot(animations="disabled")
            lightness = edge_lightness(shot, image.evaluate(PADDING))
            if lightness < 0.75:
                dark.append(f"{image.get_attribute('src')} (edge lightness {lightness:.2f})")
        page_obj.evaluate("() => window.scrollTo(0, 0)")
        page_obj.screenshot(path=str(screenshot_path(page, "-dark")), animations="disabled")
    finally:  # back to light for the parts checked after this one, whatever happened
        page_obj.emulate_media(color_scheme="light")
    assert not dark, f"page {page}: figures hard to read in dark mode: {dark}"
    try:
        page_obj.wait_for_function(THEME_IS, arg="light", timeout=5000)
    except sync_api.Error:
        raise AssertionError(f"page {page}: the theme did not return to light mode")


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_figures_stay_light_in_dark_mode(chromium, site, page):
    check_part(chromium, site, "dark mode", page)


def test_book_works_from_a_folder(chromium, book):
    # A student may open _build/html/index.html straight from disk, with no server and no
    # network: math must still typeset and search must still answer, without errors.
    problems = []
    context = chromium.new_context()
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    try:
        chapter = next(p for p in toc_files() if p.startswith("chapters/"))
        page.goto((book.html / f"{chapter}.html").as_uri(), wait_until="load")
        assert page.evaluate(WAIT_FOR_MATH) == "typeset", f"{chapter} from file://: math not typeset"
        math = page.evaluate(MATH_REPORT)
        assert not math["untypeset"], f"{chapter} from file://: formulas left untypeset"
        page.goto((book.html / "search.html").as_uri() + "?q=learning", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=15000)
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert not problems, "the book opened from a folder (file://):\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# The labs as a student reads them: solutions folded, code that fits the column (issue 20)
# --------------------------------------------------------------------------------------------

LABS = [page for page in toc_files() if page.startswith("labs/")]


def folded_solutions(page: str) -> list[str]:
    """The first line of code of each reference solution of a lab, as the book folds it."""
    from coursetools.book import fold_solutions
    from coursetools.notebooks import read_notebook

    nb = fold_solutions(read_notebook(ROOT / f"{page}.ipynb"))
    return [cell["source"].strip().splitlines()[0] for cell in nb["cells"]
            if "solution" in cell.get("metadata", {}).get("tags", [])]


SOLUTION_REPORT = """() => [...document.querySelectorAll('div.cell.tag_solution')].map(cell => {
  const details = cell.querySelector(':scope > details');
  const code = cell.querySelector('.cell_input pre');
  const box = code ? code.getBoundingClientRect() : null;
  return {folded: !!details, open: details ? details.open : null,
          prompt: details ? details.querySelector('summary .collapsed').textContent.trim() : null,
          shown: !!box && box.width > 0 && box.height > 0 && code.checkVisibility(),
          code: code ? code.textContent : ''};
})"""


def lab_solutions_stay_folded(page_obj, page: str) -> None:
    expected = folded_solutions(page)
    assert expected, f"{page}: the notebook has no solution cell, so there is nothing to check"
    report = page_obj.evaluate(SOLUTION_REPORT)
    assert len(report) == len(expected), (
        f"{page}: the book shows {len(report)} solution cells, the notebook has "
        f"{len(expected)}")
    for number, (cell, first_line) in enumerate(zip(report, expected), start=1):
        assert cell["folded"] and cell["open"] is False, (
            f"{page}: solution {number} is not folded behind a toggle")
        assert cell["prompt"] == "Show solution", (
            f"{page}: solution {number}'s toggle says {cell['prompt']!r}")
        assert not cell["shown"], f"{page}: solution {number} is visible before any click"
        assert first_line in cell["code"], (
            f"{page}: solution {number} does not hold the notebook's code {first_line!r}")
    # The instruction before each solution and the check after it stay in view.
    for selector in ("div.cell.tag_exercise", "div.cell.tag_check .cell_output"):
        assert page_obj.locator(selector).first.is_visible(), (
            f"{page}: {selector} is hidden; only the solution's code should be")
    first = page_obj.locator("div.cell.tag_solution").first
    first.locator("summary").click()
    code = first.locator(".cell_input pre")
    code.wait_for(state="visible", timeout=5000)
    assert expected[0] in code.inner_text(), f"{page}: the opened solution shows other code"
    assert first.locator("summary .expanded").is_visible(), (
        f"{page}: the opened toggle does not offer to hide the solution again")
    others = page_obj.evaluate(SOLUTION_REPORT)[1:]
    assert not any(cell["shown"] for cell in others), (
        f"{page}: opening the first solution showed others too")


@pytest.mark.parametrize("page", LABS)
def test_lab_solutions_stay_folded_until_clicked(chromium, site, page):
    check_part(chromium, site, "lab solutions", page)


# Every folded part of the page opened (details, and sphinx-togglebutton's dropdowns), so a
# hidden solution is measured as it will look once opened; then every code block and every
# cell output whose content is wider than its box.
OVERFLOW_REPORT = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const blocks = document.querySelectorAll('.bd-article div.highlight pre, .bd-article div.cell_output pre');
  return [...blocks].filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(pre => {
    const lines = pre.textContent.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return {where: pre.closest('.cell_output') ? 'output' : 'code', chars: longest.length,
            line: longest.trim().slice(0, 120), overflow: pre.scrollWidth - pre.clientWidth};
  });
}"""


def evaluate_after_redirects(page, script: str):
    """``page.evaluate(script)``, again once a redirect (index.html -> intro.html) has loaded."""
    for _ in range(3):
        try:
            return page.evaluate(script)
        except sync_api.Error as error:
            if "context was destroyed" not in str(error):
                raise
            page.wait_for_load_state("load")
    return page.evaluate(script)


def code_overflow(page) -> list[dict]:
    """The code blocks of an open page that scroll sideways, measured in the final font."""
    evaluate_after_redirects(page, "document.fonts.ready.then(() => true)")
    return evaluate_after_redirects(page, OVERFLOW_REPORT)


def code_fits_the_column(page_obj, page: str) -> None:
    wide = code_overflow(page_obj)
    assert not wide, (
        f"page {page}: {len(wide)} code block(s) scroll sideways at 1280 px (the column fits "
        "about 100 characters of code, see _static/course.css); wrap these lines:\n  "
        + "\n  ".join(f"{w['where']}, {w['chars']} characters, {w['overflow']} px too wide: "
                      f"{w['line']!r}" for w in wide))


@pytest.mark.parametrize("page", PAGES)
def test_code_fits_the_column_at_1280px(chromium, site, page):
    check_part(chromium, site, "code widths", page)





# --------------------------------------------------------------------------------------------
# Accessibility (axe-core) and the phone (issue 33)
# --------------------------------------------------------------------------------------------

# Violations of these impacts fail the test; "moderate" and "minor" ones are best practices
# the themes do not meet (e.g. "region": content outside a landmark) and are not counted.
FAILING_IMPACTS = {"serious", "critical"}


# A lab page's code cells and outputs are most of its elements, and most of axe's time (a
# minute for Lab 1 under load). The audit at 1280 px reads them on every page; the phone's
# audit reads them on one lab only (their colours and markup are the same on every lab), and
# the rest of every page.
LAB_CELLS = [[".cell_input"], [".cell_output"]]
PHONE_CELLS_AUDITED_ON = "labs/00_first_experiment"


def accessibility_problems(page_obj, page: str, where: str,
                           exclude: list | None = None) -> list[str]:
    """axe-core's serious and critical violations on the open page, one line each
    (``exclude``: axe's selectors of parts left out)."""
    from axe_playwright_python.sync_playwright import Axe

    evaluate_after_redirects(page_obj, "document.fonts.ready.then(() => true)")
    # preload off: axe would fetch each stylesheet's @import again, resolved against the
    # page instead of the sheet (a 404 for /basic.css on every page).
    context = {"exclude": exclude} if exclude else None
    result = Axe().run(page_obj, context=context, options={"preload": False})
    return [f"accessibility ({where}): {v['id']} ({v['impact']}): {v['help']}, e.g. "
            f"{v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '')[:300]!r}"
            for v in result.response["violations"] if v["impact"] in FAILING_IMPACTS]


def accessible_at_1280(page_obj, page: str) -> None:
    problems = accessibility_problems(page_obj, page, "1280 px, light")
    assert not problems, f"page {page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_accessibility_at_1280px(chromium, site, page):
    check_part(chromium, site, "accessibility", page)


def navigation_folds_at_1280(page_obj, page: str) -> None:
    """At 1280 px the left sidebar shows; the visible ☰ folds it away and back."""
    sidebar = page_obj.locator("#pst-primary-sidebar")
    assert sidebar.is_visible(), f"page {page}: the navigation sidebar is hidden at 1280 px"
    button = page_obj.locator(".primary-toggle:visible")
    assert button.count() == 1, f"page {page}: {button.count()} visible ☰ buttons at 1280 px"
    button.click()
    page_obj.wait_for_function(
        "() => getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility === 'hidden'",
        timeout=5000)
    button.click()
    page_obj.wait_for_function(
        "() => getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility === 'visible'",
        timeout=5000)


@pytest.mark.parametrize("page", PAGES)
def test_the_menu_button_folds_the_navigation_at_1280px(chromium, site, page):
    check_part(chromium, site, "navigation", page)



# The parts test_page_renders_offline's visit checks for the tests above, in this order: each
# check (it raises AssertionError when the page fails it) and the pages its test is for.
PARTS = {
    "dark mode": (figures_stay_light_in_dark_mode, FIGURE_PAGES),
    "chapter solutions": (chapter_solution_opens, CHAPTERS),
    "lab solutions": (lab_solutions_stay_folded, LABS),
    "code widths": (code_fits_the_column, PAGES),
    "accessibility": (accessible_at_1280, PAGES),
    # Last: it folds the sidebar, which widens the column the code widths were measured in.
    "navigation": (navigation_folds_at_1280, PAGES),
}
