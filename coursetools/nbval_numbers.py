"""How a lab's stored outputs are compared with fresh ones: text exactly, numbers within a tolerance.

nbval compares every output of a lab with the output stored in the notebook. Text, integers,
check messages and table layouts are the same on every machine, so they are compared exactly.
Decimal numbers are not: training in floating point is not bit-reproducible across CPUs (a
different SIMD kernel sums in a different order), and a number printed from a trained network
can move in its last digits from one machine to the next. This module is a pytest plugin
(loaded with ``-p coursetools.nbval_numbers``, see pytest.ini) that makes nbval compare each
decimal number within the tolerance below, and everything else exactly.

The tolerance, stated once
--------------------------
A decimal number ``fresh`` matches the stored ``stored`` when

    |fresh - stored| <= max(RTOL * |stored|, ULPS * 10**-d)

where ``d`` is the number of digits the stored number prints after its decimal point.
``RTOL = 0.03``: runs of the labs under PyTorch's generic kernels
(``ATEN_CPU_CAPABILITY=default``) against the AVX2 ones move summary statistics of trained
networks by at most about 1 % (the widest, a ratio of two noisy medians, by 3.5 % before it
was printed with fewer digits), so 3 % leaves room; a change of 10 %, the size of a real
change of result, fails. MKL's code paths (an AMD and an Intel CPU take different ones) move
a few numbers further, by 5 to 13 %: numbers of networks that memorized random labels, and
accuracies near chance. ``coursetools.portability`` finds them, and the labs print them
marked approximate or with the digits that survive. ``ULPS = 1``: a number printed with few digits may round the other
way (0.345 vs 0.346, 0.10 vs 0.11), so one unit in its last printed digit is allowed too. Integers (no
decimal point) are exact: counts, sizes and seeds do not depend on the CPU.

Some numbers are chaotic in the training trajectory itself: the epoch at which a network
first fits every random label moved from 44 to 48 between the two kernels, and the step at
which a network groks from 710 to 910. A lab prints such a number marked as approximate,
``~44`` (or ``≈44``), which also tells the student not to expect that exact value; a marked
number matches within ``RTOL_ROUGH = 0.4`` of the stored value (or one unit in its last digit). The claims
cell, not the stored output, is where such a number is held to account.

Whatever is not a number must match character for character, except that a run of spaces
counts as one space: pandas widens a column when one of its values needs another digit
(``1.0`` beside ``0.999`` prints as ``1.000``), so the layout of a table may shift while its
shape, headers and values stay. A changed word still fails.

Example
-------
>>> outputs_match("test error 0.345 at width 12", "test error 0.346 at width 12")
True
>>> outputs_match("test error 0.345 at width 12", "test error 0.380 at width 12")
False
>>> outputs_match("test error 0.345 at width 12", "test error 0.345 at width 13")
False
>>> outputs_match("test error 0.345", "train error 0.345")
False
"""
from __future__ import annotations

import re

__all__ = ["RTOL", "RTOL_ROUGH", "ULPS", "outputs_match", "first_difference", "TolerantText"]

RTOL = 0.03
RTOL_ROUGH = 0.4
ULPS = 1

# A number as labs print it: optional sign, digits, optional decimals, optional exponent.
# Thousands separators ("2,048") split into two integers, which are then compared exactly.
_NUMBER = re.compile(r"(?:[~≈] ?)?[-+]?(?:\d+\.\d+|\d+)(?:[eE][-+]?\d+)?")
_SPACES = re.compile(r"[ \t]+")


def _split(text: str) -> tuple[list[str], list[str]]:
    """The text between numbers (runs of spaces as one), and the numbers, in order."""
    return [_SPACES.sub(" ", part) for part in _NUMBER.split(text)], _NUMBER.findall(text)


def _rough(token: str) -> bool:
    return token[:1] in "~≈"


def _is_decimal(token: str) -> bool:
    return "." in token or "e" in token.lower()


def _decimals(token: str) -> int:
    """Digits after the decimal point, shifted by the exponent (1.5e-3 has 4)."""
    mantissa, _, exponent = token.lower().partition("e")
    places = len(mantissa.partition(".")[2])
    return places - int(exponent) if exponent else places


def numbers_match(stored: str, fresh: str) -> bool:
    """Whether one printed number matches another under the course's tolerance.

    Example
    -------
    >>> numbers_match("2652.7", "2654.7"), numbers_match("12", "13"), numbers_match("0.10", "0.12")
    (True, False, False)
    >>> numbers_match("~44", "~48"), numbers_match("~44", "~64"), numbers_match("~44", "48")
    (True, False, False)
    """
    if _rough(stored) or _rough(fresh):
        if not (_rough(stored) and _rough(fresh)):
            return False
        plain = stored.lstrip("~≈ ")
        a, b = float(plain), float(fresh.lstrip("~≈ "))
        unit = 10.0 ** -_decimals(plain) if _is_decimal(plain) else 1.0
        return abs(a - b) <= max(RTOL_ROUGH * abs(a), ULPS * unit) * (1 + 1e-9)
    if not (_is_decimal(stored) and _is_decimal(fresh)):
        return stored == fresh
    a, b = float(stored), float(fresh)
    if a != a or b != b:  # NaN matches only NaN
        return (a != a) and (b != b)
    allowed = max(RTOL * abs(a), ULPS * 10.0 ** -_decimals(stored))
    return abs(a - b) <= allowed * (1 + 1e-9)


def first_difference(stored: str, fresh: str) -> str | None:
    """What differs first between two outputs, in words; None when they match.

    Example
    -------
    >>> first_difference("loss 0.50", "loss 0.90")
    'number 1: stored 0.50, fresh 0.90 (allowed: 3% or 1 in the last digit)'
    >>> first_difference("loss 0.50", "loss 0.51") is None
    True
    """
    if stored == fresh:
        return None
    text_a, nums_a = _split(stored)
    text_b, nums_b = _split(fresh)
    if text_a != text_b or len(nums_a) != len(nums_b):
        for i, (x, y) in enumerate(zip(text_a, text_b)):
            if x != y:
                return f"text differs after number {i}: stored {x[:60]!r}, fresh {y[:60]!r}"
        return f"stored has {len(nums_a)} numbers, fresh has {len(nums_b)}"
    for i, (x, y) in enumerate(zip(nums_a, nums_b), start=1):
        if not numbers_match(x, y):
            if _rough(x) or _rough(y):
                allowed = f"{RTOL_ROUGH:.0%} for a number marked ~"
            elif _is_decimal(x) and _is_decimal(y):
                allowed = f"{RTOL:.0%} or {ULPS} in the last digit"
            else:
                allowed = "integers are exact"
            return f"number {i}: stored {x}, fresh {y} (allowed: {allowed})"
    return None


def outputs_match(stored: str, fresh: str) -> bool:
    """Whether a fresh output matches the stored one: same text, numbers within tolerance."""
    return first_difference(stored, fresh) is None


class TolerantText(str):
    """A sanitized output whose ``==`` is :func:`outputs_match` (what nbval compares).

    Example
    -------
    >>> TolerantText("accuracy 0.992") == TolerantText("accuracy 0.993")
    True
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return outputs_match(str(self), str(other))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__


def pytest_configure(config) -> None:
    """Make nbval's sanitized outputs compare with :class:`TolerantText`."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to adapt
        return
    if getattr(IPyNbCell, "_course_tolerant", False):
        return
    plain = IPyNbCell.sanitize

    def sanitize(self, s):
        out = plain(self, s)
        return TolerantText(out) if isinstance(out, str) else out

    IPyNbCell.sanitize = sanitize
    IPyNbCell._course_tolerant = True
