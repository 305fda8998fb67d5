"""Reading a submitted notebook without trusting it.

Only what grading needs is read (cell types, sources, tags, the notebook's ``course_lab``
metadata); stored outputs are ignored and small departures from the notebook schema are
tolerated, since students' editors produce them. What cannot be read is a
:class:`NotANotebook` with a message a student can act on, never a grader error: a missing,
linked or oversized file, bytes that are not UTF-8, JSON nested too deeply to parse, JSON
without a list of cells. Lone surrogate characters (which JSON allows as ``\\ud800`` but no
file can store) are replaced by U+FFFD, and a note says so.

Example
-------
>>> from coursetools.notebooks import REPO_ROOT
>>> sub = load_submission(REPO_ROOT / "labs" / "00_first_experiment.ipynb")
>>> sub.cells[2].tags
['parameters']
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["NotANotebook", "Cell", "Submission", "load_submission", "DEFAULT_MAX_BYTES",
           "check_regular_file"]

DEFAULT_MAX_BYTES = 50 * 2**20       # larger files are refused before parsing
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotANotebook(ValueError):
    """The submitted file cannot be read as a notebook; the message says why."""


@dataclass
class Cell:
    """One cell of a submission: its type, source and tags."""

    cell_type: str
    source: str
    tags: list[str]


@dataclass
class Submission:
    """The cells of a submission, its notebook metadata, and notes on what was repaired."""

    cells: list[Cell]
    metadata: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def check_regular_file(path: Path) -> None:
    """Raise :class:`NotANotebook` unless ``path`` is a regular file reached without links.

    A symbolic link could point at the answer key (or at anything else on the grader's
    machine), so it is refused rather than followed.

    Examples
    --------
    >>> check_regular_file(Path("/nonexistent.ipynb"))
    Traceback (most recent call last):
    ...
    coursetools.grading.submission.NotANotebook: there is no file at /nonexistent.ipynb
    """
    if path.is_symlink():
        raise NotANotebook(f"{path.name} is a symbolic link, not a file; submit the notebook "
                           "itself")
    if not path.is_file():
        raise NotANotebook(f"there is no file at {path}")


def _clean(text: str, where: str, notes: list[str]) -> str:
    if _SURROGATE.search(text):
        notes.append(f"{where} held a lone surrogate character (not valid text); it was "
                     "replaced by U+FFFD")
        return _SURROGATE.sub("\ufffd", text)
    return text


def load_submission(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> Submission:
    """Read a submitted notebook leniently: its cells' types, sources and tags.

    Parameters
    ----------
    path : str or path-like
        The submitted file. It is only read, and never through a symbolic link.
    max_bytes : int
        Files larger than this are refused without being parsed.

    Returns
    -------
    Submission
        The cells (``cell_type``, ``source``, ``tags``), the notebook metadata and notes.

    Raises
    ------
    NotANotebook
        If the file is missing, a link, too large, not JSON, nested too deeply, or JSON
        without a list of cells.

    Examples
    --------
    >>> from coursetools.notebooks import REPO_ROOT
    >>> load_submission(REPO_ROOT / "labs" / "00_first_experiment.ipynb").cells[0].cell_type
    'markdown'
    """
    path = Path(path)
    check_regular_file(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise NotANotebook(
            f"the file is {size:,} bytes, above the grader's limit of {max_bytes:,} bytes "
            f"({max_bytes / 2**20:g} MiB); clear its outputs (Edit > Clear All Outputs) and "
            "submit again")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if not raw.strip():
        raise NotANotebook("the file is empty (or only blank space), so it is not a notebook; "
                           "was it saved before it was submitted?")
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise NotANotebook("the file is not text (not UTF-8), so it is not a notebook") from None
    except json.JSONDecodeError as err:
        raise NotANotebook(f"the file is not valid JSON ({err.msg} at line {err.lineno}, "
                           f"column {err.colno}), so it is not a notebook; was it saved "
                           "completely, or renamed from another format?") from None
    except RecursionError:
        raise NotANotebook("the file's JSON is nested too deeply to read, so it is not a "
                           "notebook Jupyter wrote") from None
    if not isinstance(data, dict):
        raise NotANotebook(f"the file is JSON but not a notebook (its top level is a "
                           f"{type(data).__name__}, not an object with cells)")
    if "worksheets" in data:  # nbformat 3: let nbformat convert it
        try:
            data = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
        except Exception as err:  # noqa: BLE001 - any failure means "not a notebook"
            raise NotANotebook(f"the file is an old-format notebook that cannot be "
                               f"converted ({type(err).__name__})") from None
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise NotANotebook("the file is JSON but not a notebook: it has no list of cells")
    notes: list[str] = []
    cells = []
    for number, raw_cell in enumerate(raw_cells, start=1):
        if not isinstance(raw_cell, dict):
            continue
        source = raw_cell.get("source", "")
        if isinstance(source, list):
            source = "".join(part for part in source if isinstance(part, str))
        elif not isinstance(source, str):
            source = ""
        metadata = raw_cell.get("metadata")
        tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
        tags = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
        cell_type = raw_cell.get("cell_type", "")
        cells.append(Cell(cell_type if isinstance(cell_type, str) else "",
                          _clean(source, f"cell {number}", notes),
                          [_clean(tag, f"a tag of cell {number}", notes) for tag in tags]))
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    lab = metadata.get("course_lab")
    metadata = {"course_lab": _clean(lab, "the notebook's metadata", notes)} \
        if isinstance(lab, str) else {}
    return Submission(cells, metadata, notes)
