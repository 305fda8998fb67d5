"""The handouts' lock: every package a student installs, pinned for every platform at once.

``student/constraints.txt`` is written by ``uv pip compile --universal`` from
``student/requirements-labs.txt`` plus PyTorch, under the course's own lock
(``constraints.txt``), so a package CI installs has the version CI tests, and a package only
Windows or macOS installs (``pywinpty``, ``appnope``, ...) gets one version too, behind its
environment marker. One file covers Linux x86-64, macOS arm64 and Windows x86-64 on Python
3.11-3.13.

uv resolves PyTorch from PyPI (PyTorch's CPU index is not reachable from every machine that
writes the lock). PyPI's Linux build of torch depends on CUDA packages (``nvidia-*``,
``cuda-*``, ``triton``) that the CPU build the handout installs does not, so those lines are
dropped, and so is torch itself, which the handout's ``requirements.txt`` pins.

Run ``python -m coursetools.student_lock`` (``make lock`` does) after changing a pin.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDENT_DIR = REPO_ROOT / "student"
LOCK = STUDENT_DIR / "constraints.txt"
#: The oldest interpreter the course supports; the universal lock holds for it and newer.
LOWEST_PYTHON = "3.11.5"
TORCH = "torch==2.13.0"
# Packages of PyPI's CUDA build of torch, which the CPU build does not install.
_CUDA_ONLY = re.compile(r"^(nvidia-[\w.-]+|cuda-[\w.-]+|triton)==", re.I)

HEADER = """\
# The handout's lock: the exact version of every package the labs' requirements install,
# on Linux x86-64, macOS arm64 and Windows x86-64 with Python 3.11-3.13 (a line with a
# marker holds only where the marker is true). Written by `python -m coursetools.student_lock`
# (`make lock`) with `uv pip compile --universal` under the course's lock; do not edit by
# hand. PyTorch is pinned in requirements.txt.
"""


class LockError(RuntimeError):
    """uv could not resolve the student requirements (its message says why)."""


def _uv() -> str:
    path = Path(sys.executable).with_name("uv")
    if not path.exists():
        raise LockError(f"uv is not installed next to {sys.executable} (requirements.txt pins it)")
    return str(path)


def resolve(offline: bool = False, repo_root: str | os.PathLike = REPO_ROOT) -> str:
    """The universal resolution of the student requirements, as ``uv`` prints it.

    ``offline=True`` reads PyPI's metadata from uv's cache only (a second when the cache
    holds it). Raises :class:`LockError` with uv's message when the resolution fails.

    Examples
    --------
    >>> "numpy==" in resolve(offline=True)  # doctest: +SKIP
    True
    """
    if not isinstance(offline, bool):
        raise TypeError(f"offline must be True or False, not {type(offline).__name__}")
    root = Path(repo_root)
    labs = root / "student" / "requirements-labs.txt"
    if not labs.is_file():
        raise ValueError(f"{labs} is missing: the student requirements live in student/")
    # The labs' file names the lock itself as its constraints: leave that line out.
    wanted = [line for line in labs.read_text().splitlines()
              if not line.startswith(("--constraint", "-c "))] + [TORCH]
    command = [_uv(), "pip", "compile", "--universal", "-",
               "--constraint", str(root / "constraints.txt"),
               "--python-version", LOWEST_PYTHON, "--no-header", "--no-annotate", "--quiet"]
    result = subprocess.run(command + (["--offline"] if offline else []), input="\n".join(wanted) + "\n",
                            capture_output=True, text=True, cwd=root, timeout=300)
    if result.returncode:
        raise LockError(result.stderr.strip()[-3000:] or "uv pip compile failed")
    return result.stdout


def lock_text(resolution: str) -> str:
    """The lock file's text from uv's resolution: CUDA-only packages and torch dropped.

    Examples
    --------
    >>> print(lock_text("numpy==2.4.6\\nnvidia-cublas==13.1 ; sys_platform == 'linux'\\n"
    ...                 "torch==2.13.0\\npywinpty==3.1.2 ; os_name == 'nt'\\n"), end="")
    ... # doctest: +ELLIPSIS
    # The handout's lock: ...
    numpy==2.4.6
    pywinpty==3.1.2 ; os_name == 'nt'
    """
    if not isinstance(resolution, str):
        raise TypeError(f"resolution must be uv's output as a str, not {type(resolution).__name__}")
    pins = [line.strip() for line in resolution.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    bad = [line for line in pins if "==" not in line]
    if bad:
        raise ValueError(f"not a resolution of exact pins (lines like 'name==version'): {bad[:3]}")
    kept = [line for line in pins if not _CUDA_ONLY.match(line) and not line.startswith("torch==")]
    return HEADER + "\n".join(kept) + "\n"


def write_lock(path: str | os.PathLike = LOCK, offline: bool = False) -> Path:
    """Resolve and write the lock to ``path``; returns the path."""
    path = Path(path)
    path.write_text(lock_text(resolve(offline=offline)), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="resolve from uv's cache only")
    parser.add_argument("--out", default=str(LOCK), help=f"where to write (default {LOCK})")
    args = parser.parse_args(argv)
    try:
        path = write_lock(args.out, offline=args.offline)
    except LockError as error:
        print(f"could not resolve the student requirements:\n{error}", file=sys.stderr)
        return 1
    print(f"{path} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
