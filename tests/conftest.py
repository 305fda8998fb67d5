"""Fixtures shared by the tests: the book is built once per run and reused."""
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BookBuild:
    """The result of one ``jupyter-book build`` of the repository."""

    returncode: int
    log: str
    html: Path


def toc_files() -> list[str]:
    """Every document the table of contents lists, as a path without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for entry in part["chapters"]:
            files += [entry["file"]] + [section["file"] for section in entry.get("sections", [])]
    return files


@pytest.fixture(scope="session")
def book(request, tmp_path_factory) -> BookBuild:
    """Build the book once per run, with warnings as errors, into a temporary folder.

    Under pytest-xdist every worker is its own session; the first to need the book builds it
    (about 13 CPU-seconds) while holding a lock in the run's shared temporary folder, and the
    others reuse that build, or its failure.
    """
    from filelock import FileLock

    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    assert jupyter_book.exists(), f"jupyter-book is not installed next to {sys.executable}"
    worker = hasattr(request.config, "workerinput")  # set by xdist in its workers only
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    out, record = shared / "book", shared / "book.json"
    with FileLock(str(shared / "book.lock")):
        if not record.exists():
            try:
                result = subprocess.run(
                    [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
                     "-W", "-n", "--keep-going"],
                    capture_output=True, text=True, timeout=300)
                built = {"returncode": result.returncode, "log": result.stdout + result.stderr}
            except subprocess.TimeoutExpired as error:  # recorded, so no worker builds again
                built = {"returncode": -1, "log": f"the build took over {error.timeout} s"}
            partial = record.with_suffix(".partial")
            partial.write_text(json.dumps(built))
            partial.replace(record)  # whole, or not there
        built = json.loads(record.read_text())
    return BookBuild(built["returncode"], built["log"], out / "_build" / "html")
