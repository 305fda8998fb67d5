"""The cloud path (coursetools.colab): one address turns on a Colab button on every lab page
and a Colab-only install cell; with no address the book is as before."""
import copy
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT
from coursetools import colab

ADDRESS = "https://github.com/ada/science-of-dl"
LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def test_colab_url_form_and_bad_addresses():
    assert colab.colab_url(ADDRESS + ".git", "main", "labs/00_first_experiment.ipynb") == (
        "https://colab.research.google.com/github/ada/science-of-dl/blob/main/"
        "labs/00_first_experiment.ipynb")
    for bad in ("https://gitlab.com/ada/sdl", "github.com/ada/sdl", "https://github.com/ada"):
        with pytest.raises(ValueError, match="github.com/OWNER/REPO"):
            colab.colab_url(bad, "main", "labs/x.ipynb")
    with pytest.raises(TypeError):
        colab.colab_cell(None, "main")
    with pytest.raises(ValueError, match="branch"):
        colab.colab_cell(ADDRESS, "")
    with pytest.raises(ValueError, match="ipynb"):
        colab.colab_url(ADDRESS, "main", "labs/x.md")


def test_the_configured_address_is_empty_or_a_github_repository():
    # Empty (the default) builds the book as before; CONTRIBUTING.md says where to set it.
    address, branch = colab.repository()
    assert address == "" or colab.colab_url(address, branch, "labs/x.ipynb")


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_refresh_is_idempotent_and_reversible(lab):
    original = nbformat.read(lab, as_version=4)
    nb = copy.deepcopy(original)
    assert colab.refresh_colab_cell(nb, ADDRESS, "main") is True
    assert colab.refresh_colab_cell(nb, ADDRESS, "main") is False
    cell = nb.cells[1]
    assert cell.metadata.tags == ["colab", "nbval-skip", "remove-cell"]
    assert "torch" not in cell.source.split("startswith(\"torch\")")[0].split("import sys")[1]
    assert sum("colab" in c.metadata.get("tags", []) for c in nb.cells) == 1
    # The lab contract still holds: the parameters cell is the first code cell of the lab.
    from test_lab_contract import lab_code
    path = Path(nbformat.validator.__file__).parent  # any folder; the notebook is written below
    del path
    code = [c for c in nb.cells if c.cell_type == "code" and "colab" not in c.metadata.get("tags", [])]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert lab_code  # the contract test skips the same cell
    # A new address replaces the cell in place (same id); no address removes it.
    cell_id = nb.cells[1].get("id")
    assert colab.refresh_colab_cell(nb, "https://github.com/bob/fork", "v1.0.0") is True
    assert nb.cells[1].get("id") == cell_id and "bob/fork@v1.0.0" in nb.cells[1].source
    assert colab.refresh_colab_cell(nb, "") is True
    assert nb == original


def _run_cell(source, in_colab, monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        import importlib.metadata
        monkeypatch.setattr(importlib.metadata, "requires", lambda name: [
            "torch>=2.13", "numpy>=1.26", "tqdm>=4.66", "pytest; extra == \"test\""])
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "colab-cell", "exec"), {})
    return calls


def test_the_cell_does_nothing_outside_colab_and_keeps_colabs_torch(monkeypatch):
    source = colab.colab_cell(ADDRESS, "main").source
    assert _run_cell(source, in_colab=False, monkeypatch=monkeypatch) == []
    first, second = _run_cell(source, in_colab=True, monkeypatch=monkeypatch)
    assert first[-2:] == ["--no-deps", "git+https://github.com/ada/science-of-dl@main"]
    assert second[-2:] == ["numpy>=1.26", "tqdm>=4.66"], second  # never torch, no extras


def test_nbval_skips_the_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab 9 · X"),
                                         nbformat.v4.new_code_cell("print(1)")])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[1].execution_count = 1
    colab.refresh_colab_cell(nb, ADDRESS)
    nb.cells[1].source = "raise SystemExit('nbval ran the Colab cell')"  # would fail if run
    nbformat.write(nb, tmp_path / "lab.ipynb")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-o", "addopts=", "--nbval", "--nbval-current-env",
                           str(tmp_path / "lab.ipynb")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "1 passed, 1 skipped" in done.stdout, done.stdout[-2000:]


def _mini_book(folder: Path, address: str) -> Path:
    """A small book with the labs' pages (outputs stripped: the link depends only on the
    page's name and the configuration), built with the course's Colab hook."""
    config = {"title": "mini", "only_build_toc_files": True,
              "execute": {"execute_notebooks": "off"},
              "repository": {"url": address, "branch": "main"},
              "sphinx": {"config": {
                  # jupyter-book passes settings that jupyter_book and sphinx_comments declare
                  "extensions": ["myst_nb", "jupyter_book", "sphinx_external_toc", "sphinx_book_theme",
                                 "sphinx_comments",
                                 "coursetools.colab"],
                  "html_theme_options": {"launch_buttons": {}},
                  "suppress_warnings": ["mystnb.unknown_mime_type"]}}}
    (folder / "labs").mkdir(parents=True)
    for lab in LABS:
        nb = nbformat.read(lab, as_version=4)
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {lab.stem}")]
        nbformat.write(nb, folder / "labs" / lab.name)
    (folder / "intro.md").write_text("# Mini\n\nA page that is not a notebook.\n")
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    (folder / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "intro",
        "chapters": [{"file": f"labs/{lab.stem}"} for lab in LABS]}))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jupyter_book), "build", str(folder), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return folder / "_build" / "html"


def test_every_lab_page_gets_a_colab_link_when_the_address_is_set(tmp_path):
    started = time.perf_counter()
    html = _mini_book(tmp_path, ADDRESS)
    for lab in LABS:
        page = (html / "labs" / f"{lab.stem}.html").read_text()
        want = colab.colab_url(ADDRESS, "main", f"labs/{lab.name}")
        assert f'href="{want}"' in page, f"{lab.stem}: no link to {want}"
    assert "colab.research.google.com" not in (html / "intro.html").read_text()
    print(f"mini book built in {time.perf_counter() - started:.1f} s")


def test_the_books_colab_links_follow_the_configured_address(book):
    # No address: no link anywhere. An address: every lab page links its notebook in Colab.
    assert book.returncode == 0, book.log[-3000:]
    address, branch = colab.repository()
    for lab in LABS:
        page = (book.html / "labs" / f"{lab.stem}.html").read_text()
        if address:
            assert f'href="{colab.colab_url(address, branch, f"labs/{lab.name}")}"' in page
        else:
            assert "colab.research.google.com" not in page


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_each_labs_install_cell_matches_the_configured_address(lab):
    # Set the address and forget `make colab`, or change it: this fails and says what to run.
    nb = nbformat.read(lab, as_version=4)
    address, branch = colab.repository()
    assert not colab.refresh_colab_cell(nb, address, branch), (
        f"{lab.name}: its Colab cell does not match repository.url {address!r} in _config.yml; "
        "run `make colab` and commit the labs")
