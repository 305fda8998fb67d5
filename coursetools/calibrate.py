"""Calibrate each lab's claims over many fresh random seeds, and keep the record.

A threshold placed just below the worst of a few seeds an author ran fails about one new
seed in five. So every asserted row of a lab's claims table (:mod:`utils.claims`) is
calibrated here: the lab runs with N seeds drawn at random (printed, so any run can be
repeated), each run records its table as JSON (``COURSE_CLAIMS_RECORD``), and the values are
summarised per row: min, mean, standard deviation, max, and the **margin**, the distance from
the seed mean to the threshold in standard deviations. ``tests/test_calibration.py`` holds
every lab to the rule: at least :data:`MIN_SEEDS` seeds, no failure, a margin of at least
:data:`MIN_MARGIN` on the side away from the null.

Usage::

    python -m coursetools.calibrate labs/*.ipynb               # 20 fresh seeds per lab
    python -m coursetools.calibrate labs/03_lottery_tickets.ipynb --n 30 --jobs 2
    python -m coursetools.calibrate --page-only                # rewrite instructors/claims.md

Records go to ``instructors/calibration/<lab>.json``; the page ``instructors/claims.md`` is
generated from them.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORDS = REPO_ROOT / "instructors" / "calibration"
PAGE = REPO_ROOT / "instructors" / "claims.md"
MIN_SEEDS = 20
MIN_MARGIN = 3.0
SEED_RANGE = 2**31 - 1

__all__ = ["draw_seeds", "run_once", "calibrate_lab", "summarise", "margin", "render_page",
           "write_page", "MIN_SEEDS", "MIN_MARGIN"]


def draw_seeds(n: int, rng: random.Random | None = None) -> list[int]:
    """``n`` distinct seeds drawn at random from [0, 2**31 - 1), by default from the OS.

    Example
    -------
    >>> draw_seeds(3, random.Random(0))
    [1813382118, 827307999, 1627694678]
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1 seed, got {n}")
    rng = rng or random.SystemRandom()
    return rng.sample(range(SEED_RANGE), n)


def run_once(path: str | os.PathLike, seed: int, timeout: float = 600) -> dict[str, Any]:
    """Run a lab once with ``SEED = seed`` and return its claims rows (or why it failed).

    The notebook file is not modified. Returns a dict with ``seed``, ``seconds``, ``rows``
    (the claims table as a list of dicts, or None if the claims cell never finished its
    table) and ``error`` (None, or the failure's one-line message).

    Example
    -------
    >>> run_once("labs/05_offense_defense.ipynb", 7)["rows"][0]["kind"]  # doctest: +SKIP
    'claim'
    """
    from coursetools import notebooks  # heavy imports (nbclient) only in the worker

    path = Path(path)
    nb = notebooks.set_parameters(notebooks.read_notebook(path), SEED=seed)
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "claims.json"
        os.environ["COURSE_CLAIMS_RECORD"] = str(record)
        started = time.perf_counter()
        error = None
        try:
            notebooks._run(notebooks._client(nb, path.parent, timeout))
        except notebooks.EXECUTION_ERRORS as err:
            error = " ".join(str(getattr(err, "evalue", err)).split())[:500] or type(err).__name__
        finally:
            del os.environ["COURSE_CLAIMS_RECORD"]
        rows = json.loads(record.read_text()) if record.exists() else None
    return {"seed": seed, "seconds": round(time.perf_counter() - started, 1), "rows": rows,
            "error": error}


def summarise(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row of the claims table, the values over the runs and how they sit against the
    threshold. Rows keep the order of the first run that recorded a table.

    Example
    -------
    >>> row = {"kind": "claim", "name": "gap", "op": ">=", "threshold": 1.0}
    >>> runs = [{"seed": s, "rows": [dict(row, value=v, null=0.0, holds=v >= 1)]}
    ...         for s, v in [(1, 3.0), (2, 4.0), (3, 5.0)]]
    >>> summarise(runs)[0]["margin"]
    3.0
    """
    order: dict[str, dict[str, Any]] = {}
    for run in runs:
        for row in run.get("rows") or []:
            entry = order.setdefault(row["name"], {
                "kind": row["kind"], "name": row["name"], "op": row["op"],
                "threshold": row["threshold"], "values": [], "nulls": [], "failures": []})
            entry["values"].append(row["value"])
            if row.get("null") is not None:
                entry["nulls"].append(row["null"])
            if row["kind"] != "reported" and not row["holds"]:
                entry["failures"].append(run["seed"])
    for entry in order.values():
        values = entry["values"]
        entry["n"] = len(values)
        entry["min"], entry["max"] = min(values), max(values)
        entry["mean"] = statistics.fmean(values)
        entry["sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        entry["margin"] = margin(entry) if entry["op"] else None
    return list(order.values())


def margin(entry: dict[str, Any]) -> float:
    """Distance from the seed mean to the threshold, in standard deviations, positive on the
    side where the claim holds (``inf`` if every seed gave the same value on that side).

    Example
    -------
    >>> margin({"op": "<=", "threshold": 0.5, "mean": 0.2, "sd": 0.1})
    3.0
    """
    gap = entry["mean"] - entry["threshold"]
    if entry["op"] == "<=":
        gap = -gap
    if entry["sd"] == 0:
        return math.inf if gap >= 0 else -math.inf
    return round(gap / entry["sd"], 2)


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def calibrate_lab(path: str | os.PathLike, seeds: Sequence[int], jobs: int = 2,
                  timeout: float = 600) -> dict[str, Any]:
    """Run one lab with every seed (``jobs`` at a time) and return its calibration record.

    Example
    -------
    >>> record = calibrate_lab("labs/05_offense_defense.ipynb", draw_seeds(20))  # doctest: +SKIP
    """
    path = Path(path)
    started = time.perf_counter()
    runs = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_once, str(path), seed, timeout) for seed in seeds]
        for future in as_completed(futures):
            run = future.result()
            runs.append(run)
            status = "ok" if run["error"] is None else f"FAILED: {run['error']}"
            print(f"  {path.stem}  SEED={run['seed']}  {run['seconds']} s  {status}", flush=True)
    runs.sort(key=lambda run: list(seeds).index(run["seed"]))
    return {
        "lab": path.stem,
        "date": datetime.date.today().isoformat(),
        "machine": _machine(),
        "seconds": round(time.perf_counter() - started),
        "jobs": jobs,
        "seeds": list(seeds),
        "errors": {str(r["seed"]): r["error"] for r in runs if r["error"] is not None},
        "rows": summarise(runs),
    }


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.3g}"


def render_page(records: Sequence[dict[str, Any]]) -> str:
    """The instructors' page: per lab and row, threshold, null, spread over the seeds, margin.

    Example
    -------
    >>> render_page([]).splitlines()[0]
    '# How the claims were calibrated'
    """
    lines = [
        "# How the claims were calibrated",
        "",
        "Every lab ends with a table of claims (`utils.claims`). Each threshold below was set "
        "from the claim's spread over many random seeds, not from the seeds an author "
        "happened to run: `make calibrate` ran each lab with the seeds listed, drawn at "
        "random, and recorded every row. The **margin** is the distance from the seed mean "
        f"to the threshold in standard deviations; the course requires at least "
        f"{MIN_MARGIN:g} for every claim and sanity check, over at least {MIN_SEEDS} seeds "
        "with no failure (`tests/test_calibration.py`). The **null** is the value a claim "
        "would take without the phenomenon (for a null measured in the run, its mean over "
        "the seeds).",
        "",
        "This page is generated by `make calibrate` from `instructors/calibration/*.json`; "
        "do not edit it by hand. A record changed after its run says so under its table.",
    ]
    for record in records:
        lines += ["", f"## {record['lab']}", "",
                  f"{len(record['seeds'])} seeds, {record['date']}, {record['machine']}; "
                  f"{record['seconds']} s with {record['jobs']} runs at a time; "
                  f"{len(record['errors'])} failed runs.", "",
                  "| Row | Kind | Threshold | Null | Min | Mean | SD | Max | Margin (SD) | Failures |",
                  "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for row in record["rows"]:
            threshold = f"{row['op']} {row['threshold']:g}" if row["op"] else ""
            null = _fmt(statistics.fmean(row["nulls"])) if row["nulls"] else ""
            lines.append(
                f"| {row['name']} | {row['kind']} | {threshold} | {null} | {_fmt(row['min'])} | "
                f"{_fmt(row['mean'])} | {_fmt(row['sd'])} | {_fmt(row['max'])} | "
                f"{_fmt(row['margin'])} | {len(row['failures'])} |")
        lines += ["", "Seeds: " + " ".join(str(s) for s in record["seeds"]) + "."]
        for seed, error in record["errors"].items():
            lines.append(f"Run with seed {seed} failed: {error}")
        # A record changed after its run (a row's kind or threshold) says so in "edits",
        # one sentence per change, and the page shows them beside the numbers.
        for edit in record.get("edits", []):
            lines += ["", f"Edited by hand after the run: {edit}"]
    return "\n".join(lines) + "\n"


def read_records(folder: Path = RECORDS) -> list[dict[str, Any]]:
    """Every stored calibration record, ordered by lab.

    Example
    -------
    >>> isinstance(read_records(), list)
    True
    """
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def write_page(folder: Path = RECORDS, page: Path = PAGE) -> Path:
    """Regenerate the instructors' page from the stored records; return its path."""
    Path(page).write_text(render_page(read_records(folder)), encoding="utf-8")
    return Path(page)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.calibrate``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.calibrate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", metavar="NB", help="labs to calibrate")
    parser.add_argument("--n", type=int, default=MIN_SEEDS, help=f"seeds per lab ({MIN_SEEDS})")
    parser.add_argument("--seeds", type=int, nargs="+", help="these seeds instead of random ones")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="runs at a time (every core)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (600)")
    parser.add_argument("--page-only", action="store_true", help="only rewrite the page")
    args = parser.parse_args(argv)
    if args.page_only:
        print(f"wrote {write_page()}")
        return 0
    if not args.notebooks:
        parser.error("name the labs to calibrate (or --page-only)")
    RECORDS.mkdir(parents=True, exist_ok=True)
    bad = 0
    for path in args.notebooks:
        seeds = args.seeds or draw_seeds(args.n)
        print(f"{Path(path).stem}: seeds {' '.join(map(str, seeds))}", flush=True)
        record = calibrate_lab(path, seeds, jobs=args.jobs, timeout=args.timeout)
        out = RECORDS / f"{record['lab']}.json"
        out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        weak = [r["name"] for r in record["rows"]
                if r["op"] and (r["failures"] or r["margin"] < MIN_MARGIN)]
        bad += bool(weak or record["errors"])
        print(f"wrote {out} ({record['seconds']} s); "
              + (f"below the rule: {weak}" if weak else "every asserted row meets the rule")
              + (f"; {len(record['errors'])} failed runs" if record["errors"] else ""), flush=True)
    print(f"wrote {write_page()}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
