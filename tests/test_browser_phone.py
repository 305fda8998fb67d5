"""The rendered book on a phone (390x844, dark mode), in headless Chromium: the ☰ button
opens the navigation, nothing makes the page wider than the screen (code and equations scroll
inside their own box), figures with panels side by side keep a readable width, the contents
button opens the page's contents, and axe-core finds no serious or critical violation.

The browser, the local server and the audit are test_browser.py's; this module is apart so
that the test run's workers read the book at both sizes at once (``--dist loadfile`` gives
each file to one worker).
"""
from __future__ import annotations

import pytest

from test_browser import (LAB_CELLS, PAGES, PHONE, PHONE_CELLS_AUDITED_ON, Visit,  # noqa: F401
                          IMAGE_REPORT, WAIT_FOR_MATH, accessibility_problems, chromium,
                          evaluate_after_redirects, page_url, screenshot_path, site, sync_api)


# What overflows the phone's screen, and what scrolls inside its own box: the page's width;
# each code block, display equation and wide figure that is wider than its box (it must then
# scroll: overflow-x auto); elements of the article poking out past the screen's edge.
PHONE_REPORT = """() => {
  const screen = document.documentElement.clientWidth;
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const boxes = [...document.querySelectorAll('.bd-article pre, .bd-article div.math, .bd-article .wide-figure')];
  const stuck = boxes.filter(e => e.scrollWidth > e.clientWidth + 1 && !scrolls(e))
                     .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 60));
  const inBox = e => e.closest('pre, div.math, .wide-figure, .table-container, .highlight, .pst-scrollable-table-container, mjx-container');
  const out = [...document.querySelectorAll('.bd-article *')]
    // (a heading's "¶" link is invisible until hovered, and a phone has no hover)
    .filter(e => e.getBoundingClientRect().right > screen + 1 && !inBox(e) && e.getClientRects().length
                 && !e.matches('.headerlink'))
    .map(e => e.tagName + '.' + e.className + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
  const wideImages = [...document.querySelectorAll('.bd-article img')]
    .filter(i => i.naturalHeight && i.naturalWidth / i.naturalHeight >= 1.8)
    .map(i => ({src: i.getAttribute('src'), width: Math.round(i.getBoundingClientRect().width),
                boxed: !!i.closest('.wide-figure')}));
  return {page: document.documentElement.scrollWidth, screen, stuck, out: out.slice(0, 5), wideImages};
}"""
# A figure narrower than this on a phone has labels too small to read (720 px: a three-panel
# figure then shows each panel about as wide as the phone's screen).
READABLE_FIGURE_PX = 600


@pytest.mark.parametrize("page", PAGES)
def test_page_works_on_a_phone(chromium, site, page):
    """390x844 in dark mode: the ☰ opens the navigation, the page is no wider than the screen,
    code and equations scroll inside their box, wide figures stay readable, and axe-core
    finds no serious or critical violation."""
    visit = Visit(chromium, page_url(site, page), viewport=PHONE, color_scheme="dark")
    problems = visit.problems
    try:
        visit.page.evaluate(WAIT_FOR_MATH)
        visit.page.evaluate(IMAGE_REPORT)
        visit.page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'",
                                     timeout=5000)
        report = evaluate_after_redirects(visit.page, PHONE_REPORT)
        if report["page"] > report["screen"] + 1:
            problems.append(f"the page is {report['page']} px wide on a {report['screen']} px "
                            f"screen; sticking out: {report['out']}")
        problems += [f"too wide for its box and does not scroll: {e}" for e in report["stuck"]]
        for image in report["wideImages"]:
            if not image["boxed"] or image["width"] < READABLE_FIGURE_PX:
                problems.append(f"multi-panel figure shrunk to {image['width']} px "
                                f"(boxed: {image['boxed']}): {image['src']}")
        problems += accessibility_problems(
            visit.page, page, "390 px, dark",
            exclude=None if page == PHONE_CELLS_AUDITED_ON else LAB_CELLS)
        visit.page.screenshot(path=str(screenshot_path(page, "-phone")))
        # The navigation: a visible ☰ opens it as a dialog with the book's pages.
        button = visit.page.locator(".primary-toggle:visible")
        if button.count() != 1:
            problems.append(f"{button.count()} visible ☰ buttons on a phone")
        else:
            button.click()
            try:
                visit.page.locator("#pst-primary-sidebar-modal nav.bd-docs-nav a").first.wait_for(
                    state="visible", timeout=5000)
            except sync_api.Error:
                problems.append("the ☰ button does not open the navigation")
    finally:
        visit.close()
    assert not problems, f"page {page} on a phone:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", ["chapters/01_double_descent", "labs/01_double_descent"])
def test_contents_button_opens_the_page_contents_on_a_phone(chromium, site, page):
    visit = Visit(chromium, page_url(site, page), settle=False, viewport=PHONE)
    try:
        button = visit.page.locator(".secondary-toggle:visible")
        assert button.count() == 1, f"page {page}: {button.count()} visible contents buttons"
        button.click()
        visit.page.locator("#pst-secondary-sidebar-modal nav a").first.wait_for(
            state="visible", timeout=5000)
    finally:
        visit.close()
