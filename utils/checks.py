"""Checks: compare a student's answer with the reference and say, in plain words, what is off.

Each check prints a one-line confirmation when the answer is right and raises
:class:`CheckFailed` (an ``AssertionError``) with a message a student can act on when it is
not: what differs, and for a function the inputs of the failing test case. These checks are
the feedback while working; the course's grader makes its verdicts outside the student's
kernel (instructors/grading.md), from the same check cells.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Callable, Sequence

import numpy as np

__all__ = ["CheckFailed", "check_array", "check_scalar", "check_function", "check_choice",
           "describe_case"]


class CheckFailed(AssertionError):
    """A student's answer differs from the reference; the message says how.

    Example
    -------
    >>> issubclass(CheckFailed, AssertionError)
    True
    """


def _as_numpy(value, name: str) -> np.ndarray:
    # A torch tensor is recognised without importing torch (seconds, and numpy-only labs never
    # load it): if torch is not loaded, nothing can be a tensor. Only real tensors count, so an
    # object that merely calls its module "torch..." is read like any other value.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            value = value.float()
        return value.numpy()
    if value is None:
        raise CheckFailed(f"{name} is None: did the function forget to `return` its result?")
    try:
        arr = np.asarray(value)
    except Exception as err:  # e.g. ragged lists
        raise CheckFailed(f"{name} cannot be read as an array: {err}") from None
    if arr.dtype == object:
        raise CheckFailed(f"{name} cannot be read as an array of numbers "
                          f"(got {type(value).__name__})")
    return arr


def _compare(answer: np.ndarray, expected: np.ndarray, name: str, rtol: float, atol: float):
    """Raise CheckFailed at the first way ``answer`` differs from ``expected``."""
    if answer.shape != expected.shape:
        raise CheckFailed(f"{name}: expected shape {expected.shape}, got {answer.shape}")
    if expected.dtype == bool and answer.dtype != bool:
        raise CheckFailed(f"{name}: expected booleans (True/False), got {answer.dtype}")
    if np.issubdtype(expected.dtype, np.number) and not np.issubdtype(answer.dtype, np.number) \
            and answer.dtype != bool:
        raise CheckFailed(f"{name}: expected numbers, got values of type {answer.dtype}")
    if answer.dtype.kind == "c" and expected.dtype.kind != "c":
        # A complex answer to a real question fails, unless its imaginary parts are zero
        # within the tolerance (np.linalg.eig, for one, returns complex dtype for real values).
        imaginary = np.abs(answer.imag) > atol + rtol * np.abs(expected.astype(float))
        if imaginary.any():
            first = answer[tuple(np.argwhere(imaginary)[0])].item()
            raise CheckFailed(f"{name} is complex (e.g. {first!r}), but the reference is real: "
                              "a complex result usually comes from a square root or a power "
                              "of a negative number")
        answer = answer.real
    if answer.dtype.kind in "fc" and np.isnan(answer).any() and not np.isnan(expected).any():
        raise CheckFailed(f"{name} contains NaN at {int(np.isnan(answer).sum())} place(s)")
    if expected.dtype.kind in "biu" and answer.dtype.kind in "biu":
        wrong = answer != expected
    else:
        kind = complex if "c" in (answer.dtype.kind, expected.dtype.kind) else float
        wrong = ~np.isclose(answer.astype(kind), expected.astype(kind), rtol=rtol, atol=atol,
                            equal_nan=True)
    if wrong.any():
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        where = f" at index {first}" if answer.ndim else ""
        got, want = answer[first].item(), expected[first].item()
        raise CheckFailed(f"{name}: {int(wrong.sum())} of {wrong.size} value(s) differ from the "
                          f"reference; first{where}: expected {want!r}, got {got!r}")


def _both_none(got, expected, label: str, why: str, show: Callable = repr) -> bool:
    """``None`` as an answer: True if ``got`` and ``expected`` are both None (they agree),
    False if neither is (compare them), else raise CheckFailed (``why`` follows "is None,
    but"; ``show`` prints an unexpected value). Shared with the grader's verdicts.

    Example
    -------
    >>> _both_none(None, None, "f", "the reference is 3"), _both_none(1, 2, "f", "")
    (True, False)
    """
    if got is not None and expected is not None:
        return False
    if got is None and expected is None:
        return True
    if got is None:
        raise CheckFailed(f"{label} is None, but {why}")
    raise CheckFailed(f"{label}: expected None, got {show(got)}")


def check_array(answer, expected, name: str = "your answer", rtol: float = 1e-6,
                atol: float = 1e-8) -> None:
    """Check that ``answer`` equals ``expected`` in shape and, to tolerance, in value.

    Example
    -------
    >>> check_array(np.zeros(3), np.zeros(3))
    ✓ your answer matches the reference.
    >>> check_array(np.zeros((3, 1)), np.zeros(3))
    Traceback (most recent call last):
    ...
    utils.checks.CheckFailed: your answer: expected shape (3,), got (3, 1)
    """
    _compare(_as_numpy(answer, name), _as_numpy(expected, "the reference"), name, rtol, atol)
    print(f"✓ {name} matches the reference.")


def check_scalar(answer, expected: float, name: str = "your answer", rtol: float = 1e-6,
                 atol: float = 1e-8) -> None:
    """Check that ``answer`` is a single number close to ``expected``.

    Example
    -------
    >>> check_scalar(0.5, 0.5, name="the accuracy")
    ✓ the accuracy matches the reference.
    """
    arr = _as_numpy(answer, name)
    if arr.size != 1:
        raise CheckFailed(f"{name}: expected a single number, got an array of shape {arr.shape}")
    _compare(arr.reshape(()), np.asarray(expected).reshape(()), name, rtol, atol)
    print(f"✓ {name} matches the reference.")


def describe_case(case, limit: int = 200) -> str:
    """A short description of a test case's inputs, for a failure message.

    Example
    -------
    >>> describe_case((np.array([0.5, 2.0]), 3))
    '(array([0.5, 2. ]), 3)'
    >>> describe_case((np.zeros((20, 50)),))
    '(an array of shape (20, 50) (float64),)'
    """
    def one(value) -> str:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            value = value.detach().cpu().float().numpy() if value.is_floating_point() \
                else value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            if value.size > 16:
                return f"an array of shape {value.shape} ({value.dtype})"
            return " ".join(np.array_repr(value, precision=4).split())
        if isinstance(value, Mapping):
            return "{" + ", ".join(f"{k!r}: {one(v)}" for k, v in value.items()) + "}"
        if isinstance(value, (list, tuple)) and len(value) > 8:
            return f"a {type(value).__name__} of {len(value)} items"
        if callable(value):
            return getattr(value, "__name__", "a function")
        return repr(value)

    if isinstance(case, Mapping):
        text = ", ".join(f"{k}={one(v)}" for k, v in case.items())
    else:
        text = "(" + ", ".join(one(v) for v in case) + ("," if len(case) == 1 else "") + ")"
    return text if len(text) <= limit else text[:limit] + "..."


def check_function(student_fn: Callable, reference_fn: Callable, cases: Sequence,
                   name: str | None = None, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Call the student's function and the reference on each case and compare the results.

    A failure names the test case and its inputs. ``None`` is a legitimate result when the
    reference returns ``None`` too (e.g. "no such width").

    Parameters
    ----------
    student_fn, reference_fn : callable
    cases : sequence
        Each case is a tuple of positional arguments (or a dict of keyword arguments).
    name : str, optional
        How to call the function in messages (defaults to its ``__name__``).

    Example
    -------
    >>> check_function(lambda x: x * 2, lambda x: x + x, cases=[(1,), (np.arange(3),)])
    ✓ <lambda> agrees with the reference on 2 test cases.
    """
    if not callable(student_fn):
        raise CheckFailed(f"expected a function, got {type(student_fn).__name__}")
    name = name or getattr(student_fn, "__name__", "your function")
    if isinstance(cases, (str, bytes, Mapping)) or not isinstance(cases, Sequence):
        raise TypeError(f"cases must be a list of test cases, got {type(cases).__name__}; e.g. "
                        "cases=[(1,), (2,)] calls the functions with 1, then with 2")
    if not cases:
        raise ValueError("cases must hold at least one test case")
    for k, case in enumerate(cases, start=1):
        if not isinstance(case, (tuple, Mapping)):
            raise TypeError(f"test case {k} of {len(cases)} is {case!r} ({type(case).__name__}); "
                            "each case must be a tuple of positional arguments, e.g. (1,) for "
                            "a function of one argument, or a dict of keyword arguments")
        args, kwargs = (case, {}) if isinstance(case, tuple) else ((), dict(case))
        inputs = describe_case(case)  # before the calls: a function may change its inputs
        expected = reference_fn(*args, **kwargs)
        try:
            got = student_fn(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailed(f"{name} is not written yet (it raises NotImplementedError)") \
                from None
        except Exception as err:
            raise CheckFailed(f"{name} raised {type(err).__name__}: {err} (test case {k} of "
                              f"{len(cases)}, inputs {inputs})") from None
        label = f"{name}'s result on test case {k} (inputs {inputs})"
        if _both_none(got, expected, label, "the reference returns a value: did the function "
                      "forget to `return` it on this path?"):
            continue
        _compare(_as_numpy(got, label), _as_numpy(expected, "the reference"), label, rtol, atol)
    print(f"✓ {name} agrees with the reference on {len(cases)} test case"
          f"{'s' if len(cases) != 1 else ''}.")


def check_choice(answer, correct, options: Sequence, name: str = "your prediction",
                 explanation: str = "") -> None:
    """Check a multiple-choice answer (e.g. a prediction made before running an experiment).

    Example
    -------
    >>> check_choice("B", "B", options=["A", "B"], explanation="B is larger.")
    ✓ your prediction is right. B is larger.
    """
    if isinstance(answer, np.ndarray):
        if answer.size != 1:
            raise CheckFailed(f"{name} must be one of {list(options)}, got an array of shape "
                              f"{answer.shape}: give a single value")
        answer = answer.item()
    if isinstance(options, np.ndarray):
        options = options.tolist()
    if isinstance(answer, np.generic):
        answer = answer.item()
    # exact types only: an object that calls itself equal to everything is not an answer
    if type(answer) not in {type(option) for option in options} or answer not in options:
        raise CheckFailed(f"{name} must be one of {list(options)}, got {answer!r}")
    if answer != correct:
        raise CheckFailed(f"{name} {answer!r} is not what the experiment shows. {explanation}"
                          .strip())
    print(f"✓ {name} is right. {explanation}".rstrip())
