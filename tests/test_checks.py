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

    with pytest.raises(CheckFailed, match=r"raised TypeError: .* \(test case 1 of 1\)"):
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
