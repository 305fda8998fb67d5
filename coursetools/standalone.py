"""Student notebooks that stand alone, away from the book and the course repository.

In the book, a lab's markdown is MyST: ``{doc}`` links to a chapter, ``{cite:t}`` cites a paper,
``{eq}`` numbers an equation. In JupyterLab those roles show as raw text, and sentences about
the course's own tooling (``make bench``, CI, ``chapters/figures/...``) name things a
handout does not ship. :func:`make_standalone` turns a student version into a notebook that
reads well on its own:

- every quoted number (``{{ name }}``, :mod:`coursetools.quoted`) becomes its value, and
  every MyST role becomes plain text, or a link into the published book when its address is
  configured (``html_baseurl`` in ``_config.yml``, read by :func:`book_url`; empty is fine);
- each parenthetical clause or sentence that names the course's tooling (:data:`TOOLING`) is
  removed, in the markdown and in code comments, and a few whole sentences are reworded
  (:data:`REWORDED`);
- the title cell says where the book and the lab's chapter are.

Example
-------
>>> index = BookIndex.from_repo()
>>> render_roles("As {cite:t}`power2022grokking` found", index, "", "labs")
'As Power et al. (2022) found'
>>> drop_tooling("It runs in 20 s (measured by `make bench`; see the notes).")
'It runs in 20 s (see the notes).'
"""
from __future__ import annotations

import functools
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
import yaml

__all__ = ["TOOLING", "REWORDED", "BookIndex", "book_url", "render_roles", "drop_tooling",
           "drop_tooling_in_comments",
           "make_standalone"]

REPO_ROOT = Path(__file__).resolve().parent.parent

#: What a handout lacks: the course's make targets, CI, test tools and repository folders.
TOOLING = re.compile(
    r"`?make (?:bench|portability|test|seeds|execute|book|lab|student|grade|nbgrader|lock)\b`?"
    r"|\bCI\b|continuous integration|\bnbval\b|\bpytest\b|\bcoursetools\b"
    r"|chapters/figures|instructors/[\w.]+")

#: Whole sentences reworded for the student version: pattern -> replacement.
REWORDED = {
    r"CI re-runs the notebook and fails if one stops holding":
        "the cell below fails if one stops holding",
}

# {role}`content`: a MyST role. The content may be "text <target>".
_ROLE = re.compile(r"\{(?P<role>[a-z][\w:+-]*)\}`(?P<content>[^`]*)`")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


def book_url(repo_root: str | Path = REPO_ROOT) -> str:
    """The published book's address: ``html_baseurl`` in ``_config.yml``, or ``""``.

    One value, configured once, that the handout README and every student notebook quote.
    Trailing slashes are dropped; a missing or empty value gives ``""`` (nothing is linked).

    Examples
    --------
    >>> book_url("/nowhere")
    ''
    """
    config = Path(repo_root) / "_config.yml"
    if not config.is_file():
        return ""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    url = ((data.get("sphinx") or {}).get("config") or {}).get("html_baseurl") or ""
    return str(url).strip().rstrip("/")


@dataclass
class BookIndex:
    """What the roles of a lab refer to: page titles, labels and bibliography entries.

    Attributes
    ----------
    titles : dict
        Page (``"chapters/01_double_descent"``) -> its first heading.
    labels : dict
        Label -> (page, kind, number or title): equations get their number on the page
        (Sphinx numbers labelled equations 1, 2, ... per page), section targets their title.
    cites : dict
        Bibliography key -> (authors as cited, year), e.g. ``("Power et al.", "2022")``.

    Examples
    --------
    >>> BookIndex.from_repo().titles["chapters/06_grokking"][:9]
    'Chapter 6'
    """

    titles: dict[str, str] = field(default_factory=dict)
    labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    cites: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    @functools.cache
    def from_repo(cls, repo_root: str | Path = REPO_ROOT) -> "BookIndex":
        """Read the pages in the order of ``_toc.yml`` (Sphinx numbers equations through the
        whole book in that order), and ``references.bib``."""
        root = Path(repo_root)
        index = cls()
        for page in _toc_pages(root):
            path = next((root / f"{page}{suffix}" for suffix in (".md", ".ipynb")
                         if (root / f"{page}{suffix}").is_file()), None)
            if path is None:
                continue
            if path.suffix == ".ipynb":
                nb = nbformat.read(path, as_version=4)
                text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
            else:
                text = path.read_text(encoding="utf-8")
            index._read_page(page, text)
        bib = root / "references.bib"
        if bib.is_file():
            index.cites = _read_bib(bib)
        return index

    def _read_page(self, page: str, text: str) -> None:
        heading = re.search(r"^#\s+(.+)$", text, re.M)
        if heading:
            self.titles[page] = heading.group(1).strip()
        # $$ ... $$ (label) and ```{math} with :label: eq-... number an equation.
        for match in re.finditer(r"^\$\$\s*\((?P<a>[\w-]+)\)\s*$|^:label:\s*(?P<b>eq[\w-]*)\s*$"
                                 r"|^\((?P<c>[\w-]+)\)=\s*\n+#+\s+(?P<title>.+)$", text, re.M):
            if match["a"] or match["b"]:
                self._equations += 1
                self.labels[match["a"] or match["b"]] = (page, "equation", str(self._equations))
            else:
                self.labels[match["c"]] = (page, "section", match["title"].strip())

    _equations: int = 0


def _toc_pages(root: Path) -> list[str]:
    """Every page of ``_toc.yml`` in book order, as a path without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []) + entry.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return pages


def _read_bib(path: Path) -> dict[str, tuple[str, str]]:
    """Key -> ("Last", "Last and Last" or "Last et al.", year) from a BibTeX file."""
    from pybtex.database import parse_file

    cites = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [re.sub(r"[{}]", "", " ".join(person.last_names)) for person in people]
        if not names:
            authors = re.sub(r"[{}]", "", entry.fields.get("organization", key))
        elif len(names) == 1:
            authors = names[0]
        elif len(names) == 2:
            authors = f"{names[0]} and {names[1]}"
        else:
            authors = f"{names[0]} et al."
        cites[key] = (authors, entry.fields.get("year", "n.d."))
    return cites


def _link(text: str, url: str, page: str, anchor: str = "") -> str:
    return f"[{text}]({url}/{page}.html{'#' + anchor if anchor else ''})" if url else text


def _cite(role: str, keys: str, index: BookIndex) -> str:
    found = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in index.cites:
            raise ValueError(f"{{{role}}}`{keys}` cites {key!r}, which references.bib lacks")
        found.append(index.cites[key])
    if role == "cite:t":
        return "; ".join(f"{authors} ({year})" for authors, year in found)
    return "(" + "; ".join(f"{authors}, {year}" for authors, year in found) + ")"


def render_roles(text: str, index: BookIndex, url: str, page_dir: str) -> str:
    """Replace every MyST role in markdown ``text`` by plain text or a link into the book.

    Parameters
    ----------
    text : str
        Markdown of a notebook cell (or a comment).
    index : BookIndex
        Titles, labels and citations of the book.
    url : str
        The book's address, or ``""`` for plain text only.
    page_dir : str
        The folder of the page the text is on (``"labs"``), to resolve relative ``{doc}``
        targets.

    Raises
    ------
    ValueError
        A role pointing at something the book lacks (a page, a label, a citation key).

    Examples
    --------
    >>> idx = BookIndex(titles={"chapters/x": "Chapter 9 · X"})
    >>> render_roles("See {doc}`../chapters/x`.", idx, "", "labs")
    'See Chapter 9 · X.'
    >>> render_roles("See {doc}`this <../chapters/x>`.", idx, "https://b.org", "labs")
    'See [this](https://b.org/chapters/x.html).'
    """
    def one(match: re.Match) -> str:
        role, content = match["role"], match["content"]
        explicit = _EXPLICIT.match(content)
        shown, target = (explicit["text"], explicit["target"]) if explicit else (None, content)
        if role.startswith("cite"):
            return _cite(role, content, index)
        if role == "doc":
            page = PurePosixPath(page_dir, target) if not target.startswith("/") else \
                PurePosixPath(target.lstrip("/"))
            page = _normalise(page)
            if page not in index.titles:
                raise ValueError(f"{{doc}}`{content}` points at {page!r}, which is not a page")
            return _link(shown or index.titles[page], url, page)
        if role in ("eq", "numref", "ref"):
            if target not in index.labels:
                raise ValueError(f"{{{role}}}`{content}` points at {target!r}, an unknown label")
            page, kind, value = index.labels[target]
            if kind == "equation":
                label = shown or f"equation ({value})"
                return _link(label, url, page, f"equation-{target}")
            return _link(shown or value, url, page, target)
        if role == "term":
            return shown or target
        return shown or target  # {math}, {sub}, ...: their text reads well enough

    return _ROLE.sub(one, text)


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts).removesuffix(".md").removesuffix(".ipynb")


def _parentheticals(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost ``( ... )`` in ``text``, end exclusive."""
    spans, depth, start = [], 0, 0
    for position, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = position
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, position + 1))
    return spans


def _clean_parenthetical(inner: str) -> str:
    """The clauses of a parenthetical that do not name tooling, rejoined ("" if none)."""
    kept = []
    for clause in re.split(r";\s*", inner):
        parts = [part for part in re.split(r",\s+", clause) if not TOOLING.search(part)]
        if parts:
            kept.append(", ".join(parts))
    return "; ".join(kept)


def drop_tooling(text: str) -> str:
    """Remove from ``text`` what names the course's tooling (:data:`TOOLING`).

    First the sentences of :data:`REWORDED`; then, inside each parenthetical, the clauses
    (split at ``;`` and ``,``) that name tooling, and the parenthetical itself if nothing is
    left; then any sentence that still names tooling. Line breaks of comments survive.

    Examples
    --------
    >>> drop_tooling("Lines (0.4 to 0.5, make portability) move.")
    'Lines (0.4 to 0.5) move.'
    >>> drop_tooling("A. CI runs it. B.")
    'A. B.'
    """
    for pattern, replacement in REWORDED.items():
        text = re.sub(pattern, replacement, text)
    if not TOOLING.search(text):
        return text
    for start, end in reversed(_parentheticals(text)):
        inner = text[start + 1:end - 1]
        if TOOLING.search(inner):
            cleaned = _clean_parenthetical(inner)
            if cleaned:
                text = text[:start + 1] + cleaned + text[end - 1:]
            else:
                before = text[:start].rstrip(" ")
                text = before + text[end:]
    # A sentence that still names tooling goes whole: from the end of the sentence before it
    # (or the paragraph's start) to its own full stop.
    while (match := TOOLING.search(text)):
        ends = [m.end() for m in re.finditer(r"[.!?]\s+|\n\s*\n|^", text[:match.start()])]
        start = ends[-1] if ends else 0
        stop = re.compile(r"[.!?](?=\s|$)|\n\s*\n").search(text, match.end())
        end = stop.end() if stop and text[stop.start()] in ".!?" else (stop.start() if stop else len(text))
        rest = text[end:]
        text = text[:start] + (rest.lstrip(" ") if start else rest.lstrip())
    return text


_COMMENT_LINE = re.compile(r"^(?P<prefix>\s*#\s?)(?P<text>.*)$")


def drop_tooling_in_comments(source: str) -> str:
    """:func:`drop_tooling` applied to the comments of Python ``source``, never to its code.

    Consecutive comment lines are treated as one text (a parenthetical may span them) and
    keep their indentation; a comment after code on the same line is treated on its own.

    Examples
    --------
    >>> print(drop_tooling_in_comments("# moves by 5 % (make portability), so\\n# rounded\\nx = 1"))
    # moves by 5 %, so
    # rounded
    x = 1
    """
    if not TOOLING.search(source):
        return source
    try:
        comments = {t.start[0] - 1: t for t in
                    tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type == tokenize.COMMENT}
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.split("\n")
    out: list[str] = []
    row = 0
    while row < len(lines):
        token = comments.get(row)
        if token is None:
            out.append(lines[row])
            row += 1
            continue
        col = token.start[1]
        if lines[row][:col].strip():  # code, then a comment
            if not TOOLING.search(token.string):
                out.append(lines[row])
            else:
                out.append(lines[row][:col] + "# " + drop_tooling(token.string[1:].strip()))
            row += 1
            continue
        block = []
        while row in comments and not lines[row][:comments[row].start[1]].strip():
            block.append(lines[row])
            row += 1
        if not any(TOOLING.search(line) for line in block):
            out += block
            continue
        prefix = _COMMENT_LINE.match(block[0])["prefix"]
        text = drop_tooling("\n".join(_COMMENT_LINE.match(line)["text"] for line in block))
        out += [prefix + line for line in text.split("\n") if line.strip()]
    return "\n".join(out)


def make_standalone(nb: nbformat.NotebookNode, lab: str | None = None,
                    repo_root: str | Path = REPO_ROOT, url: str | None = None) -> nbformat.NotebookNode:
    """Make a student notebook read well outside the book (modified in place and returned).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A student version (see :func:`coursetools.notebooks.student_version`).
    lab : str, optional
        The lab's file stem (``"06_grokking"``): the title cell then names the chapter that
        goes with it, linked when the book's address is known.
    repo_root : str or path-like
        The repository whose pages, labels and ``references.bib`` the roles refer to.
    url : str, optional
        The book's address; by default :func:`book_url`.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
    ...     "# Lab 6\\nAfter {cite:t}`power2022grokking`.")])
    >>> print(make_standalone(nb, url="").cells[0].source)
    # Lab 6
    After Power et al. (2022).
    """
    index = BookIndex.from_repo(Path(repo_root))
    url = book_url(repo_root) if url is None else url.rstrip("/")
    from coursetools.quoted import quoted_numbers, substitute

    numbers = quoted_numbers(repo_root)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = substitute(cell.source, numbers)
            cell.source = drop_tooling(render_roles(text, index, url, "labs"))
        elif cell.cell_type == "code":
            cell.source = drop_tooling_in_comments(cell.source)
    if lab is not None:
        _add_book_note(nb, lab, index, url)
    return nb


def _add_book_note(nb: nbformat.NotebookNode, lab: str, index: BookIndex, url: str) -> None:
    """A line under the title of the first markdown cell: where the book and the chapter are."""
    chapter = next((page for page in index.titles
                    if page.startswith("chapters/") and page.split("/")[1][:2] == lab[:2]), None)
    title = index.titles.get(chapter, "") if chapter else ""
    note = "*Student version: the solutions are removed.*"
    if url:
        note += f" The course's book is online at <{url}/intro.html>"
        note += f"; this lab's chapter is {_link(title, url, chapter)}." if chapter else "."
    elif chapter:
        note += (f" This lab's chapter in the course's book is *{title}* (ask your instructor "
                 "for the book's address).")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.split("\n")
            title = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
            lines.insert(title + 1, f"\n{note}")
            cell.source = "\n".join(lines)
            return
