"""Which of a lab's printed numbers would move on another CPU: the lab run under other kernels.

``make test`` compares a lab's fresh outputs with the stored ones, numbers within the tolerance
of :mod:`coursetools.nbval_numbers`. A number computed from a training trajectory can move
further than that on a machine whose kernels sum in another order, and one such number is
enough to turn a newcomer's ``make test`` red. Two libraries choose kernels by CPU: ATen (set
with ``ATEN_CPU_CAPABILITY``) and MKL's BLAS, which takes other code paths on AMD than on
Intel (``MKL_CBWR`` pins one). This tool runs a lab under several such configurations on one
machine and lists every output line whose numbers leave the tolerance under any of them, so
that an author can print such a number with fewer digits, or mark it ``~`` as approximate,
before a reader's machine finds it.

Usage (``make portability``, or for some labs)::

    python -m coursetools.portability labs/02_generalization_bounds.ipynb

It executes each lab once per configuration (two at a time), prints what moved and exits 1 if
anything did. It is slow (every lab five times) and is therefore not part of ``make test``,
whose second pass runs the strongest single configuration, :data:`ANOTHER_CPU`.

Example
-------
>>> moved_lines("margin 0.0100 at p = 1\\nR_A = 4022.6", {"generic": "margin 0.0101 at p = 1\\nR_A = 4490.2"})
[(2, 'R_A = 4022.6', {'generic': 'R_A = 4490.2'})]
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import copy
import json
import os
import re
import sys
from pathlib import Path
from typing import Mapping, Sequence

from nbval.plugin import coalesce_streams, get_sanitize_patterns

from coursetools.nbval_numbers import outputs_match

__all__ = ["CONFIGS", "ANOTHER_CPU", "cell_texts", "moved_lines", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SANITIZE = REPO_ROOT / "tests" / "nbval_sanitize.cfg"

# What make test's second pass sets: ATen's generic kernels and MKL's vendor-neutral code path
# (SSE2), together the furthest this machine can get from its own arithmetic. It approximates
# another CPU; it is not a copy of any one CPU's code path.
ANOTHER_CPU = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
CONFIGS: dict[str, dict[str, str]] = {
    "native": {},
    "generic ATen": {"ATEN_CPU_CAPABILITY": "default"},
    "MKL compatible": {"MKL_CBWR": "COMPATIBLE"},
    "generic ATen + MKL compatible": ANOTHER_CPU,
    # On a CPU that is not Intel's, MKL ignores MKL_CBWR=AVX2 (it falls back to its own
    # dispatch), so there this is AVX2 ATen with MKL's usual path.
    "AVX2 ATen + MKL AVX2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
}
# Output keys nbval does not compare (with images left to the figure tests).
_NOT_COMPARED = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}


def _sanitizers(path: Path = SANITIZE) -> list[tuple[re.Pattern, str]]:
    """The regex replacements nbval applies before comparing, parsed as nbval parses them."""
    return [(re.compile(regex), replace)
            for regex, replace in get_sanitize_patterns(path.read_text())]


def cell_texts(nb) -> dict[int, str]:
    """What nbval compares of each code cell's outputs, sanitized, as one text per cell.

    As nbval does: streams coalesced (``\\r`` and ``\\b`` applied) and compared per stream
    name, every data type but images and widget ids. Each kind is one block headed by its
    name (``[stdout]``, ``[text/plain]``), so a line of one never meets a line of another.
    """
    rules = _sanitizers()
    texts = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        blocks = collections.defaultdict(list)
        for out in coalesce_streams(copy.deepcopy(cell.outputs)):
            if out.get("output_type") == "stream":
                blocks[out["name"]].append(out["text"])
            for kind, value in out.get("data", {}).items():
                if kind not in _NOT_COMPARED:
                    blocks[kind].append(value if isinstance(value, str) else json.dumps(value))
        text = "".join(f"[{kind}]\n" + "".join(values).rstrip("\n") + "\n"
                       for kind, values in sorted(blocks.items()))
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        if text:
            texts[index] = text
    return texts


def moved_lines(stored: str, fresh: Mapping[str, str]) -> list[tuple[int, str, dict[str, str]]]:
    """Lines of ``stored`` that some fresh output does not match within the tolerance.

    Returns (line number from 1, stored line, {configuration: its line}) for each such line,
    with only the configurations that moved it. A fresh output with another number of lines
    is reported as one entry for line 0.
    """
    stored_lines = stored.splitlines()
    moved: dict[int, dict[str, str]] = {}
    for name, text in fresh.items():
        lines = text.splitlines()
        if len(lines) != len(stored_lines):
            moved.setdefault(0, {})[name] = f"{len(lines)} lines, stored {len(stored_lines)}"
            continue
        for number, (a, b) in enumerate(zip(stored_lines, lines), start=1):
            if not outputs_match(a, b):
                moved.setdefault(number, {})[name] = b
    return [(n, stored_lines[n - 1] if n else "", moved[n]) for n in sorted(moved)]


def _run_under(path: str, env: dict[str, str], cleared: set[str]) -> dict[int, str] | str:
    """Execute the lab at ``path`` in a fresh kernel with the settings ``cleared`` removed and
    ``env`` set; its texts, or what went wrong as a message (a failed claim is a finding too)."""
    from coursetools.notebooks import execute_notebook, read_notebook  # heavy: workers only

    for name in cleared:
        os.environ.pop(name, None)    # nothing of the caller's shell or an earlier run
    os.environ.update(env)            # the kernel inherits this process's environment
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        nb = execute_notebook(read_notebook(path), cwd=Path(path).parent)
    except Exception as error:        # CellExecutionError, a timeout, a dead kernel
        return f"the run failed: {str(error).strip().splitlines()[-1][:300]}"
    return cell_texts(nb)


def check_lab(path: str, configs: Mapping[str, dict[str, str]] = CONFIGS,
              workers: int = 2) -> list[str]:
    """Run one lab under every configuration; a report line for each output line that moved."""
    from coursetools.notebooks import read_notebook

    stored = cell_texts(read_notebook(path))
    # One process per run: a worker's environment must not carry over to the next run.
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                max_tasks_per_child=1) as pool:
        cleared = {key for env in configs.values() for key in env}
        futures = {name: pool.submit(_run_under, path, env, cleared)
                   for name, env in configs.items()}
        fresh = {name: future.result() for name, future in futures.items()}
    report = [f"{path} under {name}: {result}" for name, result in fresh.items()
              if isinstance(result, str)]
    fresh = {name: result for name, result in fresh.items() if not isinstance(result, str)}
    for index, text in stored.items():
        for number, line, moved in moved_lines(text, {n: f.get(index, "") for n, f in fresh.items()}):
            report.append(f"{path} cell {index} line {number}:\n    stored: {line}")
            report += [f"    {name}: {other}" for name, other in moved.items()]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labs", nargs="+", help="notebooks to run")
    parser.add_argument("--workers", type=int, default=2, help="kernels at once (default 2)")
    args = parser.parse_args(argv)
    missing = [lab for lab in args.labs if not Path(lab).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    failed = False
    for lab in args.labs:
        report = check_lab(lab, workers=args.workers)
        print("\n".join(report) if report else f"{lab}: every number within the tolerance "
              f"under {len(CONFIGS)} kernel configurations", flush=True)
        failed |= bool(report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
