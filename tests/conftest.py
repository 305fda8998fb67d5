"""Fixtures shared by the tests: the book is built once per run and reused."""
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
def book(tmp_path_factory) -> BookBuild:
    """Build the book once, with warnings as errors, into a temporary folder."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    assert jupyter_book.exists(), f"jupyter-book is not installed next to {sys.executable}"
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=300)
    return BookBuild(result.returncode, result.stdout + result.stderr, out / "_build" / "html")
