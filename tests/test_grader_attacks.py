"""The grader against a dishonest student and a hurried instructor (issues 19 and 36).

Each test is one attack that worked on the grader before the sandbox, the verdicts outside
the kernel and the durable CSV store: it fails on that grader and passes now. Most use the tiny labs of
tests/test_grader.py (a kernel starts and finishes in seconds); attack 1 uses Lab 5, the
cheapest real lab, as the issue reported it.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursetools import grader
from coursetools.grader import EXIT_CODES, format_text, grade, grade_folder, main
from coursetools.grading import sandbox
from coursetools.notebooks import REPO_ROOT, read_notebook, student_version
from tests.test_grader import NO_SANDBOX_ARGS, SANDBOX, code, graded, statuses, student, \
    submit, tiny_lab

LAB5 = REPO_ROOT / "labs" / "05_offense_defense.ipynb"
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="bubblewrap (bwrap) is not installed")


def lab_with_reference(number: int = 9) -> nbformat.NotebookNode:
    """The tiny lab, with a check that compares against a name the lab defines."""
    nb = tiny_lab(number)
    nb.cells.insert(3, code(f"expected_total = {sum(range(1, number + 2))}"))
    for cell in nb.cells:
        if cell.source.startswith("check_scalar(total"):
            cell.source = "check_scalar(total, expected_total, name='total')"
    return nb


@pytest.fixture
def labs(tmp_path) -> Path:
    folder = tmp_path / "labs"
    folder.mkdir()
    nbformat.write(lab_with_reference(9), folder / "09_tiny.ipynb")
    return folder


# --------------------------------------------------------------------------------------------
# 1-2. Tampering inside the kernel changes no verdict: wrong answers fail, as they would anyway
# --------------------------------------------------------------------------------------------


def test_attack1_input_transformer_that_silences_every_later_cell(tmp_path):
    nb = student_version(read_notebook(LAB5))
    for cell in nb.cells:
        if cell.source.startswith("# Exercise 1:"):
            header, stub = cell.source.split("\nraise ", 1)  # before the stub's raise
            cell.source = (header + '\nget_ipython().input_transformers_post.append('
                           'lambda lines: ["pass\\n"])\nraise ' + stub)
            break
    report = graded(submit(nb, tmp_path / "blank.ipynb"), timeout=300)
    # every later cell became `pass`: the checks got no answers, so nothing passed
    assert report.status == "graded" and report.n_passed == 0, format_text(report)
    assert report.exit_code == EXIT_CODES["graded"]
    assert statuses(report)[0] == "not attempted"
    assert all("no answer" in ex.message for ex in report.exercises[1:]), format_text(report)


@pytest.mark.parametrize("patch", [
    # the checks themselves become no-ops that print the ✓ a student expects
    "import utils.checks\n"
    "utils.checks.check_scalar = lambda *a, **k: print('✓ total matches the reference.')\n"
    "utils.checks.check_function = lambda *a, **k: print('✓ fine')\n",
    # numpy's comparison always agrees
    "import numpy\nnumpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)\n",
    # an exception handler that swallows the checks' failures
    "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)\n",
    # a fake module in place of utils.checks
    "import sys, types\nfake = types.ModuleType('utils.checks')\n"
    "fake.check_scalar = fake.check_function = lambda *a, **k: None\n"
    "sys.modules['utils.checks'] = fake\n",
], ids=["checks", "numpy", "custom-exc", "sys.modules"])
def test_attack2_patching_the_checks_or_numpy_changes_no_verdict(tmp_path, labs, patch):
    nb = student(lab_with_reference(9), ex1=patch + "total = 54",
                 ex2="def scale(x):\n    return 0 * x")
    report = graded(submit(nb, tmp_path / "patch.ipynb"), labs_dir=labs)
    assert report.status == "graded", format_text(report)
    assert statuses(report) == ["failed", "failed"] and report.n_passed == 0
    assert "expected 55, got 54" in report.exercises[0].message
    assert report.exit_code == 1


def test_attack2_patching_inside_the_students_function_changes_no_verdict(tmp_path, labs):
    ex2 = ("def scale(x):\n    import numpy\n"
           "    numpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)\n"
           "    return 0 * x")
    report = graded(submit(student(lab_with_reference(9), ex1="total = 55", ex2=ex2),
                           tmp_path / "late.ipynb"), labs_dir=labs)
    assert statuses(report) == ["passed", "failed"], format_text(report)
    assert report.status == "graded" and report.exit_code == 1


def test_rebinding_the_reference_the_check_uses_does_not_help(tmp_path, labs):
    report = graded(submit(student(lab_with_reference(9), ex1="total = 1\nexpected_total = 1",
                                   ex2="def scale(x):\n    return 9 * x"),
                           tmp_path / "rebind.ipynb"), labs_dir=labs)
    assert report.status == "graded", format_text(report)
    assert statuses(report) == ["failed", "passed"]
    assert "expected 55, got 1" in report.exercises[0].message
    assert any("expected_total" in note and "restored" in note for note in report.notes)


def test_an_honest_submission_is_not_flagged(tmp_path, labs):
    ex1 = ("import numpy as np\nimport matplotlib.pyplot as plt\n"
           "plt.plot([1, 2]); plt.show()\nrates = np.ones(3)\ntotal = 55")
    report = graded(submit(student(lab_with_reference(9), ex1=ex1,
                                   ex2="def scale(x):\n    return 9 * x"),
                           tmp_path / "honest.ipynb"), labs_dir=labs)
    assert report.status == "graded" and report.exit_code == 0, format_text(report)


# --------------------------------------------------------------------------------------------
# 3-4. The sandbox: no writes to the course, other reports or home; no surviving processes
# --------------------------------------------------------------------------------------------


@needs_sandbox
def test_attack3_the_answer_key_checks_reports_and_home_cannot_be_written(
        tmp_path, labs, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# bashrc\n")
    monkeypatch.setenv("HOME", str(home))
    out = tmp_path / "out"
    other = out / "other.ipynb.report.txt"
    other.parent.mkdir()
    other.write_text("Exercises: 0 of 2 passed\n")
    targets = [labs / "09_tiny.ipynb", REPO_ROOT / "utils" / "checks.py", other,
               home / ".bashrc", REPO_ROOT / "labs" / "05_offense_defense.ipynb"]
    before = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in targets}
    ex1 = ("import json\nfound = {}\n"
           f"for path in {[str(p) for p in targets]!r}:\n"
           "    try:\n        open(path, 'a').close()\n        found[path] = 'opened'\n"
           "    except OSError as err:\n        found[path] = type(err).__name__\n"
           "print('PROBE', json.dumps(found))\ntotal = 55")
    report = graded(submit(student(lab_with_reference(9), ex1=ex1,
                                   ex2="def scale(x):\n    return 9 * x"),
                           tmp_path / "vandal.ipynb"), labs_dir=labs, out_dir=out)
    assert report.status == "graded", format_text(report)
    nb = read_notebook(report.graded_notebook)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    found = json.loads(printed.split("PROBE ", 1)[1].splitlines()[0])
    assert "opened" not in found.values(), found
    assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in targets} == before
    assert "Sandbox:    bubblewrap" in format_text(report)


@needs_sandbox
def test_attack4_a_detached_process_dies_with_the_run(tmp_path, labs):
    marker = f"grader-attack-{os.getpid()}-{time.monotonic_ns()}"
    ex1 = ("import subprocess, sys\n"
           f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)  # {marker}'],"
           " start_new_session=True)\ntotal = 55")
    report = graded(submit(student(lab_with_reference(9), ex1=ex1,
                                   ex2="def scale(x):\n    return 9 * x"),
                           tmp_path / "detached.ipynb"), labs_dir=labs)
    assert report.status == "graded", format_text(report)
    time.sleep(1)
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                alive.append(proc.name)
        except OSError:
            continue
    assert not alive, f"processes of the submission outlived the run: {alive}"


@needs_sandbox
def test_the_network_is_unreachable_and_labs_are_not_visible(tmp_path, labs):
    ex1 = ("import os, socket\n"
           "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
           "    net = 'open'\nexcept OSError as err:\n    net = type(err).__name__\n"
           f"print('PROBE', net, os.path.exists({str(REPO_ROOT / 'labs')!r}),"
           f" os.path.exists({str(REPO_ROOT / '.git')!r}))\ntotal = 55")
    report = graded(submit(student(lab_with_reference(9), ex1=ex1), tmp_path / "net.ipynb"),
                    labs_dir=labs, out_dir=tmp_path / "out")
    nb = read_notebook(report.graded_notebook)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "PROBE ConnectionRefusedError False False" in printed or \
        "PROBE OSError False False" in printed, printed


def test_without_bubblewrap_the_grader_refuses_unless_told(tmp_path, labs, monkeypatch):
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    sandbox._probe.cache_clear()
    try:
        path = submit(student(lab_with_reference(9)), tmp_path / "s.ipynb")
        with pytest.raises(ValueError, match="bubblewrap .* --no-sandbox"):
            grade(path, labs_dir=labs)
        assert main([str(path), "--labs-dir", str(labs), "--out", str(tmp_path / "o"),
                     "--quiet"]) == EXIT_CODES["usage"]
        report = grade(path, labs_dir=labs, sandbox=False)
        assert report.status == "graded" and report.sandbox == "none"
        assert "NOT SANDBOXED" in format_text(report)
    finally:
        sandbox._probe.cache_clear()


# --------------------------------------------------------------------------------------------
# 5. Durable results: row by row, atomic, locked, resumable; paths checked first
# --------------------------------------------------------------------------------------------


def fake_grade(calls: list[str], stop_at: str | None = None):
    """A stand-in for grade(): instant reports, and an interruption at ``stop_at``."""
    def fake(path, **options):
        name = Path(path).name
        if name == stop_at:
            raise KeyboardInterrupt
        calls.append(name)
        return grader.Report(str(path), "graded", lab="09_tiny", claims="passed",
                             exercises=[grader.ExerciseResult("Exercise 1", "Do.", "passed")])
    return fake


def folder_of(tmp_path: Path, n: int) -> Path:
    subs = tmp_path / "subs"
    for k in range(n):
        submit(student(tiny_lab(9)), subs / f"s{k}.ipynb")
    return subs


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_attack5_an_interrupted_batch_keeps_its_rows_and_resumes(tmp_path, monkeypatch):
    subs, grades = folder_of(tmp_path, 4), tmp_path / "grades.csv"
    calls: list[str] = []
    monkeypatch.setattr("coursetools.grading.batch.grade", fake_grade(calls, "s2.ipynb"))
    with pytest.raises(KeyboardInterrupt):
        grade_folder(subs, grades, progress=False, sandbox=SANDBOX)
    assert [r["submission"] for r in rows(grades)] == ["s0.ipynb", "s1.ipynb"]
    calls.clear()
    monkeypatch.setattr("coursetools.grading.batch.grade", fake_grade(calls))
    grade_folder(subs, grades, progress=False, sandbox=SANDBOX)
    assert calls == ["s2.ipynb", "s3.ipynb"]             # resumed: the first two are kept
    assert [r["submission"] for r in rows(grades)] == [f"s{k}.ipynb" for k in range(4)]
    # a changed submission is graded again; --regrade grades everything
    submit(student(tiny_lab(9), ex1="total = 55"), subs / "s0.ipynb")
    calls.clear()
    grade_folder(subs, grades, progress=False, sandbox=SANDBOX)
    assert calls == ["s0.ipynb"]
    calls.clear()
    grade_folder(subs, grades, progress=False, regrade=True, sandbox=SANDBOX)
    assert len(calls) == 4 and len(rows(grades)) == 4
    assert not list(tmp_path.glob("*.tmp*")), "a temporary file was left behind"


def test_attack5_a_second_run_into_the_same_csv_refuses_clearly(tmp_path, monkeypatch):
    import fcntl
    subs, grades = folder_of(tmp_path, 1), tmp_path / "grades.csv"
    calls: list[str] = []
    monkeypatch.setattr("coursetools.grading.batch.grade", fake_grade(calls))
    with open(str(grades) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)   # another run holds the CSV
        with pytest.raises(ValueError, match="another grading run is writing"):
            grade_folder(subs, grades, progress=False, sandbox=SANDBOX)
    assert calls == []
    # one run after the other into one CSV keeps both runs' rows
    other = tmp_path / "more"
    submit(student(tiny_lab(9)), other / "z.ipynb")
    grade_folder(subs, grades, progress=False, sandbox=SANDBOX)
    grade_folder(other, grades, progress=False, sandbox=SANDBOX)
    assert sorted(r["submission"] for r in rows(grades)) == ["s0.ipynb", "z.ipynb"]


@pytest.mark.parametrize("where", ["csv-is-a-folder", "csv-in-a-file", "out-inside-subs"])
def test_attack5_csv_and_output_paths_are_checked_before_grading(tmp_path, monkeypatch, where):
    subs = folder_of(tmp_path, 2)
    calls: list[str] = []
    monkeypatch.setattr("coursetools.grading.batch.grade", fake_grade(calls))
    (tmp_path / "afile").write_text("x")
    csv_path, out = {
        "csv-is-a-folder": (tmp_path, tmp_path / "out"),
        "csv-in-a-file": (tmp_path / "afile" / "grades.csv", tmp_path / "out"),
        "out-inside-subs": (tmp_path / "grades.csv", subs / "reports"),
    }[where]
    with pytest.raises(ValueError):
        grade_folder(subs, csv_path, out_dir=out, progress=False, sandbox=SANDBOX)
    assert calls == [], "graded before finding out the results could not be written"
    assert main(["--dir", str(subs), "--csv", str(csv_path), "--out", str(out),
                 "--quiet", *NO_SANDBOX_ARGS]) == EXIT_CODES["usage"]


# --------------------------------------------------------------------------------------------
# 6. The smaller points
# --------------------------------------------------------------------------------------------


def test_attack6_a_symlink_is_not_graded(tmp_path, labs):
    link = tmp_path / "sneaky.ipynb"
    link.symlink_to(labs / "09_tiny.ipynb")
    report = graded(link, labs_dir=labs)
    assert report.status == "invalid_notebook" and "symbolic link" in report.message


def test_attack6_odd_names_are_graded_or_named_and_reports_do_not_collide(tmp_path, labs,
                                                                          capsys):
    subs = tmp_path / "subs"
    right = student(lab_with_reference(9), ex1="total = 55",
                    ex2="def scale(x):\n    return 9 * x")
    wrong = student(lab_with_reference(9), ex1="total = 54")
    submit(right, subs / "sub1" / "grace.ipynb")
    submit(wrong, subs / "sub1__grace.ipynb")
    submit(right, subs / "upper.IPYNB")
    submit(right, subs / "twice.ipynb.json")
    (subs / "notes.txt").write_text("not a notebook")
    out = tmp_path / "out"
    grade_folder(subs, tmp_path / "g.csv", out_dir=out, labs_dir=labs, sandbox=SANDBOX)
    printed = capsys.readouterr().out
    got = {r["submission"]: r["passed"] for r in rows(tmp_path / "g.csv")}
    assert got == {"sub1/grace.ipynb": "2", "sub1__grace.ipynb": "0", "upper.IPYNB": "2",
                   "twice.ipynb.json": "2"}
    assert "notes.txt" in printed and "not graded" in printed
    a = json.loads((out / "sub1" / "grace.ipynb.report.json").read_text())
    b = json.loads((out / "sub1__grace.ipynb.report.json").read_text())
    assert (a["n_passed"], b["n_passed"]) == (2, 0)


def test_attack6_a_fractional_timeout_works(tmp_path, labs):
    report = graded(submit(student(lab_with_reference(9), ex1="total = 55"),
                           tmp_path / "s.ipynb"), labs_dir=labs, timeout=30.5)
    assert report.status == "graded", format_text(report)
    assert main([str(tmp_path / "s.ipynb"), "--labs-dir", str(labs), "--timeout", "30.5",
                 "--out", str(tmp_path / "o"), "--quiet", *NO_SANDBOX_ARGS]) == 1


def test_attack6_huge_headers_are_matched_within_the_time_limit(tmp_path, labs):
    nb = student(lab_with_reference(9), ex1="total = 55")
    for k in range(10):
        nb.cells.append(code("# Exercise 1 " + "x" * 2**20 + "\npass", "exercise"))
    path = submit(nb, tmp_path / "huge.ipynb")
    start = time.monotonic()
    report = graded(path, labs_dir=labs, timeout=20)
    assert time.monotonic() - start < 40, "matching took longer than the time limit"
    assert report.status in ("graded", "timeout"), format_text(report)


def test_attack6_a_lone_surrogate_and_deep_nesting_are_bad_submissions_not_bugs(tmp_path, labs):
    nb = student(lab_with_reference(9), ex1="total = 55  # caf\\ud800")
    text = nbformat.writes(nb).replace("caf\\\\ud800", "caf\\ud800")
    path = tmp_path / "surrogate.ipynb"
    path.write_text(text, encoding="utf-8")
    assert "\\ud800" in path.read_text()
    report = graded(path, labs_dir=labs, out_dir=tmp_path / "out")
    assert report.status == "graded" and report.exit_code != 5, format_text(report)
    assert any("surrogate" in note for note in report.notes)
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")

    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    report = graded(deep, labs_dir=labs)
    assert report.status == "invalid_notebook" and report.exit_code == 4, format_text(report)
    assert "nested" in report.message


@needs_sandbox
def test_attack5_a_hostile_submission_in_a_batch_cannot_kill_the_grader(tmp_path, labs):
    """The issue's "done when": honest students around a hostile one all get their grade."""
    subs = tmp_path / "subs"
    right = dict(ex1="total = 55", ex2="def scale(x):\n    return 9 * x")
    submit(student(lab_with_reference(9), **right), subs / "a_honest.ipynb")
    hostile = ("import os, signal\n"
               "for target in (os.getppid(), 1):\n"
               "    for sig in (signal.SIGINT, signal.SIGKILL):\n"
               "        try:\n            os.kill(target, sig)\n"
               "        except OSError:\n            pass\n"
               "try:\n    os.killpg(os.getpgid(0), signal.SIGINT)\nexcept OSError:\n    pass\n"
               "total = 55")
    submit(student(lab_with_reference(9), ex1=hostile), subs / "b_hostile.ipynb")
    submit(student(lab_with_reference(9), **right), subs / "c_honest.ipynb")
    grades = tmp_path / "grades.csv"
    grade_folder(subs, grades, out_dir=tmp_path / "out", labs_dir=labs, progress=False)
    got = {r["submission"]: (r["passed"], r["sandbox"]) for r in rows(grades)}
    assert got["a_honest.ipynb"] == got["c_honest.ipynb"] == ("2", "bubblewrap")
    assert "b_hostile.ipynb" in got
