"""Measure each lab's wall time and peak memory, against the course's per-lab budget.

``make bench`` runs::

    python -m coursetools.bench labs/*.ipynb --table instructors/bench.md --readme README.md

which executes every lab in a fresh kernel (the files are not modified), prints a Markdown
table, writes it where the instructors' page includes it, refreshes the copy in the README
between the markers ``<!-- bench:start -->`` and ``<!-- bench:end -->``, and exits non-zero
if a lab fails or takes longer than the budget (60 s on a 2-core CPU). With ``--ensemble``
it also times batched training (:func:`utils.ensembles.train_ensemble`) against a loop of
:func:`utils.training.train` on the same networks, and prints the ratio
(:func:`bench_ensemble`, :func:`ensemble_line`).

Example
-------
>>> rows = [{"lab": "00_first_experiment", "wall_s": 12.34, "peak_mib": 456.7, "ok": True}]
>>> print(bench_table(rows).splitlines()[2])
| 00_first_experiment | 12.3 | 457 | ✓ |
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from coursetools.notebooks import EXECUTION_ERRORS, _client, _run, read_notebook

__all__ = ["bench_notebook", "bench_table", "write_bench", "bench_ensemble", "ensemble_line",
           "main"]

BUDGET_S = 60.0
ENSEMBLE_GOAL = 8.0  # issue 14: batched training at least 8x faster than the loop
START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"
MIB = 2**20


class _PeakMemorySampler:
    """Track the peak resident memory of a process and its children from a background thread.

    ``get_pid`` is polled until it returns a pid (the kernel starts after the sampler), then
    the summed RSS of that process and all its descendants is sampled every ``interval_s``.
    A spike shorter than the interval can be missed, so the peak is a (tight) lower bound.
    """

    def __init__(self, get_pid: Callable[[], int | None], interval_s: float = 0.05) -> None:
        self.get_pid = get_pid
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _PeakMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, self._rss_now())
            if self._stop.wait(self.interval_s):
                return

    def _rss_now(self) -> int:
        pid = self.get_pid()
        if pid is None:
            return 0
        try:
            process = psutil.Process(pid)
            processes = [process] + process.children(recursive=True)
        except psutil.Error:  # the kernel has just exited
            return 0
        total = 0
        for proc in processes:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # a child exited between listing and reading
                pass
        return total


def _kernel_pid(client: Any) -> int | None:
    """The pid of the client's kernel, or None before it has started."""
    provisioner = getattr(getattr(client, "km", None), "provisioner", None)
    return getattr(provisioner, "pid", None)


def bench_notebook(path: str | os.PathLike, timeout: float = 600) -> dict[str, Any]:
    """Execute a notebook in a fresh kernel and measure its wall time and peak memory.

    The notebook is read, run in memory (working directory: its folder) and not written back.
    Wall time covers the whole run, kernel start-up included, as a student would wait for it.
    Peak memory is the largest summed resident set size of the kernel and its child processes
    (e.g. joblib workers), sampled with psutil every 50 ms.

    Parameters
    ----------
    path : str or path-like
        The notebook.
    timeout : float, default 600
        Seconds allowed per cell.

    Returns
    -------
    dict
        ``lab`` (file name without suffix), ``path``, ``wall_s``, ``peak_mib``, ``ok``
        (True if every cell ran without error) and ``error`` (``"ename: message"`` of the
        failure, or None). A failing notebook is reported, not raised, so that one broken lab
        does not hide the others' numbers.

    Raises
    ------
    FileNotFoundError, ValueError
        If the file is missing or is not a notebook.

    Examples
    --------
    >>> row = bench_notebook("labs/00_first_experiment.ipynb")  # doctest: +SKIP
    >>> row["ok"], row["wall_s"] < 60  # doctest: +SKIP
    (True, True)
    """
    path = Path(path)
    nb = read_notebook(path)
    client = _client(nb, cwd=path.parent, timeout=timeout)
    error = None
    start = time.perf_counter()
    with _PeakMemorySampler(lambda: _kernel_pid(client)) as sampler:
        try:
            _run(client)
        except EXECUTION_ERRORS as err:
            name = getattr(err, "ename", type(err).__name__)
            message = getattr(err, "evalue", None) or str(err).strip()
            error = f"{name}: {message.splitlines()[0] if message else ''}"
    wall_s = time.perf_counter() - start
    return {"lab": path.stem, "path": str(path), "wall_s": wall_s,
            "peak_mib": sampler.peak_bytes / MIB, "ok": error is None, "error": error}


def _within_budget(row: dict[str, Any], budget_s: float) -> bool:
    return bool(row.get("ok", True)) and row["wall_s"] <= budget_s


def _versions_line(budget_s: float) -> str:
    try:
        torch = importlib.metadata.version("torch")  # no import: torch takes seconds to load
    except importlib.metadata.PackageNotFoundError:
        torch = "not installed"
    return (f"Measured on {datetime.date.today().isoformat()} with {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch}; budget {budget_s:g} s per lab.")


def bench_table(rows: Sequence[dict[str, Any]], budget_s: float = BUDGET_S) -> str:
    """Format benchmark rows as a Markdown table, followed by a line on the machine.

    Parameters
    ----------
    rows : sequence of dict
        As returned by :func:`bench_notebook`: at least ``lab``, ``wall_s``, ``peak_mib``;
        ``ok`` (default True) marks whether the lab ran without error.
    budget_s : float, default 60
        Per-lab wall-time budget in seconds. A lab is within budget if it ran without error
        and took at most ``budget_s``.

    Returns
    -------
    str
        The table (columns: lab, wall time in s, peak memory in MiB, ✓/✗ for the budget),
        a blank line, then the date, ``os.cpu_count()`` cores and the Python and torch
        versions.

    Raises
    ------
    ValueError
        If ``rows`` is empty, a row lacks a key, or ``budget_s`` is not positive.

    Examples
    --------
    >>> rows = [{"lab": "00_a", "wall_s": 3.0, "peak_mib": 300.0, "ok": True},
    ...         {"lab": "01_b", "wall_s": 75.5, "peak_mib": 1200.0, "ok": True}]
    >>> print("\\n".join(bench_table(rows).splitlines()[:4]))
    | Lab | Wall time (s) | Peak memory (MiB) | Within 60 s budget |
    |:----|--------------:|------------------:|:------------------:|
    | 00_a | 3.0 | 300 | ✓ |
    | 01_b | 75.5 | 1200 | ✗ |
    """
    if not rows:
        raise ValueError("rows is empty; benchmark at least one notebook")
    if not budget_s > 0:
        raise ValueError(f"budget_s must be a positive number of seconds, got {budget_s}")
    lines = [
        f"| Lab | Wall time (s) | Peak memory (MiB) | Within {budget_s:g} s budget |",
        "|:----|--------------:|------------------:|:------------------:|",
    ]
    for row in rows:
        missing = {"lab", "wall_s", "peak_mib"} - set(row)
        if missing:
            raise ValueError(f"row {row!r} lacks {', '.join(sorted(missing))}; "
                             "rows come from bench_notebook")
        if not row.get("ok", True):
            verdict = "✗ (failed)"
        else:
            verdict = "✓" if _within_budget(row, budget_s) else "✗"
        lines.append(f"| {row['lab']} | {row['wall_s']:.1f} | {row['peak_mib']:.0f} | {verdict} |")
    return "\n".join(lines) + "\n\n" + _versions_line(budget_s) + "\n"


def _replace_between_markers(text: str, content: str, where: str) -> str:
    starts, ends = text.count(START_MARKER), text.count(END_MARKER)
    if starts != 1 or ends != 1:
        raise ValueError(
            f"{where} must contain the markers {START_MARKER} and {END_MARKER} exactly once "
            f"each, start before end (found {starts} start and {ends} end markers)"
        )
    start = text.index(START_MARKER) + len(START_MARKER)
    end = text.index(END_MARKER)
    if end < start:
        raise ValueError(f"in {where}, {END_MARKER} comes before {START_MARKER}; swap them")
    return text[:start] + "\n" + content.strip("\n") + "\n" + text[end:]


def write_bench(rows: Sequence[dict[str, Any]], table_path: str | os.PathLike,
                readme_path: str | os.PathLike | None = None,
                budget_s: float = BUDGET_S, notes: Sequence[str] = ()) -> None:
    """Write the benchmark table to a Markdown file and, optionally, into the README.

    Parameters
    ----------
    rows : sequence of dict
        As returned by :func:`bench_notebook`.
    table_path : str or path-like
        Markdown file that the instructors' page includes (e.g. ``instructors/bench.md``):
        an intro sentence and the table, no heading. Its folder is created if needed.
    readme_path : str or path-like, optional
        A file holding ``<!-- bench:start -->`` and ``<!-- bench:end -->``; the text between
        them is replaced by the table, the rest is kept.
    budget_s : float, default 60
        Per-lab budget in seconds, see :func:`bench_table`.
    notes : sequence of str
        Paragraphs written after the table in ``table_path`` only (e.g. the ensemble
        benchmark's lines).

    Raises
    ------
    ValueError
        If the README lacks either marker (or has them twice, or in the wrong order). It is
        checked before anything is written, so a bad README leaves both files untouched.

    Examples
    --------
    >>> write_bench(rows, "instructors/bench.md", "README.md")  # doctest: +SKIP
    """
    table = bench_table(rows, budget_s)
    readme_text = None
    if readme_path is not None:
        readme_path = Path(readme_path)
        readme_text = _replace_between_markers(readme_path.read_text(encoding="utf-8"), table,
                                               str(readme_path))
    intro = (f"Each lab run top to bottom in a fresh kernel by `make bench`: wall time, "
             f"including kernel start-up, and peak memory of the kernel and its child "
             f"processes, against the budget of {budget_s:g} s per lab on a 2-core CPU.")
    table_path = Path(table_path)
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text("\n\n".join([intro, table.rstrip("\n"), *notes]) + "\n",
                          encoding="utf-8")
    if readme_text is not None:
        readme_path.write_text(readme_text, encoding="utf-8")


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (CPU time: this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_ensemble(n_models: int = 32, min_width: int = 4, max_width: int = 256,
                   n_examples: int = 300, steps: int = 5000, lr: float = 1e-3,
                   seed: int = 0, threads: int | None = None) -> dict[str, Any]:
    """Time full-batch Adam on many one-hidden-layer MLPs: batched against one at a time.

    The networks (widths spaced geometrically from ``min_width`` to ``max_width``, each from
    its own seed) learn the first ``n_examples`` digit images of
    :func:`utils.data.load_digits_split`. Each is trained once by
    :func:`utils.training.train`, one after another, and, from copies of the same initial
    weights, by :func:`utils.ensembles.train_ensemble` twice: once just before the loop and
    once just after it, in the same process, with the same settings (Adam, ``lr``, full
    batch, one evaluation per step). The batched time is the mean of the two runs. Why
    twice: on a shared or virtual machine the speed drifts by tens of percent over a
    minute; a batched run on each side of the loop sees, on average, the conditions the
    loop saw (a drift linear in time cancels), where a single run after the loop would
    see only the end of it.

    What the ratio measures: ``train_ensemble`` against ``train`` as the labs call it, with
    the same histories as the result. Part of the saving is not batching: ``train`` runs one
    more forward pass per epoch to evaluate, which ``train_ensemble`` reads off the next
    step's forward pass, and pays its per-step bookkeeping once per network; the bench
    table (``instructors/bench.md``) gives the measured times.

    Both ways get the same number of torch threads: ``threads=1`` is the labs' setting
    (:func:`utils.reproducibility.seed_everything`), None every core this process may run
    on. With more than one thread, OpenMP's waiting threads spin and count as CPU time, so
    the CPU-time ratio no longer checks the wall-time ratio, and on a loaded machine both
    move by a factor of several: time it on an idle machine.

    Parameters
    ----------
    n_models, min_width, max_width, n_examples, steps : int
        The experiment's size (the issue's benchmark: 32, 4, 256, 300, 5000).
    lr : float
        Adam's learning rate.
    seed : int
        Seed of the first network's weights (network k uses ``seed + k``).
    threads : int, optional
        torch's intra-op threads for both ways (restored afterwards, also on an error);
        None: every core this process may run on.

    Returns
    -------
    dict
        The settings, ``widths``, ``loop_s`` and ``batched_s`` (wall; the mean of
        ``batched_runs_s``, the runs before and after the loop), ``loop_cpu_s`` and
        ``batched_cpu_s`` (CPU time), ``ratio`` (loop_s / batched_s), ``cpu_ratio``,
        ``threads`` (torch's intra-op threads), ``load`` (1-minute load average before and
        after) and ``max_loss_gap`` (largest difference between the two runs' final
        training losses: both computed the same thing, up to float rounding).

    Examples
    --------
    >>> r = bench_ensemble(n_models=2, steps=3, n_examples=20)
    >>> sorted(r["widths"]), r["ratio"] == r["loop_s"] / r["batched_s"]
    ([4, 256], True)
    """
    import copy

    import numpy as np
    import torch

    from utils.data import load_digits_split
    from utils.ensembles import train_ensemble
    from utils.models import mlp
    from utils.training import train

    X, y = load_digits_split(seed=0).tensors("train")
    if not 1 <= n_examples <= len(y):
        raise ValueError(f"n_examples must be in [1, {len(y)}], got {n_examples}")
    if threads is None:
        threads = _usable_cores()
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None (every core), "
                         f"got {threads!r}")
    X, y = X[:n_examples], y[:n_examples]
    widths = [int(w) for w in np.geomspace(min_width, max_width, n_models).round()]
    nets = [mlp(X.shape[1], [w], 10, generator=torch.Generator().manual_seed(seed + k))
            for k, w in enumerate(widths)]
    before, after = copy.deepcopy(nets), copy.deepcopy(nets)
    options = dict(optimizer="adam", lr=lr, epochs=steps)
    load_before = os.getloadavg()[0]
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        batched_histories = []
        runs = [_timed(lambda: batched_histories.extend(
            train_ensemble(before, X, y, **options)))]
        loop_histories = []
        loop_s, loop_cpu = _timed(lambda: loop_histories.extend(
            train(net, X, y, **options) for net in nets))
        runs.append(_timed(lambda: train_ensemble(after, X, y, **options)))
    finally:
        torch.set_num_threads(threads_before)
    batched_s, batched_cpu = (sum(r[i] for r in runs) / 2 for i in (0, 1))
    gap = max(abs(a.final["train_loss"] - b.final["train_loss"])
              for a, b in zip(loop_histories, batched_histories))
    return {"n_models": n_models, "widths": widths, "n_examples": n_examples, "steps": steps,
            "loop_s": loop_s, "batched_s": batched_s, "ratio": loop_s / batched_s,
            "batched_runs_s": [r[0] for r in runs],
            "loop_cpu_s": loop_cpu, "batched_cpu_s": batched_cpu,
            "cpu_ratio": loop_cpu / batched_cpu, "threads": threads,
            "load": (load_before, os.getloadavg()[0]), "max_loss_gap": gap}


def _ensemble_threads(asked: int | None) -> list[int]:
    """Thread counts to time the ensemble benchmark at: the one asked for, else 1 and every
    core (just 1 on a one-core machine)."""
    if asked is not None:
        return [asked]
    return sorted({1, _usable_cores()})


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def ensemble_line(result: dict[str, Any], goal: float = ENSEMBLE_GOAL) -> str:
    """One line on :func:`bench_ensemble`'s result: both times, the ratio, the goal.

    The goal is judged on the smaller of the wall-time and CPU-time ratios: on a shared
    machine the load can change between the two runs and move the wall-time ratio either
    way, while CPU time is what each run costs (with one thread, what it takes on an idle
    machine; with more, the threads' times summed, their spin-waiting included, so that the
    CPU ratio then repeats the wall ratio rather than checking it).

    Examples
    --------
    >>> r = {"n_models": 32, "widths": [4, 256], "n_examples": 300, "steps": 5000,
    ...      "loop_s": 120.0, "batched_s": 10.0, "ratio": 12.0, "loop_cpu_s": 119.0,
    ...      "batched_cpu_s": 9.9, "cpu_ratio": 12.02, "threads": 1, "load": (0.1, 1.0),
    ...      "max_loss_gap": 1e-6, "batched_runs_s": [9.5, 10.5]}
    >>> print(ensemble_line(r))  # doctest: +NORMALIZE_WHITESPACE
    Batched training: 32 MLPs (widths 4-256), 300 digits, 5000 full-batch Adam steps: loop
    120.0 s, batched 10.0 s (runs before and after the loop 9.5, 10.5 s): 12.00x faster (goal 8x ✓); CPU time 119.0 s vs 9.9 s (12.02x);
    1 thread(s), load 0.1-1.0; final losses agree within 1e-06.
    """
    verdict = "✓" if min(result["ratio"], result["cpu_ratio"]) >= goal else "✗"
    low, high = min(result["widths"]), max(result["widths"])
    runs = result.get("batched_runs_s")
    runs = (f" (runs before and after the loop {', '.join(f'{r:.1f}' for r in runs)} s)"
            if runs else "")
    return (f"Batched training: {result['n_models']} MLPs (widths {low}-{high}), "
            f"{result['n_examples']} digits, {result['steps']} full-batch Adam steps: loop "
            f"{result['loop_s']:.1f} s, batched {result['batched_s']:.1f} s{runs}: "
            f"{result['ratio']:.2f}x faster (goal {goal:g}x {verdict}); CPU time "
            f"{result['loop_cpu_s']:.1f} s vs {result['batched_cpu_s']:.1f} s "
            f"({result['cpu_ratio']:.2f}x); {result['threads']} thread(s), load "
            f"{result['load'][0]:.1f}-{result['load'][1]:.1f}; final losses agree within "
            f"{result['max_loss_gap']:.0e}.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.bench",
        description="Execute each lab in a fresh kernel (files not modified), print a Markdown "
                    "table of wall time and peak memory, and exit non-zero if a lab fails or "
                    "exceeds the budget.",
        epilog="examples:\n"
               "  python -m coursetools.bench labs/*.ipynb --table instructors/bench.md "
               "--readme README.md\n"
               "  python -m coursetools.bench --ensemble",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebooks", nargs="*", metavar="NB", help="notebooks to benchmark")
    parser.add_argument("--table", metavar="PATH", help="write the table to this Markdown file")
    parser.add_argument("--readme", metavar="PATH",
                        help=f"replace the text between {START_MARKER} and {END_MARKER} here")
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help=f"seconds allowed per lab (default {BUDGET_S:g})")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds allowed per cell (default 600)")
    parser.add_argument("--ensemble", action="store_true",
                        help="also time batched training against a loop (see bench_ensemble)")
    parser.add_argument("--ensemble-models", type=int, default=32, metavar="K",
                        help="networks in the ensemble benchmark (default 32)")
    parser.add_argument("--ensemble-steps", type=int, default=5000, metavar="N",
                        help="full-batch Adam steps in the ensemble benchmark (default 5000)")
    parser.add_argument("--ensemble-threads", type=int, default=None, metavar="T",
                        help="torch threads for both ways of the ensemble benchmark (default: "
                             "once on 1, the labs' setting, and once on every core)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.bench``; returns the exit code.

    Examples
    --------
    >>> main(["labs/00_first_experiment.ipynb", "--table", "instructors/bench.md"])  # doctest: +SKIP
    0
    """
    args = _parser().parse_args(argv)
    if args.readme and not args.table:
        _parser().error("--readme needs --table too (the instructors' page shows the table)")
    if not args.notebooks and not args.ensemble:
        _parser().error("give notebooks to benchmark, or --ensemble")
    if args.table and not args.notebooks:
        _parser().error("--table needs notebooks (it holds the labs' table)")
    try:
        rows = []
        for path in args.notebooks:
            print(f"benchmarking {path} ...", file=sys.stderr, flush=True)
            rows.append(bench_notebook(path, timeout=args.timeout))
        if rows:
            print(bench_table(rows, args.budget))
        if args.table:
            write_bench(rows, args.table, args.readme, args.budget)
        lines = []
        if args.ensemble:
            for threads in _ensemble_threads(args.ensemble_threads):
                print(f"timing batched training against a loop, {threads} thread(s) ...",
                      file=sys.stderr, flush=True)
                lines.append(ensemble_line(bench_ensemble(
                    n_models=args.ensemble_models, steps=args.ensemble_steps,
                    threads=threads)))
                print(lines[-1], flush=True)
        if args.table and lines:  # the instructors' page keeps the measured lines too
            lead = ("The same `make bench` timed 32 small networks trained as one batch "
                    "(`utils.ensembles.train_ensemble`) against one at a time "
                    "(`utils.training.train`), both ways on the same number of threads "
                    "(see `coursetools.bench.bench_ensemble` for what the ratio measures):")
            write_bench(rows, args.table, args.readme, args.budget, notes=[lead, *lines])
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    problems = [row for row in rows if not _within_budget(row, args.budget)]
    for row in problems:
        why = (f"failed: {row['error']}" if not row["ok"]
               else f"took {row['wall_s']:.1f} s, over the {args.budget:g} s budget")
        print(f"{row['path']}: {why}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
