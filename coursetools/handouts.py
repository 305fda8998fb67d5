"""Student handouts: each student version packed with what it needs to run, as zip archives.

``make student`` first writes the student versions of the labs to ``_build/student/`` (see
:mod:`coursetools.notebooks`), then calls this module, which writes beside them

- ``<lab>.zip`` for each lab, e.g. ``00_first_experiment.zip``, and
- ``science-of-dl-labs.zip`` with every lab,

each unpacking to one folder that holds the student notebook(s), the ``utils`` package the
labs import (without the instructors' tooling: the grader, the student-version and benchmark
tools), the three files of ``student/`` (``requirements.txt``: PyTorch's CPU build and
``requirements-labs.txt``, what the labs need and JupyterLab, nothing of the course's
tooling; ``constraints.txt``, the exact versions for every platform), the licenses,
and a README for students on setting up on Linux, macOS or Windows, running, handing in,
and the book's address (:func:`coursetools.standalone.book_url`). A notebook sitting next to ``utils/``
imports it without any path setting, since Jupyter starts the kernel in the notebook's folder.

Each packed notebook records its lab in its metadata (``"course_lab": "<lab file stem>"``),
which the grader uses to recognise a submission even if its title was edited.

Command line::

    python -m coursetools.handouts _build/student        # the zips, next to the notebooks

The module is also a Sphinx extension (listed in ``_config.yml``): every HTML build of the
book packs the handouts afresh into ``handouts/`` beside its pages, so the instructors'
pages can link them and the links always match the labs the book shows; and the ``.ipynb``
that a lab page's download button serves (``_sources/labs/``) is the student version.

Example
-------
>>> pack_handouts("_build/student")  # doctest: +SKIP
[PosixPath('_build/student/00_first_experiment.zip'), ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from coursetools.notebooks import REPO_ROOT, read_notebook, write_student_versions
from coursetools.release import version_note
from coursetools.standalone import book_url

__all__ = ["ALL_LABS_NAME", "STUDENT_README", "STUDENT_FILES", "student_readme", "handout_files",
           "pack_handouts", "publish_handouts", "main", "setup"]

#: Stem of the archive holding every lab.
ALL_LABS_NAME = "science-of-dl-labs"

#: The student's requirements, shipped under these names: PyTorch's CPU build then the labs'
#: packages and JupyterLab (none of the course's tooling), and their lock for every platform
#: (:mod:`coursetools.student_lock`).
STUDENT_FILES = ("student/requirements.txt", "student/requirements-labs.txt",
                 "student/constraints.txt")

# A fixed timestamp for every archive member, so the same inputs give the same zip bytes.
_DATE = (2026, 1, 1, 0, 0, 0)

STUDENT_README = """\
# Science of Deep Learning: lab handout

This folder holds {what}, with the solutions removed, and what it needs to run:

- `utils/`: the course's toolkit, which the labs import (`import utils`);
- `requirements.txt`: PyTorch (its CPU build), then `requirements-labs.txt`: the packages
  the labs need, and JupyterLab to run them (nothing else);
- `constraints.txt`: the exact version of every package on Linux, macOS and Windows, as the
  course tests them.

{book}

## Set up, once (about 10 minutes and 1.6 GB of disk)

You need **Python 3.11, 3.12 or 3.13**, 64-bit (3.11.5 or newer; check with
`python3 --version`, or `py --list` on Windows), on one of:

- **Linux** on x86-64 (a usual PC or server);
- **macOS 14 (Sonoma) or newer on Apple silicon** (M1 or later). PyTorch 2.13.0, which the
  labs are pinned to, has no build for Intel Macs or for macOS 13 and older: see
  "When something goes wrong" below for the way out;
- **Windows 10 or 11** on x86-64.

Linux and macOS, in a terminal opened in this folder (write `python3.12` or `python3.13`
instead of `python3.11` if that is the one you have):

    python3.11 -m venv .venv
    source .venv/bin/activate
    pip install -r requirements.txt

Windows, in PowerShell opened in this folder (or `py -3.12`, `py -3.13`):

    py -3.11 -m venv .venv
    Set-ExecutionPolicy -Scope CurrentUser RemoteSigned   # once per user, answer Y
    .venv\\Scripts\\Activate.ps1
    pip install -r requirements.txt

`requirements.txt` takes PyTorch's CPU build from PyTorch's own index
(download.pytorch.org), which it names itself: you never need a GPU, and on Linux it accepts
no other build, so pip never downloads CUDA (gigabytes) behind your back.

## Run a lab

    source .venv/bin/activate        # Windows: .venv\\Scripts\\Activate.ps1
    jupyter lab

Open the notebook and run the cells from the top. Keep the notebook in this folder, next to
`utils/`: that is how `import utils` finds the toolkit. Each lab runs in about a minute on a
laptop CPU.

## Exercises and handing in

- An exercise is a code cell that starts with `# Exercise N: ...` and ends with
  `raise NotImplementedError(...)`. Replace the `raise` line with your code, and keep the
  first line `# Exercise N: ...` as it is: that is how your answer is found when it is graded.
- Put all the code of an exercise in its cell. Other cells are run as the lab wrote them
  when your work is graded, so edits there (or in the checks) do not count.
- The cell after each exercise checks your answer and says in plain words what is off.
- The last code cell asserts the lab's *claims*, the phenomenon it exists to show.
- Hand in the `.ipynb` file itself (File > Save Notebook first).

## When something goes wrong

- **Debian or Ubuntu: `The virtual environment was not created successfully because
  ensurepip is not available`.** The system Python lacks its venv module: install it with
  `sudo apt install python3.11-venv` (the version you use: `python3.12-venv`,
  `python3.13-venv`), delete the half-made `.venv` folder and run the setup again.
- **Windows: `Activate.ps1 cannot be loaded because running scripts is disabled on this
  system`.** PowerShell's default execution policy refuses scripts. Run
  `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned` once (it changes the policy for you
  only), or use the Command Prompt (cmd.exe) instead, where the line is
  `.venv\\Scripts\\activate.bat`.
- **macOS: `No matching distribution found for torch==2.13.0` on an Intel Mac or on macOS 13
  or older.** PyTorch 2.13.0 is built for Apple silicon on macOS 14 and newer only; a newer
  Python does not help. Ways out: update macOS to 14 or newer if your Mac is Apple silicon;
  otherwise run the labs on another machine (a Linux or Windows PC, a university server), or
  open them in a hosted notebook service and upload this folder with them. Installing
  another PyTorch version by hand may work, but the numbers may then differ from the book's.
- **Linux: `Cannot install torch==2.13.0+cpu` or `No matching distribution found for
  torch==2.13.0+cpu`, after warnings `Retrying ... /whl/cpu/torch/`.** pip could not reach
  PyTorch's index (download.pytorch.org). Check your network (or proxy) and run
  `pip install -r requirements.txt` again. If that index is blocked where you are, PyPI's
  build works too, at a cost: on Linux it brings CUDA, about 3.5 GB of `nvidia-...`
  packages the labs never use (about 5 GB in `.venv` in all). If you accept that, install it
  and the rest in one line instead: `pip install torch==2.13.0 -r requirements-labs.txt`.
- **`No matching distribution found` for other packages, or errors building numpy**: your
  Python is not 3.11, 3.12 or 3.13, or it is a 32-bit one. Install one of them
  (python.org), delete `.venv` and create it again with that Python.
- **`ModuleNotFoundError: No module named 'utils'`**: the notebook is not next to `utils/`,
  or Jupyter runs from another environment. Move the notebook back into this folder, and
  start `jupyter lab` after activating `.venv`.
- **"The kernel appears to have died"**: usually out of memory. Close other programs, then
  Kernel > Restart Kernel and Run All Cells.
- **`NotImplementedError`**: you reached an exercise you have not done yet. That is expected.
"""


def student_readme(what: str, url: str | None = None) -> str:
    """The handout's README for ``what`` ("the lab `x.ipynb`"), with the book's address.

    ``url`` defaults to the configured address (:func:`coursetools.standalone.book_url`);
    when there is none, the README says to ask for it instead of printing an empty link.

    Examples
    --------
    >>> "https://example.org/sdl/intro.html" in student_readme("a lab", "https://example.org/sdl")
    True
    >>> "ask your instructor" in student_readme("a lab", "")
    True
    """
    url = book_url() if url is None else url.rstrip("/")
    if url:
        book = (f"The book that goes with the labs explains each phenomenon; read the chapter "
                f"first. The book is online at <{url}/intro.html>.")
    else:
        book = ("The book that goes with the labs explains each phenomenon; read the chapter "
                "first (ask your instructor for its address).")
    return STUDENT_README.format(what=what, book=book)


def handout_files(repo_root: str | os.PathLike = REPO_ROOT) -> dict[str, Path]:
    """What every handout ships besides the notebooks: archive name -> file on disk.

    The ``utils`` package whole (its ``.py`` files; the course tooling lives apart, in
    :mod:`coursetools`), the student requirements (:data:`STUDENT_FILES`: ``requirements.txt``,
    ``requirements-labs.txt``, ``constraints.txt``) and the two licenses (``LICENSE`` for the
    prose, ``LICENSE-CODE`` for the code), so a handout passed on carries its terms.

    Examples
    --------
    >>> files = handout_files()
    >>> "utils/checks.py" in files, files["constraints.txt"].parent.name
    (True, 'student')
    >>> any(name.startswith("coursetools/") for name in files)
    False
    """
    root = Path(repo_root)
    files = {f"utils/{path.name}": path for path in sorted((root / "utils").glob("*.py"))}
    for name, source in [(Path(source).name, source) for source in STUDENT_FILES] + [
            ("LICENSE", "LICENSE"), ("LICENSE-CODE", "LICENSE-CODE")]:
        if not (root / source).is_file():
            raise ValueError(f"{root / source} is missing; a handout needs it to set up")
        files[name] = root / source
    return files


def _stamped(path: Path) -> str:
    """The notebook as text, with its lab recorded in the metadata."""
    nb = read_notebook(path)
    nb.metadata["course_lab"] = path.stem
    return nbformat.writes(nb) + "\n"


def _write_zip(target: Path, folder: str, notebooks: dict[str, str], what: str,
               files: dict[str, Path]) -> Path:
    tmp = target.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes | str) -> None:
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
        add("README.md", student_readme(what) + "\n" + version_note())
        for name, text in notebooks.items():
            add(name, text)
        for name, path in files.items():
            add(name, path.read_bytes())
    tmp.replace(target)
    return target


def pack_handouts(student_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                  repo_root: str | os.PathLike = REPO_ROOT) -> list[Path]:
    """Pack each student notebook in ``student_dir`` into a zip, and all into one more.

    The notebooks in ``student_dir`` get ``"course_lab"`` in their metadata (rewritten in
    place), and the archives carry the same files.

    Parameters
    ----------
    student_dir : str or path-like
        Folder of student versions (``*.ipynb``), as written by ``make student``.
    out_dir : str or path-like, optional
        Where the archives go (default: ``student_dir``).
    repo_root : str or path-like
        The repository whose ``utils/``, ``requirements.txt`` and ``constraints.txt`` ship.

    Returns
    -------
    list of pathlib.Path
        The archives: one per lab in lab order, then ``science-of-dl-labs.zip``.

    Raises
    ------
    ValueError
        If ``student_dir`` holds no notebook, a notebook is not a student version (it still
        has solutions), or a file to ship is missing.

    Examples
    --------
    >>> pack_handouts("_build/student")  # doctest: +SKIP
    """
    student_dir = Path(student_dir)
    out = Path(out_dir) if out_dir is not None else student_dir
    notebooks = sorted(student_dir.glob("*.ipynb")) if student_dir.is_dir() else []
    if not notebooks:
        raise ValueError(f"no student notebooks (*.ipynb) in {student_dir}; run "
                         "`python -m coursetools.notebooks student labs _build/student` first")
    texts = {}
    for path in notebooks:
        nb = read_notebook(path)
        if not nb.metadata.get("student_version") or any(
                "solution" in cell.get("metadata", {}).get("tags", []) for cell in nb.cells):
            raise ValueError(f"{path} is not a student version (it has solution cells, or "
                             "lacks the metadata student_version: true); never pack a lab")
        texts[path.name] = _stamped(path)
        path.write_text(texts[path.name], encoding="utf-8")
    files = handout_files(repo_root)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_zip(out / f"{Path(name).stem}.zip", Path(name).stem, {name: text},
                          f"the lab `{name}`", files) for name, text in texts.items()]
    written.append(_write_zip(out / f"{ALL_LABS_NAME}.zip", ALL_LABS_NAME, texts,
                              f"the course's {len(texts)} labs", files))
    return written


def publish_handouts(out_dir: str | os.PathLike,
                     repo_root: str | os.PathLike = REPO_ROOT) -> list[Path]:
    """Write the student versions of every lab and pack them into ``out_dir``.

    The student notebooks are made in a temporary folder, so only the archives land in
    ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Folder for the archives (created if needed).
    repo_root : str or path-like
        The repository whose ``labs/`` are packed.

    Returns
    -------
    list of pathlib.Path
        The archives, as :func:`pack_handouts` returns them.

    Examples
    --------
    >>> [p.name for p in publish_handouts(tmp)][-1]  # doctest: +SKIP
    'science-of-dl-labs.zip'
    """
    with tempfile.TemporaryDirectory() as tmp:
        write_student_versions(Path(repo_root) / "labs", tmp)
        return pack_handouts(tmp, out_dir, repo_root)


def _publish_into_book(app, exception) -> None:
    """Sphinx ``build-finished`` hook: the handouts go into the HTML build's ``handouts/``,
    and each lab page's download button (which serves ``_sources/labs/<lab>.ipynb``) gets
    the student version instead of the notebook with its solutions."""
    if exception is None and app.builder.format == "html":
        out = Path(app.outdir)
        with tempfile.TemporaryDirectory() as tmp:
            students = write_student_versions(REPO_ROOT / "labs", tmp)
            pack_handouts(tmp, out / "handouts")
            sources = out / "_sources" / "labs"
            for student in students:
                if (sources / student.name).exists():
                    shutil.copyfile(student, sources / student.name)


def setup(app) -> dict:
    """Sphinx extension entry point: ship the handouts with every HTML build of the book.

    Examples
    --------
    In ``_config.yml``, under ``sphinx: config: extensions:``, list ``coursetools.handouts``.
    """
    app.connect("build-finished", _publish_into_book)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursetools.handouts STUDENT_DIR [--out DIR]``; returns 0 or 1.

    Examples
    --------
    >>> main(["_build/student"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.handouts",
        description="Pack each student version with utils/, requirements.txt, "
                    "constraints.txt and a README into one zip per lab, plus one for all.")
    parser.add_argument("student_dir", metavar="STUDENT_DIR",
                        help="folder of student notebooks (make student writes _build/student)")
    parser.add_argument("--out", metavar="DIR", help="folder for the archives "
                        "(default: STUDENT_DIR)")
    args = parser.parse_args(argv)
    try:
        for path in pack_handouts(args.student_dir, args.out):
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
