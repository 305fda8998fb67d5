"""The grades CSV, kept durable: one row per submission, written as soon as it is graded.

* Each new row rewrites the CSV through a temporary file and a rename, so the file on disk
  is always complete: a grader killed at any moment loses at most the submission it was on.
* A batch holds an exclusive lock (``<csv>.lock``, released by the system if the grader
  dies) for as long as it runs: a second batch into the same CSV refuses at once, with a
  message, instead of overwriting the first one's rows.
* The rows already in the CSV are kept. A submission whose row is there, with the same
  SHA-256 of the file, is not graded again (``regrade`` grades everything), so running the
  same command again resumes an interrupted batch.

Example
-------
>>> import tempfile
>>> from coursetools.grading.results import Report
>>> path = Path(tempfile.mkdtemp()) / "grades.csv"
>>> with GradeStore(path) as store:
...     store.put("alice.ipynb", Report("alice.ipynb", "invalid_notebook", sha256="ab"))
>>> GradeStore(path).load()["alice.ipynb"]["exit_code"]
'4'
"""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

from coursetools.grading.reports import atomic_write
from coursetools.grading.results import Report

__all__ = ["GradeStore", "check_output_path"]

_HEAD = ["submission", "lab", "status", "exit_code", "passed", "exercises"]
_TAIL = ["claims", "seconds", "sandbox", "sha256", "message"]
# Rows that are not a final grade: graded again when the batch is run again.
_RETRY = ("grader_error",)


def _natural(label: str) -> list[Any]:
    return [int(n) if n.isdigit() else n for n in re.split(r"(\d+)", label)]


def check_output_path(path: Path, what: str, is_dir: bool) -> None:
    """Raise ValueError unless ``path`` can be written as a file (or a folder).

    Examples
    --------
    >>> check_output_path(Path("/"), "the CSV", is_dir=False)
    Traceback (most recent call last):
    ...
    ValueError: the CSV / is a folder; give a file name such as grades.csv
    """
    path = Path(path)
    if is_dir:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{what} {path} is a file, not a folder")
    elif path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name such as grades.csv")
    parent = path if is_dir else path.parent
    for ancestor in [parent, *parent.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ValueError(f"{what} {path} cannot be written: {ancestor} is a file")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise ValueError(f"{what} {path} cannot be written: no permission in "
                                 f"{ancestor}")
            break


class GradeStore:
    """The CSV of a batch, with its lock; use as a context manager around the batch."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        check_output_path(self.path, "the CSV", is_dir=False)
        self.rows: dict[str, dict[str, str]] = {}
        self._lock: Any = None

    def load(self) -> dict[str, dict[str, str]]:
        """The rows in the CSV now, by submission (empty if there is no CSV yet)."""
        if not self.path.exists():
            return {}
        try:
            with self.path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames is None:
                    return {}
                if reader.fieldnames[:len(_HEAD)] != _HEAD:
                    raise ValueError
                return {row["submission"]: row for row in reader}
        except (ValueError, UnicodeDecodeError, csv.Error):
            raise ValueError(f"{self.path} exists but is not a grades CSV this grader wrote; "
                             "move it away or choose another --csv") from None

    def __enter__(self) -> GradeStore:
        import fcntl
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(str(self.path) + ".lock", "a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip()
            lock.close()
            raise ValueError(
                f"another grading run is writing {self.path}" +
                (f" (process {holder})" if holder else "") +
                "; wait for it to finish (its rows are kept), or give another --csv") from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock
        self.rows = self.load()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the lock
            self._lock = None

    def done(self, name: str, sha256: str) -> bool:
        """Whether ``name`` has a final row for exactly this file content."""
        row = self.rows.get(name)
        return bool(row and sha256 and row.get("sha256") == sha256
                    and row.get("status") not in _RETRY)

    def put(self, name: str, report: Report) -> None:
        """Add or replace the row of ``name`` and write the whole CSV atomically."""
        row = {"submission": name, "lab": report.lab or "", "status": report.status,
               "exit_code": str(report.exit_code), "passed": str(report.n_passed),
               "exercises": str(len(report.exercises)), "claims": report.claims,
               "seconds": str(report.seconds), "sandbox": report.sandbox,
               "sha256": report.sha256,
               "message": " ".join(report.message.split())[:300]}
        row.update({ex.label: ex.status for ex in report.exercises})
        self.rows[name] = row
        self._write()

    def _write(self) -> None:
        known = set(_HEAD) | set(_TAIL)
        labels = sorted({key for row in self.rows.values() for key in row if key not in known},
                        key=_natural)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_HEAD + labels + _TAIL, restval="",
                                extrasaction="ignore")
        writer.writeheader()
        for name in sorted(self.rows):
            writer.writerow(self.rows[name])
        atomic_write(self.path, buffer.getvalue())
