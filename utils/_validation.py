"""Argument checks shared by the utils modules, so every message has the same shape."""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as int, or raise ValueError saying what is allowed."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return int(value)


def check_real(name: str, value, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as float, or raise ValueError giving the allowed interval."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
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


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
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
    """Accept a numpy Generator or an int seed; anything else is an error."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError("rng must be a numpy.random.Generator or a non-negative int seed, "
                     f"got {type(rng).__name__}")
