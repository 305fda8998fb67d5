"""Which cells of a submission answer which exercise of the reference lab.

A code cell answers an exercise when it opens with the exercise's header line
(``# Exercise N: ...``). A cell still tagged ``exercise``/``solution`` whose header was renamed
stands in for a missing exercise: by position when as many are left as are missing, else by
resemblance of its first line (the first 200 characters, so that matching stays fast).

Example
-------
>>> from coursetools.notebooks import REPO_ROOT
>>> from coursetools.grading.labs import load_labs
>>> from coursetools.grading.submission import load_submission
>>> path = REPO_ROOT / "labs" / "00_first_experiment.ipynb"
>>> cells = student_cells(load_submission(path), load_labs(path)[0], [])
>>> [len(sources) for sources in cells.values()]
[1, 1, 1]
"""
from __future__ import annotations

import difflib

from coursetools.grading.labs import Lab, first_line, label_of
from coursetools.grading.results import clip
from coursetools.grading.submission import Submission

__all__ = ["student_cells", "GUARD"]

# Cells the grader adds: re-bind the checks' names, in case an exercise cell rebound them.
GUARD = "from utils.checks import *  # grader: the checks as the lab imports them"
_COMPARED_CHARS = 200  # of a renamed header, for the resemblance (difflib is quadratic)


def student_cells(submission: Submission, lab: Lab, notes: list[str]) -> dict[str, list[str]]:
    """Exercise label -> the sources of the submission's cells for it, in order.

    Notes about renamed headers, repeated exercises and edited cells outside the exercises
    are appended to ``notes``.
    """
    code = [(i, c) for i, c in enumerate(submission.cells) if c.cell_type == "code"]
    by_label: dict[str, list[str]] = {ex.label: [] for ex in lab.exercises}
    used: set[int] = set()
    for i, cell in code:
        found = label_of(cell.source)
        if found and found[0] in by_label:
            by_label[found[0]].append(cell.source)
            used.add(i)
    unmatched = [ex.label for ex in lab.exercises if not by_label[ex.label]]
    tagged = [(i, c) for i, c in code if i not in used
              and {"exercise", "solution"} & set(c.tags) and not label_of(c.source)]
    headers = {ex.label: ex.header[:_COMPARED_CHARS] for ex in lab.exercises}
    if unmatched and len(tagged) == len(unmatched):  # as many as are missing: by position
        pairs = list(zip(unmatched, tagged))
    else:  # otherwise by resemblance of the first line to the header it replaces
        pairs = []
        for i, cell in tagged:
            first = first_line(cell.source)[:_COMPARED_CHARS]
            left = [label for label in unmatched if label not in dict(pairs)]
            ratios = {label: difflib.SequenceMatcher(None, first, headers[label]).ratio()
                      for label in left}
            if ratios and max(ratios.values()) >= 0.5:
                pairs.append((max(ratios, key=ratios.get), (i, cell)))
    for label, (i, cell) in pairs:
        by_label[label].append(cell.source)
        used.add(i)
        notes.append(f"{label}: its header line was changed (now "
                     f"{clip(first_line(cell.source), 80)!r}); the cell tagged as an exercise "
                     "in its place was graded as it")
    for label, sources in by_label.items():
        if len(sources) > 1:
            notes.append(f"{label}: {len(sources)} cells start with its header; they ran "
                         "one after the other, in the submission's order")
    reference = {c.source.strip() for c in lab.nb.cells if c.cell_type == "code"}
    other = [i for i, c in code if i not in used and c.source.strip()
             and c.source.strip() not in reference and c.source.strip() != GUARD]
    if other:
        notes.append(f"{len(other)} code cell(s) outside the exercises differ from the lab "
                     "(added or edited); the grader runs the lab's own cells there, so only "
                     "code inside exercise cells counts")
    return by_label
