"""Grade submitted student notebooks: run each exercise against the lab's own checks.

The grader takes a student's notebook (the student version of a lab, with their code in the
exercise cells) and the reference lab from ``labs/``, and builds a *graded notebook*: the
reference lab, cell for cell, with each ``solution`` cell replaced by the student's cell(s) for
that exercise. The reference ``check`` cells follow each exercise, so a check that the
student deleted or edited is graded as the lab wrote it; every other cell (parameters, data,
training, claims) is the reference's, so changes a student made outside the exercise cells
do not count. The graded notebook runs top to bottom in a fresh kernel, with a time limit,
**inside a bubblewrap sandbox** (read-only course and environment, no ``labs/``, no network,
its own PID namespace, a private working folder); the submitted file is never opened for
writing. **No verdict is made in the kernel**: before each check cell the checks are replaced by
recorders that call the student's code on the inputs of an answer key (made from the reference
lab in another process) and write what it returned as plain data; the grader compares that
with the key in its own process. Whatever the student's code changes in its kernel, it can
only change its own answers.

Each exercise gets one of these outcomes:

``passed``
    the student's cell ran and every answer it gave the checks agrees with the key;
``failed``
    an answer differs from the key (the message says how, with the failing case's inputs), is
    not plain data, is missing, or the student's cell raised an error;
``not attempted``
    the cell still raises ``NotImplementedError`` (the stub of the student version);
``missing``
    no code cell of the submission starts with the exercise's ``# Exercise N:`` header line
    (it was deleted, or its header renamed) and no tagged cell stands in for it;
``not run``
    the run stopped (time limit, dead kernel) before the exercise.

When an exercise does not pass, the reference solution runs right after its checks, so that
later exercises and the claims are graded on their own. The lab's ``claims`` cell runs last.

The code lives in :mod:`coursetools.grading`, one job per module; this module is the public
face and the command line. The threat model (what is prevented, what is detected, what is
not) is in ``instructors/grading.md``.

Command line (exit status in ``--help``)::

    python -m coursetools.grader submission.ipynb                 # text report, JSON in _build/grades
    python -m coursetools.grader submission.ipynb --lab labs/00_first_experiment.ipynb
    python -m coursetools.grader --dir submissions/ --csv grades.csv   # a folder into one CSV

Exit status of a single grading: 0 every exercise passed and the claims hold; 1 graded, but
some exercise did not pass or the claims failed; 2 bad command-line arguments, or no sandbox
(install bubblewrap, or pass ``--no-sandbox``); 3 the run stopped early (time limit or dead
kernel); 4 the file cannot be graded (not a notebook, a link, or not for the lab); 5 an error
inside the grader itself. Batch mode exits 0 once every row is in the CSV (each
row holds its own exit status), 2 on bad arguments, 130 when interrupted (rows kept).

Example
-------
>>> report = grade("submissions/alice.ipynb")  # doctest: +SKIP
>>> print(format_text(report))  # doctest: +SKIP
"""
from __future__ import annotations

import sys

from coursetools.grading import (EXIT_CODES, ExerciseResult, NotANotebook, Report,
                                 format_text, grade, grade_folder, identify_lab,
                                 load_submission, main)

__all__ = ["ExerciseResult", "Report", "EXIT_CODES", "NotANotebook", "load_submission",
           "identify_lab", "grade", "grade_folder", "format_text", "main"]

if __name__ == "__main__":
    sys.exit(main())
