"""The book builds with warnings as errors, from the stored notebook outputs."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    for page in ["index.html", "intro.html", "chapters/00_science_of_deep_learning.html",
                 "labs/00_first_experiment.html", "instructors/index.html", "references.html"]:
        assert (html / page).exists(), f"{page} missing from the built book"
    lab = (html / "labs/00_first_experiment.html").read_text()
    assert "<img" in lab, "the lab page shows no figure: were its outputs committed?"
    shutil.rmtree(tmp_path / "_build" / ".doctrees", ignore_errors=True)
