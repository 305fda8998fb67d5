"""Tests of coursetools.notebooks on small synthetic notebooks built in tmp_path.

The tests that start a kernel take one to two seconds each; the rest are instant.
"""
from __future__ import annotations

import ast
import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursetools.notebooks import (
    REPO_ROOT,
    cells_tagged,
    execute_in_place,
    execute_notebook,
    exercise_header,
    main,
    read_notebook,
    run_with_seeds,
    set_parameters,
    student_version,
    write_student_versions,
)

PARAMETERS = (
    "SEED = 0  # any seed must do\n"
    "N_TRAIN = 100\n"
    "LR = 0.1  # learning rate\n"
    "OPTIMIZER = 'sgd'\n"
    "LABEL = \"é\"  # non-ASCII before a value shifts ast's byte offsets"
)
SOLUTION_1 = (
    "# Exercise 1: Compute the mean of the numbers 0, ..., N_TRAIN - 1.\n"
    "# Use numpy, not a loop.\n"
    "import numpy as np\n"
    "mean_of_numbers = float(np.mean(np.arange(N_TRAIN)))"
)
# Both kinds of quote and a backslash, which a naive stub would turn into a syntax error.
SOLUTION_2 = (
    "# Exercise 2: Print \"it's done\" and a backslash \\ on one line.\n"
    "print(\"it's done \\\\\")"
)
INSTRUCTION_2 = "Print \"it's done\" and a backslash \\ on one line."


def code(source: str, *tags: str, **fields) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {}, **fields)


def make_lab() -> nbformat.NotebookNode:
    """A lab-shaped notebook: parameters, two exercises with checks, claims; with outputs."""
    stale = [new_output("stream", name="stdout", text="49.5\n")]
    return new_notebook(cells=[
        new_markdown_cell("# A tiny lab"),
        code(PARAMETERS, "parameters", execution_count=1),
        code(SOLUTION_1, "solution", execution_count=2, outputs=stale),
        code("assert mean_of_numbers == 49.5, 'the mean is wrong'", "check", execution_count=3),
        code(SOLUTION_2, "solution", "hide-input", execution_count=4),
        code("print('checked')", "check", execution_count=5),
        code("assert LR > 0, 'the learning rate must be positive'", "claims", execution_count=6),
    ])


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def error_outputs(cell) -> list:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


# --------------------------------------------------------------------------------------------
# read_notebook, cells_tagged
# --------------------------------------------------------------------------------------------


def test_read_notebook_reads_back_what_was_written(tmp_path):
    path = write(make_lab(), tmp_path / "lab.ipynb")
    nb = read_notebook(path)
    assert nb.nbformat == 4
    assert [cell.source for cell in nb.cells] == [cell.source for cell in make_lab().cells]


def test_read_notebook_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook at .*missing.ipynb"):
        read_notebook(tmp_path / "missing.ipynb")


def test_read_notebook_not_json(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ this is not json")
    with pytest.raises(ValueError, match="broken.ipynb is not valid JSON"):
        read_notebook(path)


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2]", '{"nbformat": 4, "nbformat_minor": 5}'])
def test_read_notebook_json_but_not_a_notebook(tmp_path, text):
    path = tmp_path / "other.ipynb"
    path.write_text(text)
    with pytest.raises(ValueError, match="is JSON but not a Jupyter notebook"):
        read_notebook(path)


def test_cells_tagged_returns_indices_and_the_cells_themselves():
    nb = make_lab()
    solutions = cells_tagged(nb, "solution")
    assert [index for index, _ in solutions] == [2, 4]
    assert all(cell is nb.cells[index] for index, cell in solutions)
    assert [index for index, _ in cells_tagged(nb, "claims")] == [6]
    assert [index for index, _ in cells_tagged(nb, "hide-input")] == [4]


def test_cells_tagged_unknown_tag_and_untagged_cells():
    nb = new_notebook(cells=[new_markdown_cell("text"), new_code_cell("x = 1")])
    assert cells_tagged(nb, "solution") == []


# --------------------------------------------------------------------------------------------
# exercise_header
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source, expected", [
    ("# Exercise 1: Fit a line.\nfit()", ("Exercise 1", "Fit a line.")),
    ("# Exercise 2: Fit a line\n# to the data\n#   with numpy.\nfit()",
     ("Exercise 2", "Fit a line to the data with numpy.")),
    # A blank line ends the header: the comment after it belongs to the code.
    ("# Exercise 3b: Predict.\n\n# the code's own comment\nx = 1", ("Exercise 3b", "Predict.")),
    ("\n#Exercise 4.1:Sum it.\ns = 1", ("Exercise 4.1", "Sum it.")),
    ("# Exercise 5: Only a header", ("Exercise 5", "Only a header")),
])
def test_exercise_header(source, expected):
    assert exercise_header(source) == expected


@pytest.mark.parametrize("source", [
    "x = 1",
    "",
    "# compute the mean\nx = 1",
    "# Exercise: no number\nx = 1",
    "x = 1\n# Exercise 1: header not on the first line",
])
def test_exercise_header_missing(source):
    with pytest.raises(ValueError, match=r"must start with a header comment '# Exercise N: "):
        exercise_header(source)


def test_exercise_header_empty_instruction():
    with pytest.raises(ValueError, match="header of Exercise 7 has no instruction"):
        exercise_header("# Exercise 7:\nx = 1")


# --------------------------------------------------------------------------------------------
# student_version, write_student_versions
# --------------------------------------------------------------------------------------------


def test_student_stub_is_header_then_not_implemented():
    student = student_version(make_lab())
    assert student.cells[2].source == (
        "# Exercise 1: Compute the mean of the numbers 0, ..., N_TRAIN - 1.\n"
        "# Use numpy, not a loop.\n"
        "raise NotImplementedError('Exercise 1: Compute the mean of the numbers 0, ..., "
        "N_TRAIN - 1. Use numpy, not a loop.')"
    )


def test_student_stubs_are_valid_python_that_raise_the_instruction():
    student = student_version(make_lab())
    stubs = cells_tagged(student, "exercise")
    assert len(stubs) == 2
    messages = []
    for _, cell in stubs:
        compiled = compile(cell.source, "<stub>", "exec")  # SyntaxError would fail the test
        with pytest.raises(NotImplementedError) as info:
            exec(compiled, {})
        messages.append(str(info.value))
    assert messages[1] == f"Exercise 2: {INSTRUCTION_2}"
    assert messages[0].startswith("Exercise 1: Compute the mean")


def test_student_version_tags_outputs_and_metadata():
    student = student_version(make_lab())
    assert student.cells[2].metadata.tags == ["exercise"]
    assert student.cells[4].metadata.tags == ["exercise", "hide-input"]
    assert cells_tagged(student, "solution") == []
    assert student.cells[3].metadata.tags == ["check"]  # other cells keep their tags
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None
    assert student.metadata["student_version"] is True
    # Every non-solution cell is unchanged.
    lab = make_lab()
    for index in (0, 1, 3, 5, 6):
        assert student.cells[index].source == lab.cells[index].source


def test_student_version_leaves_the_lab_unchanged():
    lab = make_lab()
    before = copy.deepcopy(lab)
    student_version(lab)
    assert lab == before


def test_student_version_needs_a_solution():
    nb = new_notebook(cells=[code("SEED = 0", "parameters")])
    with pytest.raises(ValueError, match="no cell tagged 'solution'"):
        student_version(nb)


def test_student_version_needs_a_header_in_each_solution():
    nb = new_notebook(cells=[new_markdown_cell("x"), code("y = 2 * 3", "solution")])
    with pytest.raises(ValueError, match=r"solution cell 1: .*'# Exercise N: <instruction>'"):
        student_version(nb)


def test_student_version_rejects_a_markdown_solution():
    nb = new_notebook(cells=[new_markdown_cell("# Exercise 1: x", metadata={"tags": ["solution"]})])
    with pytest.raises(ValueError, match="cell 0 is tagged 'solution' but is a markdown cell"):
        student_version(nb)


def test_write_student_versions(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    write(make_lab(), labs / "00_first.ipynb")
    write(make_lab(), labs / "01_second.ipynb")
    out = tmp_path / "build" / "student"  # nested, does not exist yet
    written = write_student_versions(labs, out)
    assert written == [out / "00_first.ipynb", out / "01_second.ipynb"]
    for path in written:
        nb = read_notebook(path)
        assert nb.metadata["student_version"] is True
        assert nb.metadata["course_lab"] == path.stem   # how the grader recognises the lab
        assert "np.mean" not in "".join(cell.source for cell in nb.cells)
    # The labs keep their solutions.
    assert "np.mean" in read_notebook(labs / "00_first.ipynb").cells[2].source


def test_write_student_versions_refuses_to_overwrite_the_labs(tmp_path):
    write(make_lab(), tmp_path / "lab.ipynb")
    with pytest.raises(ValueError, match="would overwrite the solutions"):
        write_student_versions(tmp_path, tmp_path / ".")


def test_write_student_versions_needs_notebooks(tmp_path):
    with pytest.raises(ValueError, match=r"no notebooks \(\*\.ipynb\) in"):
        write_student_versions(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="is not a folder"):
        write_student_versions(tmp_path / "nowhere", tmp_path / "out")


def test_write_student_versions_names_the_bad_lab_and_writes_nothing(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    write(make_lab(), labs / "00_good.ipynb")
    write(new_notebook(cells=[code("x = 1")]), labs / "01_bad.ipynb")
    with pytest.raises(ValueError, match="01_bad.ipynb: the notebook has no cell tagged"):
        write_student_versions(labs, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# set_parameters
# --------------------------------------------------------------------------------------------


def test_set_parameters_replaces_int_float_str_and_keeps_the_rest():
    new = set_parameters(make_lab(), SEED=7, LR=0.025, OPTIMIZER="adam", LABEL="x'y")
    assert new.cells[1].source == (
        "SEED = 7  # any seed must do\n"
        "N_TRAIN = 100\n"
        "LR = 0.025  # learning rate\n"
        "OPTIMIZER = 'adam'\n"
        "LABEL = \"x'y\"  # non-ASCII before a value shifts ast's byte offsets"
    )
    # Independent check: the cell, run as Python, binds the new values.
    namespace: dict = {}
    exec(new.cells[1].source, namespace)
    assert (namespace["SEED"], namespace["LR"], namespace["OPTIMIZER"], namespace["N_TRAIN"]) \
        == (7, 0.025, "adam", 100)


def test_set_parameters_bool_none_and_tuple():
    nb = new_notebook(cells=[code("FAST = False\nLIMIT = 3\nSIZES = (1, 2)", "parameters")])
    new = set_parameters(nb, FAST=True, LIMIT=None, SIZES=(4, 8, 16))
    assert new.cells[0].source == "FAST = True\nLIMIT = None\nSIZES = (4, 8, 16)"


def test_set_parameters_leaves_the_notebook_unchanged():
    lab = make_lab()
    set_parameters(lab, SEED=3)
    assert lab.cells[1].source == PARAMETERS


def test_set_parameters_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"BATCH_SIZE is not assigned in the parameters cell "
                                         r"\(cell 1\); the parameters there are: "
                                         r"LABEL, LR, N_TRAIN, OPTIMIZER, SEED"):
        set_parameters(make_lab(), SEED=1, BATCH_SIZE=32)


def test_set_parameters_without_parameters_cell():
    nb = new_notebook(cells=[code("SEED = 0")])
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        set_parameters(nb, SEED=1)


def test_set_parameters_with_two_parameters_cells():
    nb = new_notebook(cells=[code("SEED = 0", "parameters"), code("N = 1", "parameters")])
    with pytest.raises(ValueError, match="cells 0, 1 are all tagged 'parameters'"):
        set_parameters(nb, SEED=1)


def test_set_parameters_rejects_a_value_that_is_not_a_literal():
    with pytest.raises(ValueError, match="value for SEED must be a Python literal"):
        set_parameters(make_lab(), SEED=object())


def test_set_parameters_invalid_python_in_cell():
    nb = new_notebook(cells=[code("SEED = = 0", "parameters")])
    with pytest.raises(ValueError, match="parameters cell is not valid Python"):
        set_parameters(nb, SEED=1)


# --------------------------------------------------------------------------------------------
# execute_notebook, execute_in_place (these start kernels)
# --------------------------------------------------------------------------------------------


def test_execute_notebook_runs_in_cwd_and_imports_utils_from_the_repo(tmp_path):
    pythonpath_before = os.environ.get("PYTHONPATH")
    nb = new_notebook(cells=[
        new_markdown_cell("not executed"),
        code("import os\nprint(os.getcwd())"),
        code("import utils.checks\nprint(utils.checks.__file__)"),
    ])
    result = execute_notebook(nb, cwd=tmp_path, timeout=60)
    assert result is nb  # executed in place, as documented
    assert [cell.get("execution_count") for cell in nb.cells] == [None, 1, 2]
    assert Path(nb.cells[1].outputs[0].text.strip()).resolve() == tmp_path.resolve()
    # The kernel runs in tmp_path, so it can only find utils through PYTHONPATH.
    assert Path(nb.cells[2].outputs[0].text.strip()) == REPO_ROOT / "utils" / "checks.py"
    assert os.environ.get("PYTHONPATH") == pythonpath_before


def test_execute_notebook_stops_at_the_first_error(tmp_path):
    pythonpath_before = os.environ.get("PYTHONPATH")
    nb = new_notebook(cells=[code("x = 1"), code("raise KeyError('boom')"), code("y = 2")])
    with pytest.raises(CellExecutionError) as info:
        execute_notebook(nb, cwd=tmp_path, timeout=60)
    assert info.value.ename == "KeyError"
    assert [len(error_outputs(cell)) for cell in nb.cells] == [0, 1, 0]
    assert nb.cells[2].execution_count is None  # never ran
    assert os.environ.get("PYTHONPATH") == pythonpath_before  # restored despite the error


def test_execute_notebook_allow_errors_goes_on(tmp_path):
    nb = new_notebook(cells=[code("x = 1"), code("1 / 0"), code("print(x + 1)")])
    execute_notebook(nb, cwd=tmp_path, timeout=60, allow_errors=True)
    assert error_outputs(nb.cells[1])[0].ename == "ZeroDivisionError"
    assert nb.cells[2].outputs[0].text == "2\n"
    assert nb.cells[2].execution_count == 3


def test_execute_notebook_bad_arguments(tmp_path):
    nb = new_notebook(cells=[code("x = 1")])
    with pytest.raises(ValueError, match="is not a folder"):
        execute_notebook(nb, cwd=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        execute_notebook(nb, cwd=tmp_path, timeout=0)


def test_execute_in_place_refreshes_outputs_and_counts(tmp_path):
    stale = [new_output("stream", name="stdout", text="stale\n")]
    nb = new_notebook(cells=[
        code("x = 20", execution_count=7),
        new_markdown_cell("text"),
        code("", execution_count=3, outputs=stale),  # empty: not run, but its output must go
        code("print(x + 1)", execution_count=9, outputs=stale),
    ])
    path = write(nb, tmp_path / "lab.ipynb")
    execute_in_place(path, timeout=60)
    on_disk = read_notebook(path)
    counts = [cell.get("execution_count") for cell in on_disk.cells]
    assert counts == [1, None, None, 2]
    assert on_disk.cells[2].outputs == []
    assert on_disk.cells[3].outputs[0].text == "21\n"
    assert "execution" not in on_disk.cells[0].metadata  # no volatile timestamps


def test_execute_in_place_leaves_a_failing_notebook_unchanged(tmp_path):
    path = write(new_notebook(cells=[code("print(1)"), code("assert False, 'no'")]),
                 tmp_path / "lab.ipynb")
    before = path.read_bytes()
    with pytest.raises(CellExecutionError):
        execute_in_place(path, timeout=60)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------------------------
# run_with_seeds
# --------------------------------------------------------------------------------------------


def seed_lab() -> nbformat.NotebookNode:
    """A lab whose claim holds for every seed but 2."""
    return new_notebook(cells=[
        code("SEED = 0  # the seed\nN = 5", "parameters"),
        code("value = SEED * 10"),
        code("assert value != 20, f'value is {value}, the claim needs another'\n"
             "print(f'measured value {value}')", "claims"),
    ])


def test_run_with_seeds_reports_the_failing_seed_and_cell(tmp_path):
    path = write(seed_lab(), tmp_path / "lab.ipynb")
    before = path.read_bytes()
    results = run_with_seeds(path, [1, 2, 3], timeout=60)
    assert [run["seed"] for run in results] == [1, 2, 3]
    assert [run["ok"] for run in results] == [True, False, True]
    assert results[0]["ename"] is None and results[0]["cell_tag"] is None
    assert [run["claims_output"] for run in results] == ["measured value 10\n", "", "measured value 30\n"]
    failed = results[1]
    assert failed["ename"] == "AssertionError"
    assert failed["message"] == "value is 20, the claim needs another"
    assert failed["cell_index"] == 2
    assert failed["cell_tag"] == "claims"
    assert path.read_bytes() == before


def test_run_with_seeds_reports_an_error_before_the_claims(tmp_path):
    nb = seed_lab()
    nb.cells[1].source = "value = 1 / (SEED - 1)"
    path = write(nb, tmp_path / "lab.ipynb")
    (run,) = run_with_seeds(path, [1], timeout=60)
    assert (run["ok"], run["ename"], run["cell_index"], run["cell_tag"]) == \
        (False, "ZeroDivisionError", 1, None)


def test_run_with_seeds_needs_claims_and_seeds(tmp_path):
    no_claims = seed_lab()
    no_claims.cells[2].metadata.tags = []
    path = write(no_claims, tmp_path / "lab.ipynb")
    with pytest.raises(ValueError, match="has no cell tagged 'claims'"):
        run_with_seeds(path, [1])
    path = write(seed_lab(), tmp_path / "lab2.ipynb")
    with pytest.raises(ValueError, match="seeds must be a non-empty sequence of integers"):
        run_with_seeds(path, [])
    with pytest.raises(ValueError, match="seeds must be a non-empty sequence of integers"):
        run_with_seeds(path, [1.5])


def test_run_with_seeds_needs_seed_in_the_parameters(tmp_path):
    nb = seed_lab()
    nb.cells[0].source = "N = 5"
    path = write(nb, tmp_path / "lab.ipynb")
    with pytest.raises(ValueError, match="SEED is not assigned in the parameters cell"):
        run_with_seeds(path, [1])


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursetools.notebooks", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_cli_help():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("student", "execute", "seeds"):
        assert command in result.stdout
    assert "--seeds" in cli("seeds", "--help").stdout


def test_cli_student(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    write(make_lab(), labs / "00_lab.ipynb")
    result = cli("student", str(labs), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "00_lab.ipynb" in result.stdout
    assert read_notebook(tmp_path / "out" / "00_lab.ipynb").metadata["student_version"] is True


def test_cli_student_error_is_reported_with_nonzero_exit(tmp_path):
    result = cli("student", str(tmp_path), str(tmp_path / "out"))
    assert result.returncode == 1
    assert "error: no notebooks" in result.stderr


def test_cli_seeds_fails_when_a_claim_fails_for_one_seed(tmp_path):
    path = write(seed_lab(), tmp_path / "lab.ipynb")
    result = cli("seeds", str(path), "--seeds", "1", "2", "--timeout", "60")
    assert result.returncode == 1
    assert "SEED=1  ok" in result.stdout
    assert "SEED=2  FAILED in cell 2 [claims]: AssertionError: value is 20" in result.stdout


def test_cli_seeds_passes_when_claims_hold(tmp_path):
    path = write(seed_lab(), tmp_path / "lab.ipynb")
    result = cli("seeds", str(path), "--seeds", "0", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SEED=0  ok" in result.stdout


def test_cli_execute_refreshes_good_notebooks_and_fails_on_bad_ones(tmp_path):
    good = write(new_notebook(cells=[code("print(6 * 7)", execution_count=5)]),
                 tmp_path / "good.ipynb")
    bad = write(new_notebook(cells=[code("raise RuntimeError('broken lab')")]),
                tmp_path / "bad.ipynb")
    bad_before = bad.read_bytes()
    result = cli("execute", str(good), str(bad), "--timeout", "60")
    assert result.returncode == 1
    assert "broken lab" in result.stderr and "bad.ipynb" in result.stderr
    executed = read_notebook(good)
    assert executed.cells[0].execution_count == 1
    assert executed.cells[0].outputs[0].text == "42\n"
    assert bad.read_bytes() == bad_before


def test_student_stub_parses_as_a_module():
    """The whole student notebook's code, stubs included, is valid Python."""
    student = student_version(make_lab())
    ast.parse("\n".join(cell.source for cell in student.cells if cell.cell_type == "code"))


def test_main_in_process_returns_exit_codes(tmp_path, capsys):
    labs = tmp_path / "labs"
    labs.mkdir()
    write(make_lab(), labs / "00_lab.ipynb")
    assert main(["student", str(labs), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "00_lab.ipynb").exists()
    assert main(["student", str(tmp_path / "out" / "missing"), str(tmp_path / "x")]) == 1
    assert "error:" in capsys.readouterr().err


def test_seeds_command_prints_each_runs_claims_and_fails_on_a_broken_seed(tmp_path, capsys):
    path = write(seed_lab(), tmp_path / "lab.ipynb")
    assert main(["seeds", str(path), "--seeds", "1", "3", "--print-claims"]) == 0
    out = capsys.readouterr().out
    assert "SEED=1  ok\n    measured value 10" in out and "SEED=3  ok\n    measured value 30" in out
    assert main(["seeds", str(path), "--seeds", "2"]) == 1
    assert "SEED=2  FAILED in cell 2 [claims]: AssertionError: value is 20" in capsys.readouterr().out
