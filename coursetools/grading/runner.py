"""Running the graded notebook: the reference lab with the student's exercise cells in it.

The run goes cell by cell in one kernel (sandboxed, see :mod:`coursetools.grading.sandbox`),
with a time limit for the whole run. Before each check cell the grader binds recorders in
place of the checks (:mod:`coursetools.grading.kernel_side`): they call the student's code on
the inputs of the answer key (:mod:`coursetools.grading.answer_key`) and write what it
returned, as plain data, to a file. The grader reads that file and judges it in its own
process (:mod:`coursetools.grading.verdicts`); nothing in the kernel decides a verdict, so
nothing the student's code does there can turn a wrong answer into a pass. The grader's own
cells are not kept in the graded notebook; each check cell gets the verdict as its last output.

When an exercise does not pass, the reference solution runs right after its checks (and the
checks again, silently), so that later exercises and the claims are graded on their own.

Example
-------
>>> cell = code_cell("x = 1", "lab")
>>> cell.metadata["grader"]["role"]
'lab'
"""
from __future__ import annotations

import copy
import math
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from coursetools.grading import verdicts
from coursetools.grading.answer_key import (arm_source, disarm_source, restore_source,
                                            snapshot_source)
from coursetools.grading.names import stored_names
from coursetools.grading.labs import Exercise, Lab, first_line
from coursetools.grading.results import ExerciseResult, Report, clip
from coursetools.grading.sandbox import SandboxedKernelManager

__all__ = ["run_graded", "code_cell", "KERNEL_LOG", "kernel_log", "kernel_env"]

KERNEL_LOG = ".kernel.log"
# Environment variables a sandboxed kernel gets (nothing else of the grader's: no tokens).
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MPLBACKEND", "TZ")


class _GradingClient(NotebookClient):
    """An nbclient client that keeps at most ``max_output_chars`` of output per cell."""

    def __init__(self, nb: nbformat.NotebookNode, max_output_chars: int, **kwargs: Any):
        super().__init__(nb, **kwargs)
        self.max_output_chars = max_output_chars
        self.kept: dict[int, int] = {}
        self.truncated: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 - nbclient's hook
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not outs or outs[-1] is not out:
            return out
        if out.output_type == "error":  # always kept (the grader reads it), but clipped
            out.evalue = clip(out.evalue, self.max_output_chars // 2)
            out.traceback = [clip(line, 2_000) for line in out.traceback[-20:]]
            return out
        if out.output_type == "stream":
            size = len(out.text)
        else:
            size = sum(len(str(value)) for value in out.get("data", {}).values())
        kept = self.kept.get(cell_index, 0)
        if kept + size <= self.max_output_chars:
            self.kept[cell_index] = kept + size
            return out
        outs.pop()
        if cell_index not in self.truncated:
            self.truncated.add(cell_index)
            room = self.max_output_chars - kept
            if out.output_type == "stream" and room > 0:
                outs.append(nbformat.v4.new_output("stream", name=out.name,
                                                   text=out.text[:room]))
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"\n[grader: output of this cell cut after {self.max_output_chars} "
                     "characters]\n"))
        self.kept[cell_index] = self.max_output_chars
        return None


def code_cell(source: str, role: str, label: str | None = None) -> nbformat.NotebookNode:
    """A code cell of the graded notebook, with the grader's role for it in its metadata."""
    return nbformat.v4.new_code_cell(source, metadata={"grader": {"role": role,
                                                                  "exercise": label}})


def _error(cell: nbformat.NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", ""), out.get("evalue", "")
    return None


def _printed(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


def kernel_env(repo_root: Path, sandboxed: bool) -> dict[str, str]:
    """The environment of a kernel: in the sandbox, only a few variables of the grader's."""
    if sandboxed:
        env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
        env["PYTHONPATH"] = str(repo_root)
    else:
        env = dict(os.environ)
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join([str(repo_root)] + ([old] if old else []))
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _exit_status(client: NotebookClient, sandboxed: bool) -> str:
    """How the kernel process ended, in words, or "" if that cannot be told."""
    try:
        code = client.km.provisioner.process.poll()  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - best effort: no provisioner, no process
        return ""
    if code is None:
        return ""
    if sandboxed and code > 128:  # bwrap exits with 128 + the signal that killed the kernel
        code = -(code - 128)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        oom = " (on Linux usually the out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"the kernel process was killed by {name}{oom}"
    return f"the kernel process exited with status {code}"


def kernel_log(workdir: Path, lines: int = 5) -> str:
    """The last lines the kernel process wrote itself (not a cell's output), minus noise."""
    try:
        text = (workdir / KERNEL_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    noise = ("without encryption", "Ctrl-C will not work", "To exit, you will have to",
             '"quit" from a client', "To read more about this", "To connect another client",
             "--existing ", "NOTE: When using the `ipython kernel`")
    kept = [line.strip() for line in text.splitlines()
            if line.strip() and not any(n in line for n in noise)]
    return clip(" | ".join(kept[-lines:]), 500)


def run_graded(lab: Lab, student: dict[str, list[str]], report: Report, workdir: Path,
               timeout: float, max_output_chars: int, graded: nbformat.NotebookNode, *,
               key: dict, repo_root: Path, sandboxed: bool = True,
               stated_timeout: float | None = None) -> None:
    """Run the graded notebook cell by cell (appending to ``graded``); fill in ``report``.

    ``key`` is the lab's answer key (:func:`~coursetools.grading.answer_key.answer_key`).
    ``timeout`` is what is left of the limit; ``stated_timeout`` (default ``timeout``) is the
    limit as the instructor set it, which messages quote.

    Raises
    ------
    CellTimeoutError, DeadKernelError
        When the run stops early; ``report`` holds what ran.
    """
    limit = stated_timeout if stated_timeout is not None else timeout
    km = SandboxedKernelManager(workdir, repo_root, kernel_name="python3") if sandboxed \
        else None
    client = _GradingClient(graded, max_output_chars, km=km, kernel_name="python3",
                            timeout=max(1, math.ceil(timeout)), allow_errors=True,
                            record_timing=False, interrupt_on_timeout=False,
                            resources={"metadata": {"path": str(workdir)}})
    deadline = math.inf  # set once the kernel is up: start-up does not count
    client.timeout_func = lambda cell: max(1, math.ceil(deadline - time.monotonic()))
    results = {ex.label: ExerciseResult(ex.label, ex.instruction) for ex in lab.exercises}
    report.exercises = list(results.values())
    solution_of = {ex.solution: ex for ex in lab.exercises}
    by_label = {ex.label: ex for ex in lab.exercises}
    last_check = {(ex.checks[-1] if ex.checks else ex.solution): ex for ex in lab.exercises}
    # The records files are named by a random token, fresh for each run (not that guessing
    # one would help: a forged record is judged like any other answer).
    token = secrets.token_hex(8)

    def run(cell: nbformat.NotebookNode, where: str,
            label: str | None = None) -> nbformat.NotebookNode:
        """Run one cell; ``label`` names the exercise whose student code it is."""
        graded.cells.append(cell)
        try:
            if time.monotonic() >= deadline:
                raise CellTimeoutError(f"no time left before {where}")
            client.execute_cell(cell, len(graded.cells) - 1)
        except CellTimeoutError:
            if label is not None:
                results[label].status = "failed"
                results[label].message = (f"the time limit ({limit:g} s) ran out in this "
                                          "code: an endless loop, or far too slow?")
            raise CellTimeoutError(f"the time limit ({limit:g} s) ran out in {where}") \
                from None
        except DeadKernelError:
            how = _exit_status(client, sandboxed)
            if label is not None:
                results[label].status = "failed"
                results[label].message = "the kernel died while running this code" + (
                    f" ({how})" if how else "")
            raise DeadKernelError(f"the kernel died in {where}" + (f"; {how}" if how else "")) \
                from None
        return cell

    def hidden(source: str, where: str) -> nbformat.NotebookNode:
        """Run one of the grader's own cells, which the graded notebook does not keep."""
        cell = run(code_cell(source, "grader"), where)
        index = len(graded.cells) - 1
        graded.cells.pop()
        client.kept.pop(index, None)
        client.truncated.discard(index)
        return cell

    def records_path(what: str) -> Path:
        return workdir / f".answers-{token}-{what}.jsonl"

    def check(index: int, ex: Exercise, role: str) -> tuple[str, str]:
        """Run check cell ``index`` with the recorders bound; judge its answers here."""
        path = records_path(f"check{index}-{len(graded.cells)}")
        calls = key["checks"].get(str(index), [])
        hidden(arm_source("answer", calls, path), f"the checks of {ex.label}")
        cell = run(code_cell(lab.nb.cells[index].source, role, ex.label),
                   f"the checks of {ex.label}")
        hidden(disarm_source(), f"the checks of {ex.label}")
        status, message = verdicts.judge(calls, verdicts.read_records(path))
        error = _error(cell)
        if error and status == "passed":
            # the check cell itself raised (an assertion of its own, a name the student's
            # code should have defined): a failure, whatever the recorded answers
            status, message = "failed", f"the check could not run: {error[0]}: {error[1]}"
        elif error and "got no answer" in message:
            message += f" (the check cell raised {error[0]}: {error[1]})"
        cell.outputs.append(nbformat.v4.new_output(
            "stream", name="stdout", text=f"[grader, outside the kernel] {status}: {message}\n"))
        return status, verdicts.plain(message, 1000)

    def replace(ex: Exercise) -> None:
        """Run the reference solution and its checks so later cells can run."""
        results[ex.label].replaced = True
        run(code_cell(lab.nb.cells[ex.solution].source, "reference solution", ex.label),
            f"the reference solution of {ex.label}")
        for index in ex.checks:
            check(index, ex, "reference check (re-run)")

    def student_code(ex: Exercise, sources: list[str]) -> None:
        result = results[ex.label]
        hidden(snapshot_source(), f"the cell before {ex.label}")
        for source in sources:
            cell = run(code_cell(source, "student exercise", ex.label),
                       f"your code for {ex.label}", ex.label)
            error = _error(cell)
            if error and result.status == "not run":
                if error[0] == "NotImplementedError":
                    result.status = "not attempted"
                    result.message = "the cell still raises NotImplementedError"
                else:
                    result.status = "failed"
                    result.message = clip(f"your code raised {error[0]}: {error[1]}")
        # The lab's names come back (the exercise's own excepted), so that a name rebound by
        # accident does not break the rest of the lab. A courtesy only: no verdict needs it.
        path = records_path(f"restore{ex.solution}")
        hidden(restore_source(stored_names(lab.nb.cells[ex.solution].source), path),
               f"your code for {ex.label}")
        restored = verdicts.read_records(path).get(-1, {}).get("restored")
        if isinstance(restored, list) and restored:
            report.notes.append(
                f"{ex.label}: your code rebound names the lab defines "
                f"({verdicts.plain(', '.join(map(str, restored[:10])), 300)}); they were "
                "restored for the checks and the rest of the lab")

    current: str | None = None  # the exercise whose checks are running
    # The kernel process's own output (start-up warnings, a crash's last words) goes to a log
    # in the temporary folder rather than to the instructor's terminal; see kernel_log.
    with open(workdir / KERNEL_LOG, "wb") as log, \
            client.setup_kernel(env=kernel_env(repo_root, sandboxed), cwd=str(workdir),
                                stdout=log, stderr=log, cleanup_kc=True):
        # (cleanup_kc: nbclient shuts down only kernels whose manager it made itself)
        deadline = time.monotonic() + timeout
        for index, ref_cell in enumerate(lab.nb.cells):
            if ref_cell.cell_type != "code":
                graded.cells.append(copy.deepcopy(ref_cell))
                continue
            tags = ref_cell.get("metadata", {}).get("tags", [])
            if index in solution_of:
                ex = solution_of[index]
                result = results[ex.label]
                current = ex.label
                sources = student.get(ex.label, [])
                if not sources:
                    result.status, result.message = "missing", (
                        f"no code cell starts with the header line "
                        f"{clip(ex.header, 80)!r}; the exercise cell was deleted or its "
                        "first line changed")
                else:
                    student_code(ex, sources)
            elif "check" in tags and current is not None:
                result = results[current]
                if result.status == "not run":  # the student's code ran: check it
                    status, message = check(index, by_label[current], "reference check")
                    if status != "passed":
                        result.status, result.message = status, message
                    else:
                        result.message = " ".join(filter(None, [result.message, message]))
            else:
                role = "claims" if "claims" in tags else "lab"
                where = "the claims cell" if role == "claims" else f"cell {index} of the lab"
                cell = run(code_cell(ref_cell.source, role), where)
                error = _error(cell)
                if role == "claims":
                    report.claims = "failed" if error else "passed"
                    report.claims_message = clip(f"{error[0]}: {error[1]}" if error
                                                 else _printed(cell))
                elif error:
                    report.lab_errors.append(clip(
                        f"lab cell {index} ({first_line(ref_cell.source)[:60]}) raised "
                        f"{error[0]}: {error[1]}", 400))
            if index in last_check:
                ex = last_check[index]
                result = results[ex.label]
                if result.status == "not run":
                    result.status = "passed"
                    result.message = result.message or "the checks passed"
                if result.status != "passed":
                    replace(ex)
                current = None
