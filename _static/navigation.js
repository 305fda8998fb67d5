/* The book on a phone: buttons that open the navigation, and figures that can be read.

   Navigation. Both theme packages (pydata-sphinx-theme, sphinx-book-theme) bind their
   handlers to the *first* ".primary-toggle" and ".secondary-toggle" of the page, which sit
   in a header that this book never shows; the buttons a reader sees (in the article's
   header) had no handler, so the menu and the contents never opened. Each visible button
   passes its click on to the first one: on a narrow screen the theme then opens the
   navigation (or the page's contents) as a dialog, and on a wide one it folds the left
   sidebar away and back. tests/test_browser.py clicks them at 390 and 1280 px.

   Names. The navigation's expand arrows get a label a screen reader can say, and the
   bibliography loses a list role its children do not fit.

   Figures. A figure with several panels side by side is much wider than tall; shrunk to a
   phone's column its axis labels are too small to read. Each such image is put in a box
   that scrolls sideways (and can be focused and scrolled with the keyboard), and on a
   narrow screen it keeps a readable width (_static/course.css, .wide-figure). */
(function () {
  "use strict";

  function forwardToggles(selector) {
    const buttons = Array.from(document.querySelectorAll(selector));
    const bound = buttons[0];
    buttons.slice(1).forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    });
  }

  const WIDE = 1.8;  // width / height above which a figure is taken to have panels side by side

  function boxWideFigure(img) {
    if (img.closest(".wide-figure") || !img.naturalHeight) return;
    if (img.naturalWidth / img.naturalHeight < WIDE) return;
    const box = document.createElement("div");
    box.className = "wide-figure";
    box.tabIndex = 0;  // a scrolling region must be reachable from the keyboard
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Figure, scrolls sideways: " + (img.alt || "").slice(0, 80));
    img.parentNode.insertBefore(box, img);
    box.appendChild(img);
  }

  function boxWideFigures() {
    document.querySelectorAll(".bd-article img").forEach((img) => {
      if (img.complete) boxWideFigure(img);
      else img.addEventListener("load", () => boxWideFigure(img), { once: true });
    });
  }

  // The navigation's expand arrows (a <summary> holding only an icon) get a name that a
  // screen reader can say: "Pages under For instructors".
  function nameExpandArrows() {
    document.querySelectorAll("summary").forEach((summary) => {
      if (summary.textContent.trim() || summary.getAttribute("aria-label")) return;
      const item = summary.closest("li");
      const link = item && item.querySelector(":scope > a");
      summary.setAttribute("aria-label",
                           "Pages under " + (link ? link.textContent.trim() : "this section"));
    });
  }

  // The bibliography's container says role="list", but its children are entries and anchors,
  // not list items: a screen reader would announce a list it cannot walk (axe:
  // aria-required-children, critical). Its entries keep their own role (doc-biblioentry).
  function unlistBibliography() {
    document.querySelectorAll('.citation-list[role="list"]').forEach((list) => {
      list.removeAttribute("role");
    });
  }

  function start() {
    nameExpandArrows();
    unlistBibliography();
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    boxWideFigures();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
