"""Course tooling, used by the Makefile and the tests, never imported by a lab.

Kept apart from :mod:`utils` (the toolkit the labs import) so that a student's handout ships
``utils/`` whole and a reader can tell the two apart:

- :mod:`coursetools.notebooks`: reading labs, student versions, re-execution, other seeds;
- :mod:`coursetools.bench`: each lab's wall time and peak memory;
- :mod:`coursetools.grader`: grading student submissions against the reference lab;
- :mod:`coursetools.handouts`: the per-lab zip files, and the Sphinx hook that ships them.
"""
