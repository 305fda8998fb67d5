"""Export the labs as an nbgrader course, for instructors who already use nbgrader.

``make nbgrader`` (``python -m coursetools.nbgrader_export labs _build/nbgrader``) writes::

    _build/nbgrader/
        nbgrader_config.py                    course id, time limit, where the course lives
        source/<lab>/<lab>.ipynb              the lab, with nbgrader cell metadata
        source/<lab>/utils/                   the toolkit the lab imports, shipped with it

In each source notebook:

* every ``solution`` cell is an nbgrader *solution* cell: its header comment stays, its code
  sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, which ``nbgrader
  generate_assignment`` replaces by ``raise NotImplementedError()``;
* every ``check`` cell is an *autograded test* cell worth :data:`POINTS_PER_CHECK` point(s),
  locked, so that ``nbgrader autograde`` runs the lab's own check, not a student's edit;
* every other cell (text, parameters, experiments, the claims) is *read-only*: autograde puts
  the lab's version back if a student changed it.

nbgrader runs the student's cells in the student's order without a sandbox, and its checks
run in the student's own kernel (where the student's code can reach them); see instructors/grading.md for when to use which grader.

Example
-------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[
...     nbformat.v4.new_code_cell("# Exercise 1: Add.\\nx = 1 + 1", metadata={"tags": ["solution"]}),
...     nbformat.v4.new_code_cell("assert x == 2", metadata={"tags": ["check"]})])
>>> out = nbgrader_notebook(nb)
>>> print(out.cells[0].source)
# Exercise 1: Add.
### BEGIN SOLUTION
x = 1 + 1
### END SOLUTION
>>> out.cells[1].metadata["nbgrader"]["points"]
1
"""
from __future__ import annotations

import argparse
import copy
import shutil
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from coursetools.notebooks import REPO_ROOT, exercise_header, read_notebook

__all__ = ["nbgrader_notebook", "export_course", "main", "POINTS_PER_CHECK", "COURSE_ID"]

POINTS_PER_CHECK = 1
COURSE_ID = "science-of-deep-learning"
SCHEMA_VERSION = 3  # nbgrader's cell metadata schema (nbgrader 0.9)

_CONFIG = '''\
"""nbgrader configuration of the course, written by `make nbgrader` (coursetools.nbgrader_export)."""
c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = __file__.rsplit("/", 1)[0] or "."
c.CourseDirectory.db_url = "sqlite:///" + c.CourseDirectory.root + "/gradebook.db"
# Each lab runs in about a minute on a 2-core CPU; leave room for a slow machine.
c.ExecutePreprocessor.timeout = {timeout}
# The labs' stubs raise NotImplementedError; generate_assignment writes the same.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def _meta(kind: str, grade_id: str) -> dict:
    """nbgrader metadata for a cell: ``"solution"``, ``"test"`` or ``"readonly"``."""
    meta = {"grade": kind == "test", "solution": kind == "solution",
            "locked": kind != "solution", "grade_id": grade_id,
            "schema_version": SCHEMA_VERSION}
    if kind == "test":
        meta["points"] = POINTS_PER_CHECK
    return meta


def _with_markers(source: str) -> str:
    """A solution cell with its code (after the header comment) between nbgrader's markers."""
    lines = source.lstrip("\n").splitlines()
    header = []
    for line in lines:
        if not line.strip().startswith("#"):
            break
        header.append(line)
    body = lines[len(header):]
    return "\n".join(header + ["### BEGIN SOLUTION", *body, "### END SOLUTION"])


def nbgrader_notebook(lab: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The nbgrader source version of a lab (outputs cleared, cells marked).

    Raises
    ------
    ValueError
        If a solution cell has no exercise header.
    """
    nb = copy.deepcopy(lab)
    nb.metadata.pop("widgets", None)
    current = None
    checks = 0
    for index, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        slug = None
        if "solution" in tags:
            label, _ = exercise_header(cell.source)
            current, checks = label.lower().replace(" ", "-"), 0
            cell.source = _with_markers(cell.source)
            cell.metadata["nbgrader"] = _meta("solution", f"{current}-solution")
            continue
        if "check" in tags and current is not None:
            checks += 1
            cell.metadata["nbgrader"] = _meta("test", f"{current}-check-{checks}")
            continue
        slug = f"{cell.cell_type}-{index}"
        cell.metadata["nbgrader"] = _meta("readonly", slug)
    return nb


def export_course(labs: Sequence[str | Path], out_dir: str | Path,
                  timeout: int = 600) -> list[Path]:
    """Write the nbgrader course for ``labs`` (paths of lab notebooks) under ``out_dir``.

    Returns
    -------
    list of Path
        The source notebooks written.
    """
    out = Path(out_dir)
    written = []
    for path in map(Path, labs):
        lab = read_notebook(path)
        if not any("solution" in c.get("metadata", {}).get("tags", []) for c in lab.cells):
            continue
        folder = out / "source" / path.stem
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(nbgrader_notebook(lab), folder / path.name)
        shutil.copytree(REPO_ROOT / "utils", folder / "utils",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        written.append(folder / path.name)
    if not written:
        raise ValueError("none of the given notebooks is a lab with exercises")
    (out / "nbgrader_config.py").write_text(
        _CONFIG.format(course_id=COURSE_ID, timeout=int(timeout)), encoding="utf-8")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coursetools.nbgrader_export LABS... OUT``: write the nbgrader course."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.nbgrader_export",
                                     description="Write the labs as an nbgrader course.")
    parser.add_argument("labs", nargs="+", help="lab notebooks, or a folder of them")
    parser.add_argument("out", help="the course folder to write (e.g. _build/nbgrader)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    args = parser.parse_args(argv)
    labs: list[Path] = []
    for item in map(Path, args.labs):
        labs += sorted(item.glob("*.ipynb")) if item.is_dir() else [item]
    try:
        written = export_course(labs, args.out, timeout=args.timeout)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # nbgrader runs alembic and its own commands by name: the environment's bin/ must be on
    # PATH, which it is not when the course's Python was called by its path (as make does)
    bin_dir = shlex.quote(str(Path(sys.executable).parent))
    print(f"wrote an nbgrader course with {len(written)} lab(s) in {args.out}; next:\n"
          f"  cd {shlex.quote(str(args.out))} && PATH={bin_dir}:\"$PATH\" nbgrader "
          "generate_assignment <lab>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
