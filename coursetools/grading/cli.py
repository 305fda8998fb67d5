"""The command line: ``python -m coursetools.grader`` (see :func:`main`).

Example
-------
>>> main(["submission.ipynb"])  # doctest: +SKIP
0
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from coursetools.grading.batch import default_csv, grade_folder
from coursetools.grading.grade_one import DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_TIMEOUT_S, grade
from coursetools.grading.reports import format_text, write_reports
from coursetools.grading.results import EXIT_CODES
from coursetools.grading.store import check_output_path
from coursetools.notebooks import REPO_ROOT

__all__ = ["main"]

EPILOG = """\
exit status (one notebook): 0 all exercises passed and the claims hold; 1 graded, something
did not pass; 2 bad arguments (or no sandbox: see --no-sandbox); 3 stopped early (time
limit, dead kernel); 4 not gradable (not a notebook, a link, wrong lab); 5 grader error.
With --dir: 0 once every row is
in the CSV (each row has its own exit status), 2 on bad arguments, 130 if interrupted (the
rows written so far are kept: run the same command again to resume).

examples:
  python -m coursetools.grader submission.ipynb
  python -m coursetools.grader submission.ipynb --lab 00_first_experiment
  python -m coursetools.grader --dir submissions/ --csv grades.csv
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grader",
        description="Grade submitted student notebooks against the course's labs: each "
                    "exercise is run with the lab's own checks in a fresh, sandboxed kernel.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", nargs="?", metavar="NB", help="the submitted notebook")
    parser.add_argument("--dir", metavar="DIR", help="grade every notebook under DIR instead")
    parser.add_argument("--csv", metavar="CSV", help="with --dir: the CSV to write, row by "
                        "row (default: OUT/grades-<folder>-<hash>.csv, one per folder); rows already there "
                        "are kept")
    parser.add_argument("--regrade", action="store_true", help="with --dir: grade again the "
                        "submissions the CSV already has a row for")
    parser.add_argument("--lab", help="the lab the submissions must be for (a path, a stem "
                        "such as 00_first_experiment, or 'Lab 0'); default: identify each "
                        "submission's lab from its metadata, title or exercise headers")
    parser.add_argument("--labs-dir", default=str(REPO_ROOT / "labs"),
                        help="folder of the reference labs (default: the course's labs/)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds allowed for one run (default {DEFAULT_TIMEOUT_S:.0f})")
    parser.add_argument("--out", default=str(REPO_ROOT / "_build" / "grades"), metavar="OUT",
                        help="folder for the reports (.report.txt, .report.json) and the "
                             "graded notebooks (default: _build/grades)")
    parser.add_argument("--max-output", type=int, default=DEFAULT_MAX_OUTPUT_CHARS,
                        metavar="CHARS", help="output kept per cell (default "
                        f"{DEFAULT_MAX_OUTPUT_CHARS})")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions without bubblewrap, with your own rights (only "
                             "for code you trust; every report says so)")
    parser.add_argument("--quiet", action="store_true", help="do not print the report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.grader``; returns the exit status (see above).

    Examples
    --------
    >>> main(["submission.ipynb"])  # doctest: +SKIP
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.notebook is None) == (args.dir is None):
        parser.error("give either one notebook NB or --dir DIR")
    if (args.csv or args.regrade) and not args.dir:
        parser.error("--csv and --regrade go with --dir")
    if args.max_output < 0:
        parser.error(f"--max-output must be 0 or more characters, got {args.max_output}")
    if not args.timeout > 0 or args.timeout == float("inf"):
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    options = dict(lab=args.lab, labs_dir=args.labs_dir, timeout=args.timeout,
                   max_output_chars=args.max_output, sandbox=not args.no_sandbox)
    out = Path(args.out)
    try:
        check_output_path(out, "the output folder --out", is_dir=True)
        labs_dir = Path(args.labs_dir).resolve()
        if out.resolve() == labs_dir or labs_dir in out.resolve().parents:
            raise ValueError(f"the output folder --out {out} is inside the reference labs "
                             f"{args.labs_dir}: graded notebooks would be taken for labs")
        if args.dir:
            csv_path = Path(args.csv) if args.csv else default_csv(args.dir, out)
            try:
                reports = grade_folder(args.dir, csv_path, out_dir=out,
                                       progress=not args.quiet, regrade=args.regrade,
                                       **options)
            except KeyboardInterrupt:
                print(f"\ninterrupted: the rows graded so far are in {csv_path}; run the same "
                      "command again to grade the rest", file=sys.stderr)
                return 130
            print(f"wrote {csv_path} ({len(reports)} submission(s) graded now; reports in "
                  f"{out})")
            return 0
        report = grade(args.notebook, out_dir=out, **options)
        name = Path(args.notebook).name
        text, data = write_reports(report, out, name)
        if not args.quiet:
            print(format_text(report))
            print(f"Reports: {text} and {data}")
        return report.exit_code
    except ValueError as err:  # the grader's own arguments: no labs, unknown --lab, ...
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CODES["usage"]
