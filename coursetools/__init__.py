"""Course tooling, used by the Makefile and the tests, never imported by a lab.

Kept apart from :mod:`utils` (the toolkit the labs import) so that a student's handout ships
``utils/`` whole and a reader can tell the two apart:

- :mod:`coursetools.notebooks`: reading labs, student versions, re-execution, other seeds;
- :mod:`coursetools.bench`: each lab's wall time and peak memory;
- :mod:`coursetools.grader`: grading student submissions against the reference lab, the
  public face of :mod:`coursetools.grading` (one module per job: reading, matching, the
  bubblewrap sandbox, the tamper probe, running, reports, the CSV store, the CLI);
- :mod:`coursetools.nbgrader_export`: the labs as an nbgrader course (``make nbgrader``);
- :mod:`coursetools.handouts`: the per-lab zip files, and the Sphinx hook that ships them;
- :mod:`coursetools.book`: the Sphinx hook that folds each lab's solutions behind a toggle;
- :mod:`coursetools.nbval_numbers`: the pytest plugin that compares the labs' stored numbers
  within the course's stated tolerance;
- :mod:`coursetools.release`: the course's one version number, the footer that shows it with
  the licenses, and ``make release``;
- :mod:`coursetools.pdf`: the whole book printed to one PDF (``make pdf``);
- :mod:`coursetools.colab`: the Colab launch button and install cell, from one repository
  address (``make colab``);
- :mod:`coursetools.compat`: every lab's claims with the newest and the lowest declared
  dependencies (``make compat``).
"""
