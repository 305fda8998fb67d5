"""Tests of coursetools.handouts: the student archives hold what a lab needs, and no solution."""
from __future__ import annotations

import ast
import zipfile

import nbformat
import pytest

from coursetools.handouts import ALL_LABS_NAME, handout_files, main, pack_handouts
from coursetools.notebooks import REPO_ROOT, read_notebook, student_version

LAB0 = REPO_ROOT / "labs" / "00_first_experiment.ipynb"


@pytest.fixture
def student_dir(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    nbformat.write(student_version(read_notebook(LAB0)), folder / LAB0.name)
    return folder


def utils_imports(source: str) -> set[str]:
    """The utils modules a piece of code imports: {'utils.checks', ...}."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("utils"):
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(f"utils.{node.module}")
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("utils")}
    return found


def test_one_archive_per_lab_and_one_for_all(student_dir, tmp_path):
    written = pack_handouts(student_dir, tmp_path / "out")
    assert [path.name for path in written] == ["00_first_experiment.zip", f"{ALL_LABS_NAME}.zip"]
    with zipfile.ZipFile(written[0]) as archive:
        names = set(archive.namelist())
        nb = nbformat.reads(archive.read("00_first_experiment/00_first_experiment.ipynb"),
                            as_version=4)
        readme = archive.read("00_first_experiment/README.md").decode()
    for name in ("README.md", "requirements.txt", "constraints.txt", "utils/__init__.py",
                 "utils/checks.py", "00_first_experiment.ipynb"):
        assert f"00_first_experiment/{name}" in names
    assert not any("coursetools" in name for name in names)
    shipped = {name.split("/utils/")[1] for name in names if "/utils/" in name}
    assert shipped == {path.name for path in (REPO_ROOT / "utils").glob("*.py")}, \
        "a handout ships utils/ whole"
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert nb.metadata.course_lab == "00_first_experiment" and nb.metadata.student_version
    assert "Python 3.11, 3.12 or 3.13" in readme and "download.pytorch.org/whl/cpu" in readme
    # the notebook in _build/student is stamped the same way
    assert read_notebook(student_dir / LAB0.name).metadata.course_lab == "00_first_experiment"


def test_archives_are_reproducible(student_dir, tmp_path):
    first = [path.read_bytes() for path in pack_handouts(student_dir, tmp_path / "a")]
    second = [path.read_bytes() for path in pack_handouts(student_dir, tmp_path / "b")]
    assert first == second


def test_every_utils_module_a_lab_needs_ships():
    """Each utils module imported by a lab, or by a shipped module, is in the handout."""
    shipped = {name[:-3].replace("/", ".") for name in handout_files() if name.endswith(".py")}
    shipped = {name.removesuffix(".__init__") for name in shipped}
    needed = set()
    for lab in sorted((REPO_ROOT / "labs").glob("*.ipynb")):
        for cell in read_notebook(lab).cells:
            if cell.cell_type == "code":
                try:
                    needed |= utils_imports(cell.source)
                except SyntaxError:  # IPython magics: not our concern here
                    pass
    for name, path in handout_files().items():
        if name.endswith(".py"):
            needed |= utils_imports(path.read_text())
    assert needed - shipped == set(), "modules a lab imports are left out of the handouts"


def test_refuses_notebooks_with_solutions(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    nbformat.write(read_notebook(LAB0), folder / LAB0.name)  # the answer key itself
    with pytest.raises(ValueError, match="not a student version"):
        pack_handouts(folder)
    with pytest.raises(ValueError, match="no student notebooks"):
        pack_handouts(tmp_path / "empty")


def test_command_line(student_dir, capsys):
    assert main([str(student_dir)]) == 0
    assert "00_first_experiment.zip" in capsys.readouterr().out
    assert (student_dir / f"{ALL_LABS_NAME}.zip").exists()
    assert main([str(student_dir / "nowhere")]) == 1


def test_publish_handouts_packs_every_lab_and_nothing_else(tmp_path):
    from coursetools.handouts import publish_handouts

    written = publish_handouts(tmp_path / "handouts")
    labs = sorted(path.stem for path in (REPO_ROOT / "labs").glob("*.ipynb"))
    assert [path.stem for path in written] == labs + [ALL_LABS_NAME]
    assert sorted(p.name for p in (tmp_path / "handouts").iterdir()) == sorted(p.name for p in written)


def test_sphinx_extension_publishes_into_html_builds_only(tmp_path):
    from types import SimpleNamespace

    from coursetools.handouts import setup

    hooks = {}
    app = SimpleNamespace(connect=lambda event, fn: hooks.setdefault(event, fn))
    assert setup(app)["parallel_read_safe"] is True
    publish = hooks["build-finished"]
    publish(SimpleNamespace(builder=SimpleNamespace(format="latex"), outdir=str(tmp_path)), None)
    assert not (tmp_path / "handouts").exists()            # no zips in a LaTeX build
    publish(SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path)), None)
    assert (tmp_path / "handouts" / f"{ALL_LABS_NAME}.zip").exists()
