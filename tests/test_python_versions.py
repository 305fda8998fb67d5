"""The course supports Python 3.11 (3.11.5 or newer), 3.12 and 3.13, and refuses older ones.

Two checks: every pin of requirements.txt + constraints.txt resolves for each version (uv
reads PyPI's metadata, from its cache when it can, so this takes seconds and needs no
interpreter of that version), and
the Makefile's interpreter check accepts each supported interpreter this machine has and
refuses an older one with a message that says what to do. An interpreter the machine lacks
is skipped with a message.
"""
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ["3.11", "3.12", "3.13"]
# The lowest patch release each minor version needs (soupsieve's pin needs 3.11.5).
LOWEST = {"3.11": "3.11.5", "3.12": "3.12.0", "3.13": "3.13.0"}


def find_python(version: str) -> str | None:
    """A working interpreter of this minor version, or None (pyenv shims may exist but fail)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    for path in filter(None, candidates):
        try:
            out = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return path
    return None


def uv() -> str:
    path = Path(sys.executable).with_name("uv")
    if not path.exists():
        pytest.skip("uv is not installed next to this Python (it is pinned in requirements.txt)")
    return str(path)


def compile_pins(version: str, out: Path, offline: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        [uv(), "pip", "compile", str(ROOT / "requirements.txt"), "--python-version", LOWEST[version],
         "--python-platform", "x86_64-manylinux_2_28", "--no-header", "--quiet", "-o", str(out)]
        + (["--offline"] if offline else []),
        cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_pin_resolves(version, tmp_path):
    # From uv's cache of PyPI's metadata first (a second; the pins are exact, so the metadata of
    # each pinned release does not change), and from PyPI itself when the cache lacks some
    # (about 13 s): a pin that does not resolve fails either way.
    result = compile_pins(version, tmp_path / "resolved.txt", offline=True)
    if result.returncode:
        result = compile_pins(version, tmp_path / "resolved.txt", offline=False)
    if result.returncode and ("error sending request" in result.stderr or "dns" in result.stderr.lower()):
        pytest.skip(f"PyPI could not be reached to resolve the pins: {result.stderr.strip()[:300]}")
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = (tmp_path / "resolved.txt").read_text()
    assert "torch==2.13.0" in resolved


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_makefile_accepts_a_supported_python(version):
    python = find_python(version)
    if python is None:
        pytest.skip(f"no working python{version} on this machine")
    result = subprocess.run(["make", "--no-print-directory", "check-python", f"PYTHON={python}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_makefile_refuses_an_older_python():
    python = find_python("3.10")
    if python is None:
        pytest.skip("no python3.10 on this machine to be refused")
    result = subprocess.run(["make", "--no-print-directory", "check-python", f"PYTHON={python}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Python 3.11 (3.11.5 or newer), 3.12 or 3.13 is needed, found 3.10" in result.stderr
