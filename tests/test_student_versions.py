"""Every real lab yields a student version that hides the solutions and stops at Exercise 1.

A lab whose student version leaks a solution, or breaks before the first exercise, is a
defect. That a student version runs up to its first exercise is shown in two steps, so that
``make test`` does not execute every lab's opening cells a second time: the code before the
first stub is the lab's own code, cell for cell (which nbval runs in the same ``make test``),
and the stub alone, in a fresh kernel, raises the exercise's ``NotImplementedError``. One lab,
the cheapest, is also run end to end as a student would run it, as a witness that the two
steps add up.
"""
from __future__ import annotations

import copy
import functools
import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from coursetools.notebooks import REPO_ROOT, cells_tagged, execute_notebook, read_notebook, \
    student_version
from coursetools.standalone import TOOLING, BookIndex, drop_tooling, drop_tooling_in_comments, \
    make_standalone, render_roles

LABS = sorted((REPO_ROOT / "labs").glob("*.ipynb"))
LAB_PARAMS = [pytest.param(path, id=path.name) for path in LABS] or [
    pytest.param(None, marks=pytest.mark.skip(
        reason="no lab notebooks in labs/*.ipynb yet, so there is no student version to test"))
]
TIMEOUT_S = 300


@functools.cache
def student_of(path: Path) -> nbformat.NotebookNode:
    return student_version(read_notebook(path), path.stem)


def code_lines(source: str) -> list[str]:
    """The lines of a cell that are code: not blank, not comments."""
    stripped = (line.strip() for line in source.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def code_only(source: str) -> list[tuple[int, str]]:
    """The tokens of Python ``source`` without its comments (the student version may drop
    comments that name course tooling), or its lines if it does not tokenize."""
    try:
        return [(token.type, token.string) for token in
                tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type not in (tokenize.COMMENT, tokenize.NL)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [(0, line) for line in source.splitlines()]


def is_stub(cell: nbformat.NotebookNode) -> bool:
    lines = cell.source.strip().splitlines()
    return bool(lines) and lines[-1].startswith("raise NotImplementedError(")


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_no_solution_code_survives(path):
    student_code = "\n".join(cell.source for cell in student_of(path).cells
                             if cell.cell_type == "code")
    leaked = [
        (index, line)
        for index, cell in cells_tagged(read_notebook(path), "solution")
        for line in code_lines(cell.source)
        # Short lines ("x = 1", "plt.show()") may legitimately appear elsewhere in the lab.
        if len(line) > 20 and line in student_code
    ]
    assert not leaked, f"solution lines found in the student version of {path.name}: {leaked}"


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_one_stub_per_solution(path):
    solutions = cells_tagged(read_notebook(path), "solution")
    stubs = [index for index, cell in cells_tagged(student_of(path), "exercise") if is_stub(cell)]
    assert len(stubs) == len(solutions) > 0
    assert stubs == [index for index, _ in solutions]  # each stub where its solution was


def _first_stub(nb: nbformat.NotebookNode) -> int:
    return cells_tagged(nb, "exercise")[0][0]


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_student_version_runs_the_labs_own_code_up_to_the_first_exercise(path):
    lab, student = read_notebook(path), student_of(path)
    first = _first_stub(student)
    assert len(student.cells) == len(lab.cells)
    for index in range(first):
        ours, theirs = lab.cells[index], student.cells[index]
        if ours.cell_type == "markdown":  # rewritten to stand alone; only code must match
            continue
        assert (theirs.cell_type, code_only(theirs.source)) == (ours.cell_type, code_only(ours.source)), (
            f"{path.name}: cell {index} of the student version differs from the lab's, so the "
            "lab's nbval run no longer shows that the student version reaches Exercise 1")


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_first_stub_alone_raises_its_exercise(path):
    student = student_of(path)
    first = _first_stub(student)
    nb = nbformat.v4.new_notebook(cells=[copy.deepcopy(student.cells[first])])
    with pytest.raises(CellExecutionError) as info:
        execute_notebook(nb, cwd=path.parent, timeout=TIMEOUT_S)
    assert info.value.ename == "NotImplementedError"
    assert "Exercise 1" in info.value.evalue, info.value.evalue


WITNESS = REPO_ROOT / "labs" / "05_offense_defense.ipynb"


@pytest.mark.skipif(not WITNESS.exists(), reason=f"no {WITNESS.name} to run end to end")
def test_student_version_stops_at_the_first_exercise():
    nb = copy.deepcopy(student_of(WITNESS))  # execution writes into nb; keep the cache clean
    first_stub = _first_stub(nb)
    with pytest.raises(CellExecutionError) as info:
        execute_notebook(nb, cwd=WITNESS.parent, timeout=TIMEOUT_S)
    errors = [index for index, cell in enumerate(nb.cells)
              if any(out.output_type == "error" for out in cell.get("outputs", []))]
    assert errors, f"{WITNESS.name}: the run failed without an error output: {info.value}"
    assert errors[0] == first_stub, (
        f"{WITNESS.name}: the student version failed in cell {errors[0]} before reaching the "
        f"first exercise (cell {first_stub}): {info.value.ename}: {info.value.evalue}"
    )
    assert info.value.ename == "NotImplementedError"
    for index, cell in enumerate(nb.cells[:first_stub]):
        if cell.cell_type == "code" and cell.source.strip():
            assert cell.execution_count is not None, f"cell {index} did not run"


# ---------------------------------------------------------------------------------------------
# Standing alone: what a student sees in JupyterLab, away from the book and the repository
# ---------------------------------------------------------------------------------------------

RAW_ROLE = re.compile(r"\{[a-z][\w:+-]*\}`")
RAW_SUBSTITUTION = re.compile(r"\{\{\s*\w+\s*\}\}")  # {{ name }}: coursetools.quoted


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_student_version_shows_no_myst_role_and_no_course_tooling(path):
    """No {doc}/{cite:t}/{eq}... left raw, and nothing the handout lacks (make bench, CI,
    chapters/figures/...), in any cell, markdown or code."""
    found = []
    for index, cell in enumerate(student_of(path).cells):
        for pattern in (RAW_ROLE, RAW_SUBSTITUTION, TOOLING):
            found += [(index, match.group(0)) for match in pattern.finditer(cell.source)]
    assert not found, f"{path.name}: the student version still shows {found}"


def test_the_labs_themselves_have_roles_and_tooling_to_remove():
    """The scan above has something to find: the labs, as the book shows them, use both."""
    text = "".join(cell.source for path in LABS for cell in read_notebook(path).cells)
    assert RAW_ROLE.search(text) and TOOLING.search(text)


@pytest.mark.parametrize("path", LAB_PARAMS)
def test_student_version_says_where_the_book_is(path):
    title = student_of(path).cells[0].source
    assert title.lstrip().startswith("# ") and "Student version" in title
    assert re.search(r"Chapter \d", title), f"{path.name}: the title cell names no chapter"
    linked = make_standalone(student_version(read_notebook(path), standalone=False), path.stem,
                             url="https://example.org/sdl/")
    note = linked.cells[0].source
    assert "<https://example.org/sdl/intro.html>" in note
    assert f"(https://example.org/sdl/chapters/{path.stem[:2]}" in note
    links = re.findall(r"\]\(([^)]+)\)", "".join(cell.source for cell in linked.cells
                                              if cell.cell_type == "markdown"))
    assert all(link.startswith(("https://", "http://", "#")) for link in links), links


def test_roles_render_as_the_book_renders_them():
    index = BookIndex.from_repo()
    render = functools.partial(render_roles, index=index, url="", page_dir="labs")
    assert render("{cite:t}`power2022grokking`") == "Power et al. (2022)"
    assert render("{cite:p}`frankle2019lottery,zhou2019deconstructing`") == \
        "(Frankle and Carbin, 2019; Zhou et al., 2019)"
    assert render("{doc}`../chapters/06_grokking`").startswith("Chapter 6 · Grokking")
    assert render("{doc}`the chapter <../chapters/06_grokking>`") == "the chapter"
    # Sphinx numbers equations through the whole book in the order of _toc.yml
    assert render("{eq}`eq-learning-time`") == "equation (1)"
    assert render("{eq}`eq-kl-gauss`") == "equation (13)"
    assert render("{term}`grokking`") == "grokking"
    linked = render_roles("{eq}`eq-kl-gauss`", index, "https://b.org", "labs")
    assert linked == "[equation (13)](https://b.org/chapters/02_generalization_bounds.html#equation-eq-kl-gauss)"
    with pytest.raises(ValueError, match="references.bib lacks"):
        render("{cite:t}`nobody2099`")
    with pytest.raises(ValueError, match="not a page"):
        render("{doc}`../chapters/nowhere`")


def test_equation_numbers_match_the_built_book(book):
    """The student version's equation numbers are the ones the book prints."""
    index = BookIndex.from_repo()
    for label, (page, kind, number) in index.labels.items():
        if kind != "equation":
            continue
        html = (book.html / f"{page}.html").read_text()
        shown = re.search(rf'id="equation-{re.escape(label)}".*?\((\d+)\)', html, re.S)
        assert shown and shown.group(1) == number, (label, page, number, shown and shown.group(1))


@pytest.mark.parametrize("text, expected", [
    ("runs in 20 s (measured by `make bench`; see the notes).", "runs in 20 s (see the notes)."),
    ("runs in 20 s (measured by `make bench`).", "runs in 20 s."),
    ("set ($nK$ = 750, `python chapters/figures/x.py`, output in `chapters/figures/y.txt`) ok",
     "set ($nK$ = 750) ok"),
    ("One. CI runs every lab on each change. Two.", "One. Two."),
    ("The lab exists; CI re-runs the notebook and fails if one stops holding.",
     "The lab exists; the cell below fails if one stops holding."),
    ("Nothing to change (0.4 to 0.5).", "Nothing to change (0.4 to 0.5)."),
])
def test_tooling_mentions_are_dropped(text, expected):
    assert drop_tooling(text) == expected


def test_tooling_in_comments_leaves_code_alone():
    source = 'x = "make bench"  # timed (make bench)\n# moves 5 % (make portability), so\n# round\ny = 1'
    assert drop_tooling_in_comments(source) == 'x = "make bench"  # timed\n# moves 5 %, so\n# round\ny = 1'
