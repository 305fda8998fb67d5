import nbformat
import pytest
from tqdm import std

from coursetools.notebooks import execute_notebook
from utils.progress import progress_bar


def test_text_bar_outside_a_notebook():
    bar = progress_bar(range(3), desc="x")
    assert isinstance(bar, std.tqdm) and list(bar) == [0, 1, 2]


def test_disabled_bar_still_iterates():
    assert sum(progress_bar(range(4), disable=True)) == 6


def test_bad_total():
    with pytest.raises(ValueError, match="total must be a non-negative int"):
        progress_bar(range(3), total=-1)


def test_saved_notebook_shows_the_finished_bar(tmp_path):
    # In a kernel the bar is a widget; what a saved notebook (and the book) keeps is its text,
    # which must be the final state, also when the loop is left early.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from utils.progress import progress_bar\n"
        "with progress_bar(range(7), desc='work') as bar:\n"
        "    for i in bar:\n"
        "        if i == 4:\n"
        "            break")])
    execute_notebook(nb, tmp_path, timeout=60)
    texts = [out["data"]["text/plain"] for out in nb.cells[0].outputs if "data" in out]
    assert len(texts) == 1, f"expected one bar output, got {texts}"
    assert "work:" in texts[0] and "4/7" in texts[0], texts[0]
