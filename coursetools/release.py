"""The course's version number, where it is shown, and the release archive.

One number, ``utils.__version__`` in ``utils/__init__.py``, is the course's version. The
package metadata reads it (``pyproject.toml``), this module's Sphinx hook prints it in the
book's footer with the licenses, the handouts' README states it (:func:`version_note`), the PDF
puts it on its title page, and :func:`check_versions` fails when ``CITATION.cff`` or the top
entry of ``CHANGELOG.md`` says otherwise.

``make release`` runs, in order::

    python -m coursetools.release check          # clean git tree, the versions agree
    make test                                    # the whole suite
    make book student pdf                        # fresh book, handouts, whole-book PDF
    python -m coursetools.release pack _build/release

Example
-------
>>> import re
>>> bool(re.fullmatch(r"\\d+\\.\\d+\\.\\d+", course_version()))
True
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["REPO_ROOT", "COURSE_NAME", "ReleaseError", "course_version", "version_note",
           "footer_html", "check_versions", "check_clean_tree", "pack_release", "main", "setup"]

REPO_ROOT = Path(__file__).resolve().parents[1]
COURSE_NAME = "Science of Deep Learning"
#: The two licenses, as the footer and the PDF's title page name them.
LICENSES = ("Prose and figures: CC BY 4.0 (LICENSE). "
            "Code (utils/, coursetools/, tests/, the labs' code cells): MIT (LICENSE-CODE).")

_VERSION_RE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.M)


class ReleaseError(RuntimeError):
    """A release cannot be made: the message says what to fix first."""


def course_version(root: str | Path = REPO_ROOT) -> str:
    """The course's version, read from ``utils/__init__.py`` without importing it.

    >>> course_version().count(".")
    2
    """
    init = Path(root) / "utils" / "__init__.py"
    match = _VERSION_RE.search(init.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{init} has no line __version__ = \"X.Y.Z\"")
    return match.group(1)


def version_note(root: str | Path = REPO_ROOT) -> str:
    """A paragraph for the handouts' README naming the version they come from.

    >>> version_note().startswith("## Version")
    True
    """
    return (f"## Version\n\nThese labs come from version {course_version(root)} of the "
            f"{COURSE_NAME} course. Instructors grade with the labs of the same version; "
            "quote it when you ask for help.\n")


def footer_html(version: str) -> str:
    """The book's footer: the version and the two licenses.

    >>> "0.1.0" in footer_html("0.1.0")
    True
    """
    if not isinstance(version, str):
        raise TypeError(f"version must be a str, got {type(version).__name__}")
    return (f'<p class="course-edition">{COURSE_NAME}, version {version}. '
            'Prose and figures are licensed under '
            '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>; '
            'the code (the toolkit, the course tooling and the labs\' code cells) under the '
            'MIT license. Cite it with the repository\'s CITATION.cff.</p>')


def _citation_field(text: str, key: str) -> str | None:
    match = re.search(rf'^{key}:\s*"?([^"\n]+?)"?\s*$', text, re.M)
    return match.group(1) if match else None


def check_versions(root: str | Path = REPO_ROOT) -> list[str]:
    """What disagrees with the course's version: an empty list when all agree.

    Reads ``CITATION.cff`` (``version`` and ``date-released``) and ``CHANGELOG.md`` (its first
    ``## [X.Y.Z] - YYYY-MM-DD`` heading, which must be the version and carry the same date).

    >>> check_versions()
    []
    """
    root = Path(root)
    version = course_version(root)
    problems = []
    citation = (root / "CITATION.cff").read_text(encoding="utf-8")
    cited = _citation_field(citation, "version")
    if cited != version:
        problems.append(f"CITATION.cff says version {cited!r}, utils/__init__.py {version!r}")
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(r"^## \[([^\]]+)\] - (\d{4}-\d{2}-\d{2})\s*$", changelog, re.M)
    if heading is None:
        problems.append("CHANGELOG.md has no release heading '## [X.Y.Z] - YYYY-MM-DD'")
    else:
        if heading.group(1) != version:
            problems.append(f"CHANGELOG.md's latest entry is {heading.group(1)!r}, "
                            f"utils/__init__.py says {version!r}")
        released = _citation_field(citation, "date-released")
        if released != heading.group(2):
            problems.append(f"CITATION.cff's date-released {released!r} differs from "
                            f"CHANGELOG.md's {heading.group(2)!r}")
    return problems


def check_clean_tree(root: str | Path = REPO_ROOT) -> None:
    """Raise :class:`ReleaseError` if git shows a change or an untracked file under ``root``."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=normal"],
                            cwd=root, capture_output=True, text=True)
    if status.returncode != 0:
        raise ReleaseError(f"git status failed in {root}: {status.stderr.strip()}")
    if status.stdout.strip():
        raise ReleaseError("the working tree is not clean; commit or remove these first:\n"
                           + status.stdout)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _zip_folder(folder: Path, target: Path, prefix: str) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


def pack_release(out_dir: str | Path, root: str | Path = REPO_ROOT,
                 html: str | Path | None = None, student: str | Path | None = None,
                 pdf: str | Path | None = None) -> Path:
    """Write the release folder ``<out_dir>/science-of-deep-learning-<version>/``.

    It holds the book's HTML as a zip, every handout zip, the whole-book PDF, the source
    archive of the committed tree (``git archive HEAD``) and ``SHA256SUMS``. The inputs default
    to what ``make book student pdf`` writes under ``_build/``.

    Raises
    ------
    ReleaseError
        If an input is missing, or the built book does not show this version.
    """
    root = Path(root)
    version = course_version(root)
    html = Path(html) if html else root / "_build" / "html"
    student = Path(student) if student else root / "_build" / "student"
    pdf = Path(pdf) if pdf else root / "_build" / "pdf" / f"science-of-deep-learning-{version}.pdf"
    index = html / "index.html"
    if not index.exists():
        raise ReleaseError(f"no built book at {html}: run `make book` first")
    if f"version {version}" not in index.read_text(encoding="utf-8"):
        raise ReleaseError(f"{index} does not show version {version}: rebuild the book")
    handouts = sorted(student.glob("*.zip"))
    if not handouts:
        raise ReleaseError(f"no handouts in {student}: run `make student` first")
    if not pdf.exists():
        raise ReleaseError(f"no PDF at {pdf}: run `make pdf` first")
    name = f"science-of-deep-learning-{version}"
    target = Path(out_dir) / name
    shutil.rmtree(target, ignore_errors=True)
    (target / "handouts").mkdir(parents=True)
    _zip_folder(html, target / f"{name}-book-html.zip", f"{name}-book")
    for handout in handouts:
        shutil.copy2(handout, target / "handouts" / handout.name)
    shutil.copy2(pdf, target / pdf.name)
    subprocess.run(["git", "archive", "--format=tar.gz", f"--prefix={name}/",
                    "-o", str((target / f"{name}-source.tar.gz").resolve()), "HEAD"],
                   cwd=root, check=True)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    (target / "SHA256SUMS").write_text(
        "".join(f"{_sha256(p)}  {p.relative_to(target).as_posix()}\n" for p in files))
    return target


# --------------------------------------------------------------------------------------------
# Sphinx hook: the version and the licenses in every page's footer
# --------------------------------------------------------------------------------------------


def _show_version(app, config) -> None:
    version = course_version(Path(app.srcdir))
    config.version = config.release = version
    config.html_theme_options = {**config.html_theme_options,
                                 "extra_footer": footer_html(version)}


def setup(app) -> dict:
    """Sphinx extension (listed in ``_config.yml``): the footer shows version and licenses."""
    app.connect("config-inited", _show_version)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coursetools.release {check,pack,version}``; exit status 1 on a problem."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the course's version")
    check = commands.add_parser("check", help="the tree is clean and every version agrees")
    check.add_argument("--allow-dirty", action="store_true", help="skip the clean-tree check")
    pack = commands.add_parser("pack", help="write the release folder")
    pack.add_argument("out_dir", nargs="?", default=str(REPO_ROOT / "_build" / "release"))
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(course_version())
        elif args.command == "check":
            if not args.allow_dirty:
                check_clean_tree()
            problems = check_versions()
            if problems:
                raise ReleaseError("the version is not the same everywhere:\n- "
                                   + "\n- ".join(problems))
            print(f"version {course_version()}: tree clean, CITATION.cff and CHANGELOG.md agree")
        else:
            print(f"release written to {pack_release(args.out_dir)}")
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
