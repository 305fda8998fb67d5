"""One source for each number: what the prose quotes from a lab is the lab's stored output.

Pages write ``{{ name }}`` where they quote a number a lab prints; quoted_numbers.yml says
which lab, cell and pattern it comes from, and the book takes it from the stored output
(coursetools/quoted.py). These tests fail when a declared number can no longer be found in
its lab's output, when a page quotes an undeclared name, and when the built book shows
anything but the stored number.
"""
from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from conftest import ROOT, toc_files
from coursetools.quoted import Quote, quoted_numbers, read_quotes, substitute, used_names

QUOTES = read_quotes()


def page_texts() -> dict[str, str]:
    """Every page of the book as its author wrote it (a notebook: its markdown cells)."""
    texts = {}
    for page in toc_files():
        md, ipynb = ROOT / f"{page}.md", ROOT / f"{page}.ipynb"
        if md.is_file():
            texts[page] = md.read_text()
        elif ipynb.is_file():
            nb = nbformat.read(ipynb, as_version=4)
            texts[page] = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return texts


@pytest.mark.parametrize("name", sorted(QUOTES))
def test_each_quoted_number_is_in_its_labs_stored_output(name):
    value = QUOTES[name].value()
    assert re.fullmatch(r"\d[\d,.]*", value), f"{name}: {value!r} is not a number"


def test_pages_quote_only_declared_numbers_and_every_one_is_quoted():
    used = {name: page for page, text in page_texts().items() for name in used_names(text)}
    undeclared = {name: page for name, page in used.items() if name not in QUOTES}
    assert not undeclared, f"pages quote numbers quoted_numbers.yml does not declare: {undeclared}"
    assert set(QUOTES) <= set(used), f"declared but quoted nowhere: {set(QUOTES) - set(used)}"


def test_a_changed_output_changes_the_quote_and_a_vanished_one_fails(tmp_path):
    """The quote follows the output, and a lab that stops printing it fails loudly."""
    quote = QUOTES["lab6_test_step"]
    (tmp_path / "labs").mkdir()
    lab = tmp_path / "labs" / f"{quote.lab}.ipynb"
    shutil.copy(ROOT / "labs" / f"{quote.lab}.ipynb", lab)
    nb = nbformat.read(lab, as_version=4)
    cell = (nb.cells[quote.cell] if isinstance(quote.cell, int)
            else next(c for c in nb.cells if quote.cell in c.metadata.get("tags", [])))
    pattern = re.compile(quote.pattern)
    output = next(o for o in cell.outputs if pattern.search("".join(o.get("text", ""))))
    text = "".join(output["text"])
    found = pattern.search(text)
    output["text"] = text[:found.start(1)] + "1234" + text[found.end(1):]
    nbformat.write(nb, lab)
    assert quote.value(tmp_path) == "1234"
    for o in cell.outputs:
        o["text"] = "All claims hold."
    nbformat.write(nb, lab)
    with pytest.raises(ValueError, match="did the lab change what it prints"):
        quote.value(tmp_path)
    with pytest.raises(ValueError, match="no cell"):
        Quote("x", quote.lab, "no-such-tag", quote.pattern).value(tmp_path)


def test_substitute_leaves_unknown_names():
    assert substitute("{{ a }} and {{ b }}", {"a": "1"}) == "1 and {{ b }}"


def test_the_book_shows_the_stored_numbers(book):
    numbers = quoted_numbers()
    for page, text in page_texts().items():
        names = used_names(text)
        if not names:
            continue
        html = (book.html / f"{page}.html").read_text()
        assert "{{" not in re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S), \
            f"{page}: a substitution was left unreplaced"
        for name in names:
            assert numbers[name] in html, f"{page}: {name} = {numbers[name]} is not shown"
