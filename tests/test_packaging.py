"""The toolkit installs with `pip install .` and works from outside the repository; the
package declares lower bounds only (the exact pins stay in requirements.txt)."""
import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from conftest import ROOT
from coursetools.compat import lowest_pins

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn", "PIL": "pillow"}
STDLIB = set(sys.stdlib_module_names)


def test_dependencies_are_lower_bounds_covering_every_import():
    deps = PYPROJECT["project"]["dependencies"]
    assert all(">=" in dep and "==" not in dep and "<" not in dep for dep in deps), deps
    declared = {dep.split(">=")[0].strip().lower() for dep in deps}
    imported = set()
    for module in (ROOT / "utils").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {DISTRIBUTION.get(name, name).lower() for name in imported
                   if name not in STDLIB and name not in ("utils", "IPython", "cycler")}
    # IPython comes with ipywidgets, cycler with matplotlib.
    assert third_party <= declared, f"imported but not declared: {third_party - declared}"


def test_lowest_pins():
    assert lowest_pins(["numpy>=1.26", "scikit-learn >= 1.4", "x"]) == [
        "numpy==1.26.*", "scikit-learn==1.4.*", "x"]


def test_pip_install_gives_a_working_toolkit_outside_the_repository(tmp_path):
    # A fresh venv that borrows the course's installed packages (so nothing is downloaded)
    # but not its path to the repository; the toolkit itself must come from the install.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE-CODE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "utils", source / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    # Without pip of its own (ensurepip costs seconds): the course's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_CONSTRAINT")}
    # The wheel is built with the course's setuptools (the venv's own is older than PEP 639).
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                           str(source)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    wheel, = (tmp_path / "dist").glob("science_of_deep_learning-*.whl")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    check = ("import utils, importlib.metadata as m; from utils.reproducibility import seed_everything;"
             "from utils.checks import check_scalar; seed_everything(0); check_scalar(1.0, 1.0);"
             "print(utils.__file__); print(m.version('science-of-deep-learning'));"
             "print(m.metadata('science-of-deep-learning')['License-Expression'])")
    done = subprocess.run([str(python), "-c", check], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith(str(venv)), lines  # the installed copy, not the repository
    from coursetools.release import course_version
    assert lines[2] == course_version() and lines[3] == "MIT", lines
