"""How the labs look in the book: each reference solution folded away behind "Show solution".

A lab's exercise is a code cell tagged ``solution`` whose source opens with the instruction
as a comment header (``# Exercise N: ...``, see :mod:`coursetools.notebooks`). The notebook
itself keeps the full solution, since CI runs it and the student versions and the grader are
made from it. Only the book changes: when Sphinx reads a notebook, every ``solution`` cell is
split in two,

- the header comment, shown as a code cell, exactly as the student's stub starts; and
- the rest of the code, with myst-nb's ``hide-input`` tag and its prompts set to
  "Show solution" / "Hide solution", so it stays folded until the reader clicks; the cell's
  outputs (if any) stay visible below it.

The check cell that follows is untouched, so its verdict stays visible. A ``solution`` cell
without a header is folded whole.

The module is a Sphinx extension (listed in ``_config.yml``). The widths of the book's column
and code, which make a lab's 100-character lines fit at 1280 px, are in ``_static/course.css``
(Jupyter Book loads every CSS file in ``_static/``).

Example
-------
>>> nb = {"cells": [{"cell_type": "code", "id": "a1", "metadata": {"tags": ["solution"]},
...                  "execution_count": 1, "outputs": [],
...                  "source": "# Exercise 1: Double x.\\ny = 2 * x"}]}
>>> shown, folded = fold_solutions(nb)["cells"]
>>> shown["source"], folded["source"], folded["metadata"]["tags"]
('# Exercise 1: Double x.', 'y = 2 * x', ['solution', 'hide-input'])
"""
from __future__ import annotations

import copy
import json
from typing import Any

from coursetools.notebooks import _header_lines

__all__ = ["SHOW_PROMPT", "HIDE_PROMPT", "fold_solutions", "setup"]

#: What the toggle of a folded solution says, closed and open.
SHOW_PROMPT = "Show solution"
HIDE_PROMPT = "Hide solution"

# myst-nb reads per-cell settings from this metadata key (its ``nb_cell_metadata_key``).
_MYSTNB_KEY = "mystnb"


def _source_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _folded(cell: dict[str, Any], source: str) -> dict[str, Any]:
    """``cell`` with ``source``, tagged ``hide-input`` and prompting "Show solution"."""
    folded = copy.deepcopy(cell)
    folded["source"] = source
    metadata = folded.setdefault("metadata", {})
    tags = metadata.setdefault("tags", [])
    if "hide-input" not in tags:
        tags.append("hide-input")
    prompts = metadata.setdefault(_MYSTNB_KEY, {})
    prompts.setdefault("code_prompt_show", SHOW_PROMPT)
    prompts.setdefault("code_prompt_hide", HIDE_PROMPT)
    return folded


def fold_solutions(nb: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a notebook (as parsed JSON) with every solution folded for the book.

    Parameters
    ----------
    nb : dict
        A notebook as ``json.loads`` gives it (nbformat 4). It is not modified.

    Returns
    -------
    dict
        The notebook with each code cell tagged ``solution`` replaced by two cells: its
        ``# Exercise N: ...`` header (tagged ``exercise``, no outputs) and the rest of its
        code (tagged ``hide-input``, with the prompts :data:`SHOW_PROMPT` and
        :data:`HIDE_PROMPT`, and the original outputs). A solution without a header is
        folded whole. Other cells are unchanged.

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["solution"]},
    ...                  "outputs": [], "source": ["answer = 42"]}]}
    >>> [cell["source"] for cell in fold_solutions(nb)["cells"]]
    ['answer = 42']
    """
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or "solution" not in tags:
            cells.append(cell)
            continue
        source = _source_text(cell)
        try:
            header = _header_lines(source)
        except ValueError:
            cells.append(_folded(cell, source))
            continue
        body = "\n".join(source.lstrip("\n").splitlines()[len(header):]).strip("\n")
        shown = {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["exercise"]},
                 "outputs": [], "source": "\n".join(header)}
        if "id" in cell:
            shown["id"] = f"{cell['id']}-exercise"  # ids must stay unique in nbformat 4.5
        cells.append(shown)
        if body:
            cells.append(_folded(cell, body))
    out["cells"] = cells
    return out


def _fold_on_read(app, docname: str, source: list[str]) -> None:
    """Sphinx ``source-read`` hook: fold the solutions of a notebook before myst-nb parses it."""
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    source[0] = json.dumps(fold_solutions(json.loads(source[0])), ensure_ascii=False)


def setup(app) -> dict:
    """Sphinx extension entry point: fold every lab's solutions in the book.

    Examples
    --------
    In ``_config.yml``, under ``sphinx: config: extensions:``, list ``coursetools.book``.
    """
    app.connect("source-read", _fold_on_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
