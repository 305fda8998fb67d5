"""Grade submitted student notebooks: run each exercise against the lab's own checks.

The grader takes a student's notebook (the student version of a lab, with their code in the
exercise cells) and the reference lab from ``labs/``, and builds a *graded notebook*: the
reference lab, cell for cell, with each ``solution`` cell replaced by the student's cell(s) for
that exercise. The reference ``check`` cells follow each exercise, so a check that the
student deleted or edited is graded as the lab wrote it; every other cell (parameters, data,
training, claims) is the reference's, so changes a student made outside the exercise cells
do not count. The graded notebook runs top to bottom in a fresh kernel, with a time limit,
in a temporary folder that holds a copy of the submission; the submitted file is never
opened for writing, and nothing from it runs outside that kernel.

Each exercise gets one of these outcomes:

``passed``
    the student's cell ran and every check after it passed;
``failed``
    a check raised (its message is reported), or the student's cell raised an error;
``not attempted``
    the cell still raises ``NotImplementedError`` (the stub of the student version);
``missing``
    no code cell of the submission starts with the exercise's ``# Exercise N:`` header line
    (it was deleted, or its header renamed) and no tagged cell stands in for it;
``not run``
    the run stopped (time limit, dead kernel) before the exercise.

When an exercise does not pass, the reference solution runs right after its checks (and the
checks again, silently), so that later exercises and the claims are graded on their own, not
on the consequences of an earlier mistake. The report says which exercises were replaced.
The lab's ``claims`` cell runs last; its outcome is reported too.

The grader defends against edited or deleted checks and against changes outside exercise
cells; it is not a sandbox. Code in the exercise cells runs with the grader's user rights,
so grade untrusted submissions inside a container or a throw-away account.

Command line (exit status below)::

    python -m coursetools.grader submission.ipynb                 # text report, JSON in _build/grades
    python -m coursetools.grader submission.ipynb --lab labs/00_first_experiment.ipynb
    python -m coursetools.grader --dir submissions/ --csv grades.csv   # a folder into one CSV

Exit status of a single grading: 0 every exercise passed and the claims hold; 1 graded, but
some exercise did not pass or the claims failed; 2 bad command-line arguments; 3 the run
stopped early (time limit or dead kernel; the report covers what ran); 4 the file cannot be
graded (not a notebook, or not a submission for the lab); 5 an error inside the grader
itself (a bug: the report says so). Batch mode exits 0 once the CSV is written (each row
holds its own exit status), 2 on bad arguments.

Example
-------
>>> report = grade("submissions/alice.ipynb")  # doctest: +SKIP
>>> print(format_text(report))  # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import difflib
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from coursetools.notebooks import REPO_ROOT, cells_tagged, exercise_header, read_notebook

__all__ = [
    "ExerciseResult",
    "Report",
    "EXIT_CODES",
    "load_submission",
    "identify_lab",
    "grade",
    "grade_folder",
    "format_text",
    "main",
]

#: Exit status of ``python -m coursetools.grader`` for one submission, by report status.
EXIT_CODES = {
    "passed": 0,          # graded: every exercise passed and the claims hold
    "graded": 1,          # graded: some exercise did not pass, or the claims failed
    "usage": 2,           # bad command-line arguments (argparse's own convention)
    "timeout": 3,         # the run hit the time limit: partial report
    "kernel_died": 3,     # the kernel died (os._exit, out of memory, ...): partial report
    "invalid_notebook": 4,  # not a readable notebook
    "wrong_lab": 4,       # a notebook, but not a submission for this lab (or for any lab)
    "grader_error": 5,    # a bug in the grader; the report holds the traceback
}

DEFAULT_TIMEOUT_S = 600.0            # wall time allowed for one whole run
DEFAULT_MAX_OUTPUT_CHARS = 1_000_000  # output kept per cell (figures count); the rest is dropped
DEFAULT_MAX_BYTES = 50 * 2**20       # larger files are refused before parsing
MESSAGE_CHARS = 1_000                # longest message quoted in a report

# Cells the grader adds: re-bind the checks' names, in case an exercise cell rebound them.
_GUARD = "from utils.checks import *  # grader: the checks as the lab imports them"


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class ExerciseResult:
    """The outcome of one exercise.

    Attributes
    ----------
    label : str
        ``"Exercise N"``.
    instruction : str
        The exercise's instruction, from the reference lab.
    status : str
        ``"passed"``, ``"failed"``, ``"not attempted"``, ``"missing"`` or ``"not run"``.
    message : str
        What the check said (the ``✓`` lines when it passed, its error when it failed), or
        why the exercise has its status.
    replaced : bool
        True if the reference solution ran after the exercise, so that later cells could run.
    """

    label: str
    instruction: str
    status: str = "not run"
    message: str = ""
    replaced: bool = False


@dataclass
class Report:
    """Everything the grader found about one submission; see :func:`grade`.

    ``status`` is ``"graded"`` when the run reached its end, else ``"timeout"``,
    ``"kernel_died"``, ``"invalid_notebook"``, ``"wrong_lab"`` or ``"grader_error"``;
    :attr:`exit_code` maps it (and the results) to the command's exit status.
    """

    submission: str
    status: str
    message: str = ""
    lab: str | None = None
    lab_title: str | None = None
    identified_by: str | None = None
    exercises: list[ExerciseResult] = field(default_factory=list)
    claims: str = "not run"           # "passed", "failed" or "not run"
    claims_message: str = ""
    lab_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    truncated_cells: int = 0
    graded_notebook: str | None = None

    @property
    def n_passed(self) -> int:
        return sum(ex.status == "passed" for ex in self.exercises)

    @property
    def all_passed(self) -> bool:
        return (self.status == "graded" and bool(self.exercises)
                and self.n_passed == len(self.exercises) and self.claims == "passed")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES["passed"] if self.all_passed else EXIT_CODES[self.status]

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (what the JSON file holds)."""
        data = dataclasses.asdict(self)
        data.update(n_exercises=len(self.exercises), n_passed=self.n_passed,
                    exit_code=self.exit_code)
        return data


def _clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = _ANSI.sub("", str(text)).strip()
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit} more characters cut by the grader]"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------------------------
# Reading a submission without trusting it
# --------------------------------------------------------------------------------------------


class NotANotebook(ValueError):
    """The submitted file cannot be read as a notebook; the message says why."""


@dataclass
class _Cell:
    cell_type: str
    source: str
    tags: list[str]


@dataclass
class _Submission:
    cells: list[_Cell]
    metadata: dict[str, Any]


def load_submission(path: str | os.PathLike,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> _Submission:
    """Read a submitted notebook leniently: its cells' types, sources and tags.

    Only what grading needs is read (stored outputs are ignored), and small departures from
    the notebook schema are tolerated, since students' editors produce them.

    Parameters
    ----------
    path : str or path-like
        The submitted file. It is only read.
    max_bytes : int
        Files larger than this are refused without being parsed.

    Returns
    -------
    _Submission
        The cells (``cell_type``, ``source``, ``tags``) and the notebook metadata.

    Raises
    ------
    NotANotebook
        If the file is missing, too large, not JSON, or JSON without a list of cells.

    Examples
    --------
    >>> sub = load_submission(REPO_ROOT / "labs" / "00_first_experiment.ipynb")
    >>> sub.cells[2].tags
    ['parameters']
    """
    path = Path(path)
    if not path.is_file():
        raise NotANotebook(f"there is no file at {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise NotANotebook(
            f"the file is {size / 2**20:.0f} MiB, above the grader's limit of "
            f"{max_bytes / 2**20:.0f} MiB; clear its outputs (Edit > Clear All Outputs) and "
            "submit again")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotANotebook("the file is not text (not UTF-8), so it is not a notebook") from None
    except json.JSONDecodeError as err:
        raise NotANotebook(f"the file is not valid JSON ({err.msg} at line {err.lineno}, "
                           f"column {err.colno}), so it is not a notebook; was it saved "
                           "completely, or renamed from another format?") from None
    if not isinstance(data, dict):
        raise NotANotebook(f"the file is JSON but not a notebook (its top level is a "
                           f"{type(data).__name__}, not an object with cells)")
    if "worksheets" in data:  # nbformat 3: let nbformat convert it
        try:
            data = json.loads(nbformat.writes(nbformat.reads(raw.decode("utf-8-sig"),
                                                             as_version=4)))
        except Exception as err:  # noqa: BLE001 - any failure means "not a notebook"
            raise NotANotebook(f"the file is an old-format notebook that cannot be "
                               f"converted ({type(err).__name__})") from None
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise NotANotebook("the file is JSON but not a notebook: it has no list of cells")
    cells = []
    for raw_cell in raw_cells:
        if not isinstance(raw_cell, dict):
            continue
        source = raw_cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        metadata = raw_cell.get("metadata")
        tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
        cells.append(_Cell(str(raw_cell.get("cell_type", "")), str(source),
                           [str(tag) for tag in tags] if isinstance(tags, list) else []))
    metadata = data.get("metadata")
    return _Submission(cells, metadata if isinstance(metadata, dict) else {})


# --------------------------------------------------------------------------------------------
# The reference lab and its exercises
# --------------------------------------------------------------------------------------------


@dataclass
class _Exercise:
    label: str
    instruction: str
    header: str          # the first line, "# Exercise N: ..."
    solution: int        # index of the solution cell in the reference lab
    checks: list[int]    # indices of the check cells that follow it


_TITLE = re.compile(r"^#\s+(Lab\s+\d+)\b(.*)$", re.MULTILINE)


def _title(cells: Sequence[Any]) -> str | None:
    """The first markdown heading "# Lab N · ...", or None."""
    for cell in cells:
        if cell.cell_type == "markdown":
            match = _TITLE.search(cell.source)
            if match:
                return match.group(0).lstrip("#").strip()
    return None


def _lab_number(title: str | None) -> str | None:
    match = re.match(r"Lab\s+(\d+)", title or "")
    return match.group(1) if match else None


def _label(source: str) -> tuple[str, str] | None:
    try:
        return exercise_header(source)
    except ValueError:
        return None


def _exercises(lab: nbformat.NotebookNode) -> list[_Exercise]:
    found: list[_Exercise] = []
    for index, cell in enumerate(lab.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            label, instruction = exercise_header(cell.source)
            header = cell.source.lstrip("\n").splitlines()[0].strip()
            found.append(_Exercise(label, instruction, header, index, []))
        elif "check" in tags and found:
            found[-1].checks.append(index)
    return found


@dataclass
class _Lab:
    path: Path
    nb: nbformat.NotebookNode
    title: str | None
    exercises: list[_Exercise]

    @property
    def stem(self) -> str:
        return self.path.stem


def _load_labs(labs: str | os.PathLike | Sequence[str | os.PathLike]) -> list[_Lab]:
    if isinstance(labs, (str, os.PathLike)):
        labs = Path(labs)
        paths = sorted(labs.glob("*.ipynb")) if labs.is_dir() else [labs]
    else:
        paths = [Path(p) for p in labs]
    loaded = []
    for path in paths:
        nb = read_notebook(path)
        if not cells_tagged(nb, "solution"):
            continue  # not a lab with exercises
        loaded.append(_Lab(path, nb, _title(nb.cells), _exercises(nb)))
    if not loaded:
        raise ValueError(f"no reference lab with exercises found in {labs}")
    return loaded


def identify_lab(submission: _Submission, labs: Sequence[_Lab]) -> tuple[_Lab | None, str]:
    """Find which reference lab a submission is for.

    In order: the notebook metadata key ``course_lab`` (a lab's file stem, which the student
    version can record), then the title ``# Lab N · ...`` of the first markdown heading, then
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
    number = _lab_number(_title(submission.cells))
    if number is not None:
        for lab in labs:
            if _lab_number(lab.title) == number:
                return lab, "title"
    headers = {cell.source.lstrip("\n").splitlines()[0].strip()
               for cell in submission.cells if cell.cell_type == "code" and cell.source.strip()}
    scores = [(sum(ex.header in headers for ex in lab.exercises), i) for i, lab in enumerate(labs)]
    best, index = max(scores)
    if best > 0 and sum(score == best for score, _ in scores) == 1:
        return labs[index], "exercise headers"
    title = _title(submission.cells)
    return None, (f"its title is {title!r}" if title else "it has no '# Lab N · ...' title") + \
        " and none of its cells starts with an exercise header of a known lab"


# --------------------------------------------------------------------------------------------
# The student's exercise cells
# --------------------------------------------------------------------------------------------


def _student_cells(submission: _Submission, lab: _Lab,
                   notes: list[str]) -> dict[str, list[str]]:
    """Exercise label -> the sources of the submission's cells for it, in order."""
    code = [(i, c) for i, c in enumerate(submission.cells) if c.cell_type == "code"]
    by_label: dict[str, list[str]] = {ex.label: [] for ex in lab.exercises}
    used: set[int] = set()
    for i, cell in code:
        found = _label(cell.source)
        if found and found[0] in by_label:
            by_label[found[0]].append(cell.source)
            used.add(i)
    # A cell still tagged as an exercise whose header was renamed stands in for a missing one.
    unmatched = [ex.label for ex in lab.exercises if not by_label[ex.label]]
    tagged = [(i, c) for i, c in code if i not in used
              and {"exercise", "solution"} & set(c.tags) and not _label(c.source)]
    headers = {ex.label: ex.header for ex in lab.exercises}
    if unmatched and len(tagged) == len(unmatched):  # as many as are missing: by position
        pairs = list(zip(unmatched, tagged))
    else:  # otherwise by resemblance of the first line to the header it replaces
        pairs = []
        for i, cell in tagged:
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            left = [label for label in unmatched if label not in dict(pairs)]
            ratios = {label: difflib.SequenceMatcher(None, first, headers[label]).ratio()
                      for label in left}
            if ratios and max(ratios.values()) >= 0.5:
                pairs.append((max(ratios, key=ratios.get), (i, cell)))
    for label, (i, cell) in pairs:
        by_label[label].append(cell.source)
        used.add(i)
        first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        notes.append(f"{label}: its header line was changed (now {_clip(first, 80)!r}); "
                     "the cell tagged as an exercise in its place was graded as it")
    for label, sources in by_label.items():
        if len(sources) > 1:
            notes.append(f"{label}: {len(sources)} cells start with its header; they ran "
                         "one after the other, in the submission's order")
    reference = {c.source.strip() for c in lab.nb.cells if c.cell_type == "code"}
    other = [i for i, c in code if i not in used and c.source.strip()
             and c.source.strip() not in reference and c.source.strip() != _GUARD]
    if other:
        notes.append(f"{len(other)} code cell(s) outside the exercises differ from the lab "
                     "(added or edited); the grader runs the lab's own cells there, so only "
                     "code inside exercise cells counts")
    return by_label


# --------------------------------------------------------------------------------------------
# Running the graded notebook
# --------------------------------------------------------------------------------------------


class _GradingClient(NotebookClient):
    """An nbclient client that keeps at most ``max_output_chars`` of output per cell."""

    def __init__(self, nb: nbformat.NotebookNode, max_output_chars: int, **kwargs: Any):
        super().__init__(nb, **kwargs)
        self.max_output_chars = max_output_chars
        self.kept: dict[int, int] = {}
        self.truncated: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 - nbclient's hook
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not outs or outs[-1] is not out:
            return out
        if out.output_type == "error":  # always kept (the grader reads it), but clipped
            out.evalue = _clip(out.evalue, self.max_output_chars // 2)
            out.traceback = [_clip(line, 2_000) for line in out.traceback[-20:]]
            return out
        if out.output_type == "stream":
            size = len(out.text)
        else:
            size = sum(len(str(value)) for value in out.get("data", {}).values())
        kept = self.kept.get(cell_index, 0)
        if kept + size <= self.max_output_chars:
            self.kept[cell_index] = kept + size
            return out
        outs.pop()
        if cell_index not in self.truncated:
            self.truncated.add(cell_index)
            room = self.max_output_chars - kept
            if out.output_type == "stream" and room > 0:
                outs.append(nbformat.v4.new_output("stream", name=out.name,
                                                   text=out.text[:room]))
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"\n[grader: output of this cell cut after {self.max_output_chars} "
                     "characters]\n"))
        self.kept[cell_index] = self.max_output_chars
        return None


def _code(source: str, role: str, label: str | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"grader": {"role": role,
                                                                  "exercise": label}})


def _error(cell: nbformat.NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", ""), out.get("evalue", "")
    return None


def _printed(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([old] if old else []))
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


_KERNEL_LOG = ".kernel.log"


def _exit_status(client: NotebookClient) -> str:
    """How the kernel process ended, in words, or "" if that cannot be told."""
    try:
        code = client.km.provisioner.process.poll()  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - best effort: no provisioner, no process
        return ""
    if code is None:
        return ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        oom = " (on Linux usually the out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"the kernel process was killed by {name}{oom}"
    return f"the kernel process exited with status {code}"


def _kernel_log(workdir: Path, lines: int = 5) -> str:
    """The last lines the kernel process wrote itself (not a cell's output), minus noise."""
    try:
        text = (workdir / _KERNEL_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines()
            if line.strip() and "without encryption" not in line]
    return _clip(" | ".join(kept[-lines:]), 500)


def _run(lab: _Lab, student: dict[str, list[str]], report: Report, workdir: Path,
         timeout: float, max_output_chars: int, graded: nbformat.NotebookNode) -> None:
    """Run the graded notebook cell by cell (appending to ``graded``); fill in ``report``."""
    client = _GradingClient(graded, max_output_chars, timeout=timeout, kernel_name="python3",
                            allow_errors=True, record_timing=False, interrupt_on_timeout=False,
                            resources={"metadata": {"path": str(workdir)}})
    deadline = math.inf  # set once the kernel is up: start-up does not count
    client.timeout_func = lambda cell: max(1, math.ceil(deadline - time.monotonic()))
    results = {ex.label: ExerciseResult(ex.label, ex.instruction) for ex in lab.exercises}
    report.exercises = list(results.values())
    solution_of = {ex.solution: ex for ex in lab.exercises}
    last_check = {(ex.checks[-1] if ex.checks else ex.solution): ex for ex in lab.exercises}

    def run(cell: nbformat.NotebookNode, where: str,
            label: str | None = None) -> nbformat.NotebookNode:
        """Run one cell; ``label`` names the exercise whose student code it is."""
        graded.cells.append(cell)
        try:
            if time.monotonic() >= deadline:
                raise CellTimeoutError(f"no time left before {where}")
            client.execute_cell(cell, len(graded.cells) - 1)
        except CellTimeoutError:
            if label is not None:
                results[label].status = "failed"
                results[label].message = (f"the time limit ({timeout:.0f} s) ran out in this "
                                          "code: an endless loop, or far too slow?")
            raise CellTimeoutError(f"the time limit ({timeout:.0f} s) ran out in {where}") \
                from None
        except DeadKernelError:
            how = _exit_status(client)
            if label is not None:
                results[label].status = "failed"
                results[label].message = "the kernel died while running this code" + (
                    f" ({how})" if how else "")
            raise DeadKernelError(f"the kernel died in {where}" + (f"; {how}" if how else "")) \
                from None
        return cell

    def replace(ex: _Exercise) -> None:
        """Run the reference solution and its checks so later cells can run."""
        results[ex.label].replaced = True
        run(_code(lab.nb.cells[ex.solution].source, "reference solution", ex.label),
            f"the reference solution of {ex.label}")
        for index in ex.checks:
            run(_code(_GUARD, "guard", ex.label), f"the checks of {ex.label}")
            run(_code(lab.nb.cells[index].source, "reference check (re-run)", ex.label),
                f"the checks of {ex.label}")

    current: str | None = None  # the exercise whose checks are running
    # The kernel process's own output (start-up warnings, a crash's last words) goes to a log
    # in the temporary folder rather than to the instructor's terminal; see _kernel_log.
    with open(workdir / _KERNEL_LOG, "wb") as log, \
            client.setup_kernel(env=_kernel_env(), cwd=str(workdir), stdout=log, stderr=log):
        deadline = time.monotonic() + timeout
        for index, ref_cell in enumerate(lab.nb.cells):
            if ref_cell.cell_type != "code":
                graded.cells.append(copy.deepcopy(ref_cell))
                continue
            tags = ref_cell.get("metadata", {}).get("tags", [])
            if index in solution_of:
                ex = solution_of[index]
                result = results[ex.label]
                current = ex.label
                sources = student.get(ex.label, [])
                if not sources:
                    result.status, result.message = "missing", (
                        f"no code cell starts with the header line {_clip(ex.header, 80)!r}; "
                        "the exercise cell was deleted or its first line changed")
                for source in sources:
                    cell = run(_code(source, "student exercise", ex.label),
                               f"your code for {ex.label}", ex.label)
                    error = _error(cell)
                    if error and result.status == "not run":
                        if error[0] == "NotImplementedError":
                            result.status = "not attempted"
                            result.message = "the cell still raises NotImplementedError"
                        else:
                            result.status = "failed"
                            result.message = _clip(f"your code raised {error[0]}: {error[1]}")
            elif "check" in tags and current is not None:
                result = results[current]
                if result.status == "not run":  # the student's code ran: check it
                    run(_code(_GUARD, "guard", current), f"the checks of {current}")
                    cell = run(_code(ref_cell.source, "reference check", current),
                               f"the checks of {current}")
                    error = _error(cell)
                    if error:
                        result.status = "failed"
                        result.message = _clip(error[1] if error[0] == "CheckFailed" else
                                               f"the check could not run: {error[0]}: {error[1]}")
                    else:
                        result.message = _clip(" ".join(
                            line.strip() for line in _printed(cell).splitlines()
                            if line.strip().startswith("✓")) or "the checks passed")
            else:
                role = "claims" if "claims" in tags else "lab"
                cell = run(_code(ref_cell.source, role), "the claims cell" if role == "claims"
                           else f"cell {index} of the lab")
                error = _error(cell)
                if role == "claims":
                    report.claims = "failed" if error else "passed"
                    report.claims_message = _clip(f"{error[0]}: {error[1]}" if error
                                                  else _printed(cell))
                elif error:
                    first = ref_cell.source.strip().splitlines()[0]
                    report.lab_errors.append(_clip(
                        f"lab cell {index} ({first[:60]}) raised {error[0]}: {error[1]}", 400))
            if index in last_check:
                ex = last_check[index]
                result = results[ex.label]
                if result.status == "not run":
                    result.status = "passed"
                if result.status != "passed":
                    replace(ex)
                current = None


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------


def _find_lab(lab: str | os.PathLike, labs: Sequence[_Lab]) -> _Lab:
    text = str(lab)
    for candidate in labs:
        if text in (str(candidate.path), candidate.path.name, candidate.stem) or \
                Path(text).resolve() == candidate.path.resolve() or \
                (_lab_number(text) is not None and _lab_number(text) == _lab_number(
                    candidate.title)):
            return candidate
    if Path(text).is_file():
        return _load_labs(Path(text))[0]
    known = ", ".join(candidate.stem for candidate in labs)
    raise ValueError(f"no lab {text!r}; the labs are: {known}")


def grade(path: str | os.PathLike, lab: str | os.PathLike | None = None,
          labs_dir: str | os.PathLike = REPO_ROOT / "labs",
          timeout: float = DEFAULT_TIMEOUT_S,
          max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
          max_bytes: int = DEFAULT_MAX_BYTES,
          out_dir: str | os.PathLike | None = None, name: str | None = None) -> Report:
    """Grade one submitted notebook; never raises for a bad submission.

    Parameters
    ----------
    path : str or path-like
        The submitted notebook. It is copied into a temporary folder, which is the kernel's
        working directory; the file itself is never written.
    lab : str or path-like, optional
        The lab it must be a submission for: a path, a file name, a stem
        (``"00_first_experiment"``) or ``"Lab 0"``. By default the lab is identified from the
        submission (see :func:`identify_lab`) among the labs in ``labs_dir``.
    labs_dir : str or path-like
        Folder of the reference labs (default: the course's ``labs/``).
    timeout : float
        Seconds of wall time for the whole run, kernel start-up excluded.
    max_output_chars : int
        Output kept per cell; the rest is dropped and the report counts the cells cut.
    max_bytes : int
        Submissions larger than this are refused unread.
    out_dir : str or path-like, optional
        If given, the executed graded notebook is saved there as ``<name>.graded.ipynb``.
    name : str, optional
        File name stem for that notebook (default: the submission's stem).

    Returns
    -------
    Report
        See :class:`Report`; ``report.exit_code`` is the command's exit status.

    Raises
    ------
    ValueError
        Only for the grader's own arguments: no reference labs, an unknown ``lab``, a
        non-positive ``timeout``.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    labs = _load_labs(labs_dir) if lab is None or not Path(str(lab)).is_file() \
        else _load_labs(Path(str(lab)))
    wanted = _find_lab(lab, labs) if lab is not None else None
    start = time.monotonic()
    path = Path(path)
    report = Report(submission=str(path), status="graded")
    try:
        with tempfile.TemporaryDirectory(prefix="grade_") as tmp:
            workdir = Path(tmp)
            try:
                if not path.is_file():
                    raise NotANotebook(f"there is no file at {path}")
                copy_path = workdir / ("submission" + (path.suffix or ".ipynb"))
                shutil.copyfile(path, copy_path)
                submission = load_submission(copy_path, max_bytes=max_bytes)
            except NotANotebook as err:
                report.status, report.message = "invalid_notebook", str(err)
                return report
            found, how = identify_lab(submission, labs if wanted is None else
                                      list({id(x): x for x in labs + [wanted]}.values()))
            if wanted is not None and found is not None and found.path != wanted.path:
                report.status = "wrong_lab"
                report.message = (f"this is a submission for {found.title or found.stem} "
                                  f"(by its {how}), not for {wanted.title or wanted.stem}")
                return report
            if found is None and wanted is None:
                report.status = "wrong_lab"
                report.message = f"no lab matches this notebook: {how}"
                return report
            target = wanted or found
            assert target is not None
            report.lab, report.lab_title = target.stem, target.title
            report.identified_by = how if found is not None else "the --lab option"
            student = _student_cells(submission, target, report.notes)
            if found is None and not any(student.values()):
                report.status = "wrong_lab"
                report.message = (f"no cell of this notebook starts with an exercise header "
                                  f"of {target.title or target.stem} ('# Exercise N: ...'); "
                                  "is it a submission for this lab?")
                report.exercises = [ExerciseResult(ex.label, ex.instruction, "missing")
                                    for ex in target.exercises]
                return report
            graded = nbformat.v4.new_notebook(metadata=copy.deepcopy(target.nb.metadata))
            graded.metadata.pop("widgets", None)
            try:
                _run(target, student, report, workdir, timeout, max_output_chars, graded)
            except CellTimeoutError as err:
                report.status, report.message = "timeout", str(err)
            except DeadKernelError as err:
                report.status, report.message = "kernel_died", (
                    f"{err} (a cell called os._exit or exit the process, crashed the "
                    "interpreter, or ran out of memory)")
                last_words = _kernel_log(workdir)
                if last_words:
                    report.message += f"; the kernel's last log lines: {last_words}"
            report.truncated_cells = _count_truncated(report, graded)
            if report.status == "graded" and report.claims == "not run":
                report.claims_message = "the lab has no cell tagged 'claims'"
            if out_dir is not None:
                out = Path(out_dir)
                out.mkdir(parents=True, exist_ok=True)
                target_nb = out / f"{name or path.stem}.graded.ipynb"
                nbformat.write(graded, target_nb)
                report.graded_notebook = str(target_nb)
    except Exception:  # noqa: BLE001 - the grader reports its own bugs instead of crashing
        report.status = "grader_error"
        report.message = "the grader itself failed:\n" + _clip(traceback.format_exc(), 4000)
    finally:
        report.seconds = round(time.monotonic() - start, 1)
    return report


def _count_truncated(report: Report, graded: nbformat.NotebookNode) -> int:
    cut = sum(any("[grader: output of this cell cut" in out.get("text", "")
                  for out in cell.get("outputs", [])) for cell in graded.cells)
    if cut:
        report.notes.append(f"the output of {cut} cell(s) was longer than the grader keeps "
                            "and was cut")
    return cut


# --------------------------------------------------------------------------------------------
# Reports: text, JSON, CSV
# --------------------------------------------------------------------------------------------

_STATUS_LINE = {
    "graded": "graded",
    "timeout": "STOPPED: time limit",
    "kernel_died": "STOPPED: the kernel died",
    "invalid_notebook": "NOT GRADED: not a readable notebook",
    "wrong_lab": "NOT GRADED: not a submission for this lab",
    "grader_error": "NOT GRADED: error in the grader",
}


def format_text(report: Report) -> str:
    """The report as text for a person (the instructor, or the student).

    Examples
    --------
    >>> report = Report("alice.ipynb", "invalid_notebook", "the file is not valid JSON")
    >>> print(format_text(report))
    Submission: alice.ipynb
    Status:     NOT GRADED: not a readable notebook (0.0 s)
                the file is not valid JSON
    Exit status: 4
    """
    lines = [f"Submission: {report.submission}"]
    if report.lab:
        lines.append(f"Lab:        {report.lab_title or report.lab} ({report.lab}.ipynb; "
                     f"identified by {report.identified_by})")
    lines.append(f"Status:     {_STATUS_LINE[report.status]} ({report.seconds:.1f} s)")
    if report.message:
        lines += ["            " + line for line in report.message.splitlines()]
    if report.exercises:
        lines.append(f"Exercises:  {report.n_passed} of {len(report.exercises)} passed")
        width = max(len(ex.label) for ex in report.exercises)
        for ex in report.exercises:
            status = ex.status.upper() if ex.status == "failed" else ex.status
            message = " ".join(ex.message.split())
            lines.append(f"  {ex.label:<{width}}  {status:<13}  {message}".rstrip())
    if report.status != "invalid_notebook" and report.lab:
        replaced = [ex.label for ex in report.exercises if ex.replaced]
        claims = report.claims + (f" (with the reference solution in place of "
                                  f"{', '.join(replaced)})" if replaced and
                                  report.claims != "not run" else "")
        lines.append(f"Claims:     {claims}")
        if report.claims_message:
            lines.append("            " + " ".join(report.claims_message.split()))
    for error in report.lab_errors:
        lines.append(f"Lab error:  {error}")
    for note in report.notes:
        lines.append(f"Note:       {note}")
    if report.graded_notebook:
        lines.append(f"Graded notebook (the run, with outputs): {report.graded_notebook}")
    lines.append(f"Exit status: {report.exit_code}")
    return "\n".join(lines)


def _write_reports(report: Report, out_dir: Path, stem: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stem}.report.txt").write_text(format_text(report) + "\n", encoding="utf-8")
    (out_dir / f"{stem}.report.json").write_text(
        json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.is_file())


def grade_folder(folder: str | os.PathLike, csv_path: str | os.PathLike,
                 out_dir: str | os.PathLike | None = None, progress: bool = True,
                 **options: Any) -> list[Report]:
    """Grade every ``*.ipynb`` under ``folder`` (recursively) into one CSV file.

    Parameters
    ----------
    folder : str or path-like
        The submissions, e.g. one file per student or one sub-folder per student.
    csv_path : str or path-like
        The CSV to write: one row per submission with its path, lab, status, exit status,
        number of exercises passed, one column per exercise, the claims' outcome, the time
        taken and the report's message.
    out_dir : str or path-like, optional
        Where each submission's text and JSON report and graded notebook go (names from the
        submission's path inside ``folder``).
    progress : bool
        Print one line per submission as it is graded.
    **options
        Passed to :func:`grade` (``lab``, ``labs_dir``, ``timeout``, ...).

    Returns
    -------
    list of Report

    Examples
    --------
    >>> grade_folder("submissions", "grades.csv")  # doctest: +SKIP
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of submissions")
    paths = _submissions(folder)
    if not paths:
        raise ValueError(f"no notebooks (*.ipynb) under {folder}")
    reports = []
    for k, path in enumerate(paths, start=1):
        stem = "__".join(path.relative_to(folder).with_suffix("").parts)
        report = grade(path, out_dir=out_dir, name=stem, **options)
        report.submission = str(path.relative_to(folder))
        reports.append(report)
        if out_dir is not None:
            _write_reports(report, Path(out_dir), stem)
        if progress:
            print(f"[{k}/{len(paths)}] {report.submission}: {report.status}, "
                  f"{report.n_passed}/{len(report.exercises)} exercises passed, claims "
                  f"{report.claims} ({report.seconds:.0f} s)", flush=True)
    labels: list[str] = []
    for report in reports:
        labels += [ex.label for ex in report.exercises if ex.label not in labels]
    labels.sort(key=lambda label: [int(n) if n.isdigit() else n
                                   for n in re.split(r"(\d+)", label)])
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "lab", "status", "exit_code", "passed", "exercises",
                         *labels, "claims", "seconds", "message"])
        for report in reports:
            status = {ex.label: ex.status for ex in report.exercises}
            writer.writerow([report.submission, report.lab or "", report.status,
                             report.exit_code, report.n_passed, len(report.exercises),
                             *[status.get(label, "") for label in labels], report.claims,
                             report.seconds, " ".join(report.message.split())[:300]])
    return reports


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grader",
        description="Grade submitted student notebooks against the course's labs: each "
                    "exercise is run with the lab's own checks in a fresh kernel.",
        epilog="exit status (one notebook): 0 all exercises passed and the claims hold; "
               "1 graded, something did not pass; 2 bad arguments; 3 stopped early (time "
               "limit, dead kernel); 4 not gradable (not a notebook, wrong lab); 5 grader "
               "error. With --dir: 0 once the CSV is written (each row has its own exit "
               "status), 2 on bad arguments.\n\n"
               "examples:\n"
               "  python -m coursetools.grader submission.ipynb\n"
               "  python -m coursetools.grader submission.ipynb --lab 00_first_experiment\n"
               "  python -m coursetools.grader --dir submissions/ --csv grades.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", nargs="?", metavar="NB", help="the submitted notebook")
    parser.add_argument("--dir", metavar="DIR", help="grade every *.ipynb under DIR instead")
    parser.add_argument("--csv", metavar="CSV", help="with --dir: the CSV to write "
                        "(default: OUT/grades.csv)")
    parser.add_argument("--lab", help="the lab the submissions must be for (a path, a stem "
                        "such as 00_first_experiment, or 'Lab 0'); default: identify each "
                        "submission's lab from its metadata, title or exercise headers")
    parser.add_argument("--labs-dir", default=str(REPO_ROOT / "labs"),
                        help="folder of the reference labs (default: the course's labs/)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds allowed for one run (default {DEFAULT_TIMEOUT_S:.0f})")
    parser.add_argument("--out", default=str(REPO_ROOT / "_build" / "grades"), metavar="OUT",
                        help="folder for the reports (.report.txt, .report.json) and the "
                             "graded notebooks (default: _build/grades)")
    parser.add_argument("--max-output", type=int, default=DEFAULT_MAX_OUTPUT_CHARS,
                        metavar="CHARS", help="output kept per cell (default "
                        f"{DEFAULT_MAX_OUTPUT_CHARS})")
    parser.add_argument("--quiet", action="store_true", help="do not print the report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.grader``; returns the exit status (see above).

    Examples
    --------
    >>> main(["submission.ipynb"])  # doctest: +SKIP
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.notebook is None) == (args.dir is None):
        parser.error("give either one notebook NB or --dir DIR")
    if args.csv and not args.dir:
        parser.error("--csv goes with --dir")
    if not args.timeout > 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    options = dict(lab=args.lab, labs_dir=args.labs_dir, timeout=args.timeout,
                   max_output_chars=args.max_output)
    out = Path(args.out)
    try:
        if args.dir:
            csv_path = Path(args.csv) if args.csv else out / "grades.csv"
            reports = grade_folder(args.dir, csv_path, out_dir=out, progress=not args.quiet,
                                   **options)
            print(f"wrote {csv_path} ({len(reports)} submissions; reports in {out})")
            return 0
        report = grade(args.notebook, out_dir=out, **options)
        stem = Path(args.notebook).stem
        _write_reports(report, out, stem)
        if not args.quiet:
            print(format_text(report))
            print(f"Reports: {out / (stem + '.report.txt')} and "
                  f"{out / (stem + '.report.json')}")
        return report.exit_code
    except ValueError as err:  # the grader's own arguments: no labs, unknown --lab, ...
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CODES["usage"]


if __name__ == "__main__":
    sys.exit(main())
