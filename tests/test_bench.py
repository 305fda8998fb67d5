"""Tests of coursetools.bench: measuring a notebook, the Markdown table, writing it out, the CLI."""
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from coursetools.bench import bench_notebook, bench_table, main, write_bench
from coursetools.notebooks import REPO_ROOT

ROWS = [
    {"lab": "00_fast", "path": "labs/00_fast.ipynb", "wall_s": 12.34, "peak_mib": 456.7,
     "ok": True, "error": None},
    {"lab": "01_slow", "path": "labs/01_slow.ipynb", "wall_s": 75.05, "peak_mib": 1203.2,
     "ok": True, "error": None},
    {"lab": "02_broken", "path": "labs/02_broken.ipynb", "wall_s": 3.0, "peak_mib": 100.0,
     "ok": False, "error": "AssertionError: the claim failed"},
]
FOOTER = re.compile(r"^Measured on \d{4}-\d{2}-\d{2} with (\d+) CPU cores, Python (\S+), "
                    r"torch (.+); budget (\S+) s per lab\.$")


def write_notebook(path: Path, *sources: str) -> Path:
    nbformat.write(new_notebook(cells=[new_code_cell(source) for source in sources]), path)
    return path


# --------------------------------------------------------------------------------------------
# bench_notebook (starts kernels)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_mib(tmp_path_factory) -> float:
    """Peak memory of a kernel that only imports what the tests below import."""
    path = write_notebook(tmp_path_factory.mktemp("baseline") / "baseline.ipynb",
                          "import subprocess, sys, time\nimport numpy as np")
    return bench_notebook(path, timeout=60)["peak_mib"]


def test_bench_notebook_measures_time_and_memory(tmp_path, baseline_mib):
    heavy = write_notebook(
        tmp_path / "heavy.ipynb",
        "import subprocess, sys, time\nimport numpy as np",
        # 400 MiB, every page written, so resident: large beside the baseline's noise (a
        # kernel's own memory, 62 MiB idle, measured 99 MiB once on a loaded machine)
        "block = np.ones(400 * 2**20 // 8)",
        "time.sleep(0.5)",
    )
    before = heavy.read_bytes()
    row = bench_notebook(heavy, timeout=60)
    assert row["lab"] == "heavy" and row["path"] == str(heavy)
    assert row["ok"] is True and row["error"] is None
    assert row["wall_s"] >= 0.5
    assert row["peak_mib"] >= 320
    # The 400 MiB array shows up on top of what the kernel needs anyway.
    assert row["peak_mib"] - baseline_mib >= 320
    assert heavy.read_bytes() == before  # the notebook file is not modified


def test_bench_notebook_counts_the_kernels_child_processes(tmp_path, baseline_mib):
    child = "import time, numpy as np; block = np.ones(100 * 2**20 // 8); time.sleep(0.5)"
    path = write_notebook(
        tmp_path / "spawns.ipynb",
        "import subprocess, sys, time\nimport numpy as np",
        f"subprocess.run([sys.executable, '-c', {child!r}], check=True)",
    )
    row = bench_notebook(path, timeout=60)
    assert row["ok"] is True, row["error"]
    assert row["peak_mib"] - baseline_mib >= 80


def test_bench_notebook_reports_a_failing_notebook(tmp_path):
    path = write_notebook(tmp_path / "broken.ipynb", "x = 1", "1 / 0", "y = 2")
    row = bench_notebook(path, timeout=60)
    assert row["ok"] is False
    assert row["error"].startswith("ZeroDivisionError: division by zero")
    assert row["wall_s"] > 0 and row["peak_mib"] > 0


def test_bench_notebook_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        bench_notebook(tmp_path / "missing.ipynb")


# --------------------------------------------------------------------------------------------
# bench_table
# --------------------------------------------------------------------------------------------


def test_bench_table_rows_and_verdicts():
    lines = bench_table(ROWS).splitlines()
    assert lines[:5] == [
        "| Lab | Wall time (s) | Peak memory (MiB) | Within 60 s budget |",
        "|:----|--------------:|------------------:|:------------------:|",
        "| 00_fast | 12.3 | 457 | ✓ |",
        "| 01_slow | 75.0 | 1203 | ✗ |",
        "| 02_broken | 3.0 | 100 | ✗ (failed) |",
    ]
    assert lines[5] == ""
    assert len(lines) == 7


def test_bench_table_footer_gives_date_cores_and_versions():
    footer = bench_table(ROWS).splitlines()[-1]
    match = FOOTER.match(footer)
    assert match, footer
    assert int(match[1]) == os.cpu_count()
    assert match[2] == platform.python_version()
    assert match[3].startswith("2.") or match[3] == "not installed"
    assert match[4] == "60"


def test_bench_table_custom_budget():
    table = bench_table(ROWS[:2], budget_s=80)
    assert "Within 80 s budget" in table
    assert "| 01_slow | 75.0 | 1203 | ✓ |" in table


def test_bench_table_bad_input():
    with pytest.raises(ValueError, match="rows is empty"):
        bench_table([])
    with pytest.raises(ValueError, match="lacks peak_mib"):
        bench_table([{"lab": "x", "wall_s": 1.0}])
    with pytest.raises(ValueError, match="budget_s must be a positive number"):
        bench_table(ROWS, budget_s=0)


# --------------------------------------------------------------------------------------------
# write_bench
# --------------------------------------------------------------------------------------------


README = """# Science of Deep Learning

Intro text.

<!-- bench:start -->
old table
<!-- bench:end -->

More text after.
"""


def test_write_bench_writes_table_file_and_replaces_readme_section(tmp_path):
    table_path = tmp_path / "instructors" / "bench.md"
    readme = tmp_path / "README.md"
    readme.write_text(README)
    write_bench(ROWS, table_path, readme)

    table = bench_table(ROWS)
    page = table_path.read_text()
    intro, rest = page.split("\n\n", 1)
    assert not intro.startswith("#")  # no heading: the instructors' page has its own
    assert "make bench" in intro
    assert rest == table

    text = readme.read_text()
    assert text == README.replace("old table", table.strip("\n"))
    # Running again replaces the section instead of stacking a second table.
    write_bench(ROWS, table_path, readme)
    assert readme.read_text() == text


def test_write_bench_without_readme(tmp_path):
    table_path = tmp_path / "bench.md"
    write_bench(ROWS[:1], table_path)
    assert "| 00_fast | 12.3 | 457 | ✓ |" in table_path.read_text()


def test_write_bench_keeps_notes_after_the_table_on_the_page_only(tmp_path):
    table_path, readme = tmp_path / "bench.md", tmp_path / "README.md"
    readme.write_text(README)
    write_bench(ROWS, table_path, readme, notes=["Batched training: line one.", "Line two."])
    page = table_path.read_text()
    assert page.endswith(bench_table(ROWS).rstrip("\n") + "\n\nBatched training: line one."
                         "\n\nLine two.\n")
    assert "Batched training" not in readme.read_text()


@pytest.mark.parametrize("text, problem", [
    ("# README\nno markers here\n", "found 0 start and 0 end markers"),
    ("<!-- bench:start -->\nonly a start\n", "found 1 start and 0 end markers"),
    ("<!-- bench:end -->\n<!-- bench:start -->\n", "comes before"),
    ("<!-- bench:start --><!-- bench:end --><!-- bench:start --><!-- bench:end -->",
     "found 2 start and 2 end markers"),
])
def test_write_bench_marker_errors_leave_files_untouched(tmp_path, text, problem):
    table_path = tmp_path / "bench.md"
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match=re.escape(problem)):
        write_bench(ROWS, table_path, readme)
    assert readme.read_text() == text
    assert not table_path.exists()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursetools.bench", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_cli_writes_table_and_readme(tmp_path):
    lab = write_notebook(tmp_path / "00_tiny.ipynb", "x = 1")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    table_path = tmp_path / "bench.md"
    result = cli(str(lab), "--table", str(table_path), "--readme", str(readme))
    assert result.returncode == 0, result.stderr
    assert "| Lab | Wall time (s)" in result.stdout
    assert re.search(r"\| 00_tiny \| \d+\.\d \| \d+ \| ✓ \|", result.stdout)
    assert "| 00_tiny |" in table_path.read_text()
    assert "old table" not in readme.read_text()


def test_cli_fails_and_names_the_lab_over_budget_or_failing(tmp_path):
    slow = write_notebook(tmp_path / "00_slow.ipynb", "import time\ntime.sleep(0.3)")
    broken = write_notebook(tmp_path / "01_broken.ipynb", "raise RuntimeError('no data')")
    result = cli(str(slow), str(broken), "--budget", "0.2")
    assert result.returncode == 1
    assert "00_slow.ipynb: took" in result.stderr and "over the 0.2 s budget" in result.stderr
    assert "01_broken.ipynb: failed: RuntimeError: no data" in result.stderr
    assert "| 01_broken |" in result.stdout  # the table still shows every lab


def test_main_in_process(tmp_path, capsys):
    lab = write_notebook(tmp_path / "00_tiny.ipynb", "x = 1")
    assert main([str(lab), "--table", str(tmp_path / "bench.md")]) == 0
    assert "| 00_tiny |" in (tmp_path / "bench.md").read_text()
    with pytest.raises(SystemExit) as info:   # argparse refuses --readme without --table
        main([str(lab), "--readme", str(tmp_path / "README.md")])
    assert info.value.code == 2
    assert "--readme needs --table" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Batched training against a loop (issue 14): a tiny version, for the format, not the speed
# --------------------------------------------------------------------------------------------

ENSEMBLE_LINE = re.compile(
    r"^Batched training: (\d+) MLPs \(widths (\d+)-(\d+)\), (\d+) digits, (\d+) full-batch "
    r"Adam steps: loop (\d+\.\d) s, batched (\d+\.\d) s"
    r"(?: \(runs before and after the loop \d+\.\d, \d+\.\d s\))?: "
    r"(\d+\.\d\d)x faster \(goal 8x [✓✗]\); "
    r"CPU time \d+\.\d s vs \d+\.\d s \(\d+\.\d\dx\); \d+ thread\(s\), load \d+\.\d-\d+\.\d; "
    r"final losses agree within \d\.?\d*e[-+]\d+\.$")


def test_bench_ensemble_times_both_and_computes_the_ratio():
    from coursetools.bench import _usable_cores, bench_ensemble
    r = bench_ensemble(n_models=3, steps=4, n_examples=30)
    assert r["widths"] == [4, 32, 256] and r["n_examples"] == 30 and r["steps"] == 4
    assert r["loop_s"] > 0 and r["batched_s"] > 0
    assert r["ratio"] == r["loop_s"] / r["batched_s"]
    # the batched time is the mean of a run before the loop and one after it
    assert len(r["batched_runs_s"]) == 2 and r["batched_s"] == sum(r["batched_runs_s"]) / 2
    assert r["cpu_ratio"] == r["loop_cpu_s"] / r["batched_cpu_s"]
    assert r["max_loss_gap"] < 1e-4  # the two runs trained the same networks the same way
    assert r["threads"] == _usable_cores() and len(r["load"]) == 2  # every core by default
    with pytest.raises(ValueError, match="n_examples must be in"):
        bench_ensemble(n_models=2, steps=1, n_examples=0)


def test_bench_ensemble_trains_both_ways_on_the_threads_asked_and_restores_torchs(monkeypatch):
    import torch

    import utils.ensembles
    import utils.training
    from coursetools.bench import bench_ensemble
    caller = torch.get_num_threads()
    torch.set_num_threads(2)   # a setting of the caller's, to be restored
    seen = {"loop": set(), "batched": set()}
    train, train_ensemble = utils.training.train, utils.ensembles.train_ensemble

    def loop(*args, **kwargs):
        seen["loop"].add(torch.get_num_threads())
        return train(*args, **kwargs)

    def batched(*args, **kwargs):
        seen["batched"].add(torch.get_num_threads())
        return train_ensemble(*args, **kwargs)

    monkeypatch.setattr(utils.training, "train", loop)
    monkeypatch.setattr(utils.ensembles, "train_ensemble", batched)
    try:
        r = bench_ensemble(n_models=2, steps=2, n_examples=20, threads=1)
        assert r["threads"] == 1 and seen == {"loop": {1}, "batched": {1}}
        assert torch.get_num_threads() == 2

        def fails(*args, **kwargs):
            raise RuntimeError("the loop broke")

        monkeypatch.setattr(utils.training, "train", fails)
        with pytest.raises(RuntimeError, match="the loop broke"):
            bench_ensemble(n_models=2, steps=2, n_examples=20, threads=1)
        assert torch.get_num_threads() == 2   # restored on the error too
    finally:
        torch.set_num_threads(caller)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer or None"):
            bench_ensemble(n_models=2, steps=1, n_examples=20, threads=bad)


def test_ensemble_line_reports_times_ratio_and_goal():
    from coursetools.bench import ensemble_line
    r = {"n_models": 32, "widths": [4, 9, 256], "n_examples": 300, "steps": 5000,
         "loop_s": 96.04, "batched_s": 12.0, "ratio": 96.04 / 12.0, "loop_cpu_s": 90.0,
         "batched_cpu_s": 11.0, "cpu_ratio": 90 / 11, "threads": 1, "load": (0.5, 2.25),
         "max_loss_gap": 3.2e-6}
    line = ensemble_line(r)
    match = ENSEMBLE_LINE.match(line)
    assert match, line
    assert match.groups() == ("32", "4", "256", "300", "5000", "96.0", "12.0", "8.00")
    assert "goal 8x ✓" in line
    assert "goal 8x ✗" in ensemble_line({**r, "ratio": 7.9})
    # just short of the goal does not print as the goal itself
    assert "7.96x faster (goal 8x ✗)" in ensemble_line({**r, "ratio": 7.96})
    # a wall-time ratio that the load inflated does not meet the goal on its own
    assert "goal 8x ✗" in ensemble_line({**r, "ratio": 9.7, "cpu_ratio": 4.4})


def test_cli_ensemble_prints_a_line_on_one_thread_and_one_on_every_core(capsys):
    from coursetools.bench import _usable_cores
    assert main(["--ensemble", "--ensemble-models", "2", "--ensemble-steps", "3"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    threads = sorted({1, _usable_cores()})
    assert len(out) == len(threads) and all(ENSEMBLE_LINE.match(line) for line in out), out
    assert [f"; {t} thread(s)," in line for t, line in zip(threads, out)] == [True] * len(out)
    assert "2 MLPs" in out[0] and "3 full-batch" in out[0]
    assert main(["--ensemble", "--ensemble-models", "2", "--ensemble-steps", "2",
                 "--ensemble-threads", "1"]) == 0
    assert "; 1 thread(s)," in capsys.readouterr().out
    assert main(["--ensemble", "--ensemble-threads", "0"]) == 1
    assert "threads must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # nothing to do
        main([])
    assert info.value.code == 2
    assert "or --ensemble" in capsys.readouterr().err
