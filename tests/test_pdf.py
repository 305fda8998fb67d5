"""The print edition (coursetools.pdf): one PDF of the book, its version on the title page, a
bookmark for every part, chapter and lab, and formulas typeset.

Printing the whole book takes Chromium about 4 minutes on 2 busy cores (389 pages), too long
for make test, so the suite checks the two halves separately: the assembly with every page of
the table of contents (blank pages stand in for the printed ones), and a real print of a few
pages of the already-built book (the landing page, a chapter and a lab). `make pdf` and
`make release` print everything with the same code.
"""
import io
import json
import re

import pytest

from conftest import ROOT, toc_files
from coursetools import pdf
from coursetools.release import course_version

pypdf = pytest.importorskip("pypdf")


def heading(doc: str) -> str:
    """The first '# ' heading of a page's source (a chapter's Markdown or a lab's notebook)."""
    notebook = ROOT / f"{doc}.ipynb"
    if notebook.exists():
        text = "\n".join("".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"]
                         if cell["cell_type"] == "markdown")
    else:
        text = (ROOT / f"{doc}.md").read_text()
    return re.search(r"^# (.+)$", text, re.M).group(1).strip()


def blank(pages: int = 1) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_toc_parts_hold_every_page_in_order():
    parts = pdf.toc_parts()
    assert [doc for _, docs in parts for doc in docs] == toc_files()


def test_every_chapter_and_lab_gets_a_bookmark_under_its_part(tmp_path):
    parts = pdf.toc_parts()
    printed = [(index, heading(doc), blank(2)) for index, (_, docs) in enumerate(parts)
               for doc in docs]
    out = pdf.assemble_pdf(tmp_path / "book.pdf", blank(), blank(), parts, printed, "9.9.9")
    summary = pdf.pdf_summary(out)
    assert summary["pages"] == 2 + 2 * len(printed)
    marks = summary["bookmarks"]
    for doc in toc_files():
        if doc.startswith(("chapters/", "labs/")):
            assert (1, heading(doc)) in marks, f"no bookmark for {doc}"
    captions = [(0, caption) for caption, _ in parts]
    assert all(caption in marks for caption in captions)
    assert marks[0] == (0, "Science of Deep Learning (version 9.9.9)")
    with pytest.raises(TypeError):
        pdf.assemble_pdf(tmp_path / "x.pdf", blank(), blank(), parts, printed, 9)


def test_print_rejects_pages_not_in_the_book(tmp_path):
    with pytest.raises(ValueError, match="table of contents"):
        pdf.print_book(tmp_path, tmp_path / "x.pdf", docs=["chapters/99_nothing"])
    with pytest.raises(FileNotFoundError, match="make book"):
        pdf.print_book(tmp_path, tmp_path / "x.pdf", docs=["intro"])


PRINTED = ["intro", "chapters/05_offense_defense", "labs/05_offense_defense"]


def test_a_printed_book_has_title_page_bookmarks_and_typeset_math(book, tmp_path):
    if pdf.find_chromium() is None:
        pytest.skip("no Chromium: install Debian's chromium (make browser) for the PDF test")
    assert book.returncode == 0, book.log[-3000:]
    summary = pdf.print_book(book.html, tmp_path / "book.pdf", docs=PRINTED)
    assert f"Version {course_version()}" in summary["title_page"]
    assert "CC BY 4.0" in summary["title_page"]
    assert summary["pages"] >= 2 + len(PRINTED) + 10, summary["pages"]  # the lab alone is ~19
    for doc in PRINTED[1:]:
        assert (1, heading(doc)) in summary["bookmarks"], (doc, summary["bookmarks"])
    # Formulas were typeset by MathJax (its glyphs are Type 3 fonts in the PDF), not printed
    # as TeX source: print_book raises if a formula is left raw.
    assert summary["math"]["chapters/05_offense_defense"] > 10
    assert summary["math_font_pages"] >= 5, summary
    text = pypdf.PdfReader(str(tmp_path / "book.pdf")).pages[3].extract_text()
    assert "\\frac" not in text and "$$" not in text and "\\(" not in text
