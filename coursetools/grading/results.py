"""What the grader finds: one :class:`ExerciseResult` per exercise, one :class:`Report` per file.

Example
-------
>>> report = Report("s.ipynb", "graded", claims="passed",
...                 exercises=[ExerciseResult("Exercise 1", "Do.", "passed")])
>>> report.exit_code
0
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXIT_CODES", "ExerciseResult", "Report", "clip", "STATUSES"]

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

#: The outcomes of one exercise.
STATUSES = ("passed", "failed", "not attempted", "missing", "not run")

MESSAGE_CHARS = 1_000                # longest message quoted in a report
# Terminal escapes (colours, OSC titles and links) and every other control character but the
# newline and the tab: a message with 80 backspaces must not overwrite a FAILED line.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|"
                   r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` without terminal escapes, control characters or lone surrogates, cut to
    ``limit`` characters.

    Examples
    --------
    >>> clip("FAILED" + "\b" * 6 + "\x1b]0;t\x07\x1b[1mpassed")
    'FAILEDpassed'
    >>> clip("x" * 20, 5)
    'xxxxx [... 15 more characters cut by the grader]'
    """
    text = _SURROGATE.sub("\ufffd", _ANSI.sub("", str(text))).strip()
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit} more characters cut by the grader]"


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
        One of :data:`STATUSES`: ``"passed"``, ``"failed"``, ``"not attempted"``,
        ``"missing"`` or ``"not run"``.
    message : str
        What the check said (the ``✓`` lines when it passed, its error when it failed), or
        why the exercise has its status.
    replaced : bool
        True if the reference solution ran after the exercise, so that later cells could run.

    Examples
    --------
    >>> ExerciseResult("Exercise 1", "Do.").status
    'not run'
    """

    label: str
    instruction: str
    status: str = "not run"
    message: str = ""
    replaced: bool = False


@dataclass
class Report:
    """Everything the grader found about one submission; see :func:`coursetools.grader.grade`.

    ``status`` is ``"graded"`` when the run reached its end, else ``"timeout"``, ``"kernel_died"``, ``"invalid_notebook"``, ``"wrong_lab"`` or
    ``"grader_error"``; :attr:`exit_code` maps it (and the results) to the command's exit
    status. ``sandbox`` says how the kernel was confined (``"bubblewrap"`` or ``"none"``).

    Examples
    --------
    >>> Report("s.ipynb", "timeout").exit_code
    3
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
    sandbox: str = "bubblewrap"
    sha256: str = ""

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
