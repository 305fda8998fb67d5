"""The book builds with warnings as errors, from the stored notebook outputs, and works offline."""
import re

from conftest import ROOT, toc_files


def test_toc_lists_every_chapter_and_lab():
    listed = set(toc_files())
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.md")}
    on_disk |= {f"labs/{p.stem}" for p in (ROOT / "labs").glob("*.ipynb")}
    assert not on_disk - listed, f"not in _toc.yml, so not in the book: {sorted(on_disk - listed)}"


def test_book_builds_without_warnings(book):
    assert book.returncode == 0, f"the book build failed or warned:\n{book.log[-6000:]}"
    for page in ["index"] + toc_files():
        assert (book.html / f"{page}.html").exists(), f"{page}.html missing from the built book"
    for lab in [page for page in toc_files() if page.startswith("labs/")]:
        html = (book.html / f"{lab}.html").read_text()
        assert "<img" in html, f"{lab} shows no figure in the book: were its outputs committed?"


def test_pages_load_nothing_from_other_hosts(book):
    # Links to papers are fine; what a page needs to render (scripts, styles, images, fonts)
    # must come from the book itself, so it reads the same on a laptop with no network.
    loads = re.compile(r'<(?:script|img|link|source|iframe)\b[^>]*?\b(?:src|href)="(https?:)?//([^"/]+)')
    for page in sorted(book.html.rglob("*.html")):
        for _, host in loads.findall(page.read_text()):
            raise AssertionError(f"{page.relative_to(book.html)} loads a resource from {host}")
    for sheet in sorted(book.html.rglob("*.css")):
        external = re.search(r"(?:url\(|@import)\s*['\"]?(?:https?:)?//([^'\")/]+)", sheet.read_text())
        assert not external, f"{sheet.relative_to(book.html)} loads from {external.group(1)}"
    assert (book.html / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not in the book"


def test_local_links_resolve(book):
    # Every link inside the book (pages, figures, the handout zips the instructors' pages
    # offer) must point at a file the build contains.
    href = re.compile(r'\b(?:href|src)="([^"#?]+)')
    broken = []
    pages = [page for page in sorted(book.html.rglob("*.html"))
             if page.relative_to(book.html).parts[0] not in ("_static", "_sources")]
    for page in pages:
        for target in href.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("//"):
                continue  # another host, mailto:, data:, javascript:
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(book.html)} -> {target}")
    assert not broken, "links to files missing from the book:\n  " + "\n  ".join(broken[:20])


def test_handouts_ship_with_the_book(book):
    labs = sorted(path.stem for path in (ROOT / "labs").glob("*.ipynb"))
    shipped = {path.stem for path in (book.html / "handouts").glob("*.zip")}
    assert set(labs) | {"science-of-dl-labs"} <= shipped, f"handouts missing from the book: {shipped}"


def test_lab_download_button_serves_the_student_version(book):
    """The ".ipynb" download of a lab page is the student version, never the answer key."""
    import nbformat

    from coursetools.notebooks import cells_tagged, read_notebook

    button = re.compile(r'<a href="([^"]+\.ipynb)"[^>]*btn-download-source-button')
    for lab in [page for page in toc_files() if page.startswith("labs/")]:
        page = book.html / f"{lab}.html"
        found = button.findall(page.read_text())
        assert found, f"{lab}: the page has no .ipynb download button"
        served = nbformat.read(page.parent / found[0], as_version=4)
        assert served.metadata.get("student_version"), f"{lab}: the download is not the student version"
        assert not cells_tagged(served, "solution"), f"{lab}: the download holds solution cells"
        answer_key = read_notebook(ROOT / f"{lab}.ipynb")
        first = max((line.strip() for line in cells_tagged(answer_key, "solution")[0][1].source
                     .splitlines() if not line.strip().startswith("#")), key=len)
        assert first not in "".join(cell.source for cell in served.cells), \
            f"{lab}: the download shows the first solution's code {first!r}"


def page_title(page: str) -> str:
    """A page's title as search results show it: its first heading."""
    md, ipynb = ROOT / f"{page}.md", ROOT / f"{page}.ipynb"
    if md.is_file():
        text = md.read_text()
    else:
        import nbformat

        text = next(c.source for c in nbformat.read(ipynb, as_version=4).cells
                    if c.cell_type == "markdown")
    return re.search(r"^#\s+(.+)$", text, re.M).group(1).strip()


def test_every_page_has_its_own_title():
    """Search results list pages by title: an instructors' page must not read like its lab."""
    titles = {}
    for page in toc_files():
        title = page_title(page)
        # "Lab 6 · Grokking" and "Lab 6 · Grokking: generalization ..." read as the same page
        titles.setdefault(title.split(":")[0].strip(), []).append(page)
        if re.match(r"(Lab|Chapter) \d+ ·", title):
            kind = title.split()[0].lower()
            assert page.startswith({"lab": "labs/", "chapter": "chapters/"}[kind]), (
                f"{page} is titled {title!r}, as if it were the {kind} itself")
    shared = {title: pages for title, pages in titles.items() if len(pages) > 1}
    assert not shared, f"pages share a title, so search results cannot tell them apart: {shared}"
