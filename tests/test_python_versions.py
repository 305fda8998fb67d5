"""The course supports Python 3.11 (3.11.5 or newer), 3.12 and 3.13, and refuses older ones.

Three checks: the student requirements of the handouts (student/, with their lock
student/constraints.txt) resolve on each version for Linux x86-64, macOS arm64 and Windows x86-64,
without any of the course's tooling; every pin of requirements.txt + constraints.txt resolves for each version (uv
reads PyPI's metadata, from its cache when it can, so this takes seconds and needs no
interpreter of that version), and
the Makefile's interpreter check accepts each supported interpreter this machine has and
refuses an older one with a message that says what to do. An interpreter the machine lacks
is skipped with a message.
"""
import glob
import os
import re
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


def compile_pins(version: str, out: Path, offline: bool, requirements: Path | None = None,
                 platform: str = "x86_64-manylinux_2_28",
                 macos: str = "14.0") -> subprocess.CompletedProcess:
    """``uv pip compile`` of ``requirements`` for one Python version and platform.

    On macOS, ``macos`` is the oldest release the Mac runs (uv's MACOSX_DEPLOYMENT_TARGET).
    """
    return subprocess.run(
        [uv(), "pip", "compile", str(requirements or ROOT / "requirements.txt"),
         "--python-version", LOWEST.get(version, version), "--python-platform", platform,
         "--no-header", "--quiet", "-o", str(out)] + (["--offline"] if offline else []),
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MACOSX_DEPLOYMENT_TARGET": macos})


def resolve(version: str, out: Path, **kwargs) -> subprocess.CompletedProcess:
    """Resolve from uv's cache of PyPI's metadata first (a second; the pins are exact, so the
    metadata of each pinned release does not change), and from PyPI itself when the cache
    lacks some (about 10 s); skip if PyPI cannot be reached."""
    result = compile_pins(version, out, offline=True, **kwargs)
    if result.returncode:
        result = compile_pins(version, out, offline=False, **kwargs)
    if result.returncode and ("error sending request" in result.stderr or "dns" in result.stderr.lower()):
        pytest.skip(f"PyPI could not be reached to resolve the pins: {result.stderr.strip()[:300]}")
    return result


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_pin_resolves(version, tmp_path):
    result = resolve(version, tmp_path / "resolved.txt")
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = (tmp_path / "resolved.txt").read_text()
    assert "torch==2.13.0" in resolved


# The student's platforms, as uv names them. PyTorch 2.13.0's macOS wheels need arm64 and
# macOS 14, so the Mac is resolved as an Apple-silicon Mac on macOS 14.
PLATFORMS = {"linux": "x86_64-manylinux_2_28", "macos-arm64": "aarch64-apple-darwin",
             "windows": "x86_64-pc-windows-msvc"}
# What a student never installs: the book, the tests, the grader, and CUDA.
NOT_FOR_STUDENTS = re.compile(r"^(jupyter-book|sphinx|pytest|nbval|pytest-xdist|uv|playwright|"
                              r"nbgrader|nvidia-[\w-]+|triton)==", re.M)


def student_requirements(tmp_path: Path) -> Path:
    """The handout's requirements as uv can resolve them here, from PyPI alone.

    PyTorch's CPU index is not one uv reaches from CI, so torch is resolved as PyPI's
    ``torch==2.13.0`` (on Linux that is the CUDA build, whose nvidia packages are left out
    below: the handout's Linux line accepts only ``+cpu``, which test_handouts.py checks).
    The labs' packages are constrained by the handout's lock, student/constraints.txt.
    """
    student = ROOT / "student"
    lines = ["torch==2.13.0", f"--constraint {student / 'constraints.txt'}"]
    lines += [line for line in (student / "requirements-labs.txt").read_text().splitlines()
              if not line.startswith("--constraint")]
    path = tmp_path / "requirements-student.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("version", SUPPORTED)
def test_student_requirements_resolve_on_every_platform(version, platform, tmp_path):
    out = tmp_path / "resolved.txt"
    result = resolve(version, out, requirements=student_requirements(tmp_path),
                     platform=PLATFORMS[platform])
    assert result.returncode == 0, f"{platform}, Python {version}:\n{result.stderr[-3000:]}"
    resolved = out.read_text()
    assert "torch==2.13.0" in resolved and "jupyterlab==4.6.6" in resolved
    if platform == "linux":  # PyPI's Linux torch is the CUDA build, which the handout refuses
        resolved = re.sub(r"^(nvidia-[\w-]+|triton|cuda-[\w-]+)==.*$", "", resolved, flags=re.M)
    tooling = NOT_FOR_STUDENTS.findall(resolved)
    assert not tooling, f"{platform}, Python {version}: the student install brings {tooling}"
    # Every package this platform installs is pinned by the handout's lock.
    locked = set(pins((ROOT / "student" / "constraints.txt").read_text())) | {"torch"}
    unlocked = set(pins(resolved)) - locked
    assert not unlocked, f"{platform}, Python {version}: not in student/constraints.txt: {unlocked}"


def pins(text: str) -> dict[str, str]:
    """Package name (normalised) -> version, for the ``name==version`` lines of a lock."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][\w.-]*)==([^\s;]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def test_the_student_lock_is_current_and_agrees_with_the_course_lock():
    """student/constraints.txt is what `make lock` writes now, and every package it shares
    with the course's lock has the version CI tests."""
    from coursetools.student_lock import LockError, lock_text, resolve as resolve_lock

    uv()  # skip without uv
    committed = (ROOT / "student" / "constraints.txt").read_text()
    try:
        try:
            fresh = lock_text(resolve_lock(offline=True))
        except LockError:
            fresh = lock_text(resolve_lock(offline=False))
    except LockError as error:
        if "error sending request" in str(error) or "dns" in str(error).lower():
            pytest.skip(f"PyPI could not be reached to resolve the student lock: {error}"[:300])
        raise
    assert fresh == committed, "student/constraints.txt is stale: run `make lock`"
    course = pins((ROOT / "constraints.txt").read_text())
    differ = {name: (version, course[name]) for name, version in pins(committed).items()
              if name in course and course[name] != version}
    assert not differ, f"student lock vs course lock (student, course): {differ}"


@pytest.mark.parametrize("mac, macos", [("x86_64-apple-darwin", "14.0"),
                                        ("aarch64-apple-darwin", "13.0")])
def test_the_readmes_mac_dead_ends_are_real(mac, macos, tmp_path):
    """An Intel Mac, or an Apple-silicon Mac on macOS 13, has no torch 2.13.0 wheel: the
    handout README says so and gives the way out. If this starts passing, update the README."""
    # uv's cache holds torch's list of wheels after any resolution, so the refusal shows
    # offline; a cache without it (a fresh machine) asks PyPI.
    no_wheel = "Wheels are available for `torch` (v2.13.0) on the following platforms"
    kwargs = dict(requirements=student_requirements(tmp_path), platform=mac, macos=macos)
    result = compile_pins("3.13", tmp_path / "resolved.txt", offline=True, **kwargs)
    if no_wheel not in result.stderr:
        result = resolve("3.13", tmp_path / "resolved.txt", **kwargs)
    assert result.returncode != 0 and no_wheel in result.stderr, result.stderr[-2000:]
    assert "macosx_14_0_arm64" in result.stderr, result.stderr[-2000:]


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
