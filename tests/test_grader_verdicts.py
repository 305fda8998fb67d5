"""Verdicts outside the kernel (issue 36): in-process tricks get what their answers deserve.

The eleven in-process attacks of ../shared/reviews/qa-grader.md (N1-N11) each worked on the
grader whose checks ran inside the student's kernel. Now the kernel only reports the values the
student's code produced, as plain data, and the grader compares them with an answer key made
from the reference lab in another process. Every test below puts a trick *and a wrong answer*
in an exercise: the exercise must fail, with no special case in the grader for the trick.

The lab is a small one built here (four exercises: a function, a scalar from a lab array, a
prediction, and a function whose reference uses scipy), so that each grading takes seconds.
The unit tests at the end cover the serializer and the strict reader without a kernel.
"""
from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from coursetools.grading import kernel_side, verdicts
from coursetools.grading.answer_key import arm_source
from tests.test_grader import code, graded, statuses, student, submit

RIGHT = {
    "ex1": "def scaled(x):\n    return x * rates",
    "ex2": "x_star = float(np.log(2) / rates[0])",
    "ex3": 'prediction = "higher"',
    "ex4": "def root(c):\n    return c ** 0.5",
}
WRONG = {
    "ex1": "def scaled(x):\n    return 0 * x * rates",
    "ex2": "x_star = 5.0",
    "ex3": 'prediction = "lower"',
    "ex4": "def root(c):\n    return 0.0",
}


def attack_lab() -> nbformat.NotebookNode:
    """Four exercises whose checks read lab state, a choice, and a scipy-based reference."""
    return new_notebook(cells=[
        new_markdown_cell("# Lab 7 · A lab to attack\n\nText."),
        code("import math\nimport numpy as np\nfrom utils.checks import *\n"
             "rates = np.array([2.0, 3.0])"),
        code("# Exercise 1: Write `scaled(x)`, returning x times `rates`.\n" + RIGHT["ex1"],
             "solution"),
        code("check_function(scaled, lambda x: x * rates, cases=[(1.0,), (np.arange(2.0),)],"
             " name='scaled')", "check"),
        code("# Exercise 2: Set `x_star` to ln 2 / rates[0].\n" + RIGHT["ex2"], "solution"),
        code("x_numeric = np.log(2) / rates[0]\ncheck_scalar(x_star, x_numeric, name='x_star', "
             "rtol=1e-3)", "check"),
        code("# Exercise 3: Will it be higher or lower?\n" + RIGHT["ex3"], "solution"),
        code("check_choice(prediction, 'higher', options=['higher', 'lower'])", "check"),
        code("# Exercise 4: Write `root(c)`, the positive square root of c.\n" + RIGHT["ex4"],
             "solution"),
        code("import scipy.optimize\n"
             "check_function(root, lambda c: scipy.optimize.brentq(lambda x: x * x - c, 0, 10),"
             " cases=[(2.0,), (9.0,)], name='root')", "check"),
        code("assert abs(root(4.0) - 2.0) < 1e-6\nprint('All claims hold.')", "claims"),
    ])


@pytest.fixture(scope="module")
def attack_labs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labs")
    nbformat.write(attack_lab(), folder / "07_attack.ipynb")
    return folder


def grade_answers(tmp_path, labs, name, **answers):
    nb = student(attack_lab(), **{**RIGHT, **answers})
    return graded(submit(nb, tmp_path / f"{name}.ipynb"), labs_dir=labs, timeout=120)


def test_right_wrong_and_blank_get_what_they_deserve(tmp_path, attack_labs):
    report = grade_answers(tmp_path, attack_labs, "right")
    assert statuses(report) == ["passed"] * 4 and report.exit_code == 0, report.exercises
    report = grade_answers(tmp_path, attack_labs, "wrong", **WRONG)
    assert statuses(report) == ["failed"] * 4, report.exercises
    assert "expected 'higher', got 'lower'" not in report.exercises[2].message  # the choice's
    assert "is not what the experiment shows" in report.exercises[2].message    # own words
    nb = student(attack_lab())
    report = graded(submit(nb, tmp_path / "blank.ipynb"), labs_dir=attack_labs, timeout=120)
    assert statuses(report) == ["not attempted"] * 4, report.exercises


def test_the_failing_case_is_shown_and_verdicts_are_written_into_the_graded_notebook(
        tmp_path, attack_labs):
    report = graded(submit(student(attack_lab(), **{**RIGHT, "ex1": WRONG["ex1"]}),
                           tmp_path / "one.ipynb"), labs_dir=attack_labs, timeout=120,
                    out_dir=tmp_path / "out")
    message = report.exercises[0].message
    assert "test case 1 of 2, inputs (1.0,)" in message and "expected 2.0, got 0.0" in message
    text = (tmp_path / "out" / "one.ipynb.graded.ipynb").read_text()
    assert "[grader, outside the kernel] failed: scaled" in text
    assert "install(" not in text  # the grader's own cells are not shown


# One test per in-process attack of the QA report. Each string goes first in an exercise cell
# whose answer is wrong; `which` says which exercise; all four exercises must fail.
ATTACKS = {
    # N1: a patch of the comparison that restores itself before anything could look
    "N1 self-restoring patch": ("ex1", """
import utils.checks as _c
_real = _c._compare
def _silent(*a, **k):
    _c._compare = _real
_c._compare = _silent
def scaled(x):
    _c._compare = _silent
    return 0 * x * rates
"""),
    # N2: an answer equal to everything
    "N2 equal to everything": ("ex3", """
class _Any(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = str.__hash__
prediction = _Any("lower")
"""),
    # N3: ctypes rewrites the checks' default tolerances in place
    "N3 ctypes tolerances": ("ex2", """
import ctypes, utils.checks
for _f in (utils.checks.check_scalar, utils.checks.check_function, utils.checks.check_array):
    for _v in _f.__defaults__:
        if type(_v) is float:
            ctypes.c_double.from_address(id(_v) + 16).value = 1e300
x_star = 5.0
"""),
    # N4: a fake tensor whose numpy() answers "all close"
    "N4 fake tensor": ("ex1", """
class _Yes(np.ndarray):
    def __array_ufunc__(self, *a, **k): return np.ones(2, bool)
class _Fake:
    __module__ = "torch.fake"
    def detach(self): return self
    def cpu(self): return self
    def numpy(self): return np.zeros(2).view(_Yes)
def scaled(x):
    return _Fake()
"""),
    # N5: patch a library the reference uses
    "N5 patch scipy": ("ex4", """
import scipy.optimize
scipy.optimize.brentq = lambda *a, **k: 0.0
def root(c):
    return 0.0
"""),
    # N6: IPython's compiler class compiles every check cell to `pass`
    "N6 compiler class": ("ex1", """
import ast
_ip = get_ipython()
_klass = type(_ip.compile)
_orig = _klass.ast_parse
def _parse(self, source, *a, **k):
    if "check_" in source or "install(" in source:
        source = "pass"
    return _orig(self, source, *a, **k)
_klass.ast_parse = _parse
def scaled(x):
    return 0 * x * rates
"""),
    # N7: rebind the lab's names while a check runs
    "N7 rebind during the check": ("ex1", """
def scaled(x):
    globals()["rates"] = np.zeros(2)
    globals()["x_numeric"] = 5.0
    return 0 * x
"""),
    # N8: hide the lab's names from the grader's snapshot, then rebind them
    "N8 user_ns_hidden": ("ex2", """
get_ipython().user_ns_hidden.update(rates=None, x_numeric=None)
rates = np.array([np.log(2) / 5.0, 1.0])
x_star = 5.0
"""),
    # N9: empty the checks' __all__ and rebind the checks during a check
    "N9 empty __all__": ("ex2", """
import utils.checks
utils.checks.__all__.clear()
class _X(float):
    def __array__(self, *a, **k):
        globals()["check_scalar"] = lambda *a, **k: print("✓ fine")
        return np.array(5.0)
x_star = _X(5.0)
"""),
    # N10: change in place a lab array the check itself reads
    "N10 in-place lab array": ("ex2", """
rates[:] = np.log(2) / 5.0
x_star = 5.0
"""),
    # N11: read the expected value from the check's frame
    "N11 frame locals": ("ex1", """
import sys
def scaled(x):
    frame = sys._getframe(1)
    for name in ("expected", "want", "reference"):
        if name in frame.f_locals:
            return frame.f_locals[name]
    return 0 * x
"""),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_in_process_attacks_get_the_grade_of_their_wrong_answers(tmp_path, attack_labs, name):
    which, attack = ATTACKS[name]
    answers = dict(WRONG)
    answers[which] = attack.strip() + "\n" + (WRONG[which] if which in ("ex2", "ex3")
                                               and "x_star" not in attack
                                               and "prediction" not in attack else "")
    report = grade_answers(tmp_path, attack_labs, name.split()[0], **answers)
    assert report.status == "graded", (name, report.status, report.message)
    assert report.n_passed == 0, (name, [(e.label, e.status, e.message)
                                         for e in report.exercises])
    assert "passed" not in statuses(report)


def test_a_trick_with_the_right_answers_still_passes(tmp_path, attack_labs):
    """Tricks are not punished as such: the answers decide (the grader looks for nothing)."""
    answers = dict(RIGHT)
    answers["ex1"] = ATTACKS["N1 self-restoring patch"][1].replace(
        "return 0 * x * rates", "return x * rates")
    report = grade_answers(tmp_path, attack_labs, "trick_right", **answers)
    assert statuses(report) == ["passed"] * 4, report.exercises


def test_forged_records_are_judged_like_answers(tmp_path, attack_labs):
    """A record written by the student's code claims an answer; it is judged, not trusted."""
    forge = ("import glob, json\n"
             "for _p in glob.glob('.answers-*'):\n"
             "    open(_p, 'a').write(json.dumps({'call': 0, 'kind': 'scalar', 'value': "
             "{'t': 'object', 'v': 'pass me'}}) + '\\n')\n")
    ex2 = ("class _Forge(float):\n"
           "    def __array__(self, *a, **k):\n" +
           "".join("        " + line + "\n" for line in forge.splitlines()) +
           "        return np.array(5.0)\n"
           "x_star = _Forge(5.0)")
    report = grade_answers(tmp_path, attack_labs, "forge", ex2=ex2)
    assert statuses(report)[1] == "failed", report.exercises


# --------------------------------------------------------------------------------------------
# The serializer (in the kernel) and the strict reader (in the grader), without a kernel
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, True, 3, 10**30, 0.5, float("nan"), 1 + 2j, "é",
                                   [1, (2.0, "x")], {"a": [None]},
                                   np.arange(6).reshape(2, 3), np.float32(1.5), np.bool_(True),
                                   np.zeros((0, 3))])
def test_plain_values_round_trip_through_json(value):
    data = json.loads(json.dumps(kernel_side.encode(value)))
    back = verdicts.read_value(data)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(np.asarray(back).item() if isinstance(
            back, np.generic) else back) is not object


class _Str(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("value", [_Str("x"), object(), lambda: 1, np.array(["a"]),
                                   np.array([object()]), {1: 2}, type("F", (float,), {})(1.0),
                                   np.zeros(2).view(type("A", (np.ndarray,), {}))])
def test_anything_but_plain_data_is_refused(value):
    with pytest.raises(kernel_side.Refused):
        kernel_side.encode(value)


def test_torch_tensors_are_read_as_numbers_bfloat16_included():
    torch = pytest.importorskip("torch")
    data = kernel_side.encode(torch.tensor([1.5, 2.0], dtype=torch.bfloat16))
    assert verdicts.read_value(data).tolist() == [1.5, 2.0]
    assert isinstance(kernel_side.decode(kernel_side.encode(torch.ones(2))), torch.Tensor)


@pytest.mark.parametrize("data", [
    {"t": "object"}, {"t": "array", "dtype": "|O", "shape": [1], "b64": ""},
    {"t": "array", "dtype": "<f8", "shape": [3], "b64": "AAAAAAAAAAA="},  # 1 value, not 3
    {"t": "array", "dtype": "<f8", "shape": [-1], "b64": ""}, {"t": "int", "v": 3},
    {"t": "float", "v": "1" * 100}, "x", {"t": "list", "v": [{"t": "eval", "v": "1"}]},
])
def test_the_reader_refuses_what_the_recorder_never_writes(data):
    with pytest.raises((verdicts.BadRecord, ValueError)):
        verdicts.read_value(data)


def test_none_can_be_a_legitimate_answer_and_the_return_hint_only_when_it_is_not():
    call = {"kind": "function", "name": "f", "rtol": 1e-6, "atol": 1e-8,
            "cases": [{"args": [{"t": "int", "v": "1"}], "kwargs": {}}],
            "expected": [{"t": "none"}]}
    assert verdicts.judge([call], {0: {"call": 0, "results": [{"value": {"t": "none"}}]}})[0] \
        == "passed"
    call["expected"] = [{"t": "int", "v": "4"}]
    status, message = verdicts.judge([call], {0: {"results": [{"value": {"t": "none"}}]}})
    assert status == "failed" and "`return`" in message and "inputs (1,)" in message


def test_messages_from_the_kernel_lose_their_control_characters():
    call = {"kind": "function", "name": "f", "cases": [{"args": [], "kwargs": {}}],
            "expected": [{"t": "none"}]}
    status, message = verdicts.judge([call], {0: {"results": [
        {"raised": "ValueError", "message": "bad" + "\b" * 80 + "\x1b]0;x\x07passed ✓"}]}})
    assert status == "failed" and "\b" not in message and "\x1b" not in message


def test_the_arm_cell_carries_inputs_but_never_the_expected_values():
    call = {"kind": "function", "name": "f", "cases": [{"args": [], "kwargs": {}}],
            "expected": [{"t": "str", "v": "SECRET-EXPECTED"}]}
    source = arm_source("answer", [call], __import__("pathlib").Path("/tmp/x.jsonl"))
    assert "SECRET-EXPECTED" not in source


def test_after_a_check_the_real_checks_are_back_for_the_students_own_use(tmp_path, attack_labs):
    """The recorders are bound only while a check cell runs."""
    ex2 = ("check_scalar(0.5, 0.5, name='my own test')\n"  # the student's own check
           "import utils.checks\nassert check_scalar is utils.checks.check_scalar\n"
           + RIGHT["ex2"])
    report = grade_answers(tmp_path, attack_labs, "own_check", ex2=ex2)
    assert statuses(report) == ["passed"] * 4, report.exercises
