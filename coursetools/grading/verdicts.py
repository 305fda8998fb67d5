"""Verdicts, computed in the grader's process: the student's recorded answers against the key.

Nothing here runs student code. The answers arrive as JSON lines the kernel wrote (see
:mod:`coursetools.grading.kernel_side`); :func:`read_value` rebuilds them strictly (only
``None``, booleans, integers, floats, complex numbers, strings, lists, tuples, dicts and
numpy arrays of numeric dtypes come out, whatever the kernel wrote), and :func:`judge` compares
them with the reference values of the answer key (:mod:`coursetools.grading.answer_key`),
with the tolerances recorded there. A forged record can therefore only claim *some* answer,
which is then judged like any other.

Example
-------
>>> call = {"kind": "scalar", "name": "x", "rtol": 1e-6, "atol": 1e-8,
...         "expected": {"t": "float", "v": "0.5"}}
>>> judge([call], {0: {"call": 0, "value": {"t": "float", "v": "0.5"}}})
('passed', '✓ x matches the reference.')
>>> judge([call], {0: {"call": 0, "value": {"t": "float", "v": "0.6"}}})[0]
'failed'
"""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from utils.checks import (  # the grader's own copy, never the kernel's
    CheckFailed, _both_none, _compare)

__all__ = ["read_value", "read_records", "judge", "describe", "BadRecord", "MAX_RECORD_BYTES"]

MAX_RECORD_BYTES = 256 * 2**20   # of one records file: more is not read
_DTYPES = {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8",
           "<c8", "<c16"}
_MAX_DEPTH = 25
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class BadRecord(ValueError):
    """A record that is not what the recorder writes (so it was forged or cut)."""


def read_value(data: Any, depth: int = 0) -> Any:
    """The plain value an encoded record stands for; :class:`BadRecord` for anything else.

    Examples
    --------
    >>> read_value({"t": "array", "dtype": "<i8", "shape": [2], "b64": "AQAAAAAAAAACAAAAAAAAAA=="})
    array([1, 2])
    >>> read_value({"t": "object", "v": "x"})
    Traceback (most recent call last):
    ...
    coursetools.grading.verdicts.BadRecord: unknown value type 'object'
    """
    if depth > _MAX_DEPTH or not isinstance(data, dict):
        raise BadRecord("not an encoded value")
    kind = data.get("t")
    value = data.get("v")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, str) and len(value) < 5000:
        return int(value)
    if kind == "float" and isinstance(value, str) and len(value) < 40:
        return float(value)
    if kind == "complex" and isinstance(value, list) and len(value) == 2 and \
            all(isinstance(v, str) and len(v) < 40 for v in value):
        return complex(float(value[0]), float(value[1]))
    if kind == "str" and isinstance(value, str):
        return value
    if kind in ("list", "tuple") and isinstance(value, list):
        items = [read_value(item, depth + 1) for item in value]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(value, list):
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in value):
            raise BadRecord("a malformed dict")
        return {key: read_value(item, depth + 1) for key, item in value}
    if kind == "array":
        dtype, shape, raw = data.get("dtype"), data.get("shape"), data.get("b64")
        if dtype not in _DTYPES or not isinstance(shape, list) or not isinstance(raw, str) or \
                not all(type(n) is int and n >= 0 for n in shape):
            raise BadRecord("a malformed array")
        try:
            buffer = base64.b64decode(raw, validate=True)
        except ValueError:
            raise BadRecord("a malformed array") from None
        if len(buffer) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise BadRecord("an array whose bytes do not match its shape")
        arr = np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(shape).copy()
        return arr[()] if data.get("origin") == "numpy scalar" and arr.ndim == 0 else arr
    raise BadRecord(f"unknown value type {kind!r}")


def read_records(path: Path) -> dict[int, dict[str, Any]]:
    """The records in a file, by call number (the first record of each call wins).

    Lines that are not JSON objects are skipped; a file larger than ``MAX_RECORD_BYTES`` is
    not read. ``"restored"`` records are returned under the key ``-1``.
    """
    records: dict[int, dict[str, Any]] = {}
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            return records
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return records
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        call = record.get("call", -1 if "restored" in record else None)
        if type(call) is int and call not in records:
            records[call] = record
    return records


def plain(text: Any, limit: int = 300) -> str:
    """Text from the kernel, without control characters and cut to ``limit`` characters.

    Examples
    --------
    >>> plain("ok\\x08\\x08\\x1b]0;x\\x07done")
    'ok]0;xdone'
    """
    text = _CONTROL.sub("", str(text))
    return text if len(text) <= limit else text[:limit] + " [...]"


def describe(value: Any, limit: int = 160) -> str:
    """A short description of a test input, for a failure message.

    Examples
    --------
    >>> describe((np.array([0.1, 1.0]), 2, "x"))
    "(array([0.1, 1. ]), 2, 'x')"
    >>> describe(np.zeros((20, 50)))
    'an array of shape (20, 50) (float64)'
    """
    if isinstance(value, np.ndarray):
        if value.size > 16:
            return f"an array of shape {value.shape} ({value.dtype})"
        return " ".join(np.array_repr(value, precision=4).split())
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v, limit) for v in value) + ("," if len(value) == 1
                                                                       else "") + ")"
    if isinstance(value, list):
        text = "[" + ", ".join(describe(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {describe(v, limit)}" for k, v in value.items()) + "}"
    elif value is _CELL:
        text = "(a function)"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


_CELL = object()  # stands for an input the check cell supplies itself (a function)


def _input(data: dict[str, Any]) -> Any:
    return _CELL if data.get("t") == "cell" else read_value(data)


def compare_values(answer: Any, expected: Any, name: str, rtol: float, atol: float) -> None:
    """Raise CheckFailed if ``answer`` (plain data) differs from ``expected``.

    ``None`` and strings are compared exactly; everything else as numbers, to tolerance.

    Examples
    --------
    >>> compare_values(None, None, "f", 1e-6, 1e-8)
    >>> compare_values(None, 3, "f", 1e-6, 1e-8)
    Traceback (most recent call last):
    ...
    utils.checks.CheckFailed: f is None, but the reference is 3: does the function `return` its result on every path?
    """
    if _both_none(answer, expected, name, f"the reference is {describe(expected, 80)}: does "
                  "the function `return` its result on every path?",
                  show=lambda value: describe(value, 80)):
        return
    if isinstance(expected, str) or isinstance(answer, str):
        if answer != expected or type(answer) is not type(expected):
            raise CheckFailed(f"{name}: expected {expected!r}, got {describe(answer, 80)}")
        return
    try:
        got = np.asarray(answer)
        want = np.asarray(expected)
    except ValueError as err:  # ragged lists
        raise CheckFailed(f"{name} cannot be read as an array: {err}") from None
    if got.dtype == object or want.dtype == object:
        raise CheckFailed(f"{name} cannot be read as an array of numbers "
                          f"(got {describe(answer, 80)})")
    if got.dtype.kind in "US" or want.dtype.kind in "US":
        raise CheckFailed(f"{name}: expected {describe(expected, 80)}, got {describe(answer, 80)}")
    _compare(got, want, name, rtol, atol)


def _judge_call(spec: dict[str, Any], record: dict[str, Any] | None) -> tuple[str, str]:
    kind, name = spec["kind"], plain(spec.get("name", "your answer"), 120)
    rtol, atol = float(spec.get("rtol", 1e-6)), float(spec.get("atol", 1e-8))
    if record is None:
        return "failed", f"the check of {name} got no answer from your code"
    if kind == "function":
        results = record.get("results")
        if not isinstance(results, list):
            return "failed", f"the check of {name} got no answer from your code"
        total = len(spec["cases"])
        for k, (case, expected) in enumerate(zip(spec["cases"], spec["expected"]), start=1):
            args = tuple(_input(a) for a in case["args"]) + tuple(
                f"{key}={describe(_input(v))}" for key, v in case["kwargs"].items())
            inputs = f"test case {k} of {total}, inputs {describe(args, 300)}"
            result = results[k - 1] if k - 1 < len(results) else None
            if not isinstance(result, dict):
                return "failed", f"{name} gave no result on {inputs}"
            if "raised" in result:
                if result["raised"] == "NotImplementedError":
                    return "not attempted", f"{name} is not written yet (it raises " \
                                            "NotImplementedError)"
                return "failed", (f"{name} raised {plain(result['raised'], 80)}: "
                                  f"{plain(result.get('message', ''))} ({inputs})")
            if "refused" in result:
                return "failed", (f"{name} returned {plain(result['refused'], 120)} on "
                                  f"{inputs}; the grader accepts numbers, strings, None, lists, "
                                  "tuples, dicts, numpy arrays and torch tensors")
            try:
                compare_values(read_value(result.get("value")), read_value(expected),
                               f"{name}'s result on {inputs}", rtol, atol)
            except BadRecord as err:
                return "failed", f"{name}: the answer could not be read ({err})"
            except CheckFailed as err:
                return "failed", str(err)
        return "passed", f"✓ {name} agrees with the reference on {total} test case" + \
            ("s." if total != 1 else ".")
    if "refused" in record:
        return "failed", (f"{name} is {plain(record['refused'], 120)}; the grader accepts "
                          "numbers, strings, None, lists, numpy arrays and torch tensors")
    try:
        answer, expected = read_value(record.get("value")), read_value(spec["expected"])
    except BadRecord as err:
        return "failed", f"{name}: the answer could not be read ({err})"
    try:
        if kind == "choice":
            options = read_value(spec["options"])
            if type(answer) not in {type(o) for o in options} or answer not in options:
                raise CheckFailed(f"{name} must be one of {options}, got "
                                  f"{describe(answer, 80)}")
            if answer != expected:
                raise CheckFailed(f"{name} {answer!r} is not what the experiment shows. "
                                  f"{spec.get('explanation', '')}".strip())
            return "passed", f"✓ {name} is right. {spec.get('explanation', '')}".rstrip()
        if kind == "scalar":
            size = np.asarray(answer).size if answer is not None and \
                not isinstance(answer, str) else 1
            if size != 1:
                raise CheckFailed(f"{name}: expected a single number, got "
                                  f"{describe(answer, 80)}")
            if answer is not None and not isinstance(answer, str):
                answer = np.asarray(answer).reshape(())
        compare_values(answer, expected, name, rtol, atol)
    except CheckFailed as err:
        return "failed", str(err)
    except (ValueError, TypeError) as err:
        return "failed", f"{name}: {plain(err)}"
    return "passed", f"✓ {name} matches the reference."


def judge(calls: list[dict[str, Any]], records: dict[int, dict[str, Any]]) -> tuple[str, str]:
    """(status, message) for one check cell: every call of the key against the records.

    ``status`` is ``"passed"``, ``"failed"`` or ``"not attempted"``; the message is the first
    failure, or the confirmations joined.
    """
    passed = []
    for n, spec in enumerate(calls):
        status, message = _judge_call(spec, records.get(n))
        if status != "passed":
            return status, message
        passed.append(message)
    return "passed", " ".join(passed)
