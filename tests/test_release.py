"""The course can be cited and released: one version everywhere, a valid CITATION.cff, and a
release that refuses a dirty tree (coursetools.release)."""
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import ROOT
from coursetools import release
from coursetools.handouts import _write_zip

# The Citation File Format's schema 1.2.0, as cffconvert 2.0.0 ships it (the schema is the
# citation-file-format project's, CC BY 4.0). cffconvert itself pins jsonschema<4, which the
# course's Jupyter stack cannot use, so the test validates with the course's jsonschema and
# runs cffconvert only where it is installed on its own (`cffconvert --validate`).
CFF_SCHEMA = Path(__file__).parent / "data" / "citation-file-format-1.2.0.schema.json"


def test_every_place_shows_the_same_version():
    assert release.check_versions() == []
    version = release.course_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "utils.__version__" }' in pyproject


def test_a_disagreeing_citation_or_changelog_is_reported(tmp_path):
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text('__version__ = "1.2.3"\n')
    (tmp_path / "CITATION.cff").write_text('version: "1.2.2"\ndate-released: "2026-01-02"\n')
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [1.2.2] - 2026-01-01\n")
    problems = release.check_versions(tmp_path)
    assert len(problems) == 3, problems
    assert any("CITATION.cff says version '1.2.2'" in p for p in problems)
    assert any("CHANGELOG.md's latest entry is '1.2.2'" in p for p in problems)
    (tmp_path / "utils" / "__init__.py").write_text("VERSION = 1\n")
    with pytest.raises(ValueError, match="__version__"):
        release.course_version(tmp_path)


def test_citation_is_valid_cff():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    jsonschema.validate(citation, json.loads(CFF_SCHEMA.read_text()))
    assert citation["version"] == release.course_version()
    assert set(citation["license"]) == {"CC-BY-4.0", "MIT"}
    cffconvert = shutil.which("cffconvert")
    if cffconvert:
        done = subprocess.run([cffconvert, "--validate", "-i", str(ROOT / "CITATION.cff")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_rejects_a_broken_citation():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    del citation["authors"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(citation, json.loads(CFF_SCHEMA.read_text()))


def test_licenses_are_complete_texts():
    prose = (ROOT / "LICENSE").read_text()
    code = (ROOT / "LICENSE-CODE").read_text()
    assert prose.startswith("Attribution 4.0 International")
    for section in range(1, 9):
        assert f"Section {section}" in prose, f"LICENSE lacks Section {section} of CC BY 4.0"
    assert len(prose.split()) > 2500
    assert code.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in code
    readme = (ROOT / "README.md").read_text()
    assert "CC BY 4.0" in readme and "MIT" in readme and "LICENSE-CODE" in readme


def test_footer_and_handouts_name_the_version(tmp_path):
    version = release.course_version()
    assert f"version {version}" in release.footer_html(version)
    with pytest.raises(TypeError):
        release.footer_html(1.0)
    target = _write_zip(tmp_path / "lab.zip", "lab", {}, "one lab", {})
    with zipfile.ZipFile(target) as archive:
        readme = archive.read("lab/README.md").decode()
    assert f"version {version} of the Science of Deep Learning" in readme


def test_the_built_book_shows_the_version(book):
    assert book.returncode == 0, book.log[-3000:]
    page = (book.html / "intro.html").read_text()
    assert f"Science of Deep Learning, version {release.course_version()}" in page
    assert "CC BY 4.0" in page and "MIT license" in page


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_release_refuses_a_dirty_tree_and_packs_a_clean_one(tmp_path):
    repo = tmp_path / "repo"
    (repo / "utils").mkdir(parents=True)
    (repo / "utils" / "__init__.py").write_text('__version__ = "2.0.0"\n')
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    release.check_clean_tree(repo)
    (repo / "stray.txt").write_text("not committed")
    with pytest.raises(release.ReleaseError, match="stray.txt"):
        release.check_clean_tree(repo)
    html, student, pdf = tmp_path / "html", tmp_path / "student", tmp_path / "book.pdf"
    with pytest.raises(release.ReleaseError, match="make book"):
        release.pack_release(tmp_path / "out", repo, html, student, pdf)
    html.mkdir()
    (html / "index.html").write_text("<p>Science of Deep Learning, version 1.0.0.</p>")
    with pytest.raises(release.ReleaseError, match="does not show version 2.0.0"):
        release.pack_release(tmp_path / "out", repo, html, student, pdf)
    (html / "index.html").write_text("<p>Science of Deep Learning, version 2.0.0.</p>")
    student.mkdir()
    (student / "00_lab.zip").write_bytes(b"zip")
    pdf.write_bytes(b"%PDF")
    out = release.pack_release(tmp_path / "out", repo, html, student, pdf)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["SHA256SUMS", "book.pdf", "handouts/00_lab.zip",
                     "science-of-deep-learning-2.0.0-book-html.zip",
                     "science-of-deep-learning-2.0.0-source.tar.gz"], names
    assert len((out / "SHA256SUMS").read_text().splitlines()) == 4


def test_make_release_checks_before_it_builds():
    recipe = (ROOT / "Makefile").read_text().split("\nrelease:", 1)[1].split("\n\n", 1)[0]
    steps = [line.strip() for line in recipe.splitlines()[1:]]
    assert steps[0].endswith("coursetools.release check"), steps
    assert "test" in steps[1] and steps[-1].endswith("coursetools.release pack _build/release")
