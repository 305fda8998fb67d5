"""The cloud path: a Colab launch button on every lab page, and a Colab-only install cell.

Both are driven by one setting, ``repository.url`` in ``_config.yml`` (the course's public
GitHub address, e.g. ``https://github.com/OWNER/REPO``, with ``repository.branch``). While it
is empty, nothing changes: no button, and :func:`refresh_colab_cell` removes the cell.

- **The button.** As a Sphinx extension (listed in ``_config.yml``) this module turns on the
  theme's Colab launch button, a plain link to
  ``https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/labs/<lab>.ipynb``
  (:func:`colab_url`); no asset is loaded from another host, so the book stays offline.
- **The cell.** :func:`colab_cell` is a code cell placed right after a lab's title. In Colab
  it installs the toolkit from the repository with ``--no-deps``, then the toolkit's other
  dependencies at their lower bounds, never ``torch``: Colab's own PyTorch is kept (exact
  pins broke other courses' Colab notebooks). Anywhere else it does nothing. It is tagged
  ``colab`` (how it is found again), ``nbval-skip`` (nbval does not run it) and
  ``remove-cell`` (the book does not show it).

Command line (``make colab``)::

    python -m coursetools.colab address                 # the configured address, or nothing
    python -m coursetools.colab branch                  # its branch (default main)
    python -m coursetools.colab refresh labs/*.ipynb    # insert or update the cell (idempotent)

Example
-------
>>> colab_url("https://github.com/ada/sdl", "main", "labs/01_double_descent.ipynb")
'https://colab.research.google.com/github/ada/sdl/blob/main/labs/01_double_descent.ipynb'
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
import yaml

__all__ = ["COLAB_URL", "CELL_TAGS", "repository", "colab_url", "colab_cell",
           "refresh_colab_cell", "main", "setup"]

REPO_ROOT = Path(__file__).resolve().parents[1]
COLAB_URL = "https://colab.research.google.com"
#: Tags of the install cell: found by ``colab``, skipped by nbval, hidden in the book.
CELL_TAGS = ["colab", "nbval-skip", "remove-cell"]
#: The distribution name in pyproject.toml, whose requirements the cell reads once installed.
DISTRIBUTION = "science-of-deep-learning"

_GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?/?")


def _check_address(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a GitHub address; ValueError for anything else."""
    if not isinstance(url, str):
        raise TypeError(f"the repository address must be a str, got {type(url).__name__}")
    match = _GITHUB.fullmatch(url)
    if match is None:
        raise ValueError(f"the repository address must look like https://github.com/OWNER/REPO "
                         f"(Colab opens notebooks from GitHub only), got {url!r}")
    return match.group(1), match.group(2)


def repository(root: str | Path = REPO_ROOT) -> tuple[str, str]:
    """The configured ``(address, branch)`` from ``_config.yml``; the address may be ``""``.

    >>> address, branch = repository()
    >>> isinstance(address, str) and bool(branch)
    True
    """
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    address = (repo.get("url") or "").strip()
    branch = str(repo.get("branch") or "main").strip()
    if address:
        _check_address(address)
    return address, branch


def colab_url(address: str, branch: str, notebook: str) -> str:
    """The Colab link of a notebook of the repository (``notebook`` relative to its root).

    >>> colab_url("https://github.com/ada/sdl.git", "v0.1.0", "labs/00_first_experiment.ipynb")
    'https://colab.research.google.com/github/ada/sdl/blob/v0.1.0/labs/00_first_experiment.ipynb'
    """
    owner, name = _check_address(address)
    if not branch or not isinstance(branch, str):
        raise ValueError(f"branch must be a non-empty str, got {branch!r}")
    if not notebook.endswith(".ipynb") or notebook.startswith("/"):
        raise ValueError(f"notebook must be a relative path to an .ipynb file, got {notebook!r}")
    return f"{COLAB_URL}/github/{owner}/{name}/blob/{branch}/{notebook}"


_CELL = '''\
# Colab only: install the course's toolkit (`utils`) from the repository, keeping Colab's own
# PyTorch. Anywhere else this cell does nothing. Written by `make colab`; do not edit.
import sys

if "google.colab" in sys.modules:
    import importlib.metadata
    import subprocess

    _pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run(_pip + ["--no-deps", "git+{source}"], check=True)
    _needs = [r for r in importlib.metadata.requires("{distribution}") or []
              if not r.lower().startswith("torch") and "extra ==" not in r]
    subprocess.run(_pip + _needs, check=True)'''


def colab_cell(address: str, branch: str) -> nbformat.NotebookNode:
    """The install cell for a repository address and branch (or tag).

    >>> cell = colab_cell("https://github.com/ada/sdl", "main")
    >>> cell.metadata.tags
    ['colab', 'nbval-skip', 'remove-cell']
    >>> "git+https://github.com/ada/sdl@main" in cell.source
    True
    """
    owner, name = _check_address(address)
    if not branch or not isinstance(branch, str):
        raise ValueError(f"branch must be a non-empty str, got {branch!r}")
    source = _CELL.format(source=f"https://github.com/{owner}/{name}@{branch}",
                          distribution=DISTRIBUTION)
    return nbformat.v4.new_code_cell(source, metadata={"tags": list(CELL_TAGS)})


def _is_colab_cell(cell: dict) -> bool:
    return "colab" in cell.get("metadata", {}).get("tags", [])


def refresh_colab_cell(nb: nbformat.NotebookNode, address: str,
                       branch: str = "main") -> bool:
    """Put the current install cell right after the title cell, or remove it if no address.

    Idempotent: a second call with the same arguments changes nothing. The new cell keeps the
    id of the cell it replaces, so the notebook's diff shows only what changed.

    Returns
    -------
    bool
        True if the notebook changed.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab 9 · X"),
    ...                                      nbformat.v4.new_code_cell("SEED = 0")])
    >>> refresh_colab_cell(nb, "https://github.com/ada/sdl"), refresh_colab_cell(nb, "https://github.com/ada/sdl")
    (True, False)
    >>> [c.metadata.get("tags", []) for c in nb.cells][1]
    ['colab', 'nbval-skip', 'remove-cell']
    >>> refresh_colab_cell(nb, ""), len(nb.cells)
    (True, 2)
    """
    if not isinstance(nb, nbformat.NotebookNode):
        raise TypeError(f"nb must be an nbformat.NotebookNode, got {type(nb).__name__}")
    old = [index for index, cell in enumerate(nb.cells) if _is_colab_cell(cell)]
    if not address:
        for index in reversed(old):
            del nb.cells[index]
        return bool(old)
    new = colab_cell(address, branch)
    if old == [1] and nb.cells[1].source == new.source and \
            nb.cells[1].metadata.get("tags") == new.metadata.tags:
        return False
    if old:
        new["id"] = nb.cells[old[0]].get("id", new.get("id"))
    for index in reversed(old):
        del nb.cells[index]
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError("a lab must start with its title cell (markdown); the install cell "
                         "goes right after it")
    nb.cells.insert(1, new)
    return True


# --------------------------------------------------------------------------------------------
# Sphinx hook: the Colab launch button
# --------------------------------------------------------------------------------------------


def _launch_buttons(app, config) -> None:
    address, branch = repository(Path(app.srcdir))
    if not address:
        return  # the book as it always was: no launch buttons
    config.html_theme_options = {
        **config.html_theme_options,
        "repository_url": address.removesuffix(".git").rstrip("/"),
        "repository_branch": branch,
        "path_to_docs": "",
        "launch_buttons": {"colab_url": COLAB_URL, "notebook_interface": "classic"},
    }


def setup(app) -> dict:
    """Sphinx extension: the Colab launch button on notebook pages, when an address is set."""
    app.connect("config-inited", _launch_buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coursetools.colab {address,refresh}``."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.colab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("address", help="print the configured repository address (may be empty)")
    commands.add_parser("branch", help="print the configured branch")
    refresh = commands.add_parser("refresh", help="insert, update or remove the install cell")
    refresh.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    address, branch = repository()
    if args.command in ("address", "branch"):
        print(address if args.command == "address" else branch)
        return 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if refresh_colab_cell(nb, address, branch):
            nbformat.write(nb, path)
            print(f"{path}: {'install cell written' if address else 'install cell removed'}")
        else:
            print(f"{path}: unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
