"""The course's grader, one job per module.

========================  ===================================================================
``submission``            reading a submitted file without trusting it
``labs``                  the reference labs, their exercises, which lab a submission is for
``matching``              which cells of a submission answer which exercise
``sandbox``               the bubblewrap sandbox the kernel runs in
``workdir``               the run's private folder, removed whatever its depth
``answer_key``            the answer key: each check's inputs and reference values, cached
``kernel_side``           the recorders sent into the kernel: answers out as plain data
``verdicts``              the strict reader of answers and the comparison with the key
``names``                 the names a cell binds (restored after an exercise)
``runner``                running the graded notebook cell by cell, checks recorded
``grade_one``             grading one submission (:func:`grade`)
``results``               :class:`Report`, :class:`ExerciseResult`, the exit codes
``reports``               the text and JSON reports, atomic writes
``store``                 the durable, locked, resumable grades CSV
``batch``                 grading a folder (:func:`grade_folder`)
``cli``                   the command line, ``python -m coursetools.grader``
========================  ===================================================================

``coursetools.grader`` re-exports the public names; instructors/grading.md is the threat
model (what is prevented and what is not).
"""
from coursetools.grading.batch import grade_folder
from coursetools.grading.cli import main
from coursetools.grading.grade_one import grade
from coursetools.grading.labs import identify_lab
from coursetools.grading.reports import format_text
from coursetools.grading.results import EXIT_CODES, ExerciseResult, Report
from coursetools.grading.submission import NotANotebook, load_submission

__all__ = ["ExerciseResult", "Report", "EXIT_CODES", "NotANotebook", "load_submission",
           "identify_lab", "grade", "grade_folder", "format_text", "main"]
