"""The nbgrader export, checked by the real nbgrader (pinned in requirements.txt).

One lab (Lab 5, the cheapest) is exported; nbgrader's own ``generate_assignment`` must produce
a student version with no solution left, and its ``autograde`` must give the reference
solutions full points and the blank student version zero. nbgrader runs in-process through
its Python API (``NbGraderAPI``), which saves two interpreter start-ups.
"""
from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import nbformat
import pytest

from coursetools.nbgrader_export import POINTS_PER_CHECK, export_course, nbgrader_notebook
from coursetools.notebooks import REPO_ROOT, cells_tagged, read_notebook

LAB = REPO_ROOT / "labs" / "05_offense_defense.ipynb"
nbgrader = pytest.importorskip("nbgrader", reason="nbgrader is not installed (requirements.txt "
                                                  "pins it): make setup")


def test_source_notebook_marks_solutions_checks_and_read_only_cells():
    lab = read_notebook(LAB)
    nb = nbgrader_notebook(lab)
    kinds = {"solution": 0, "test": 0, "readonly": 0}
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells]
    assert len(set(ids)) == len(ids), "nbgrader needs a unique grade_id per cell"
    for ref, cell in zip(lab.cells, nb.cells):
        meta = cell.metadata["nbgrader"]
        tags = ref.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            kinds["solution"] += 1
            assert meta["solution"] and not meta["locked"] and not meta["grade"]
            assert "### BEGIN SOLUTION" in cell.source and cell.source.startswith("# Exercise")
        elif "check" in tags:
            kinds["test"] += 1
            assert meta["grade"] and meta["locked"] and meta["points"] == POINTS_PER_CHECK
            assert cell.source == ref.source
        else:
            kinds["readonly"] += 1
            assert meta["locked"] and not meta["grade"] and not meta["solution"]
    assert kinds["solution"] == len(cells_tagged(lab, "solution")) == 3
    assert kinds["test"] == len(cells_tagged(lab, "check"))
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_real_nbgrader_generates_the_assignment_and_autogrades(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    course = tmp_path / "course"
    export_course([LAB], course)
    assert (course / "nbgrader_config.py").exists()
    assert (course / "source" / LAB.stem / "utils" / "checks.py").exists()
    # nbgrader calls `alembic` (its database migrations) by name: the environment's bin first
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep +
                       os.environ.get("PATH", ""))
    monkeypatch.chdir(course)
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.ExecutePreprocessor.timeout = 300
    api = NbGraderAPI(CourseDirectory(config=config), config=config)

    result = api.generate_assignment(LAB.stem)
    assert result["success"], str(result.get("log", "")) + str(result.get("error", ""))
    release = read_notebook(course / "release" / LAB.stem / LAB.name)
    text = nbformat.writes(release)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for _, cell in cells_tagged(read_notebook(LAB), "solution"):
        body = [line for line in cell.source.splitlines() if line.strip()
                and not line.lstrip().startswith("#")]
        assert not any(line in text for line in body if len(line.strip()) > 12), \
            "a line of a reference solution is left in the student version"

    # Two submissions: the release filled in with the reference solutions, and left blank.
    source = read_notebook(course / "source" / LAB.stem / LAB.name)
    solved = copy.deepcopy(release)
    for cell, ref in zip(solved.cells, source.cells):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = ref.source.replace("### BEGIN SOLUTION\n", "").replace(
                "\n### END SOLUTION", "")
    for student, nb in [("reference", solved), ("blank", release)]:
        folder = course / "submitted" / student / LAB.stem
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / LAB.name)
        result = api.autograde(LAB.stem, student)
        assert result["success"], str(result.get("log", "")) + str(result.get("error", ""))
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        full = gradebook.find_submission(LAB.stem, "reference")
        blank = gradebook.find_submission(LAB.stem, "blank")
        checks = len(cells_tagged(read_notebook(LAB), "check"))
        assert full.max_score == POINTS_PER_CHECK * checks > 0
        assert full.score == full.max_score
        assert blank.score == 0
