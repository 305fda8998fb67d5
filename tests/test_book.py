"""The book builds with warnings as errors, from the stored notebook outputs."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files():
    """Every document the table of contents lists, as a path without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


def test_toc_lists_every_chapter_and_lab():
    listed = set(toc_files())
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.md")}
    on_disk |= {f"labs/{p.stem}" for p in (ROOT / "labs").glob("*.ipynb")}
    assert not on_disk - listed, f"not in _toc.yml, so not in the book: {sorted(on_disk - listed)}"


def test_book_builds_without_warnings(tmp_path):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    assert jupyter_book.exists(), f"jupyter-book is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(tmp_path),
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed or warned:\n{log[-6000:]}"
    html = tmp_path / "_build" / "html"
    for page in ["index"] + toc_files():
        assert (html / f"{page}.html").exists(), f"{page}.html missing from the built book"
    for lab in (ROOT / "labs").glob("*.ipynb"):
        page = (html / "labs" / f"{lab.stem}.html").read_text()
        assert "<img" in page, f"{lab.name} shows no figure in the book: were its outputs committed?"
    shutil.rmtree(tmp_path / "_build" / ".doctrees", ignore_errors=True)
