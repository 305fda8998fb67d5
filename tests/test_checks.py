import numpy as np
import pytest
import torch

from utils.checks import CheckFailed, check_array, check_choice, check_function, check_scalar


def test_check_array_passes_and_says_so(capsys):
    check_array(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), name="the weights")
    assert "✓ the weights matches the reference." in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected, message", [
    (np.zeros((50, 1)), np.zeros(50), "expected shape (50,), got (50, 1)"),
    (None, np.zeros(2), "did the function forget to `return`"),
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "contains NaN at 1 place"),
    (np.array([1, 2, 4]), np.array([1, 2, 3]), "1 of 3 value(s) differ from the reference; "
                                                 "first at index (2,): expected 3, got 4"),
    (np.array([1, 0]), np.array([True, False]), "expected booleans"),
    (["a", "b"], np.array([1, 2]), "expected numbers"),
    ([[1, 2], [3]], np.array([1, 2]), "cannot be read as an array"),
])
def test_check_array_says_what_is_wrong(answer, expected, message):
    with pytest.raises(CheckFailed) as info:
        check_array(answer, expected)
    assert message in str(info.value)


def test_check_scalar():
    check_scalar(np.float64(0.25), 0.25)
    with pytest.raises(CheckFailed, match="expected a single number"):
        check_scalar([0.1, 0.2], 0.1)
    with pytest.raises(CheckFailed, match="expected 0.5, got 0.4"):
        check_scalar(0.4, 0.5)


def test_check_function_compares_on_every_case(capsys):
    check_function(np.cumsum, lambda a: np.cumsum(a), cases=[([1, 2, 3],), ({"a": [4]})])
    assert "agrees with the reference on 2 test cases" in capsys.readouterr().out

    def off_by_one(x):
        return np.asarray(x) + (len(x) > 2)

    with pytest.raises(CheckFailed, match="result on test case 2"):
        check_function(off_by_one, np.asarray, cases=[([1, 2],), ([1, 2, 3],)])


def test_check_function_reports_exceptions_and_stubs():
    def crashes(x):
        return x / "a"

    def stub(x):
        raise NotImplementedError("Exercise 1")

    with pytest.raises(CheckFailed,
                       match=r"raised TypeError: .* \(test case 1 of 1, inputs \(1,\)\)"):
        check_function(crashes, lambda x: x, cases=[(1,)])
    with pytest.raises(CheckFailed, match="not written yet"):
        check_function(stub, lambda x: x, cases=[(1,)])
    with pytest.raises(CheckFailed, match="expected a function"):
        check_function(3, lambda x: x, cases=[(1,)])
    with pytest.raises(ValueError, match="at least one test case"):
        check_function(abs, abs, cases=[])


def test_check_choice():
    check_choice("higher", "higher", ["higher", "lower"])
    with pytest.raises(CheckFailed, match="must be one of"):
        check_choice("up", "higher", ["higher", "lower"])
    with pytest.raises(CheckFailed, match="not what the experiment shows. Because."):
        check_choice("lower", "higher", ["higher", "lower"], explanation="Because.")


# Issue 33, "checks that teach", and the toolkit rows T9 and T11 of the QA report (issue 36)


def test_a_failing_case_shows_its_inputs():
    with pytest.raises(CheckFailed) as info:
        check_function(lambda a, b: a - b, lambda a, b: a + b,
                       cases=[(1, 0), (np.array([0.5, 2.0]), 3)], name="add")
    message = str(info.value)
    assert "test case 2 (inputs (array([0.5, 2. ]), 3))" in message
    with pytest.raises(CheckFailed, match=r"inputs \(an array of shape \(20, 50\) \(float64\),\)"):
        check_function(lambda x: x.sum() + 1, lambda x: x.sum(), cases=[(np.zeros((20, 50)),)])
    with pytest.raises(CheckFailed, match=r"raised ZeroDivisionError: .*inputs \(0,\)"):
        check_function(lambda x: 1 / x, lambda x: x, cases=[(0,)])


def test_none_is_a_legitimate_result_and_the_return_hint_only_when_it_is_not(capsys):
    def threshold(values, limit):
        hits = [v for v in values if v >= limit]
        return hits[0] if hits else None

    check_function(threshold, threshold, cases=[([1, 2], 5), ([1, 7], 5)])
    assert "agrees with the reference on 2 test cases" in capsys.readouterr().out
    with pytest.raises(CheckFailed) as info:
        check_function(lambda v, t: None, threshold, cases=[([1, 2], 5), ([1, 7], 5)])
    assert "test case 2" in str(info.value) and "forget to `return`" in str(info.value)
    with pytest.raises(CheckFailed, match="expected None, got 1"):
        check_function(lambda v, t: 1, threshold, cases=[([1, 2], 5)])


def test_an_answer_equal_to_everything_is_not_a_right_prediction():
    class Any(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    class Anything:
        def __eq__(self, other):
            return True

    for answer in (Any("lower"), Anything()):
        with pytest.raises(CheckFailed):
            check_choice(answer, "higher", ["higher", "lower"])
    check_choice(np.str_("higher"), "higher", ["higher", "lower"])


def test_only_real_tensors_are_read_as_tensors_and_bfloat16_works():
    check_array(torch.tensor([1.0, 2.0], dtype=torch.bfloat16), [1.0, 2.0])

    class Fake:
        __module__ = "torch.fake"

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return np.ones(2)

    with pytest.raises(CheckFailed, match="cannot be read as an array of numbers"):
        check_array(Fake(), np.zeros(2))


def test_interpolation_width_is_the_reference_lab_1_can_import():
    from utils.sweeps import interpolation_width

    acc = [[0.5, 1.0, 0.98, 1.0], [0.6, 1.0, 1.0, 1.0]]
    assert interpolation_width([2, 4, 8, 16], [[0.5, 0.9, 1.0, 1.0], [0.6, 1, 1, 1]], 0.01) == 8
    assert interpolation_width([2, 4, 8, 16], acc, 0.01) == 16   # dips again after fitting
    assert interpolation_width([2, 4, 8, 16], acc, 0.05) == 4
    assert interpolation_width([2, 4], [[1.0, 1.0]], 0.0) == 2
    assert interpolation_width([2, 4], [[0.5, 0.7]], 0.01) is None
    assert interpolation_width([2, 4, 8], [[1.0, 1.0, 0.5]], 0.01) is None  # the last fails
    with pytest.raises(ValueError, match=r"shape \(n_seeds, 2\)"):
        interpolation_width([2, 4], [1.0, 1.0], 0.01)
    with pytest.raises(ValueError, match="eps"):
        interpolation_width([2, 4], [[1.0, 1.0]], 1.5)
    with pytest.raises(TypeError, match="widths"):
        interpolation_width(4, [[1.0]], 0.0)


def test_describe_case_shows_small_inputs_whole_and_large_ones_by_shape():
    from utils.checks import describe_case
    assert describe_case(([1, 2], 0.5)) == "([1, 2], 0.5)"
    assert describe_case({"eps": 0.01, "widths": np.arange(3)}) == "eps=0.01, widths=array([0, 1, 2])"
    assert describe_case((np.ones((4, 5)),)) == "(an array of shape (4, 5) (float64),)"
    assert len(describe_case(("x" * 1000,), limit=50)) <= 60


def test_none_is_judged_the_same_by_the_checks_and_the_grader():
    """utils.checks._both_none serves check_function and the grader's compare_values."""
    from coursetools.grading.verdicts import compare_values
    from utils.checks import _both_none
    assert _both_none(None, None, "f", "") and not _both_none(0, 0, "f", "")
    with pytest.raises(CheckFailed, match="f is None, but the reference is 3"):
        compare_values(None, 3, "f", 1e-6, 1e-8)
    with pytest.raises(CheckFailed, match="f: expected None, got 3"):
        compare_values(3, None, "f", 1e-6, 1e-8)
    with pytest.raises(CheckFailed, match="is None, but the reference returns a value"):
        check_function(lambda x: None, lambda x: x, [(1,)], name="f")
