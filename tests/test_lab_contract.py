"""Every lab, and the template lab, keeps the parts of the lab contract (CONTRIBUTING.md) that
a reader of the book sees. The template (templates/) is held to the same rules, so a lab
started from it starts compliant."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("*.ipynb")) + sorted((ROOT / "templates").glob("*.ipynb"))


def cells(lab: Path) -> list[dict]:
    return json.loads(lab.read_text())["cells"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def lab_code(lab: Path) -> list[dict]:
    """The lab's code cells, without the Colab install cell (coursetools.colab), which is not
    part of the experiment."""
    return [cell for cell in cells(lab) if cell["cell_type"] == "code" and "colab" not in tags(cell)]


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_title_and_front_matter(lab):
    first = "".join(cells(lab)[0]["source"]).strip()
    prefix = lab.stem.split("_")[0]
    number = int(prefix) if prefix.isdigit() else prefix  # the template's is "NN"
    assert first.startswith(f"# Lab {number} · "), f"{lab.name}: the first cell must be '# Lab {number} · <title>'"
    for part in ("Learning objectives", "Prerequisites", "Time"):
        assert part.lower() in first.lower(), f"{lab.name}: the front matter does not mention {part!r}"


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_parameters_first_and_claims_last(lab):
    code = lab_code(lab)
    assert "parameters" in tags(code[0]), f"{lab.name}: the first code cell must be tagged 'parameters'"
    assert re.search(r"^SEED\s*=", "".join(code[0]["source"]), re.M), f"{lab.name}: no SEED parameter"
    assert "claims" in tags(code[-1]), f"{lab.name}: the last code cell must be tagged 'claims'"
    claims = "".join(code[-1]["source"])
    assert "Claims()" in claims and ".finish()" in claims, (
        f"{lab.name}: the claims cell must state its claims with utils.claims.Claims and end "
        "with .finish(), which prints one table and fails on any claim that does not hold")


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_every_figure_has_alt_text(lab):
    # The book shows notebook figures as images; their alt text comes from the cell's
    # metadata (mystnb.image.alt), since an output has no place for it.
    for index, cell in enumerate(cells(lab)):
        shows_image = any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        assert not shows_image or len(alt.split()) >= 5, (
            f"{lab.name}, cell {index}: a figure without alt text; describe what it shows in "
            "the cell's metadata: {\"mystnb\": {\"image\": {\"alt\": \"...\"}}}")


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_no_saved_widget_state(lab):
    metadata = json.loads(lab.read_text())["metadata"]
    assert "widgets" not in metadata, (
        f"{lab.name} saves widget state, which makes the book load widget JavaScript from a "
        "CDN; re-run it with `make execute` (which does not save it)")


CODE_COLUMN = 100  # characters a code cell shows at 1280 px (12 px mono, _static/course.css)


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_code_lines_fit_the_books_column(lab):
    # The browser test measures the rendered page; this says which line to wrap, and fails
    # before a book build is needed.
    long = [(cell.get("id"), len(line), line[:50])
            for cell in cells(lab) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).split("\n") if len(line) > CODE_COLUMN]
    assert not long, f"{lab.name}: code lines over {CODE_COLUMN} characters (cell id, length, start): {long}"


# A lab is an experiment a student finishes in its stated time: the prose says what a student
# needs to see the result; seed ranges, provenance and design notes go on the lab's
# instructors' page (CONTRIBUTING.md). Code, outputs and comments are not counted.
MAX_MARKDOWN_WORDS = 2500


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_the_prose_stays_within_the_word_budget(lab):
    words = sum(len("".join(cell["source"]).split()) for cell in cells(lab)
                if cell["cell_type"] == "markdown")
    assert words <= MAX_MARKDOWN_WORDS, (
        f"{lab.name}: {words} words of Markdown, more than {MAX_MARKDOWN_WORDS}; move seed "
        "ranges, provenance and design notes to the lab's instructors' page")
