"""utils.sweeps.sweep on a Dask cluster gives the same table as in this process.

``sweep`` runs through joblib so that a user with a cluster can switch backend without
touching a lab (instructors/running.md shows how). This test does exactly that with a lab's
"going further" sweep (Lab 4, "The gap": the ERM margin of the moons network as the gap
between the moons widens, at a smaller size) on a ``dask.distributed.LocalCluster`` of two
worker PROCESSES, not threads: a real cluster runs the lab's function in other Python
processes, so the function and its results must survive pickling and the workers must import
``utils`` on their own; threads would share this process and test neither.
"""
from __future__ import annotations

import logging
import os

import pytest

distributed = pytest.importorskip(
    "dask.distributed",
    reason="dask.distributed is not installed; it is pinned in requirements.txt "
           "(dask, distributed): run `make setup` or `pip install -r requirements.txt`")
joblib = pytest.importorskip("joblib")
pd = pytest.importorskip("pandas")

from utils.sweeps import sweep  # noqa: E402

GRID = {"gap": [0.1, 0.3, 0.6]}
SEEDS = [0, 1]


def gap_run(gap: float, seed: int) -> dict:
    """Lab 4's moons network (smaller and shorter), trained by ERM on moons with this gap."""
    from utils.data import to_tensors, two_moons_with_gap
    from utils.models import mlp
    from utils.reproducibility import seed_everything
    from utils.starvation import margin
    from utils.training import train

    gen = seed_everything(seed).torch
    X, y = two_moons_with_gap(100, gap=gap, noise=0.05, rng=seed)
    net = mlp(2, [32], 1, init="default", generator=gen)
    history = train(net, *to_tensors(X, y), loss="logistic", lr=0.05, momentum=0.9,
                    epochs=60, generator=gen)
    return {"train_acc": history.final["train_acc"], "margin": margin(net, X, y),
            "pid": os.getpid()}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_a_lab_sweep_on_a_dask_cluster_gives_the_same_table(client):
    # By value, so the workers need not import this test module (they import utils).
    import cloudpickle
    cloudpickle.register_pickle_by_value(__import__(__name__))
    try:
        with joblib.parallel_config(backend="dask"):
            on_cluster = sweep(gap_run, GRID, seeds=SEEDS, n_jobs=-1)
    finally:
        cloudpickle.unregister_pickle_by_value(__import__(__name__))
    here = sweep(gap_run, GRID, seeds=SEEDS, n_jobs=1)

    worker_pids = set(client.run(os.getpid).values())
    assert len(worker_pids) == 2
    assert set(on_cluster["pid"]) <= worker_pids  # every call ran on a worker...
    assert set(here["pid"]) == {os.getpid()}      # ...and the reference ran here
    assert list(on_cluster.columns) == ["gap", "seed", "train_acc", "margin", "pid"]
    # Same settings, seeds, order and results; the numbers may differ only by float rounding
    # (the workers run the same code single-threaded on the same machine).
    pd.testing.assert_frame_equal(on_cluster.drop(columns="pid"), here.drop(columns="pid"),
                                  check_exact=False, rtol=1e-6)
    # The sweep measured something: the networks fit their moons.
    assert (here["train_acc"] == 1.0).mean() >= 0.5
