"""The print edition: the whole HTML book as one PDF, with its version on the title page.

Chromium (Debian's, the one the browser test drives) prints each page of the built book in
the order of ``_toc.yml``, after MathJax has typeset it, using the theme's print style (no
sidebars or buttons). pypdf joins the pages behind a title page (title, version, date,
licenses) and a contents page, and adds a bookmark for every part and, inside it, one for
every chapter, lab and instructors' page. Nothing is fetched from the network: the book is
served from localhost, as in the browser test.

Printing page by page reuses the HTML build (no second Sphinx build); each page starts on a
new sheet, as chapters of a printed book do. Links between pages point at the HTML book.

Command line (``make pdf``)::

    python -m coursetools.pdf _build/html _build/pdf/science-of-deep-learning-0.1.0.pdf

Example
-------
>>> [title for title, _ in toc_parts()][:2]
['Science of Deep Learning', 'Introduction']
"""
from __future__ import annotations

import argparse
import datetime
import functools
import html
import http.server
import io
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

from coursetools.release import COURSE_NAME, LICENSES, REPO_ROOT, course_version

__all__ = ["toc_parts", "find_chromium", "print_book", "assemble_pdf", "pdf_summary", "main"]

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-quic", "--no-first-run", "--disable-component-update",
                  "--disable-sync"]
_MARGIN = {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}


def toc_parts(root: str | Path = REPO_ROOT) -> list[tuple[str, list[str]]]:
    """The book's pages in reading order, grouped by part: ``[(caption, [docname, ...]), ...]``.

    The landing page comes first, under the book's title. Sections nested under a chapter
    (the instructors' pages) follow their chapter in the same part.

    >>> parts = toc_parts()
    >>> parts[0]
    ('Science of Deep Learning', ['intro'])
    """
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    parts = [(COURSE_NAME, [toc["root"]])]
    for part in toc.get("parts", []):
        docs: list[str] = []
        for entry in part["chapters"]:
            docs.append(entry["file"])
            docs.extend(section["file"] for section in entry.get("sections", []))
        parts.append((part.get("caption", ""), docs))
    return parts


def find_chromium() -> str | None:
    """The Chromium to drive: ``$CHROMIUM`` if set, else the first one on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# Wait for MathJax to typeset the page (the book serves MathJax 3 itself), open every
# collapsed block (solutions, hidden code) so the print shows them, and return the page's
# title, its first heading without the permalink sign.
_PREPARE_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('.toggle-details__container, .toggle').forEach(e => e.style.display = '');
  const h = document.querySelector('article h1, main h1, h1');
  const title = h ? h.innerText.replace(/[#¶]\\s*$/, '').trim() : document.title;
  const math = document.querySelectorAll('mjx-container').length;
  const raw = document.querySelectorAll('.math:not(:has(mjx-container))').length;
  return {title, math, raw};
}"""


def _title_page(version: str, date: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
      body {{ font-family: sans-serif; margin: 0; }}
      .page {{ height: 250mm; display: flex; flex-direction: column; justify-content: center; }}
      h1 {{ font-size: 34pt; margin: 0 0 8mm; }} .sub {{ font-size: 16pt; color: #444; }}
      .version {{ font-size: 18pt; margin-top: 18mm; }} .small {{ font-size: 10pt; color: #444;
      margin-top: 40mm; line-height: 1.5; }}</style></head><body><div class="page">
      <h1>{html.escape(COURSE_NAME)}</h1>
      <div class="sub">Phenomena you can reproduce on a laptop</div>
      <div class="version">Version {html.escape(version)} &middot; {html.escape(date)}</div>
      <div class="small">The print edition of the book; the labs are notebooks to run, and
      their pages here show the outputs stored with them.<br>{html.escape(LICENSES)}<br>
      To cite this version, see the repository's CITATION.cff.</div></div></body></html>"""


def _contents_page(entries: list[tuple[int, str, int]]) -> str:
    rows = "".join(
        f'<tr class="l{level}"><td>{html.escape(title)}</td><td>{page}</td></tr>'
        for level, title, page in entries)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
      body {{ font-family: sans-serif; font-size: 10.5pt; }} table {{ width: 100%;
      border-collapse: collapse; }} td {{ padding: 1.2mm 0; }} td:last-child {{ text-align: right; }}
      tr.l0 td {{ font-weight: bold; padding-top: 4mm; }} tr.l1 td:first-child {{ padding-left: 6mm; }}
      </style></head><body><h1>Contents</h1><table>{rows}</table></body></html>"""


def print_book(html_dir: str | Path, out: str | Path, root: str | Path = REPO_ROOT,
               chromium: str | None = None, version: str | None = None,
               docs: Sequence[str] | None = None) -> dict:
    """Print the built HTML book into one PDF at ``out``; return :func:`pdf_summary` of it,
    with ``math``: for each printed page, the number of formulas MathJax typeset.

    Parameters
    ----------
    html_dir : str or path-like
        The HTML build (``_build/html``), which must hold every page of ``_toc.yml``.
    out : str or path-like
        The PDF to write (its folder is created).
    chromium : str, optional
        The Chromium executable; by default :func:`find_chromium`.
    version : str, optional
        The version for the title page; by default :func:`coursetools.release.course_version`.
    docs : sequence of str, optional
        Print only these pages (docnames of ``_toc.yml``), in the book's order; by default
        every page. The test suite prints a few, the release all.

    Raises
    ------
    FileNotFoundError
        If the book is not built or no Chromium is found.
    RuntimeError
        If a page still shows raw LaTeX after MathJax ran.
    """
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    html_dir, out = Path(html_dir), Path(out)
    parts = toc_parts(root)
    if docs is not None:
        unknown = set(docs) - {doc for _, names in parts for doc in names}
        if unknown:
            raise ValueError(f"not pages of the book's table of contents: {sorted(unknown)}")
        parts = [(caption, [doc for doc in names if doc in docs]) for caption, names in parts]
    missing = [doc for _, names in parts for doc in names if not (html_dir / f"{doc}.html").exists()]
    if missing:
        raise FileNotFoundError(f"the HTML book in {html_dir} lacks {missing}: run `make book`")
    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found: install Debian's chromium "
                                "(`make browser`) or set CHROMIUM=/path/to/chromium")
    version = version or course_version(root)
    date = datetime.date.today().isoformat()
    printed: list[tuple[int, str, str, bytes]] = []  # (part index, docname, title, pdf)
    maths: list[int] = []  # formulas MathJax typeset on each page
    with _serve(html_dir) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            for index, (_, names) in enumerate(parts):
                for doc in names:
                    page.goto(f"{base}/{doc}.html", wait_until="load")
                    found = page.evaluate(_PREPARE_JS)
                    if found["raw"]:
                        raise RuntimeError(f"{doc}: {found['raw']} formula(s) left as raw LaTeX")
                    printed.append((index, doc, found["title"],
                                    page.pdf(format="A4", print_background=True, margin=_MARGIN)))
                    maths.append(found["math"])
            page.set_content(_title_page(version, date))
            title_pdf = page.pdf(format="A4", margin=_MARGIN)
            counts = [len(PdfReader(io.BytesIO(data)).pages) for *_, data in printed]

            def contents(first_page: int) -> list[tuple[int, str, int]]:
                entries, at, seen = [], first_page, set()
                for (index, _, title, _), count in zip(printed, counts):
                    if index not in seen:
                        seen.add(index)
                        entries.append((0, parts[index][0], at))
                    entries.append((1, title, at))
                    at += count
                return entries

            toc_pages = 1
            for _ in range(3):  # the contents' own length moves every page number after it
                page.set_content(_contents_page(contents(2 + toc_pages)))
                contents_pdf = page.pdf(format="A4", margin=_MARGIN)
                needed = len(PdfReader(io.BytesIO(contents_pdf)).pages)
                if needed == toc_pages:
                    break
                toc_pages = needed
        finally:
            browser.close()

    assemble_pdf(out, title_pdf, contents_pdf, parts,
                 [(index, title, data) for index, _, title, data in printed], version)
    summary = pdf_summary(out)
    summary["math"] = {doc: math for doc, math in zip([d for _, d, _, _ in printed], maths)}
    return summary


def assemble_pdf(out: str | Path, title_pdf: bytes, contents_pdf: bytes,
                 parts: Sequence[tuple[str, Sequence[str]]],
                 printed: Sequence[tuple[int, str, bytes]], version: str) -> Path:
    """Join the title page, the contents and the printed pages into ``out``, with bookmarks.

    ``printed`` holds ``(part index, page title, PDF bytes)`` per page in reading order; each
    part gets a bookmark at its first page, and each page a bookmark under its part.
    """
    from pypdf import PdfReader, PdfWriter

    if not isinstance(version, str):
        raise TypeError(f"version must be a str, got {type(version).__name__}")
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(title_pdf)))
    writer.add_outline_item(title=f"{COURSE_NAME} (version {version})", page_number=0)
    contents_at = len(writer.pages)
    writer.append(PdfReader(io.BytesIO(contents_pdf)))
    writer.add_outline_item(title="Contents", page_number=contents_at)
    parents: dict[int, object] = {}
    for index, title, data in printed:
        start = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(data)))
        if index not in parents:
            parents[index] = writer.add_outline_item(title=parts[index][0], page_number=start)
        writer.add_outline_item(title=title, page_number=start, parent=parents[index])
    writer.add_metadata({"/Title": f"{COURSE_NAME}, version {version}",
                         "/Author": "The Science of Deep Learning course authors",
                         "/Subject": LICENSES})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".pdf.part")
    with partial.open("wb") as handle:
        writer.write(handle)
    partial.replace(out)
    return out


def pdf_summary(path: str | Path) -> dict:
    """What a reader of the PDF would check: pages, bookmarks, the title page and the fonts.

    Returns a dict with ``pages`` (int), ``bookmarks`` (list of ``(level, title)``),
    ``title_page`` (its text), ``fonts`` (the named fonts used) and ``math_font_pages``: the
    pages drawing glyphs from MathJax's web fonts, which Chromium embeds as Type 3 fonts (the
    text fonts are TrueType), so a count above zero means formulas were typeset, not printed
    as LaTeX source.
    """
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    bookmarks: list[tuple[int, str]] = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                bookmarks.append((level, item.title))

    walk(reader.outline, 0)
    fonts: set[str] = set()
    glyph_pages = 0
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        subtypes = set()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            subtypes.add(str(font.get("/Subtype")))
            if font.get("/BaseFont"):
                fonts.add(str(font["/BaseFont"]).split("+")[-1])
        glyph_pages += "/Type3" in subtypes
    return {"pages": len(reader.pages), "bookmarks": bookmarks,
            "title_page": reader.pages[0].extract_text(), "fonts": sorted(fonts),
            "math_font_pages": glyph_pages}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coursetools.pdf HTML_DIR OUT.pdf``."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.pdf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        summary = print_book(args.html_dir, args.out)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"pdf: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {summary['pages']} pages, {len(summary['bookmarks'])} bookmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
