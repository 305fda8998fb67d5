"""Claims: what a lab asserts, against which null, with what margin, in one table.

A lab's last cell states the phenomenon the lab exists to show. Each claim is one call that
names it in words, gives the measured value, the threshold and its direction, and the
*null*: the value the quantity would take if the phenomenon were absent (chance, zero
difference, the control's value). Sanity checks (arithmetic, a Monte Carlo against its
closed form) are kept apart from claims, and numbers worth showing but not asserted go in a
third, "reported" part. :meth:`Claims.finish` prints one table and fails with every failed
claim listed, not only the first.

Thresholds come from a calibration over many random seeds (``make calibrate``), never from
the worst of the seeds an author ran: the table a run prints is also what the calibration
reads, through :func:`parse_table`, or through a JSON record written when the environment
variable ``COURSE_CLAIMS_RECORD`` names a file.

Example
-------
>>> claims = Claims()
>>> claims.at_least("ticket beats re-init (points)", 3.4, 1.0, null=0.0)
>>> claims.sanity_at_most("Monte Carlo error", 0.004, 0.01)
>>> claims.report("re-init accuracy", 0.912)
>>> claims.finish()  # doctest: +NORMALIZE_WHITESPACE
Claims (null: the value without the phenomenon)
  claim                          measured  threshold  null  holds
  ticket beats re-init (points)  3.4       >= 1       0     yes
Sanity checks
  check                          measured  threshold        holds
  Monte Carlo error              0.004     <= 0.01          yes
Reported, not asserted
  quantity                       measured
  re-init accuracy               0.912
All hold: 1 claims, 1 sanity checks.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import re
from dataclasses import asdict, dataclass

__all__ = ["Claims", "ClaimsFailed", "Row", "parse_table", "RECORD_ENV"]

#: Environment variable naming a file to which :meth:`Claims.finish` writes its rows as JSON.
RECORD_ENV = "COURSE_CLAIMS_RECORD"

_KINDS = ("claim", "sanity", "reported")
_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}


class ClaimsFailed(AssertionError):
    """One or more claims or sanity checks of a lab did not hold; the message lists them all.

    Example
    -------
    >>> issubclass(ClaimsFailed, AssertionError)
    True
    """


@dataclass(frozen=True)
class Row:
    """One line of the claims table.

    ``kind`` is ``"claim"``, ``"sanity"`` or ``"reported"``; ``op`` is ``">="`` or ``"<="``
    (``None`` for a reported number); ``null`` is None where it does not apply.

    Example
    -------
    >>> Row("claim", "gap", 3.4, ">=", 1.0, 0.0, "3.4", True).holds
    True
    """

    kind: str
    name: str
    value: float
    op: str | None
    threshold: float | None
    null: float | None
    shown: str
    holds: bool | None
    shown_null: str | None = None


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy scalars are numbers.Real; a 0-d array is accepted through float().
        if not (hasattr(value, "shape") and getattr(value, "shape", None) == ()):
            raise TypeError(f"{what} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{what} is NaN: a claim needs a measured number")
    return value


def _format(value: float, fmt: str, approx: bool) -> str:
    text = format(value, fmt)
    return f"~{text}" if approx else text


def _threshold_text(value: float) -> str:
    # Thresholds are round numbers a reader can quote: shortest form that reads back exactly.
    return format(value, "g") if float(format(value, "g")) == value else repr(value)


class Claims:
    """Collect a lab's claims, sanity checks and reported numbers; print one table at the end.

    Each method records a row; nothing is raised until :meth:`finish`, so a failing run shows
    every claim that failed.

    Example
    -------
    >>> claims = Claims()
    >>> claims.at_most("test error at the peak / at the end", 0.5, 0.8, null=1.0)
    >>> [row.holds for row in claims.rows]
    [True]
    """

    def __init__(self) -> None:
        self.rows: list[Row] = []

    # -- claims ---------------------------------------------------------------------------
    def at_least(self, name: str, value, threshold, *, null, fmt: str = ".3g",
                 approx: bool = False) -> None:
        """Claim ``value >= threshold``; ``null`` (below the threshold) is its value without
        the phenomenon. ``fmt`` formats the measured value; ``approx`` prints it with ``~``.

        Example
        -------
        >>> c = Claims(); c.at_least("gap", 2.0, 1.0, null=0.0); c.rows[0].holds
        True
        """
        self._claim(name, value, ">=", threshold, null, fmt, approx)

    def at_most(self, name: str, value, threshold, *, null, fmt: str = ".3g",
                approx: bool = False) -> None:
        """Claim ``value <= threshold``; ``null`` (above the threshold) is its value without
        the phenomenon.

        Example
        -------
        >>> c = Claims(); c.at_most("ratio", 0.2, 0.5, null=1.0); c.rows[0].holds
        True
        """
        self._claim(name, value, "<=", threshold, null, fmt, approx)

    def _claim(self, name, value, op, threshold, null, fmt, approx) -> None:
        threshold = _number(threshold, f"the threshold of {name!r}")
        null = _number(null, f"the null of {name!r}")
        if not _OPS[op](threshold, null) or threshold == null:
            side = "below" if op == ">=" else "above"
            raise ValueError(f"claim {name!r}: its null {null:g} must lie {side} its threshold "
                             f"{threshold:g}, or the claim would hold without the phenomenon")
        self._add("claim", name, value, op, threshold, null, fmt, approx)

    # -- sanity checks ----------------------------------------------------------------------
    def sanity_at_least(self, name: str, value, threshold, *, fmt: str = ".3g") -> None:
        """A sanity check ``value >= threshold`` (arithmetic, convergence): not evidence.

        Example
        -------
        >>> c = Claims(); c.sanity_at_least("train accuracy", 0.99, 0.9); c.rows[0].kind
        'sanity'
        """
        self._add("sanity", name, value, ">=", _number(threshold, f"the threshold of {name!r}"),
                  None, fmt, False)

    def sanity_at_most(self, name: str, value, threshold, *, fmt: str = ".3g") -> None:
        """A sanity check ``value <= threshold``: not evidence about the phenomenon.

        Example
        -------
        >>> c = Claims(); c.sanity_at_most("MC error", 0.001, 0.01); c.rows[0].holds
        True
        """
        self._add("sanity", name, value, "<=", _number(threshold, f"the threshold of {name!r}"),
                  None, fmt, False)

    # -- reported ---------------------------------------------------------------------------
    def report(self, name: str, value, *, fmt: str = ".3g", approx: bool = False) -> None:
        """A number shown beside the claims but not asserted.

        Example
        -------
        >>> c = Claims(); c.report("peak width", 12.0, fmt=".0f"); c.rows[0].shown
        '12'
        """
        self._add("reported", name, value, None, None, None, fmt, approx)

    def _add(self, kind, name, value, op, threshold, null, fmt, approx) -> None:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"a claim's name must be a non-empty string, got {name!r}")
        if "  " in name or "\n" in name or "|" in name:
            raise ValueError(f"a claim's name is printed in a table: no double spaces, line "
                             f"breaks or '|' ({name!r})")
        if any(row.name == name for row in self.rows):
            raise ValueError(f"{name!r} is recorded twice: give each row its own name")
        if not isinstance(fmt, str):
            raise TypeError(f"fmt must be a format string such as '.3g', got {fmt!r}")
        value = _number(value, f"the value of {name!r}")
        holds = None if op is None else bool(_OPS[op](value, threshold))
        shown_null = None if null is None else _format(null, fmt, False)
        self.rows.append(Row(kind, name, value, op, threshold, null,
                             _format(value, fmt, approx), holds, shown_null))

    # -- the end ----------------------------------------------------------------------------
    def table(self) -> str:
        """The table :meth:`finish` prints (claims, sanity checks, reported numbers).

        Example
        -------
        >>> c = Claims(); c.report("x", 1.0); print(c.table())  # doctest: +NORMALIZE_WHITESPACE
        Reported, not asserted
          quantity  measured
          x         1
        """
        width = max([len(r.name) for r in self.rows] + [8])
        parts = []
        sections = [("claim", "Claims (null: the value without the phenomenon)",
                     ["claim", "measured", "threshold", "null", "holds"]),
                    ("sanity", "Sanity checks", ["check", "measured", "threshold", "", "holds"]),
                    ("reported", "Reported, not asserted", ["quantity", "measured"])]
        for kind, title, header in sections:
            rows = [r for r in self.rows if r.kind == kind]
            if not rows:
                continue
            lines = [[header[0].ljust(width)] + header[1:]]
            for r in rows:
                line = [r.name.ljust(width), r.shown]
                if kind != "reported":
                    line += [f"{r.op} {_threshold_text(r.threshold)}",
                             "" if r.null is None else r.shown_null,
                             "yes" if r.holds else "NO"]
                lines.append(line)
            cols = len(lines[0])
            widths = [max(len(l[i]) for l in lines) for i in range(cols)]
            parts.append(title)
            parts += ["  " + "  ".join(l[i].ljust(widths[i]) for i in range(cols)).rstrip()
                      for l in lines]
        return "\n".join(parts)

    def finish(self) -> None:
        """Print the table; raise :class:`ClaimsFailed` listing every claim that failed.

        If the environment variable ``COURSE_CLAIMS_RECORD`` names a file, the rows are
        also written there as JSON (for ``make calibrate``), before anything is raised.

        Example
        -------
        >>> c = Claims(); c.at_least("gap", 0.5, 1.0, null=0.0)
        >>> c.finish()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        utils.claims.ClaimsFailed: 1 of 1 claims or sanity checks failed: gap = 0.5, needs >= 1
        """
        if not any(r.kind in ("claim", "sanity") for r in self.rows):
            raise ValueError("a claims cell must assert at least one claim")
        print(self.table())
        record = os.environ.get(RECORD_ENV)
        if record:
            with open(record, "w", encoding="utf-8") as f:
                json.dump([asdict(r) for r in self.rows], f, indent=1)
        asserted = [r for r in self.rows if r.kind != "reported"]
        failed = [r for r in asserted if not r.holds]
        if failed:
            listed = "; ".join(f"{r.name} = {r.shown}, needs {r.op} {_threshold_text(r.threshold)}"
                               for r in failed)
            raise ClaimsFailed(f"{len(failed)} of {len(asserted)} claims or sanity checks "
                               f"failed: {listed}")
        n_claims = sum(r.kind == "claim" for r in self.rows)
        print(f"All hold: {n_claims} claims, {len(asserted) - n_claims} sanity checks.")


_TITLES = {"Claims (null: the value without the phenomenon)": "claim",
           "Sanity checks": "sanity", "Reported, not asserted": "reported"}
_ASSERTED = re.compile(r"^  (?P<name>.+?)  +(?P<shown>~?\S+)  +(?P<op>>=|<=) (?P<threshold>\S+)"
                       r"(?:  +(?P<null>\S+))?  +(?P<holds>yes|NO)$")
_REPORTED = re.compile(r"^  (?P<name>.+?)  +(?P<shown>~?\S+)$")


def parse_table(text: str) -> list[dict]:
    """Read back the rows of a table printed by :meth:`Claims.finish` (or :meth:`Claims.table`).

    Returns one dict per row with ``kind``, ``name``, ``shown``, ``op``, ``threshold``,
    ``null`` and ``holds``: what the calibration test compares with the stored calibration.

    Example
    -------
    >>> c = Claims(); c.at_least("gap", 2.0, 1.0, null=0.0)
    >>> parse_table(c.table())[0]["threshold"]
    1.0
    """
    rows, kind = [], None
    for line in text.splitlines():
        if line in _TITLES:
            kind = _TITLES[line]
            continue
        if kind is None or not line.startswith("  "):
            kind = None if not line.startswith("  ") else kind
            continue
        if kind == "reported":
            m = _REPORTED.match(line)
            if m and m["name"].strip() != "quantity":
                rows.append({"kind": kind, "name": m["name"].strip(), "shown": m["shown"],
                             "op": None, "threshold": None, "null": None, "holds": None})
            continue
        m = _ASSERTED.match(line)
        if m:
            rows.append({"kind": kind, "name": m["name"].strip(), "shown": m["shown"],
                         "op": m["op"], "threshold": float(m["threshold"]),
                         "null": None if m["null"] is None else float(m["null"].lstrip("~")),
                         "holds": m["holds"] == "yes"})
    return rows
