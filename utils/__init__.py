"""Shared toolkit of the Science of Deep Learning course.

Every lab imports what it needs from the small modules below, each named by what it holds:

- :mod:`utils.reproducibility`: one call that seeds everything and returns the generators;
- :mod:`utils.data`: digits splits, label noise and the synthetic data sets of the chapters;
- :mod:`utils.models`: an MLP builder;
- :mod:`utils.training`: one training loop, with evaluation helpers;
- :mod:`utils.sweeps`: run a function over a grid of settings and seeds (joblib), tidy table out;
- :mod:`utils.learning_order`: when each example is learned, and how orders agree;
- :mod:`utils.plotting`: the course's figure style and a curve-with-band helper;
- :mod:`utils.checks`: compare a student's answer with the reference, in plain words;
- :mod:`utils.notebooks` and :mod:`utils.bench`: course tooling (student versions, re-execution,
  benchmarks), used by the Makefile rather than by the labs.

Example
-------
>>> from utils.reproducibility import seed_everything
>>> gens = seed_everything(0)
>>> round(float(gens.numpy.random()), 4)
0.637
"""

__version__ = "0.1.0"
