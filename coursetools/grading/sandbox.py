"""The OS sandbox a submission's kernel runs in: bubblewrap, read-only, no network.

Each graded run starts its Jupyter kernel under ``bwrap`` (Debian's ``bubblewrap``, the
sandbox Flatpak uses) with

* the system (``/usr``, a few files of ``/etc``), the Python installation, the course's
  environment and the toolkit ``utils/`` mounted **read-only**, at their usual paths;
* nothing else of the course: no ``labs/`` (the answer key), no ``tests/``, no ``.git``, no
  ``_build/`` (other students' reports), no home folder;
* a private writable working folder (the run's temporary folder, which holds the kernel's
  connection file and sockets) and a private, empty ``/tmp``;
* no network (``--unshare-net``: only a loopback device of its own), its own PID, IPC and
  host-name namespaces, a new terminal session, no capabilities;
* ``--die-with-parent`` and its own PID namespace, so that when the run ends (or the grader is
  killed) every process the submission started dies with it, detached ones included.

The kernel talks to the grader over ZeroMQ's ``ipc`` transport (Unix sockets in the working
folder), which needs no network. Where bubblewrap cannot run, :func:`sandbox_problem` says
why, and the grader refuses to grade unless told ``--no-sandbox``.

Example
-------
>>> sandbox_problem(Path("."))  # None where bubblewrap runs  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

__all__ = ["sandbox_problem", "bwrap_argv", "SandboxedKernelManager", "INSTALL_HINT"]

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, or "
                "`make sandbox` as root), or pass --no-sandbox to grade without it "
                "(only for submissions you trust)")

# Files of /etc the kernel needs (fonts, libraries, names); the rest (shadow, ssh keys) stays out.
_ETC = ["fonts", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime",
        "passwd", "group", "nsswitch.conf", "hosts", "mime.types", "matplotlibrc"]
# Top-level folders that may be symlinks into /usr (merged /usr) or real folders.
_SYSTEM = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
#: Limits set on the kernel process (and inherited by everything it starts): processes of the
#: sandbox's user, open files, and the size of any one file it writes. (Linux does not apply
#: the process limit to root: grade as an ordinary user to have it.)
LIMITS = {"RLIMIT_NPROC": 256, "RLIMIT_NOFILE": 1024, "RLIMIT_FSIZE": 512 * 2**20}
# Sets LIMITS, then becomes the kernel (argv[1:]): run inside the sandbox, before any student code.
_LIMITER = ("import os, resource, sys\n"
            "for name, value in %r.items():\n"
            "    resource.setrlimit(getattr(resource, name), (value, value))\n"
            "os.execv(sys.argv[1], sys.argv[1:])")
#: Size of the sandbox's private /tmp (RAM-backed): enough for caches, not for a memory bomb.
TMP_BYTES = 512 * 2**20
# Unprivileged uid/gid inside the sandbox, when user namespaces are available.
_NOBODY = "65534"


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _environment_binds() -> list[tuple[Path, Path]]:
    """(real path, path as the kernel names it) for the Python installation and environment.

    A virtual environment reached through a symbolic link (``.venv -> /elsewhere/.venv``) is
    mounted at both paths: the kernel is started as ``.venv/bin/python``, unresolved. Package
    folders that ``.pth`` files add to ``sys.path`` (another environment's site-packages) are
    mounted too, since the kernel imports from them.
    """
    named = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent.parent}
    named.update(Path(p) for p in sys.path
                 if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir())
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            named.add(Path(value))
    pairs = {}
    for path in named:
        absolute = Path(os.path.abspath(path))
        pairs[absolute.resolve()] = absolute.resolve()
        pairs[absolute] = absolute.resolve()
    # keep the outermost of nested destinations (binding a parent covers its children)
    kept = sorted(pairs, key=lambda p: len(p.parts))
    return [(pairs[p], p) for i, p in enumerate(kept)
            if not any(q in p.parents for q in kept[:i])]


def bwrap_argv(workdir: Path, repo_root: Path, *, user_namespace: bool = True,
               bwrap: str | None = None) -> list[str]:
    """The ``bwrap`` command line (up to ``--``) for a kernel working in ``workdir``.

    Parameters
    ----------
    workdir : Path
        The run's private folder: writable inside, and the working directory.
    repo_root : Path
        The course repository; only its ``utils/`` is visible (read-only).
    user_namespace : bool
        Also run as an unprivileged user in a user namespace (when the system allows it).
    bwrap : str, optional
        Path of the ``bwrap`` executable (default: found on PATH).

    Returns
    -------
    list of str
        Ends with ``"--"``; append the command to run.

    Examples
    --------
    >>> argv = bwrap_argv(Path("/tmp/w"), Path("/course"), bwrap="/usr/bin/bwrap")
    >>> argv[-1], "--unshare-net" in argv, "--die-with-parent" in argv
    ('--', True, True)
    >>> argv[argv.index("/course/utils") - 1]  # the toolkit, read-only; not labs/
    '--ro-bind'
    >>> any("labs" in arg for arg in argv)
    False
    """
    exe = bwrap or _bwrap()
    if exe is None:
        raise FileNotFoundError("bwrap is not installed")
    workdir, repo_root = Path(workdir).resolve(), Path(repo_root).resolve()
    argv = [exe, "--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # /tmp first: the course (and its environment) may lie under /tmp, and a tmpfs mounted
    # after them would hide them; it is capped so that a submission cannot fill the memory
    argv += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for real, named in _environment_binds():
        if not str(named).startswith("/usr/"):
            argv += ["--ro-bind", str(real), str(named)]
    argv += ["--dev", "/dev", "--proc", "/proc",
             "--ro-bind", str(repo_root / "utils"), str(repo_root / "utils"),
             "--bind", str(workdir), str(workdir),
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session",
             "--cap-drop", "ALL", "--hostname", "grader",
             # ipykernel would poll for a parent PID it cannot see from inside and exit
             "--unsetenv", "JPY_PARENT_PID",
             "--setenv", "HOME", str(workdir / "home"),
             "--setenv", "MPLCONFIGDIR", str(workdir / "home" / ".config" / "matplotlib"),
             "--setenv", "TMPDIR", "/tmp",
             "--chdir", str(workdir)]
    if user_namespace:
        argv += ["--unshare-user", "--uid", _NOBODY, "--gid", _NOBODY]
    return argv + ["--"]


@functools.lru_cache(maxsize=None)
def _probe(repo_root: str) -> tuple[str | None, bool]:
    """(problem or None, whether a user namespace works), found by running ``true``."""
    if _bwrap() is None:
        return "bubblewrap (bwrap) is not installed", False
    import tempfile
    with tempfile.TemporaryDirectory(prefix="grade_probe_") as tmp:
        errors = []
        for userns in (True, False):
            argv = bwrap_argv(Path(tmp), Path(repo_root), user_namespace=userns)
            try:
                done = subprocess.run(argv + [sys.executable, "-c", "pass"],
                                      capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as err:
                errors.append(str(err))
                continue
            if done.returncode == 0:
                return None, userns
            errors.append(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                          else f"exit status {done.returncode}")
    return f"bubblewrap cannot run here ({errors[-1]})", False


def sandbox_problem(repo_root: Path) -> str | None:
    """Why the sandbox cannot run on this machine, or None if it can.

    Examples
    --------
    >>> sandbox_problem(Path("."))  # doctest: +SKIP
    """
    return _probe(str(Path(repo_root).resolve()))[0]


def prepare_workdir(workdir: Path) -> None:
    """Make the private home folder, with a copy of matplotlib's font cache (saves seconds)."""
    home = Path(workdir) / "home"
    config = home / ".config" / "matplotlib"
    config.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib
        for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copyfile(cache, config / cache.name)
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


class SandboxedKernelManager(AsyncKernelManager):
    """An (async, as nbclient needs) kernel manager that starts the kernel under bubblewrap, over ``ipc``.

    Parameters
    ----------
    workdir : Path
        The run's private folder (connection file and sockets live there).
    repo_root : Path
        The course repository (only ``utils/`` is visible inside).
    """

    def __init__(self, workdir: Path, repo_root: Path, **kwargs: Any):
        workdir = Path(workdir).resolve()
        super().__init__(transport="ipc", ip=str(workdir / "kernel"),
                         connection_file=str(workdir / "kernel.json"), **kwargs)
        problem, userns = _probe(str(Path(repo_root).resolve()))
        if problem:
            raise RuntimeError(problem)
        prepare_workdir(workdir)
        self._sandbox_argv = bwrap_argv(workdir, Path(repo_root), user_namespace=userns)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command, prefixed with the ``bwrap`` command line and the limits."""
        kernel = super().format_kernel_cmd(extra_arguments)
        return self._sandbox_argv + [sys.executable, "-c", _LIMITER % LIMITS] + kernel
