"""Reports for people and files: the text report, the JSON report, atomic writes.

Every file the grader writes goes through :func:`atomic_write` (a temporary file in the same
folder, flushed to disk, then renamed over the target), so that a killed grader leaves either
the old file or the new one, never half of one.

Example
-------
>>> report = Report("alice.ipynb", "invalid_notebook", "the file is not valid JSON",
...                 sandbox="bubblewrap")
>>> print(format_text(report))
Submission: alice.ipynb
Status:     NOT GRADED: not a readable notebook (0.0 s)
            the file is not valid JSON
Exit status: 4
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from coursetools.grading.results import Report

__all__ = ["format_text", "write_reports", "atomic_write", "STATUS_LINE"]

STATUS_LINE = {
    "graded": "graded",
    "timeout": "STOPPED: time limit",
    "kernel_died": "STOPPED: the kernel died",
    "invalid_notebook": "NOT GRADED: not a readable notebook",
    "wrong_lab": "NOT GRADED: not a submission for this lab",
    "grader_error": "NOT GRADED: error in the grader",
}


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) through a temporary file and a rename.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a" / "x.txt", "hello")
    >>> (folder / "a" / "x.txt").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_text(report: Report) -> str:
    """The report as text for a person (the instructor, or the student).

    Examples
    --------
    >>> print(format_text(Report("s.ipynb", "graded", lab="09_tiny", sandbox="none")))
    Submission: s.ipynb
    Lab:        09_tiny (09_tiny.ipynb; identified by None)
    Status:     graded (0.0 s)
    Claims:     not run
    Sandbox:    NOT SANDBOXED (--no-sandbox): the code ran with the grader's rights
    Exit status: 1
    """
    lines = [f"Submission: {report.submission}"]
    if report.lab:
        lines.append(f"Lab:        {report.lab_title or report.lab} ({report.lab}.ipynb; "
                     f"identified by {report.identified_by})")
    lines.append(f"Status:     {STATUS_LINE[report.status]} ({report.seconds:.1f} s)")
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
        if not note.startswith("NOT SANDBOXED"):
            lines.append(f"Note:       {note}")
    if report.lab and report.status not in ("invalid_notebook", "wrong_lab"):
        lines.append("Sandbox:    " + ("bubblewrap (read-only course, no network, own PIDs)"
                                       if report.sandbox == "bubblewrap" else
                                       "NOT SANDBOXED (--no-sandbox): the code ran with the "
                                       "grader's rights"))
    if report.graded_notebook:
        lines.append(f"Graded notebook (the run, with outputs): {report.graded_notebook}")
    lines.append(f"Exit status: {report.exit_code}")
    return "\n".join(lines)


def write_reports(report: Report, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.report.txt`` and ``<name>.report.json`` under ``out_dir`` (atomically).

    ``name`` may hold folders (a submission's path inside the batch folder), so that two
    submissions never share a report.
    """
    text = Path(out_dir) / f"{name}.report.txt"
    data = Path(out_dir) / f"{name}.report.json"
    atomic_write(text, format_text(report) + "\n")
    atomic_write(data, json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n")
    return text, data
