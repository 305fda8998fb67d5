"""Course tooling for the lab notebooks: student versions, parameters, re-execution, seeds.

The labs follow a contract (see the course design): a code cell tagged ``parameters`` holds
``SEED`` and the size knobs as plain ``NAME = literal`` lines; each exercise is a code cell
tagged ``solution`` whose source opens with a comment header ``# Exercise N: <instruction>``
(possibly continued on more ``# ...`` lines), followed by a cell tagged ``check``; the last
code cell is tagged ``claims`` and asserts the phenomenon with numbers.

This module is used by the Makefile rather than by the labs::

    python -m coursetools.notebooks student labs/ _build/student/   # solutions removed
    python -m coursetools.notebooks execute labs/*.ipynb            # refresh committed outputs
    python -m coursetools.notebooks seeds labs/*.ipynb --seeds 1 2 3  # claims hold for other seeds

Example
-------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[
...     nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
...     nbformat.v4.new_code_cell("# Exercise 1: Double x.\\ny = 2 * SEED",
...                               metadata={"tags": ["solution"]}),
... ])
>>> print(student_version(nb).cells[1].source)
# Exercise 1: Double x.
raise NotImplementedError('Exercise 1: Double x.')
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

__all__ = [
    "read_notebook",
    "cells_tagged",
    "exercise_header",
    "student_version",
    "write_student_versions",
    "set_parameters",
    "execute_notebook",
    "execute_in_place",
    "run_with_seeds",
    "main",
]

# Labs do `import utils`, so the kernel must find the package at the repository root.
REPO_ROOT = Path(__file__).resolve().parent.parent

# What a failed run raises: an error in a cell, a cell over its time limit, a dead kernel.
EXECUTION_ERRORS = (CellExecutionError, CellTimeoutError, DeadKernelError)

# "# Exercise 3: Fit a line." -> number "3", instruction "Fit a line.". Numbers like 2, 2b, 2.1.
_HEADER = re.compile(r"^#\s*Exercise\s+(?P<number>\d+(?:\.\d+)*[a-z]?)\s*:\s*(?P<text>.*)$")


# --------------------------------------------------------------------------------------------
# Reading and finding cells
# --------------------------------------------------------------------------------------------


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook file as nbformat version 4.

    Parameters
    ----------
    path : str or path-like
        The ``.ipynb`` file.

    Returns
    -------
    nbformat.NotebookNode
        The notebook.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not valid JSON or not a Jupyter notebook.

    Examples
    --------
    >>> nb = read_notebook("labs/00_first_experiment.ipynb")  # doctest: +SKIP
    >>> nb.nbformat  # doctest: +SKIP
    4
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path} (expected an existing .ipynb file)")
    try:
        nb = nbformat.read(path, as_version=4)
    except nbformat.reader.NotJSONError:
        raise ValueError(f"{path} is not valid JSON, so it is not a notebook") from None
    except (ValueError, KeyError, AttributeError, TypeError, nbformat.ValidationError) as err:
        raise ValueError(f"{path} is JSON but not a Jupyter notebook ({err!r})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is JSON but not a Jupyter notebook (it has no list of cells)")
    return nb


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cells_tagged(nb: nbformat.NotebookNode, tag: str) -> list[tuple[int, nbformat.NotebookNode]]:
    """Return the cells carrying ``tag`` in their metadata, with their positions.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook.
    tag : str
        A cell tag such as ``"parameters"``, ``"solution"``, ``"check"`` or ``"claims"``.

    Returns
    -------
    list of (int, nbformat.NotebookNode)
        ``(index, cell)`` pairs in notebook order; the cells are the notebook's own objects,
        not copies. Empty if no cell has the tag.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("# Title"),
    ...     nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
    ... ])
    >>> [index for index, cell in cells_tagged(nb, "parameters")]
    [1]
    """
    return [(index, cell) for index, cell in enumerate(nb.cells) if tag in _tags(cell)]


# --------------------------------------------------------------------------------------------
# Exercises and student versions
# --------------------------------------------------------------------------------------------


def _header_lines(source: str) -> list[str]:
    """The comment lines that open an exercise cell, or ValueError if they are not there."""
    lines = source.lstrip("\n").splitlines()
    if not lines or not _HEADER.match(lines[0].strip()):
        first = lines[0].strip() if lines else ""
        raise ValueError(
            "an exercise cell must start with a header comment '# Exercise N: <instruction>' "
            f"(N a number such as 1, 2b or 3.1); its first line is {first!r}"
        )
    header = [lines[0].rstrip()]
    for line in lines[1:]:
        # The instruction continues on comment lines; the first other line starts the code.
        if not line.strip().startswith("#"):
            break
        header.append(line.rstrip())
    return header


def exercise_header(source: str) -> tuple[str, str]:
    """Split an exercise cell's header comment into its label and its instruction.

    Parameters
    ----------
    source : str
        The source of a ``solution`` cell. Its first line must be
        ``# Exercise N: <instruction>``; directly following ``# ...`` lines continue the
        instruction, and the first line that is not a comment ends it.

    Returns
    -------
    label : str
        ``"Exercise N"``.
    instruction : str
        The instruction, its comment lines joined by single spaces.

    Raises
    ------
    ValueError
        If the header is missing or its instruction is empty.

    Examples
    --------
    >>> exercise_header("# Exercise 2: Fit a line\\n# to the data.\\ncoef = fit(x, y)")
    ('Exercise 2', 'Fit a line to the data.')
    """
    header = _header_lines(source)
    match = _HEADER.match(header[0].strip())
    assert match is not None  # _header_lines checked it
    parts = [match["text"].strip()]
    for line in header[1:]:
        parts.append(line.strip().lstrip("#").strip())
    instruction = " ".join(part for part in parts if part)
    if not instruction:
        raise ValueError(
            f"the header of Exercise {match['number']} has no instruction: write it after the "
            "colon, as in '# Exercise 1: Compute the mean of x.'"
        )
    return f"Exercise {match['number']}", instruction


def _stub_source(source: str) -> str:
    """The student's stub for a solution: the header comment, then NotImplementedError."""
    label, instruction = exercise_header(source)
    # repr() quotes and escapes the message, so any quote or backslash stays valid Python.
    message = repr(f"{label}: {instruction}")
    return "\n".join(_header_lines(source) + [f"raise NotImplementedError({message})"])


def _clear_outputs(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def student_version(nb: nbformat.NotebookNode, lab: str | None = None,
                    standalone: bool = True) -> nbformat.NotebookNode:
    """Return the student version of a lab: every solution replaced by a stub.

    Each code cell tagged ``solution`` becomes its header comment followed by
    ``raise NotImplementedError("Exercise N: <instruction>")``, and its tag ``solution``
    becomes ``exercise`` (other tags are kept). Outputs and execution counts are cleared in
    every cell, since they could show the solution's results, and the notebook metadata
    records ``"student_version": true``. The notebook is then made to read well outside the
    book (:func:`coursetools.standalone.make_standalone`): MyST roles become plain text or
    links into the book, mentions of the course's tooling go, and the title cell says where
    the book is. The cells keep their number and order.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A lab with at least one ``solution`` cell. It is not modified.
    lab : str, optional
        The lab's file stem, so the title cell can name its chapter.
    standalone : bool
        False keeps the markdown and comments exactly as in the lab.

    Returns
    -------
    nbformat.NotebookNode
        A new notebook.

    Raises
    ------
    ValueError
        If the lab has no ``solution`` cell, a ``solution`` cell is not a code cell, or a
        solution lacks its ``# Exercise N: ...`` header.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     '# Exercise 1: Print "hello".\\nprint("hello")', metadata={"tags": ["solution"]})])
    >>> student = student_version(nb)
    >>> print(student.cells[0].source)
    # Exercise 1: Print "hello".
    raise NotImplementedError('Exercise 1: Print "hello".')
    >>> student.cells[0].metadata.tags, student.metadata.student_version
    (['exercise'], True)
    """
    solutions = cells_tagged(nb, "solution")
    if not solutions:
        raise ValueError(
            "the notebook has no cell tagged 'solution', so there is nothing to remove; "
            "tag each reference solution's code cell with 'solution'"
        )
    student = copy.deepcopy(nb)
    for index, _ in solutions:
        cell = student.cells[index]
        if cell.cell_type != "code":
            raise ValueError(
                f"cell {index} is tagged 'solution' but is a {cell.cell_type} cell; "
                "only code cells can hold solutions"
            )
        try:
            cell.source = _stub_source(cell.source)
        except ValueError as err:
            raise ValueError(f"solution cell {index}: {err}") from None
        cell.metadata["tags"] = ["exercise" if tag == "solution" else tag for tag in _tags(cell)]
    _clear_outputs(student)
    if standalone:
        from coursetools.standalone import make_standalone  # it reads the book's pages

        make_standalone(student, lab)
    student.metadata["student_version"] = True
    return student


def write_student_versions(labs_dir: str | os.PathLike,
                           out_dir: str | os.PathLike) -> list[Path]:
    """Write the student version of every lab in ``labs_dir`` to ``out_dir``.

    Parameters
    ----------
    labs_dir : str or path-like
        Folder holding the labs (``*.ipynb``, not searched recursively).
    out_dir : str or path-like
        Folder for the student notebooks, created if needed. Each keeps its lab's file name.
        It must differ from ``labs_dir``, so that the solutions are never overwritten.

    Returns
    -------
    list of pathlib.Path
        The files written, in lab order.

    Raises
    ------
    ValueError
        If ``labs_dir`` is not a folder, holds no notebook, is the same as ``out_dir``, or a
        lab cannot be turned into a student version (see :func:`student_version`).

    Examples
    --------
    >>> write_student_versions("labs", "_build/student")  # doctest: +SKIP
    [PosixPath('_build/student/00_first_experiment.ipynb')]
    """
    labs_dir, out_dir = Path(labs_dir), Path(out_dir)
    if not labs_dir.is_dir():
        raise ValueError(f"labs_dir {labs_dir} is not a folder; give the folder holding the labs")
    if out_dir.resolve() == labs_dir.resolve():
        raise ValueError(
            f"out_dir {out_dir} is the labs folder itself; writing there would overwrite the "
            "solutions, so choose another folder"
        )
    labs = sorted(labs_dir.glob("*.ipynb"))
    if not labs:
        raise ValueError(f"no notebooks (*.ipynb) in {labs_dir}")
    # Build every student version before writing any, so a bad lab leaves no partial output.
    students = []
    for lab in labs:
        try:
            students.append(student_version(read_notebook(lab), lab.stem))
        except ValueError as err:
            raise ValueError(f"{lab}: {err}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lab, student in zip(labs, students):
        student.metadata["course_lab"] = lab.stem  # the grader recognises submissions by it
        target = out_dir / lab.name
        nbformat.write(student, target)
        written.append(target)
    return written


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _parameters_cell(nb: nbformat.NotebookNode) -> tuple[int, nbformat.NotebookNode]:
    found = cells_tagged(nb, "parameters")
    if not found:
        raise ValueError(
            "the notebook has no cell tagged 'parameters'; a lab sets SEED and its size knobs "
            "in one code cell with that tag"
        )
    if len(found) > 1:
        where = ", ".join(str(index) for index, _ in found)
        raise ValueError(f"cells {where} are all tagged 'parameters'; a lab has exactly one")
    return found[0]


def _assignments(source: str) -> dict[str, list[ast.expr]]:
    """The top-level ``NAME = value`` assignments of a cell: name -> value nodes."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"the parameters cell is not valid Python: {err}") from None
    found: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            found.setdefault(node.targets[0].id, []).append(node.value)
    return found


def _char_offset(lines: list[str], lineno: int, col_offset: int) -> int:
    """Position in the source of an ast (line, column); ast columns count UTF-8 bytes."""
    before = sum(len(line) for line in lines[:lineno - 1])
    line = lines[lineno - 1]
    return before + len(line.encode("utf-8")[:col_offset].decode("utf-8"))


def _literal_repr(name: str, value: Any) -> str:
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        ok = False
    if not ok:
        raise ValueError(
            f"the value for {name} must be a Python literal (int, float, str, bool, None, or a "
            f"tuple/list of those) whose repr reads back the same; got {text}"
        )
    return text


def set_parameters(nb: nbformat.NotebookNode, **values: Any) -> nbformat.NotebookNode:
    """Return a copy of the notebook with some assignments of its parameters cell replaced.

    Only the value of each named assignment changes (it becomes ``repr(value)``); other lines,
    trailing comments and spacing stay as they were.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook with exactly one code cell tagged ``parameters``. It is not modified.
    **values
        New values by name, for example ``SEED=3`` or ``N_TRAIN=200``. Each name must be
        assigned in the parameters cell, and each value must be a Python literal.

    Returns
    -------
    nbformat.NotebookNode
        A new notebook.

    Raises
    ------
    ValueError
        If there is no parameters cell (or more than one), a name is not assigned there (the
        message lists the names that are), or a value is not a literal.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "SEED = 0  # any seed must do\\nN = 100", metadata={"tags": ["parameters"]})])
    >>> print(set_parameters(nb, SEED=3).cells[0].source)
    SEED = 3  # any seed must do
    N = 100
    """
    index, cell = _parameters_cell(nb)
    assigned = _assignments(cell.source)
    for name in values:
        if name not in assigned:
            known = ", ".join(sorted(assigned)) or "none"
            raise ValueError(
                f"{name} is not assigned in the parameters cell (cell {index}); "
                f"the parameters there are: {known}"
            )
    lines = cell.source.splitlines(keepends=True)
    # Splice from the end of the cell backwards so earlier positions stay valid.
    edits = []
    for name, value in values.items():
        text = _literal_repr(name, value)
        for node in assigned[name]:
            start = _char_offset(lines, node.lineno, node.col_offset)
            end = _char_offset(lines, node.end_lineno, node.end_col_offset)
            edits.append((start, end, text))
    source = cell.source
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    new = copy.deepcopy(nb)
    new.cells[index].source = source
    return new


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _repo_on_pythonpath() -> Iterator[None]:
    """Put the repository root on PYTHONPATH while a kernel starts, then restore it.

    The kernel inherits ``os.environ``; this is how a lab run from ``labs/`` finds ``utils``.
    """
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([old] if old else []))
    try:
        yield
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def _client(nb: nbformat.NotebookNode, cwd: str | os.PathLike, timeout: float = 600,
            allow_errors: bool = False, store_widget_state: bool = False,
            **hooks: Callable[..., Any]) -> NotebookClient:
    """An nbclient client that will run ``nb`` (in place) in a fresh python3 kernel."""
    cwd = Path(cwd)
    if not cwd.is_dir():
        raise ValueError(f"cwd {cwd} is not a folder; give the folder the notebook lives in")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds (or None), got {timeout}")
    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",  # the kernel of the interpreter running this code
        allow_errors=allow_errors,
        store_widget_state=store_widget_state,
        record_timing=False,  # timestamps in cell metadata would churn the committed labs
        # nbclient's default, 60 s, was too short for a kernel to start on a loaded 2-core
        # machine (a calibration's 19th run died of it); a kernel that never starts still fails.
        startup_timeout=300,
        resources={"metadata": {"path": str(cwd)}},
        **hooks,
    )


def _run(client: NotebookClient) -> None:
    with _repo_on_pythonpath():
        client.execute()


def execute_notebook(nb: nbformat.NotebookNode, cwd: str | os.PathLike, timeout: float = 600,
                     allow_errors: bool = False,
                     store_widget_state: bool = False) -> nbformat.NotebookNode:
    """Run every code cell of a notebook, top to bottom, in a fresh kernel.

    The kernel is ``python3``, the interpreter running this code, started in ``cwd`` with the
    repository root on ``PYTHONPATH`` so that ``import utils`` works from ``labs/``.
    Like nbclient, this executes ``nb`` *in place*: outputs and execution counts are written
    into it, also when a cell fails, so the caller can see how far the run got. Pass
    ``copy.deepcopy(nb)`` to keep the original.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook, modified in place.
    cwd : str or path-like
        Working directory of the kernel; normally the notebook's folder.
    timeout : float, default 600
        Seconds allowed per cell.
    allow_errors : bool, default False
        If False, stop at the first cell that raises; if True, record the error as the cell's
        output and go on.
    store_widget_state : bool, default False
        Save the state of ipywidgets in the notebook metadata. Off for the labs: the book
        cannot run a widget without a kernel, and showing a saved one would load its
        JavaScript from a CDN; it shows each widget's plain-text note instead.

    Returns
    -------
    nbformat.NotebookNode
        ``nb`` itself, executed.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell raises and ``allow_errors`` is False.
    nbclient.exceptions.CellTimeoutError
        If a cell runs longer than ``timeout``.
    ValueError
        If ``cwd`` is not a folder or ``timeout`` is not positive.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)")])
    >>> execute_notebook(nb, cwd=".").cells[0].outputs[0].text  # doctest: +SKIP
    '2\\n'
    """
    if not store_widget_state:
        nb.metadata.pop("widgets", None)  # a state saved by an earlier run would be stale
    _run(_client(nb, cwd, timeout, allow_errors, store_widget_state))
    return nb


def execute_in_place(path: str | os.PathLike, timeout: float = 600) -> nbformat.NotebookNode:
    """Re-execute a notebook file top to bottom in a fresh kernel and write it back.

    Old outputs are cleared first, so execution counts come out as 1, 2, 3, ... and no stale
    output survives. If a cell fails, the error propagates and the file is left unchanged.

    Parameters
    ----------
    path : str or path-like
        The notebook; it runs with its own folder as working directory.
    timeout : float, default 600
        Seconds allowed per cell.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook, as written.

    Examples
    --------
    >>> execute_in_place("labs/00_first_experiment.ipynb")  # doctest: +SKIP
    """
    path = Path(path)
    nb = read_notebook(path)
    _clear_outputs(nb)
    execute_notebook(nb, cwd=path.parent, timeout=timeout)
    nbformat.write(nb, path)
    return nb


def _error_output(cell: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def _failure(nb: nbformat.NotebookNode, last_started: int | None,
             err: Exception) -> dict[str, Any]:
    """Describe a failed run: the error and the cell it happened in."""
    index = last_started
    for i, cell in enumerate(nb.cells):
        if _error_output(cell) is not None:
            index = i
            break
    if isinstance(err, CellExecutionError):
        ename, message = err.ename, err.evalue
    else:  # a timeout or a dead kernel: no error output, only the exception
        ename, message = type(err).__name__, str(err).strip().splitlines()[0]
    tags = _tags(nb.cells[index]) if index is not None else []
    return {"ok": False, "ename": ename, "message": message, "cell_index": index,
            "cell_tag": tags[0] if tags else None}


def run_with_seeds(path: str | os.PathLike, seeds: Sequence[int],
                   timeout: float = 600) -> list[dict[str, Any]]:
    """Run a lab once per seed and report whether every cell, claims included, passed.

    Each run sets ``SEED`` in the parameters cell (see :func:`set_parameters`) and executes
    the whole notebook in a fresh kernel; the file is not modified. A claim that holds only
    for a lucky seed shows up here as a failure of the ``claims`` cell.

    Parameters
    ----------
    path : str or path-like
        The lab. It must have a parameters cell assigning ``SEED`` and a cell tagged
        ``claims``.
    seeds : sequence of int
        The seeds to try (at least one).
    timeout : float, default 600
        Seconds allowed per cell.

    Returns
    -------
    list of dict
        One dict per seed, in order, with keys ``seed``, ``ok`` (True if the run got through
        the claims cell without error), ``claims_output`` (what the claims cell printed, so
        the measured numbers can be compared across seeds; "" if it did not run) and,
        describing the failure (None if ``ok``), ``ename``, ``message``, ``cell_index`` and
        ``cell_tag`` (the failing cell's first tag, e.g. ``"claims"``, or None if untagged).

    Raises
    ------
    ValueError
        If ``seeds`` is empty or not all integers, or the lab lacks a parameters cell with
        ``SEED`` or a claims cell.

    Examples
    --------
    >>> for run in run_with_seeds("labs/00_first_experiment.ipynb", [1, 2]):  # doctest: +SKIP
    ...     print(run["seed"], run["ok"])
    1 True
    2 True
    """
    path = Path(path)
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    lab = read_notebook(path)
    if not cells_tagged(lab, "claims"):
        raise ValueError(f"{path} has no cell tagged 'claims', so there is no claim to check")
    results = []
    for seed in seeds:
        nb = set_parameters(lab, SEED=seed)
        started: list[int] = []  # index of each cell as it starts, to locate timeouts
        client = _client(nb, path.parent, timeout,
                         on_cell_execute=lambda cell, cell_index: started.append(cell_index))
        try:
            _run(client)
            result = {"ok": True, "ename": None, "message": None, "cell_index": None,
                      "cell_tag": None}
        except EXECUTION_ERRORS as err:
            result = _failure(nb, started[-1] if started else None, err)
        printed = "".join(output.get("text", "") for _, cell in cells_tagged(nb, "claims")
                          for output in cell.get("outputs", [])
                          if output.get("output_type") == "stream" and output.get("name") == "stdout")
        results.append({"seed": seed, **result, "claims_output": printed})
    return results


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _cmd_student(args: argparse.Namespace) -> int:
    for path in write_student_versions(args.labs_dir, args.out_dir):
        print(f"wrote {path}")
    return 0


def _cmd_execute(args: argparse.Namespace) -> int:
    failed = []
    for path in args.notebooks:
        print(f"executing {path} ...", flush=True)
        try:
            execute_in_place(path, timeout=args.timeout)
        except EXECUTION_ERRORS as err:
            failed.append(path)
            print(f"FAILED {path}:\n{err}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} notebook(s) failed (left unchanged): {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_seeds(args: argparse.Namespace) -> int:
    failures = 0
    if not args.seeds:
        from coursetools.calibrate import draw_seeds
        args.seeds = draw_seeds(args.random)
        print(f"seeds: {' '.join(map(str, args.seeds))} (repeat with SEEDS=\"...\")", flush=True)
    for path in args.notebooks:
        for run in run_with_seeds(path, args.seeds, timeout=args.timeout):
            if run["ok"]:
                print(f"{path}  SEED={run['seed']}  ok", flush=True)
                if args.print_claims and run["claims_output"].strip():
                    print(textwrap.indent(run["claims_output"].rstrip(), "    "), flush=True)
                continue
            failures += 1
            tag = f" [{run['cell_tag']}]" if run["cell_tag"] else ""
            message = (run["message"] or "").strip().splitlines()
            print(f"{path}  SEED={run['seed']}  FAILED in cell {run['cell_index']}{tag}: "
                  f"{run['ename']}: {message[0] if message else ''}", flush=True)
    if failures:
        print(f"{failures} run(s) failed: a claim that holds only for some seeds is a defect",
              file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.notebooks",
        description="Course tooling for the lab notebooks.",
        epilog="examples:\n"
               "  python -m coursetools.notebooks student labs _build/student\n"
               "  python -m coursetools.notebooks execute labs/*.ipynb\n"
               "  python -m coursetools.notebooks seeds labs/*.ipynb --seeds 1 2 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    student = commands.add_parser(
        "student", help="write student versions (solutions replaced by stubs)",
        description="Write the student version of every lab in LABS_DIR to OUT_DIR: each "
                    "cell tagged 'solution' becomes its '# Exercise N: ...' header and a "
                    "raise NotImplementedError stub; all outputs are cleared.")
    student.add_argument("labs_dir", metavar="LABS_DIR", help="folder holding the labs")
    student.add_argument("out_dir", metavar="OUT_DIR", help="folder for the student notebooks")
    student.set_defaults(run=_cmd_student)

    execute = commands.add_parser(
        "execute", help="re-execute notebooks in place, refreshing their outputs",
        description="Run each notebook top to bottom in a fresh kernel (cwd: its folder) and "
                    "write it back. A notebook that fails is left unchanged.")
    execute.add_argument("notebooks", nargs="+", metavar="NB", help="notebook files")
    execute.add_argument("--timeout", type=float, default=600, help="seconds per cell (600)")
    execute.set_defaults(run=_cmd_execute)

    seeds = commands.add_parser(
        "seeds", help="check that the claims hold for other seeds",
        description="Run each notebook once per seed (SEED set in its parameters cell) "
                    "without modifying it; fail if any run fails, claims included.")
    seeds.add_argument("notebooks", nargs="+", metavar="NB", help="notebook files")
    which = seeds.add_mutually_exclusive_group()
    which.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                       help="these seeds (to repeat a run)")
    which.add_argument("--random", type=int, default=3, metavar="N",
                       help="N fresh random seeds, printed first (default: 3)")
    seeds.add_argument("--timeout", type=float, default=600, help="seconds per cell (600)")
    seeds.add_argument("--print-claims", action="store_true",
                       help="also print what each run's claims cell printed (the measured numbers)")
    seeds.set_defaults(run=_cmd_seeds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.notebooks``; returns the exit code.

    Examples
    --------
    >>> main(["student", "labs", "_build/student"])  # doctest: +SKIP
    0
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
