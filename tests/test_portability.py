"""coursetools.portability: which output lines another CPU's kernels would move too far."""
import nbformat
import pytest

from coursetools.portability import CONFIGS, cell_texts, main, moved_lines


def test_a_line_moved_beyond_the_tolerance_is_reported_with_the_configuration():
    stored = "fit in ~44 epochs\nR_A = 4022.6\nmargin 0.0100"
    fresh = {"native": stored, "generic": "fit in ~48 epochs\nR_A = 4490.2\nmargin 0.0101"}
    assert moved_lines(stored, fresh) == [(2, "R_A = 4022.6", {"generic": "R_A = 4490.2"})]


def test_a_changed_word_or_line_count_is_reported():
    assert moved_lines("test accuracy 0.50", {"a": "train accuracy 0.50"}) == [
        (1, "test accuracy 0.50", {"a": "train accuracy 0.50"})]
    assert moved_lines("one\ntwo", {"a": "one"})[0][0] == 0


def test_nothing_moved_is_an_empty_report():
    assert moved_lines("accuracy 0.992", {name: "accuracy 0.993" for name in CONFIGS}) == []


def test_cell_texts_sanitize_and_coalesce_as_nbval_does():
    out = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("prose"),
        nbformat.v4.new_code_cell("", outputs=[
            out("stream", name="stdout", text="step 1\rstep 2\n"),
            out("stream", name="stderr", text="a warning 0.5\n"),
            out("stream", name="stdout", text="done, wall time: 3.2 s\n"),
            out("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure 0.5>"})]),
        nbformat.v4.new_code_cell("", outputs=[])])
    assert cell_texts(nb) == {1: "[stderr]\na warning 0.5\n[stdout]\nstep 2\n"
                                 "done, wall time: DURATION\n[text/plain]\n<Figure 0.5>\n"}


def test_a_missing_notebook_is_refused_with_its_name(capsys):
    with pytest.raises(SystemExit):
        main(["labs/no_such_lab.ipynb"])
    assert "no such notebook: labs/no_such_lab.ipynb" in capsys.readouterr().err
