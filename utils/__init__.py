"""Shared toolkit of the Science of Deep Learning course.

Every lab imports what it needs from the small modules below, each named by what it holds:

- :mod:`utils.reproducibility`: one call that seeds everything and returns the generators;
- :mod:`utils.data`: digits splits, label noise and the synthetic data sets of the chapters;
- :mod:`utils.models`: an MLP builder;
- :mod:`utils.engine`: the training configuration, checked once, that both loops share;
- :mod:`utils.training`: the loop for one network, with evaluation helpers;
- :mod:`utils.ensembles`: the loop for many small MLPs of one depth as one batched
  computation, on :mod:`utils.stack_plan` (grouping by width), :mod:`utils.stack` (stacked
  parameters), :mod:`utils.stack_losses` and :mod:`utils.stack_optim` (their optimizers);
- :mod:`utils.sweeps`: run a function over a grid of settings and seeds (joblib), tidy table out;
- :mod:`utils.learning_order`: when each example is learned, and how orders agree;
- :mod:`utils.plotting`: the course's figure style and a curve-with-band helper;
- :mod:`utils.checks`: compare a student's answer with the reference, in plain words;
- :mod:`utils.interactive` and :mod:`utils.progress`: sliders with a static default view, and
  progress bars that are saved in their final state;
- one module per chapter: :mod:`utils.linear` (double descent), :mod:`utils.bounds`
  (generalization bounds), :mod:`utils.pruning` (lottery tickets), :mod:`utils.starvation`
  (gradient starvation), :mod:`utils.offense_defense` (offense-defense scaling) and
  :mod:`utils.grokking` (grokking);

The course tooling (student versions, re-execution, benchmarks, grading, handouts) is not
part of this toolkit: it lives in the :mod:`coursetools` package beside it.

Example
-------
>>> from utils.reproducibility import seed_everything
>>> gens = seed_everything(0)
>>> round(float(gens.numpy.random()), 4)
0.637
"""

__version__ = "0.1.0"
