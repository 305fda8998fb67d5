"""Compatibility check: every lab's claims in fresh environments, outside the course's pins.

``make compat`` builds two virtual environments under ``_build/compat/`` from nothing but
``pyproject.toml`` (never ``requirements.txt`` or ``constraints.txt``):

- ``newest``: ``pip install .`` unpinned, so pip takes the newest release of every dependency
  that it can install on this machine (see :data:`NEWEST_NOTE` for what that means here);
- ``lowest``: every direct dependency pinned to the lower bound ``pyproject.toml`` declares
  (``numpy>=1.26`` becomes ``numpy==1.26.*``, which pip resolves to the series' last patch,
  1.26.4), the rest resolved by pip: uv's ``--resolution lowest-direct``, at the level of
  release series.

In each, the toolkit is imported from outside the repository (so the installed package is
what is tested, in the labs' kernels too), then every lab runs top to bottom in a fresh kernel of that environment
(:func:`coursetools.notebooks.run_with_seeds` with the lab's default seed, 0), and passes when
every cell, its claims included, runs without error. The result, with the versions found and
the times, goes to ``instructors/compat.md``.

Example
-------
>>> lowest_pins(["numpy>=1.26", "torch>=2.13", "tqdm"])
['numpy==1.26.*', 'torch==2.13.*', 'tqdm']
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from coursetools.release import REPO_ROOT

__all__ = ["KINDS", "NEWEST_NOTE", "declared_dependencies", "lowest_pins", "make_env",
           "run_labs", "compat_page", "main"]

KINDS = ("newest", "lowest")
#: Shown on the instructors' page: what "newest" can mean on the machine that ran the check.
NEWEST_NOTE = (
    "pip's newest is bounded by what the machine's pip may install: on the course's build "
    "machine a site-wide pip constraint (/etc/xdg/pip) caps torch at 2.14.1, the newest "
    "release stored on its disk, whose wheel is the CUDA build (it runs on the CPU here); "
    "every other package is the newest on PyPI for this Python.")
#: What runs the notebooks, installed unpinned beside the toolkit (not part of the toolkit).
RUNNER = ["nbclient", "nbformat", "ipykernel"]
#: Versions reported on the page.
REPORTED = ["torch", "numpy", "scipy", "scikit-learn", "pandas", "matplotlib", "pillow",
            "joblib", "tqdm", "ipywidgets", "science-of-deep-learning"]


def declared_dependencies(root: str | Path = REPO_ROOT) -> list[str]:
    """The toolkit's dependencies, as ``pyproject.toml`` declares them."""
    with open(Path(root) / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def lowest_pins(requirements: Sequence[str]) -> list[str]:
    """Each requirement pinned to its declared lower bound (``>=X`` becomes ``==X.*``).

    ``==X.*`` rather than ``==X``: a bound such as ``1.26`` names a release series, and pip
    takes that series' last patch release (``numpy==1.26.*`` installs 1.26.4), whose wheels
    exist for every Python the course supports; the bugfix releases of the oldest declared
    series are what is tested. Requirements without a lower bound are left as they are.
    """
    pins = []
    for requirement in requirements:
        if not isinstance(requirement, str):
            raise TypeError(f"a requirement must be a str, got {type(requirement).__name__}")
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([0-9][0-9.]*)\s*", requirement)
        pins.append(f"{match.group(1)}=={match.group(2)}.*" if match else requirement.strip())
    return pins


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *args], check=True)


def make_env(kind: str, where: str | Path, root: str | Path = REPO_ROOT,
             reuse: bool = False) -> tuple[Path, float]:
    """Create a fresh environment of ``kind`` (``"newest"`` or ``"lowest"``) in ``where``.

    Returns its Python (an absolute path) and the seconds the installation took. With
    ``reuse``, an environment already there is kept (0 s): for re-running the labs only.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    where = Path(where).resolve()
    if reuse and (where / "bin" / "python").exists():
        return where / "bin" / "python", 0.0
    shutil.rmtree(where, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    # A copy of the source, so the build leaves nothing in the repository (no build/ folder).
    source = where / "source"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "_build", "labs", "chapters", "*.egg-info", "__pycache__"))
    requirements = lowest_pins(declared_dependencies(root)) if kind == "lowest" else []
    _pip(python, str(source), *requirements, *RUNNER)
    return python, time.perf_counter() - started


_VERSIONS = """
import importlib.metadata as m, json, sys
out = {"python": sys.version.split()[0]}
for name in NAMES:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""

_SMOKE = """
import utils, utils.data, utils.models, utils.training, utils.plotting, utils.checks
from utils.reproducibility import seed_everything
assert "site-packages" in utils.__file__, utils.__file__
seed_everything(0)
print(utils.__version__)
"""


def _versions(python: Path) -> dict:
    code = _VERSIONS.replace("NAMES", repr(REPORTED))
    return json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True,
                                     text=True).stdout)


_RUNNER = """
import json, sys, time
from coursetools.notebooks import run_with_seeds
results = []
for lab in sys.argv[1:]:
    started = time.perf_counter()
    run = run_with_seeds(lab, [0])[0]
    results.append({"lab": lab, "ok": run["ok"], "seconds": round(time.perf_counter() - started, 1),
                    "error": None if run["ok"] else f"{run['ename']} in cell {run['cell_index']} "
                             f"({run['cell_tag']}): {str(run['message'])[:300]}"})
    print(json.dumps(results[-1]), flush=True)
    print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # progress, as it happens
"""


def run_labs(python: Path, labs: Sequence[str | Path], root: str | Path = REPO_ROOT) -> list[dict]:
    """Run each lab with the environment's Python (its own kernel); one dict per lab."""
    # A copy of coursetools outside the repository: its notebook runner puts its own root on
    # the kernels' PYTHONPATH, so from there the kernels import the installed `utils`.
    runner = Path(python).parents[1] / "runner"
    shutil.rmtree(runner, ignore_errors=True)
    shutil.copytree(Path(root) / "coursetools", runner / "coursetools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = str(runner)
    # The kernel must be this environment's: its ipykernel registers "python3" for its Python.
    env["JUPYTER_PATH"] = str(Path(python).parents[1] / "share" / "jupyter")
    labs = [str(Path(lab).resolve()) for lab in labs]
    done = subprocess.run([str(python), "-c", _RUNNER, *labs], cwd=runner, env=env,
                          stdout=subprocess.PIPE, stderr=None, text=True)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 and len(results) < len(labs):
        results.append({"lab": "(runner)", "ok": False, "seconds": 0.0,
                        "error": f"the runner stopped with status {done.returncode} (see above)"})
    return results


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def compat_page(results: dict) -> str:
    """The instructors' page (Markdown) for a dict ``kind -> result`` of :func:`main`'s runs."""
    lines = ["# Compatibility with other versions", "",
             "The course pins every package exactly (`requirements.txt`), but the toolkit "
             "declares only lower bounds (`pyproject.toml`), so that it installs beside other "
             "software, in Colab for instance. `make compat` checks both ends of that range: "
             "it installs the toolkit into fresh environments, one with the newest versions "
             "pip can find and one with every direct dependency at its declared lower bound, "
             "and runs every lab there; a lab passes when all its cells, claims included, "
             "run without error (its stored outputs are not compared: other versions may move "
             "the last digits).", "",
             f"*Newest* here: {NEWEST_NOTE}", ""]
    for kind, result in results.items():
        passed = sum(r["ok"] for r in result["labs"])
        lines += [f"## {kind.capitalize()}: {passed} of {len(result['labs'])} labs pass", "",
                  f"Run on {result['date']} ({result['cpu']}, {result['cores']} cores, Python "
                  f"{result['versions'].get('python')}): installation {result['install_s']:.0f} s, "
                  f"labs {sum(r['seconds'] for r in result['labs']):.0f} s. "
                  f"Toolkit import from outside the repository: {result['smoke']}.", "",
                  "| Package | Version |", "| --- | --- |"]
        lines += [f"| {name} | {version} |" for name, version in result["versions"].items()
                  if name != "python"]
        lines += ["", "| Lab | Claims hold | Time (s) |", "| --- | :---: | ---: |"]
        for run in result["labs"]:
            mark = "✓" if run["ok"] else f"✗ {run['error']}"
            lines.append(f"| {Path(run['lab']).stem} | {mark} | {run['seconds']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coursetools.compat [newest] [lowest] --labs ... --page FILE``."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.compat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kinds", nargs="+", choices=KINDS)
    parser.add_argument("--labs", nargs="+", required=True)
    parser.add_argument("--page", type=Path, help="write the instructors' page here")
    parser.add_argument("--where", type=Path, default=REPO_ROOT / "_build" / "compat")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an environment installed by an earlier run (labs only)")
    args = parser.parse_args(argv)
    args.where = args.where.resolve()
    results = {}
    record = args.where / "results.json"
    if record.exists():  # keep the other kind's last result when only one is re-run
        results = {k: v for k, v in json.loads(record.read_text()).items() if k in KINDS}
    for kind in args.kinds:
        print(f"compat {kind}: installing ...", flush=True)
        python, install_s = make_env(kind, args.where / kind, reuse=args.reuse)
        smoke = subprocess.run([str(python), "-c", _SMOKE], cwd=args.where, capture_output=True,
                               text=True, env={k: v for k, v in os.environ.items()
                                               if k != "PYTHONPATH"})
        labs = run_labs(python, args.labs)
        results[kind] = {
            "date": datetime.date.today().isoformat(), "cpu": _cpu(), "cores": os.cpu_count(),
            "install_s": install_s, "versions": _versions(python),
            "smoke": "works" if smoke.returncode == 0 else f"fails: {smoke.stderr.strip()[-300:]}",
            "labs": labs}
        for run in labs:
            print(f"  {kind} {Path(run['lab']).stem}: {'ok' if run['ok'] else run['error']} "
                  f"({run['seconds']} s)", flush=True)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(results, indent=1))
    if args.page:
        args.page.write_text(compat_page(results), encoding="utf-8")
        print(f"wrote {args.page}")
    ok = all(run["ok"] for result in results.values() for run in result["labs"]) and \
        all(result["smoke"] == "works" for result in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
