"""Tests of coursetools.handouts: the student archives hold what a lab needs, and no solution."""
from __future__ import annotations

import ast
import re
import sys
import zipfile

import nbformat
import pytest

from coursetools.handouts import ALL_LABS_NAME, handout_files, main, pack_handouts, \
    student_readme
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
    for name in ("README.md", "requirements.txt", "requirements-labs.txt", "constraints.txt",
                 "LICENSE", "LICENSE-CODE", "utils/__init__.py",
                 "utils/checks.py", "00_first_experiment.ipynb"):
        assert f"00_first_experiment/{name}" in names
    assert not any("coursetools" in name for name in names)
    shipped = {name.split("/utils/")[1] for name in names if "/utils/" in name}
    assert shipped == {path.name for path in (REPO_ROOT / "utils").glob("*.py")}, \
        "a handout ships utils/ whole"
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert nb.metadata.course_lab == "00_first_experiment" and nb.metadata.student_version
    assert "Python 3.11, 3.12 or 3.13" in readme and "download.pytorch.org" in readme
    with zipfile.ZipFile(written[0]) as archive:
        for name in ("requirements.txt", "requirements-labs.txt", "constraints.txt"):
            assert archive.read(f"00_first_experiment/{name}").decode() == (
                REPO_ROOT / "student" / name).read_text(), f"a handout ships student/{name}"
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
    sources = tmp_path / "_sources" / "labs"
    sources.mkdir(parents=True)
    nbformat.write(read_notebook(LAB0), sources / LAB0.name)  # Sphinx's copy: the answer key
    publish(SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path)), None)
    assert (tmp_path / "handouts" / f"{ALL_LABS_NAME}.zip").exists()
    served = read_notebook(sources / LAB0.name)  # what the page's download button serves
    assert served.metadata.student_version and served.metadata.course_lab == LAB0.stem
    assert sorted(p.name for p in sources.iterdir()) == [LAB0.name]  # only what Sphinx copied


# The course's own tooling: a student never needs it, and nbgrader even changes JupyterLab.
TOOLING_PACKAGES = ["jupyter-book", "sphinx", "pytest", "nbval", "pytest-xdist", "uv",
                    "playwright", "nbgrader", "psutil", "dask", "distributed", "filelock"]


def requirement_names(path) -> dict[str, str]:
    """Package name -> the whole requirement line, for the non-option lines of a file."""
    names = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names[re.split(r"[=<>!~ ;\[]", line, maxsplit=1)[0].lower()] = line
    return names


def test_student_requirements_hold_what_the_labs_import_and_no_tooling():
    student = requirement_names(REPO_ROOT / "student" / "requirements-labs.txt")
    student |= requirement_names(REPO_ROOT / "student" / "requirements.txt")
    assert not set(TOOLING_PACKAGES) & set(student), "course tooling in the student requirements"
    course = requirement_names(REPO_ROOT / "requirements.txt")
    for name, line in student.items():  # the same pins as the course (torch: its CPU build)
        pin = line.split(";")[0].replace("+cpu", "").strip()
        assert course[name] == pin, f"{name}: student {line!r}, course {course[name]!r}"
    imported = {"torch", "numpy", "scipy", "sklearn", "pandas", "matplotlib", "PIL", "joblib",
                "tqdm", "ipywidgets", "IPython", "cycler"}
    for source in [path.read_text() for path in (REPO_ROOT / "utils").glob("*.py")] + [
            cell.source for lab in (REPO_ROOT / "labs").glob("*.ipynb")
            for cell in read_notebook(lab).cells if cell.cell_type == "code"]:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics
            continue
        modules = {alias.name.split(".")[0] for node in ast.walk(tree)
                   if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        for module in modules:
            assert module in imported | {"utils", "__future__"} or module in sys.stdlib_module_names, (
                f"the labs import {module}, which the student requirements may not bring")
    # Each imported distribution is named, or comes with one that is (IPython with ipykernel,
    # cycler with matplotlib); JupyterLab and the kernel are there to run the notebooks.
    for name in ("torch", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib", "pillow",
                 "joblib", "tqdm", "ipywidgets", "ipykernel", "jupyterlab"):
        assert name in student, f"{name} is missing from student/requirements-labs.txt"


def test_linux_takes_only_pytorchs_cpu_build():
    """On Linux, PyPI's torch brings CUDA: only the +cpu build from PyTorch's index may do."""
    text = (REPO_ROOT / "student" / "requirements.txt").read_text()
    assert "-r requirements-labs.txt" in text
    labs = (REPO_ROOT / "student" / "requirements-labs.txt").read_text()
    assert "--constraint constraints.txt" in labs and "torch" not in requirement_names(
        REPO_ROOT / "student" / "requirements-labs.txt")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    torch_lines = [line for line in text.splitlines() if line.startswith("torch")]
    assert 'torch==2.13.0+cpu ; sys_platform == "linux"' in torch_lines
    assert all("+cpu" in line or 'sys_platform != "linux"' in line for line in torch_lines)


@pytest.mark.parametrize("dead_end", [
    "python3.11-venv", "Set-ExecutionPolicy", "Intel Mac", "macOS 13", "nvidia-",
    "activate.bat", "macOS 14"])
def test_readme_names_each_platform_dead_end(dead_end):
    assert dead_end in student_readme("a lab", "")


def test_readme_gives_the_books_address_when_configured():
    readme = student_readme("a lab", "https://example.org/science-of-dl/")
    assert "<https://example.org/science-of-dl/intro.html>" in readme
    assert "ask your instructor" not in readme
    empty = student_readme("a lab", "")
    assert "ask your instructor for its address" in empty and "<" not in empty.split("##")[0]
