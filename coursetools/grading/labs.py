"""The reference labs, their exercises, and which lab a submission is for.

Example
-------
>>> from coursetools.notebooks import REPO_ROOT
>>> lab = load_labs(REPO_ROOT / "labs" / "00_first_experiment.ipynb")[0]
>>> lab.stem, [ex.label for ex in lab.exercises]
('00_first_experiment', ['Exercise 1', 'Exercise 2', 'Exercise 3'])
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from coursetools.notebooks import cells_tagged, exercise_header, read_notebook

__all__ = ["Exercise", "Lab", "load_labs", "find_lab", "identify_lab", "lab_number", "title",
           "label_of"]

_TITLE = re.compile(r"^#\s+(Lab\s+\d+)\b(.*)$", re.MULTILINE)
# Longest stretch of a cell read to find its exercise header: a header is one to a few
# comment lines, and a megabyte-long first line must not make matching slow.
_HEAD_CHARS = 4_000


@dataclass
class Exercise:
    """One exercise of a reference lab: its header and where its cells are."""

    label: str
    instruction: str
    header: str          # the first line, "# Exercise N: ..."
    solution: int        # index of the solution cell in the reference lab
    checks: list[int]    # indices of the check cells that follow it


@dataclass
class Lab:
    """A reference lab (the answer key) and its exercises."""

    path: Path
    nb: nbformat.NotebookNode
    title: str | None
    exercises: list[Exercise]

    @property
    def stem(self) -> str:
        return self.path.stem


def title(cells: Sequence[Any]) -> str | None:
    """The first markdown heading "# Lab N · ...", or None.

    Examples
    --------
    >>> title([nbformat.v4.new_markdown_cell("# Lab 3 · Tickets")])
    'Lab 3 · Tickets'
    """
    for cell in cells:
        if cell.cell_type == "markdown":
            match = _TITLE.search(cell.source[:_HEAD_CHARS])
            if match:
                return match.group(0).lstrip("#").strip()
    return None


def lab_number(text: str | None) -> str | None:
    """The N of "Lab N ...", or None.

    Examples
    --------
    >>> lab_number("Lab 5 · Offense"), lab_number("notes")
    ('5', None)
    """
    match = re.match(r"Lab\s+(\d+)", text or "")
    return match.group(1) if match else None


def label_of(source: str) -> tuple[str, str] | None:
    """(label, instruction) if the cell opens with an exercise header, else None.

    Examples
    --------
    >>> label_of("# Exercise 2: Do it.\\nx = 1")
    ('Exercise 2', 'Do it.')
    """
    try:
        return exercise_header(source.lstrip("\n")[:_HEAD_CHARS])
    except ValueError:
        return None


def first_line(source: str) -> str:
    """The first non-empty line of a cell, stripped (at most a few thousand characters)."""
    text = source.lstrip()[:_HEAD_CHARS]
    return text.splitlines()[0].strip() if text else ""


def _exercises(lab: nbformat.NotebookNode) -> list[Exercise]:
    found: list[Exercise] = []
    for index, cell in enumerate(lab.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            label, instruction = exercise_header(cell.source)
            header = cell.source.lstrip("\n").splitlines()[0].strip()
            found.append(Exercise(label, instruction, header, index, []))
        elif "check" in tags and found:
            found[-1].checks.append(index)
    return found


def load_labs(labs: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Lab]:
    """The reference labs with exercises in a folder (or a list of files).

    Raises
    ------
    ValueError
        If none of them has exercises.
    """
    if isinstance(labs, (str, os.PathLike)):
        labs = Path(labs)
        if not labs.exists():
            raise ValueError(f"there is no folder or notebook {labs} to take the reference "
                             "labs from (--labs-dir)")
        paths = sorted(labs.glob("*.ipynb")) if labs.is_dir() else [labs]
    else:
        paths = [Path(p) for p in labs]
    loaded = []
    for path in paths:
        nb = read_notebook(path)
        if not cells_tagged(nb, "solution"):
            continue  # not a lab with exercises
        loaded.append(Lab(path, nb, title(nb.cells), _exercises(nb)))
    if not loaded:
        raise ValueError(f"no reference lab with exercises found in {labs}")
    return loaded


def find_lab(lab: str | os.PathLike, labs: Sequence[Lab]) -> Lab:
    """The lab named by a path, a file name, a stem or "Lab N"; ValueError if none.

    Examples
    --------
    >>> from coursetools.notebooks import REPO_ROOT
    >>> find_lab("Lab 0", load_labs(REPO_ROOT / "labs")).stem
    '00_first_experiment'
    """
    text = str(lab)
    for candidate in labs:
        if text in (str(candidate.path), candidate.path.name, candidate.stem) or \
                Path(text).resolve() == candidate.path.resolve() or \
                (lab_number(text) is not None and lab_number(text) == lab_number(
                    candidate.title)):
            return candidate
    if Path(text).is_file():
        return load_labs(Path(text))[0]
    known = ", ".join(candidate.stem for candidate in labs)
    raise ValueError(f"no lab {text!r}; the labs are: {known}")


def identify_lab(submission: Any, labs: Sequence[Lab]) -> tuple[Lab | None, str]:
    """Find which reference lab a submission is for.

    In order: the notebook metadata key ``course_lab`` (a lab's file stem, which the student
    version records), then the title ``# Lab N · ...`` of the first markdown heading, then
    the exercise header lines (``# Exercise N: ...``) the submission shares with each lab.

    Returns
    -------
    (lab or None, how)
        ``how`` says what identified it (``"metadata"``, ``"title"``, ``"exercise headers"``)
        or, when no lab matched, why.
    """
    stem = submission.metadata.get("course_lab")
    if isinstance(stem, str):
        for lab in labs:
            if lab.stem == stem:
                return lab, "metadata"
    number = lab_number(title(submission.cells))
    if number is not None:
        for lab in labs:
            if lab_number(lab.title) == number:
                return lab, "title"
    headers = {first_line(cell.source) for cell in submission.cells
               if cell.cell_type == "code" and cell.source.strip()}
    scores = [(sum(ex.header in headers for ex in lab.exercises), i) for i, lab in enumerate(labs)]
    best, index = max(scores)
    if best > 0 and sum(score == best for score, _ in scores) == 1:
        return labs[index], "exercise headers"
    found = title(submission.cells)
    return None, (f"its title is {found!r}" if found else "it has no '# Lab N · ...' title") + \
        " and none of its cells starts with an exercise header of a known lab"
