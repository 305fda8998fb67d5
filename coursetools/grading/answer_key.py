"""The answer key: what each check of a lab feeds the student's code and what it expects.

The key is made by running the **reference lab** (no student code) in a kernel of its own,
with the checks replaced by recorders (:mod:`coursetools.grading.kernel_side`, ``"key"`` mode)
that write down, for every call of a check: its inputs (the test cases of ``check_function``),
the reference's values on them, the tolerances and, for a choice, the options. The real
checks run too, so a lab whose own solution fails its checks is reported instead of used.

Keys are cached as JSON in ``_build/grader_keys/`` (outside the sandbox: the expected values
never enter a student's kernel), under a hash of the lab, the toolkit ``utils/`` and the
recorder, so a changed lab or toolkit makes a new key. Building a key costs one run of the lab.

Example
-------
>>> from coursetools.grading.labs import load_labs
>>> from coursetools.notebooks import REPO_ROOT
>>> lab = load_labs(REPO_ROOT / "labs" / "05_offense_defense.ipynb")[0]
>>> key = answer_key(lab)  # doctest: +SKIP
>>> sorted(key["checks"])  # the check cells' indices, as strings  # doctest: +SKIP
['12', '16', '6']
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from coursetools.grading.labs import Lab
from coursetools.grading.reports import atomic_write
from coursetools.grading.verdicts import read_records
from coursetools.notebooks import REPO_ROOT

__all__ = ["answer_key", "arm_source", "disarm_source", "snapshot_source", "restore_source", "KEY_DIR",
           "KERNEL_SIDE", "AnswerKeyError"]

KEY_DIR = REPO_ROOT / "_build" / "grader_keys"
KERNEL_SIDE = (Path(__file__).with_name("kernel_side.py")).read_text(encoding="utf-8")
_KEY_TIMEOUT_S = 1800


class AnswerKeyError(RuntimeError):
    """The reference lab could not be run, or its own solution fails its checks."""


def _run(call: str) -> str:
    """A cell that runs the recorder's source and then ``call``, in a namespace of its own.

    The real builtins are passed in, so a notebook's ``id = 3`` or ``open = ...`` does not
    break the recorder (a deliberate patch of the ``builtins`` module can, and then the
    answers are missing: a failure, never a pass).
    """
    source = KERNEL_SIDE + "\n\n" + call + "\n"
    return ('__import__("builtins").exec(%r, {"__builtins__": __import__("builtins"), '
            '"__name__": "__grader__"})  # grader' % source)


def arm_source(mode: str, calls: list[dict[str, Any]], path: Path) -> str:
    """The cell that binds the recorders before a check cell.

    Examples
    --------
    >>> "install(" in arm_source("answer", [], Path("/tmp/a.jsonl"))
    True
    """
    if mode not in ("key", "answer"):
        raise ValueError(f"mode must be 'key' or 'answer', got {mode!r}")
    # only the inputs go in: the expected values stay in the grader's process
    inputs = [{"kind": c["kind"], "cases": c.get("cases", [])} for c in calls]
    return _run(f"install({mode!r}, json.loads({json.dumps(inputs)!r}), {str(path)!r})")


def disarm_source() -> str:
    """The cell that binds the real checks again after a check cell."""
    return _run("uninstall()")


def snapshot_source() -> str:
    """The cell that remembers the notebook's names before an exercise cell."""
    return _run("snapshot()")


def restore_source(keep: set[str], path: Path) -> str:
    """The cell that puts back the lab's names an exercise cell rebound (``keep`` excepted)."""
    return _run(f"restore({sorted(keep)!r}, {str(path)!r})")


def _fingerprint(lab: Lab, repo_root: Path) -> str:
    digest = hashlib.sha256(Path(lab.path).read_bytes())
    for path in sorted((repo_root / "utils").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(KERNEL_SIDE.encode())
    return digest.hexdigest()[:20]


def answer_key(lab: Lab, *, repo_root: Path = REPO_ROOT, key_dir: Path | None = None,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """The lab's answer key, from the cache or made now (see the module's text).

    Returns
    -------
    dict
        ``{"lab": stem, "checks": {str(cell index): [call, ...]}}``; each call holds
        ``kind`` (``function``, ``scalar``, ``array``, ``choice``), ``name``, the tolerances,
        ``expected`` and, for a function, ``cases``.

    Raises
    ------
    AnswerKeyError
        If the reference lab fails (its own solution does not pass its checks).
    """
    key_dir = Path(key_dir) if key_dir is not None else Path(repo_root) / "_build" / "grader_keys"
    cached = key_dir / f"{lab.stem}-{_fingerprint(lab, Path(repo_root))}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    key = _build(lab, Path(repo_root), env)
    atomic_write(cached, json.dumps(key))
    return key


def _build(lab: Lab, repo_root: Path, env: dict[str, str] | None) -> dict[str, Any]:
    from coursetools.grading.runner import kernel_env  # (runner imports this module)
    checks = {index for ex in lab.exercises for index in ex.checks}
    nb = nbformat.v4.new_notebook(metadata=lab.nb.metadata)
    key: dict[str, Any] = {"lab": lab.stem, "checks": {}}
    with tempfile.TemporaryDirectory(prefix="grade_key_") as tmp:
        client = NotebookClient(nb, kernel_name="python3", timeout=_KEY_TIMEOUT_S,
                                allow_errors=True, record_timing=False,
                                resources={"metadata": {"path": tmp}})
        start = time.monotonic()
        with open(os.devnull, "wb") as quiet, \
                client.setup_kernel(env=env or kernel_env(repo_root, sandboxed=False),
                                    cwd=tmp, stdout=quiet, stderr=quiet, cleanup_kc=True):
            for index, ref in enumerate(lab.nb.cells):
                if ref.cell_type != "code":
                    continue
                path = Path(tmp) / f"key-{index}-{secrets.token_hex(4)}.jsonl"
                if index in checks:
                    _execute(client, nb, arm_source("key", [], path), lab, index)
                _execute(client, nb, ref.source, lab, index)
                if index in checks:
                    records = read_records(path)
                    key["checks"][str(index)] = [records[n] for n in sorted(records) if n >= 0]
        key["seconds"] = round(time.monotonic() - start, 1)
    return key


def _execute(client: NotebookClient, nb: nbformat.NotebookNode, source: str, lab: Lab,
             index: int) -> None:
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            raise AnswerKeyError(f"the reference lab {lab.path.name} failed at its cell {index} "
                            f"({out.get('ename')}: {out.get('evalue')}); fix the lab first")
