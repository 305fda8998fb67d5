"""Grading one submission: read it, find its lab, run it in the sandbox, report.

Example
-------
>>> report = grade("submissions/alice.ipynb")  # doctest: +SKIP
>>> report.status, report.n_passed  # doctest: +SKIP
('graded', 3)
"""
from __future__ import annotations

import copy
import hashlib
import os
import shutil
import time
import traceback
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from coursetools.grading.labs import find_lab, identify_lab, load_labs
from coursetools.grading.matching import student_cells
from coursetools.grading.reports import atomic_write
from coursetools.grading.results import ExerciseResult, Report, clip
from coursetools.grading.answer_key import AnswerKeyError, answer_key
from coursetools.grading.runner import kernel_env, kernel_log, run_graded
from coursetools.grading.sandbox import INSTALL_HINT, sandbox_problem
from coursetools.grading.workdir import private_folder
from coursetools.grading.submission import (DEFAULT_MAX_BYTES, NotANotebook,
                                            check_regular_file, load_submission)
from coursetools.notebooks import REPO_ROOT

__all__ = ["grade", "DEFAULT_TIMEOUT_S", "DEFAULT_MAX_OUTPUT_CHARS", "require_sandbox",
           "file_sha256"]

DEFAULT_TIMEOUT_S = 600.0            # wall time allowed for one whole run
DEFAULT_MAX_OUTPUT_CHARS = 1_000_000  # output kept per cell (figures count); the rest is dropped


def require_sandbox(sandbox: bool) -> None:
    """Raise ValueError (saying what to do) if a sandbox is wanted and cannot run here."""
    if sandbox:
        problem = sandbox_problem(REPO_ROOT)
        if problem:
            raise ValueError(f"cannot grade in a sandbox: {problem}; {INSTALL_HINT}")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (how the CSV store tells a changed submission)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def grade(path: str | os.PathLike, lab: str | os.PathLike | None = None,
          labs_dir: str | os.PathLike = REPO_ROOT / "labs",
          timeout: float = DEFAULT_TIMEOUT_S,
          max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
          max_bytes: int = DEFAULT_MAX_BYTES,
          out_dir: str | os.PathLike | None = None, name: str | None = None,
          sandbox: bool = True) -> Report:
    """Grade one submitted notebook; never raises for a bad submission.

    Parameters
    ----------
    path : str or path-like
        The submitted notebook. It is copied into a temporary folder, which is the kernel's
        working directory; the file itself is never written, and a symbolic link is refused.
    lab : str or path-like, optional
        The lab it must be a submission for: a path, a file name, a stem
        (``"00_first_experiment"``) or ``"Lab 0"``. By default the lab is identified from the
        submission (see :func:`~coursetools.grading.labs.identify_lab`) among ``labs_dir``.
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
        File name for that notebook, without ``.graded.ipynb`` (default: the file's name).
    sandbox : bool
        Run the kernel under bubblewrap (the default). ``False`` runs it with the grader's
        own rights, and the report says so: only for submissions you trust.

    Returns
    -------
    Report
        See :class:`~coursetools.grading.results.Report`; ``report.exit_code`` is the
        command's exit status.

    Raises
    ------
    ValueError
        Only for the grader's own arguments and machine: no reference labs, an unknown
        ``lab``, a non-positive ``timeout``, no sandbox available while ``sandbox`` is True.
    """
    if not timeout > 0 or timeout != timeout:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    require_sandbox(sandbox)
    labs = load_labs(labs_dir) if lab is None or not Path(str(lab)).is_file() \
        else load_labs(Path(str(lab)))
    wanted = find_lab(lab, labs) if lab is not None else None
    start = time.monotonic()
    path = Path(path)
    report = Report(submission=clip(str(path), 4000), status="graded",
                    sandbox="bubblewrap" if sandbox else "none")
    if not sandbox:
        report.notes.append("NOT SANDBOXED (--no-sandbox): the submission's code ran with "
                            "the grader's rights")
    try:
        with private_folder() as workdir:
            try:
                check_regular_file(path)
                copy_path = workdir / "submission.ipynb"
                shutil.copyfile(path, copy_path, follow_symlinks=False)
                report.sha256 = file_sha256(copy_path)
                submission = load_submission(copy_path, max_bytes=max_bytes)
            except NotANotebook as err:
                report.status, report.message = "invalid_notebook", str(err)
                return report
            report.notes += submission.notes
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
            student = student_cells(submission, target, report.notes)
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
            # the time spent reading and matching counts against the limit too (making the
            # answer key does not: it is the course's own code, run once per lab and cached)
            building = time.monotonic()
            try:
                key = answer_key(target, repo_root=REPO_ROOT,
                                 env=kernel_env(REPO_ROOT, sandboxed=False))
            except AnswerKeyError as err:
                report.status, report.message = "grader_error", clip(str(err), 4000)
                return report
            start += time.monotonic() - building
            left = max(1.0, timeout - (time.monotonic() - start))
            try:
                run_graded(target, student, report, workdir, left, max_output_chars, graded,
                           key=key, repo_root=REPO_ROOT, sandboxed=sandbox,
                           stated_timeout=timeout)
            except CellTimeoutError as err:
                report.status, report.message = "timeout", str(err)
            except DeadKernelError as err:
                report.status, report.message = "kernel_died", (
                    f"{err} (a cell called os._exit or exit the process, crashed the "
                    "interpreter, or ran out of memory)")
                last_words = kernel_log(workdir)
                if last_words:
                    report.message += ("; the kernel process's last output (written by the "
                                       f"submission's code, not by the grader): {last_words!r}")
            report.truncated_cells = _count_truncated(report, graded)
            if report.status == "graded" and report.claims == "not run":
                report.claims_message = "the lab has no cell tagged 'claims'"
            if out_dir is not None:
                target_nb = Path(out_dir) / f"{name or path.name}.graded.ipynb"
                for number, cell in enumerate(graded.cells):  # labs may predate cell ids
                    cell.setdefault("id", f"graded-{number}")
                atomic_write(target_nb, nbformat.writes(graded))
                report.graded_notebook = str(target_nb)
    except Exception:  # noqa: BLE001 - the grader reports its own bugs instead of crashing
        report.status = "grader_error"
        report.message = "the grader itself failed:\n" + clip(traceback.format_exc(), 4000)
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
