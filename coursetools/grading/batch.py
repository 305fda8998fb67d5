"""Grading a folder of submissions into one CSV, row by row, resumably.

Example
-------
>>> grade_folder("submissions", "grades.csv")  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from coursetools.grading.grade_one import file_sha256, grade, require_sandbox
from coursetools.grading.reports import write_reports
from coursetools.grading.results import Report, clip
from coursetools.grading.store import GradeStore, check_output_path

__all__ = ["grade_folder", "find_submissions", "display_names", "default_csv"]

# Folders and files that are never submissions: editor checkpoints, version control, and the
# metadata macOS adds to zip files (``__MACOSX/``, ``._name``). Other hidden files
# (``.alice.ipynb``, ``.hidden/bob.ipynb``) are graded: a student's file must not vanish.
_SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX", ".git"}


def _is_notebook_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(".ipynb") or ".ipynb." in lower  # x.IPYNB, x.ipynb.json


def find_submissions(folder: Path) -> tuple[list[Path], list[Path]]:
    """(the files to grade, the other files) under ``folder``, recursively, sorted.

    Files whose name ends in ``.ipynb`` in any case, or holds ``.ipynb.`` (``x.ipynb.json``),
    are graded, hidden ones included; checkpoints, ``.git`` and macOS's zip metadata are
    ignored; everything else is listed so the instructor hears about it.
    """
    graded, other = [], []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if _SKIPPED_FOLDERS & set(parts) or path.name.startswith("._"):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        (graded if _is_notebook_name(path.name) else other).append(path)
    return graded, other


def _display(path: Path, folder: Path) -> str:
    # a file name that is not valid UTF-8 is shown with escapes rather than crash the CSV
    return os.fsencode(path.relative_to(folder).as_posix()).decode("utf-8", "backslashreplace")


def display_names(paths: list[Path], folder: Path) -> list[str]:
    """One distinct name per file, as the CSV and the reports use it.

    Two files can display alike (the byte 0xFF and a file literally named ``\\xff``); the
    later one then gets `` (2)``, `` (3)``, ... so that no two submissions share a row.

    Examples
    --------
    >>> display_names([Path("f/a.ipynb"), Path("f/b.ipynb")], Path("f"))
    ['a.ipynb', 'b.ipynb']
    """
    names: list[str] = []
    seen: set[str] = set()
    for path in paths:
        name = base = _display(path, folder)
        count = 1
        while name in seen:
            count += 1
            name = f"{base} ({count})"
        seen.add(name)
        names.append(name)
    return names


def default_csv(folder: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """The CSV used when none is given: one per submissions folder, so never another's.

    Rows are keyed by the path inside the folder, so two sections graded into one CSV would
    replace each other's ``alice.ipynb``; the default name therefore carries the folder's
    name and a hash of its full path.

    Examples
    --------
    >>> default_csv("/x/section1", "_build/grades").name.startswith("grades-section1-")
    True
    """
    resolved = Path(folder).resolve()
    tag = hashlib.sha256(os.fsencode(str(resolved))).hexdigest()[:8]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name)[:40]
    return Path(out_dir) / f"grades-{safe or 'folder'}-{tag}.csv"


def grade_folder(folder: str | os.PathLike, csv_path: str | os.PathLike,
                 out_dir: str | os.PathLike | None = None, progress: bool = True,
                 regrade: bool = False, **options: Any) -> list[Report]:
    """Grade every notebook under ``folder`` (recursively) into one CSV file.

    Each row is written as soon as its submission is graded (see
    :class:`~coursetools.grading.store.GradeStore`): an interrupted batch keeps its rows and
    the same call resumes it; a second batch into the same CSV refuses while one runs.

    Parameters
    ----------
    folder : str or path-like
        The submissions, e.g. one file per student or one sub-folder per student.
    csv_path : str or path-like
        The CSV: one row per submission with its path, lab, status, exit status, number of
        exercises passed, one column per exercise, the claims' outcome, the time taken,
        whether it ran sandboxed, the file's SHA-256 and the report's message.
    out_dir : str or path-like, optional
        Where each submission's text and JSON report and graded notebook go, under the
        submission's path inside ``folder`` (so two submissions never share a report). It
        must not lie inside ``folder``.
    progress : bool
        Print one line per submission as it is graded.
    regrade : bool
        Grade every submission, even those with a row for the same file in the CSV.
    **options
        Passed to :func:`~coursetools.grading.grade_one.grade` (``lab``, ``labs_dir``,
        ``timeout``, ``sandbox``, ...).

    Returns
    -------
    list of Report
        The reports of the submissions graded by this call.

    Raises
    ------
    ValueError
        Before anything is graded: no folder, no notebooks, a CSV or output folder that
        cannot be written, an output folder inside the submissions, another batch writing
        the CSV, no sandbox available.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of submissions")
    paths, others = find_submissions(folder)
    if not paths:
        raise ValueError(f"no notebooks (*.ipynb) under {folder}")
    if out_dir is not None:
        out_dir = Path(out_dir)
        check_output_path(out_dir, "the output folder", is_dir=True)
        if out_dir.resolve() == folder.resolve() or folder.resolve() in out_dir.resolve().parents:
            raise ValueError(f"the output folder {out_dir} is inside the submissions folder "
                             f"{folder}: its graded notebooks would be graded next time")
    require_sandbox(options.get("sandbox", True))
    reports: list[Report] = []
    kept = 0
    with GradeStore(csv_path) as store:
        for k, (path, name) in enumerate(zip(paths, display_names(paths, folder)), start=1):
            sha = file_sha256(path) if path.is_file() and not path.is_symlink() else ""
            if not regrade and store.done(name, sha):
                kept += 1
                continue
            report = grade(path, out_dir=out_dir, name=name, **options)
            report.submission = name
            report.sha256 = report.sha256 or sha
            if out_dir is not None:
                write_reports(report, out_dir, name)
            store.put(name, report)
            reports.append(report)
            if progress:
                print(f"[{k}/{len(paths)}] {name}: {report.status}, "
                      f"{report.n_passed}/{len(report.exercises)} exercises passed, claims "
                      f"{report.claims} ({report.seconds:.0f} s)", flush=True)
    if progress and kept:
        print(f"{kept} submission(s) already graded in {csv_path} (same file) were kept; "
              "use --regrade to grade them again")
    if progress and others:
        names = ", ".join(clip(_display(p, folder), 80) for p in others[:10])
        print(f"not graded ({len(others)} file(s) that are not notebooks): {names}"
              + (" ..." if len(others) > 10 else ""))
    return reports
