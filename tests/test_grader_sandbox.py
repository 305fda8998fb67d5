"""The sandbox and the batch against the rest of the QA report of issue 36 (N0, N17-N27, N32...).

Each test fails on the grader before issue 36: the sandbox could not start from a checkout
under /tmp (N0), set no limits (N17, N19), left a deep tree behind as a grader error (N21),
kept control characters (N24), skipped hidden files and let look-alike names share a row (N26,
N27), let a second folder replace the first's rows in the default CSV (N32), and marked a
correct submission TAMPERED under a small --max-output (6.11). They use the tiny labs of
tests/test_grader.py, so each grading takes seconds.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import nbformat
import pytest

from coursetools.grader import grade_folder, main
from coursetools.grading.workdir import remove_tree
from coursetools.notebooks import REPO_ROOT
from tests.test_grader import SANDBOX, graded, statuses, student, submit, tiny_lab

needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="bubblewrap (bwrap) is not installed")
RIGHT = {"ex1": "total = 55", "ex2": "def scale(x):\n    return 9 * x"}


@pytest.fixture
def labs(tmp_path) -> Path:
    folder = tmp_path / "labs"
    folder.mkdir()
    nbformat.write(tiny_lab(9), folder / "09_tiny.ipynb")
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@needs_sandbox
def test_the_sandbox_grades_a_course_and_environment_that_live_under_tmp(tmp_path):
    """N0: a course copied under /tmp, with its environment there too, grades in the sandbox."""
    base = Path(tempfile.mkdtemp(prefix="course_copy_", dir="/tmp"))
    try:
        course = base / "course"
        for part in ("utils", "coursetools"):
            shutil.copytree(REPO_ROOT / part, course / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        env_dir = base / "venv"
        venv.create(env_dir, symlinks=True, with_pip=False)
        site = next(env_dir.glob("lib/python*/site-packages"))
        # the course's packages, reached from the new environment; the copy first on the path
        outer = [p for p in sys.path if p.endswith("site-packages")]
        (site / "course.pth").write_text("\n".join([str(course)] + outer) + "\n")
        nbformat.write(tiny_lab(9), (course / "labs").mkdir() or course / "labs" / "09.ipynb")
        nbformat.write(student(tiny_lab(9), **RIGHT), base / "alice.ipynb")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        done = subprocess.run(
            [str(env_dir / "bin" / "python"), "-m", "coursetools.grader", str(base / "alice.ipynb"),
             "--labs-dir", str(course / "labs"), "--out", str(base / "out"), "--timeout", "120"],
            cwd=course, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Sandbox:    bubblewrap" in done.stdout
    finally:
        remove_tree(base)


@needs_sandbox
def test_the_sandbox_sets_limits_on_tmp_files_and_open_files(tmp_path, labs):
    """N17, N19: the kernel finds a capped /tmp and limits it cannot raise (0 marks if not)."""
    probe = ("import os, resource\n"
             "tmp = os.statvfs('/tmp')\n"
             "limits = [resource.getrlimit(getattr(resource, n))[1]\n"
             "          for n in ('RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE')]\n"
             "capped = tmp.f_blocks * tmp.f_frsize <= 2**30 and all(\n"
             "    0 < v < 2**40 for v in limits)\n"
             "total = 55 if capped else 0")
    report = graded(submit(student(tiny_lab(9), ex1=probe, ex2=RIGHT["ex2"]),
                           tmp_path / "limits.ipynb"), labs_dir=labs)
    assert statuses(report) == ["passed", "passed"], report.exercises


def test_a_tree_thousands_deep_is_removed_and_the_grade_stands(tmp_path, labs, monkeypatch):
    """N21: the working folder is removed whatever its depth; the student keeps the grade."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    deep = ("import os\nhere = os.getcwd()\n"
            "for _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
            "os.chdir(here)\ntotal = 55")
    report = graded(submit(student(tiny_lab(9), ex1=deep, ex2=RIGHT["ex2"]),
                           tmp_path / "deep.ipynb"), labs_dir=labs)
    assert report.status == "graded" and statuses(report) == ["passed", "passed"], \
        (report.status, report.message)
    assert not [p for p in scratch.iterdir() if p.name.startswith("grade_")]


def test_control_characters_never_reach_a_report(tmp_path, labs):
    """N24: backspaces and escapes in an exception message are removed."""
    ex1 = "raise ValueError('bad' + '\\b' * 80 + '\\x1b]0;title\\x07passed \\u2713')"
    report = graded(submit(student(tiny_lab(9), ex1=ex1, ex2=RIGHT["ex2"]),
                           tmp_path / "ctrl.ipynb"), labs_dir=labs)
    message = report.exercises[0].message
    assert report.exercises[0].status == "failed" and "bad" in message
    assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in message), repr(message)


@pytest.mark.parametrize("chars", ["0", "2000"])
def test_a_small_max_output_cuts_output_but_never_a_grade(tmp_path, labs, chars):
    """6.11: --max-output below the old probe's answer no longer turns a pass into anything."""
    path = submit(student(tiny_lab(9), ex1="print('x' * 5000)\ntotal = 55", ex2=RIGHT["ex2"]),
                  tmp_path / "chatty.ipynb")
    assert main([str(path), "--labs-dir", str(labs), "--out", str(tmp_path / "o"), "--quiet",
                 "--max-output", chars, *([] if SANDBOX else ["--no-sandbox"])]) == 0
    with pytest.raises(SystemExit, match="2"):  # argparse's usage error
        main([str(path), "--max-output", "-5", "--quiet"])


def test_hidden_files_are_graded_and_look_alike_names_get_their_own_rows(tmp_path, labs,
                                                                         capsys):
    """N26, N27: every student file gets a row; only checkpoints and macOS metadata do not."""
    subs = tmp_path / "subs"
    (subs / ".hidden").mkdir(parents=True)
    (subs / "__MACOSX").mkdir()
    (subs / ".ipynb_checkpoints").mkdir()
    for name in (".alice.ipynb", ".hidden/bob.ipynb", "__MACOSX/._carol.ipynb", "._dave.ipynb",
                 ".ipynb_checkpoints/alice-checkpoint.ipynb", "\\xff.ipynb"):
        (subs / name).write_text("not json")
    with open(os.path.join(os.fsencode(subs), b"\xff.ipynb"), "w") as handle:
        handle.write("not json either")
    grade_folder(subs, tmp_path / "g.csv", labs_dir=labs, sandbox=SANDBOX)
    names = [row["submission"] for row in rows(tmp_path / "g.csv")]
    assert len(names) == len(set(names)) == 4, names
    assert {".alice.ipynb", ".hidden/bob.ipynb", "\\xff.ipynb", "\\xff.ipynb (2)"} == set(names)


def test_two_folders_without_a_csv_keep_their_own_rows(tmp_path, labs, capsys):
    """N32: the default CSV is one per folder, so a second section replaces nothing."""
    out = tmp_path / "out"
    for section, content in (("sec1", "not json"), ("sec2", "[1, 2]")):
        (tmp_path / section).mkdir()
        (tmp_path / section / "alice.ipynb").write_text(content)
        assert main(["--dir", str(tmp_path / section), "--labs-dir", str(labs), "--out",
                     str(out), "--quiet", *([] if SANDBOX else ["--no-sandbox"])]) == 0
    csvs = sorted(out.glob("grades-*.csv"))
    assert [p.name.split("-")[1] for p in csvs] == ["sec1", "sec2"]
    assert [len(rows(p)) for p in csvs] == [1, 1]
    messages = [rows(p)[0]["message"] for p in csvs]
    assert "not valid JSON" in messages[0] and "list" in messages[1], messages


def test_remove_tree_handles_unwritable_folders(tmp_path):
    top = tmp_path / "t"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f").write_text("x")
    os.chmod(top / "a", 0o500)
    assert remove_tree(top) and not top.exists()


def test_the_nbgrader_step_is_printed_with_the_path_it_needs(tmp_path, capsys):
    """N38: nbgrader generate_assignment needs the environment's bin/ on PATH."""
    from coursetools import nbgrader_export
    lab = tmp_path / "09_tiny.ipynb"
    nbformat.write(tiny_lab(9), lab)
    assert nbgrader_export.main([str(lab), str(tmp_path / "nbg")]) in (0, None)
    printed = capsys.readouterr().out
    assert f"PATH={Path(sys.executable).parent}" in printed and "generate_assignment" in printed


def test_instructor_mistakes_get_a_usage_error_not_a_traceback(tmp_path, labs, capsys):
    """6.6 and N36: a missing --labs-dir, and an --out inside the labs (its graded notebooks
    would be taken for labs), are refused before anything runs."""
    path = submit(student(tiny_lab(9), **RIGHT), tmp_path / "s.ipynb")
    no_sandbox = [] if SANDBOX else ["--no-sandbox"]
    assert main([str(path), "--labs-dir", str(tmp_path / "nowhere"), "--quiet",
                 *no_sandbox]) == 2
    assert "no folder or notebook" in capsys.readouterr().err
    assert main([str(path), "--labs-dir", str(labs), "--out", str(labs), "--quiet",
                 *no_sandbox]) == 2
    assert "inside the reference labs" in capsys.readouterr().err
    assert not list(labs.glob("*.graded.ipynb"))


@pytest.mark.parametrize("timeout", ["inf", "-1", "nan", "0"])
def test_impossible_timeouts_are_usage_errors(tmp_path, labs, timeout):
    """6.2, 6.3."""
    with pytest.raises(SystemExit, match="2"):
        main([str(tmp_path / "s.ipynb"), "--labs-dir", str(labs), "--timeout", timeout])


def test_student_versions_are_not_reference_labs(tmp_path, capsys):
    """6.7: a folder of student versions (no solutions) is refused as the answer key."""
    folder = tmp_path / "student"
    folder.mkdir()
    nbformat.write(student(tiny_lab(9)), folder / "09_tiny.ipynb")
    assert main([str(tmp_path / "s.ipynb"), "--labs-dir", str(folder), "--quiet"]) == 2
    assert "no reference lab with exercises" in capsys.readouterr().err


def test_an_enormous_error_message_is_clipped(tmp_path, labs):
    """3.15."""
    report = graded(submit(student(tiny_lab(9), ex1="raise ValueError('E' * 5_000_000)",
                                   ex2=RIGHT["ex2"]), tmp_path / "loud.ipynb"), labs_dir=labs,
                    out_dir=tmp_path / "out")
    assert report.exercises[0].status == "failed"
    assert len(report.exercises[0].message) < 2_000
    assert (tmp_path / "out" / "loud.ipynb.graded.ipynb").stat().st_size < 2_000_000
