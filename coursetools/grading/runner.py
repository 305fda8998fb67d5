"""Running the graded notebook: the reference lab with the student's exercise cells in it.

The run goes cell by cell in one kernel (sandboxed, see :mod:`coursetools.grading.sandbox`),
with a time limit for the whole run. From the first exercise on, the grader's tamper probe
(:mod:`coursetools.grading.integrity`) runs after every cell; a check counts as passed only
when its cell raised nothing *and* the probe after it answered with the machinery unchanged.
Probe cells are not kept in the graded notebook the instructor reads.

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
import signal
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from coursetools.grading import integrity
from coursetools.grading.labs import Exercise, Lab, first_line
from coursetools.grading.matching import GUARD
from coursetools.grading.results import ExerciseResult, Report, clip
from coursetools.grading.sandbox import SandboxedKernelManager

__all__ = ["run_graded", "Tampered", "code_cell", "KERNEL_LOG", "kernel_log"]

KERNEL_LOG = ".kernel.log"
# Environment variables a sandboxed kernel gets (nothing else of the grader's: no tokens).
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MPLBACKEND", "TZ")


class Tampered(Exception):
    """The probe found the checking machinery changed (or got no answer)."""

    def __init__(self, label: str | None, where: str, what: list[str]):
        super().__init__(f"{where}: {', '.join(what)}")
        self.label, self.where, self.what = label, where, what


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


def _kernel_env(repo_root: Path, sandboxed: bool) -> dict[str, str]:
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
               repo_root: Path, sandboxed: bool = True,
               stated_timeout: float | None = None) -> None:
    """Run the graded notebook cell by cell (appending to ``graded``); fill in ``report``.

    ``timeout`` is what is left of the limit; ``stated_timeout`` (default ``timeout``) is the
    limit as the instructor set it, which messages quote.

    Raises
    ------
    CellTimeoutError, DeadKernelError
        When the run stops early; ``report`` holds what ran.
    Tampered
        When the probe finds the machinery changed; the exercise concerned is marked.
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
    last_check = {(ex.checks[-1] if ex.checks else ex.solution): ex for ex in lab.exercises}
    baseline: integrity.Fingerprint | None = None
    last_student: str | None = None  # the exercise whose student code ran last

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

    def probe(mode: str, where: str, keep: set[str] = frozenset()) -> dict[str, Any]:
        """Ask the kernel for its fingerprint; raise Tampered if it changed."""
        nonlocal baseline
        nonce = integrity.new_nonce()
        source = integrity.probe_source(nonce, baseline.modules if baseline else None, mode,
                                        sorted(keep))
        cell = run(code_cell(source, "probe"), f"the grader's probe after {where}")
        index = len(graded.cells) - 1
        graded.cells.pop()  # not shown in the graded notebook
        client.kept.pop(index, None)
        client.truncated.discard(index)
        answer = integrity.parse_answer(_printed(cell), nonce)
        if baseline is None:
            if answer is None:
                raise Tampered(None, f"before {where}", ["the probe gave no answer"])
            baseline = integrity.Fingerprint(answer["modules"], answer["groups"])
            return answer
        changed = integrity.compare(baseline, answer)
        if changed:
            raise Tampered(last_student, where, changed)
        assert answer is not None
        return answer

    def replace(ex: Exercise) -> None:
        """Run the reference solution and its checks so later cells can run."""
        results[ex.label].replaced = True
        run(code_cell(lab.nb.cells[ex.solution].source, "reference solution", ex.label),
            f"the reference solution of {ex.label}")
        for index in ex.checks:
            run(code_cell(GUARD, "guard", ex.label), f"the checks of {ex.label}")
            run(code_cell(lab.nb.cells[index].source, "reference check (re-run)", ex.label),
                f"the checks of {ex.label}")
        if baseline is not None:
            probe("check", f"the reference solution of {ex.label}")

    def student_code(ex: Exercise, sources: list[str]) -> None:
        nonlocal last_student
        result = results[ex.label]
        saved = probe("save", f"the cell before {ex.label}")["names"]
        last_student = ex.label
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
        # The lab's names come back (the exercise's own excepted) from the snapshot taken
        # before the exercise, and the grader checks they are the very objects it recorded.
        keep = integrity.stored_names(lab.nb.cells[ex.solution].source)
        answer = probe("restore", f"your code for {ex.label}", keep)
        wrong = sorted(name for name, ident in answer.get("names", {}).items()
                       if name in saved and saved[name] != ident)
        if wrong or set(answer.get("names", {})) != set(saved) - keep:
            raise Tampered(ex.label, f"your code for {ex.label}",
                           [f"the lab's names {', '.join(wrong) or '(some)'} could not be "
                            "restored"])
        if answer.get("restored"):
            report.notes.append(
                f"{ex.label}: your code rebound names the lab defines "
                f"({', '.join(answer['restored'][:10])}); they were restored for the checks "
                "and the rest of the lab")

    current: str | None = None  # the exercise whose checks are running
    # The kernel process's own output (start-up warnings, a crash's last words) goes to a log
    # in the temporary folder rather than to the instructor's terminal; see kernel_log.
    with open(workdir / KERNEL_LOG, "wb") as log, \
            client.setup_kernel(env=_kernel_env(repo_root, sandboxed), cwd=str(workdir),
                                stdout=log, stderr=log, cleanup_kc=True):
        # (cleanup_kc: nbclient shuts down only kernels whose manager it made itself)
        deadline = time.monotonic() + timeout
        try:
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
                        run(code_cell(GUARD, "guard", current), f"the checks of {current}")
                        cell = run(code_cell(ref_cell.source, "reference check", current),
                                   f"the checks of {current}")
                        error = _error(cell)
                        if baseline is not None:
                            probe("check", f"the checks of {current}")
                        if error:
                            result.status = "failed"
                            result.message = clip(
                                error[1] if error[0] == "CheckFailed" else
                                f"the check could not run: {error[0]}: {error[1]}")
                        else:
                            result.message = clip(" ".join(
                                line.strip() for line in _printed(cell).splitlines()
                                if line.strip().startswith("✓")) or "the checks passed")
                else:
                    role = "claims" if "claims" in tags else "lab"
                    where = "the claims cell" if role == "claims" else f"cell {index} of the lab"
                    cell = run(code_cell(ref_cell.source, role), where)
                    error = _error(cell)
                    if baseline is not None:
                        probe("check", where)
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
                    if result.status != "passed":
                        replace(ex)
                    current = None
        except Tampered as err:
            label = err.label or current
            if label is not None:
                results[label].status = "tampered"
                results[label].replaced = False
                results[label].message = clip(
                    f"this code changed the grader's checking machinery ({', '.join(err.what)}, "
                    f"found after {err.where}); it scores zero, and the run stopped")
            report.claims = "not run"
            raise
