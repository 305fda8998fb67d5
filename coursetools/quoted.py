"""One source for each number: prose quotes a lab's stored output instead of copying it.

A page of the book (a chapter, an instructors' page, the landing page) that quotes a number a
lab prints writes a MyST substitution, ``{{ lab6_test_step }}``, instead of the number. Its
source is declared once, in ``quoted_numbers.yml`` at the repository's root::

    lab6_test_step:
      lab: 06_grokking            # labs/06_grokking.ipynb
      cell: claims                # the code cell with this tag (or a cell's index)
      pattern: 'test ~(\\d[\\d,]*)\\)'   # one group: the number, as the output prints it

When the book is built, this module (a Sphinx extension listed in ``_config.yml``) reads each
number from the lab's *stored* outputs, the ones CI checks with nbval, and hands it to MyST as
the substitution's value: re-execute a lab and every page that quotes it follows, so a
chapter and its lab can no longer disagree. ``tests/test_quoted_numbers.py`` fails when a
declared number is not found in its output (the lab changed what it prints), when a page
uses a name that is not declared, or when a declared name is used nowhere.

Example
-------
>>> numbers = quoted_numbers()
>>> numbers["lab6_test_step"].isdigit()
True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

__all__ = ["SOURCES_FILE", "Quote", "read_quotes", "quoted_numbers", "used_names", "substitute", "setup"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where each quoted number's source is declared.
SOURCES_FILE = "quoted_numbers.yml"
# {{ name }} in MyST markdown (the substitution extension).
_USE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


@dataclass(frozen=True)
class Quote:
    """Where one quoted number comes from: a lab, a cell of it, a pattern in its output."""

    name: str
    lab: str
    cell: str | int
    pattern: str

    def value(self, repo_root: str | Path = REPO_ROOT) -> str:
        """The number as the lab's stored output prints it.

        Raises
        ------
        ValueError
            If the lab, the cell or the number is not there, or the pattern matches twice
            with different numbers (the quote would be ambiguous).

        Examples
        --------
        >>> Quote("x", "06_grokking", "claims", r"delay ~(\\d+)x").value()  # doctest: +SKIP
        '15'
        """
        path = Path(repo_root) / "labs" / f"{self.lab}.ipynb"
        if not path.is_file():
            raise ValueError(f"{self.name}: no lab {path}")
        nb = nbformat.read(path, as_version=4)
        if isinstance(self.cell, int):
            cells = [nb.cells[self.cell]] if 0 <= self.cell < len(nb.cells) else []
        else:
            cells = [c for c in nb.cells if self.cell in c.get("metadata", {}).get("tags", [])]
        if not cells:
            raise ValueError(f"{self.name}: {self.lab} has no cell {self.cell!r}")
        text = "".join(_output_text(cell) for cell in cells)
        found = {match.group(1) for match in re.finditer(self.pattern, text)}
        if not found:
            raise ValueError(f"{self.name}: {self.pattern!r} is not in the stored output of "
                             f"{self.lab}'s cell {self.cell!r}; did the lab change what it "
                             f"prints? The output begins {text[:200]!r}")
        if len(found) > 1:
            raise ValueError(f"{self.name}: {self.pattern!r} matches {sorted(found)} in "
                             f"{self.lab}; make the pattern say which one")
        return found.pop()


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


def read_quotes(repo_root: str | Path = REPO_ROOT) -> dict[str, Quote]:
    """Every declared quote of ``quoted_numbers.yml`` (empty if the file is absent).

    Examples
    --------
    >>> "lab6_test_step" in read_quotes()
    True
    """
    path = Path(repo_root) / SOURCES_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    quotes = {}
    for name, spec in data.items():
        missing = {"lab", "cell", "pattern"} - set(spec or {})
        if missing:
            raise ValueError(f"{SOURCES_FILE}: {name} lacks {sorted(missing)}")
        if re.compile(spec["pattern"]).groups != 1:
            raise ValueError(f"{SOURCES_FILE}: {name}'s pattern needs exactly one group, the number")
        quotes[name] = Quote(name, spec["lab"], spec["cell"], spec["pattern"])
    return quotes


def quoted_numbers(repo_root: str | Path = REPO_ROOT) -> dict[str, str]:
    """Name -> the number, read from the labs' stored outputs, for every declared quote."""
    return {name: quote.value(repo_root) for name, quote in read_quotes(repo_root).items()}


def used_names(text: str) -> list[str]:
    """The substitution names a page uses, in order.

    Examples
    --------
    >>> used_names("at step {{ lab6_test_step }} and {{x}}")
    ['lab6_test_step', 'x']
    """
    return _USE.findall(text)


def substitute(text: str, numbers: dict[str, str]) -> str:
    """``text`` with each ``{{ name }}`` of ``numbers`` replaced by its value (others kept).

    For a notebook read outside the book (the student versions), where MyST does not run.

    Examples
    --------
    >>> substitute("step {{ a }} of {{ b }}", {"a": "740"})
    'step 740 of {{ b }}'
    """
    return _USE.sub(lambda match: numbers.get(match.group(1), match.group(0)), text)


def _substitute(app, config) -> None:
    """Sphinx ``config-inited`` hook: the quoted numbers become MyST substitutions."""
    values = dict(getattr(config, "myst_substitutions", None) or {})
    values.update(quoted_numbers(app.srcdir))
    config.myst_substitutions = values


def setup(app) -> dict:
    """Sphinx extension entry point (``coursetools.quoted`` in ``_config.yml``).

    Examples
    --------
    In ``_config.yml``, under ``sphinx: config: extensions:``, list ``coursetools.quoted``.
    """
    app.connect("config-inited", _substitute)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
