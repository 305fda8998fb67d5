"""Argument checks shared by the utils modules, so every message has the same shape.

scikit-learn's rule throughout: a value of the wrong *type* raises TypeError, a value of the
right type but outside what is allowed raises ValueError.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as int: TypeError if it is not an integer, ValueError if out of range.

    Example
    -------
    >>> check_int("epochs", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be at least 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return int(value)


def check_real(name: str, value, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as float: TypeError if not a number, ValueError if NaN, infinite or
    outside the interval (given in the message)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a finite number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value}")
    return float(value)


def check_option(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them.

    (An argument check; :func:`utils.checks.check_option` is the student check of a
    prediction.)
    """
    allowed = ", ".join(repr(c) for c in choices)
    # An array is never a choice (and `array in choices` compares elementwise, then fails).
    if isinstance(value, np.ndarray) or value not in choices:
        got = f"an array of shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
        raise ValueError(f"{name} must be one of {allowed}; got {got}")
    return value


def check_finite(name: str, values) -> np.ndarray:
    """Return ``values`` as a numpy array, or raise ValueError if it holds NaN or infinity.

    Non-numeric arrays (strings, objects) pass unchanged: only numbers can be NaN.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            where = f" (the first at index {tuple(int(i) for i in np.argwhere(bad)[0])})" \
                if arr.ndim else ""
            raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite value(s){where}; "
                             "it must hold finite numbers")
    return arr


def check_type(name: str, value, types, what: str):
    """Return ``value`` if it is an instance of ``types``, else raise TypeError naming ``what``.

    Example
    -------
    >>> check_type("model", 3, (list,), "a list")
    Traceback (most recent call last):
    ...
    TypeError: model must be a list, got int 3
    """
    if not isinstance(value, types):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:60] + "..."
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {shown}")
    return value


def check_rng(rng) -> np.random.Generator:
    """Accept a numpy Generator or a non-negative int seed (TypeError for other types,
    ValueError for a negative seed)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, Integral) and not isinstance(rng, bool):
        if rng >= 0:
            return np.random.default_rng(int(rng))
        raise ValueError(f"rng must be a numpy.random.Generator or a non-negative int seed, "
                         f"got {rng}")
    raise TypeError("rng must be a numpy.random.Generator or a non-negative int seed, "
                    f"got {type(rng).__name__}")


def per_member(name: str, value, K: int, low: float, low_open: bool = False,
               high: float | None = None, high_open: bool = False) -> list[float]:
    """A float for each of ``K`` members, from one number or a sequence of ``K``; each checked
    with :func:`check_real` (the index is named when the values differ).

    Example
    -------
    >>> per_member("lr", 0.1, 3, 0.0, low_open=True)
    [0.1, 0.1, 0.1]
    """
    if isinstance(value, Real) and not isinstance(value, bool):
        values = [value] * K
    elif isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, str):
        values = list(value)
        if len(values) != K:
            raise ValueError(f"{name} must be a float or a list of {K} floats (one per member), "
                             f"got a list of {len(values)}")
    else:
        raise TypeError(f"{name} must be a float or a list of {K} floats, "
                        f"got {type(value).__name__}")
    distinct = len({float(v) if isinstance(v, Real) else id(v) for v in values}) > 1
    return [check_real(f"{name}[{i}]" if distinct else name, v, low, high,
                       low_open=low_open, high_open=high_open)
            for i, v in enumerate(values)]
