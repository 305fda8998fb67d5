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
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from coursetools.notebooks import REPO_ROOT, cells_tagged, execute_notebook, read_notebook, \
    student_version

LABS = sorted((REPO_ROOT / "labs").glob("*.ipynb"))
LAB_PARAMS = [pytest.param(path, id=path.name) for path in LABS] or [
    pytest.param(None, marks=pytest.mark.skip(
        reason="no lab notebooks in labs/*.ipynb yet, so there is no student version to test"))
]
TIMEOUT_S = 300


@functools.cache
def student_of(path: Path) -> nbformat.NotebookNode:
    return student_version(read_notebook(path))


def code_lines(source: str) -> list[str]:
    """The lines of a cell that are code: not blank, not comments."""
    stripped = (line.strip() for line in source.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


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
        assert (theirs.cell_type, theirs.source) == (ours.cell_type, ours.source), (
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
