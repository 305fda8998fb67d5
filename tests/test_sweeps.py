import pandas as pd
import pytest

from utils.sweeps import grid_settings, sweep


def square_plus_seed(x, seed):
    return {"y": x * x + seed}


def test_grid_settings_is_the_cartesian_product():
    settings = grid_settings({"a": [1, 2, 3], "b": ["u", "v"]})
    assert len(settings) == 6
    assert settings[0] == {"a": 1, "b": "u"} and settings[-1] == {"a": 3, "b": "v"}


@pytest.mark.parametrize("grid, error, match", [({"a": []}, ValueError, "non-empty list"),
                                                ({"a": "abc"}, TypeError, "non-empty list"),
                                                ([1, 2], TypeError, "dict of name")])
def test_grid_settings_rejects_bad_grids(grid, error, match):
    with pytest.raises(error, match=match):
        grid_settings(grid)


def test_sweep_returns_one_tidy_row_per_setting_and_seed():
    table = sweep(square_plus_seed, {"x": [1, 2, 3]}, seeds=[0, 10])
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["x", "seed", "y"]
    assert len(table) == 6
    assert table.set_index(["x", "seed"]).loc[(3, 10), "y"] == 19


def test_sweep_without_grid_and_scalar_results():
    table = sweep(lambda seed: seed * 2, seeds=[1, 2, 3])
    assert table["value"].tolist() == [2, 4, 6]


def test_parallel_sweep_gives_the_same_table():
    serial = sweep(square_plus_seed, {"x": [1, 2]}, seeds=[0, 1], n_jobs=1)
    parallel = sweep(square_plus_seed, {"x": [1, 2]}, seeds=[0, 1], n_jobs=2, backend="loky")
    pd.testing.assert_frame_equal(serial, parallel)


@pytest.mark.parametrize("kwargs, match", [({"seeds": []}, "at least one seed"),
                                           ({"seeds": [-1]}, "each seed must be at least 0"),
                                           ({"n_jobs": 0}, "n_jobs must be at least 1"),
                                           ({"grid": {"seed": [1]}}, "must not contain 'seed'")])
def test_sweep_rejects_bad_arguments(kwargs, match):
    args = {"grid": {"x": [1]}, **kwargs}
    with pytest.raises(ValueError, match=match):
        sweep(square_plus_seed, **args)


def test_sweep_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be callable"):
        sweep(3)
