import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.plotting import PALETTE, band, plot_band, plot_digit_grid, save_figure, use_style  # noqa: E402


def test_use_style_sets_white_faces_and_the_palette():
    use_style()
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    assert matplotlib.rcParams["savefig.facecolor"] == "white"
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in colors] == [c.lower() for c in PALETTE]


def test_band_against_numpy():
    ys = np.random.default_rng(0).normal(size=(7, 5))
    mid, lo, hi = band(ys)
    assert np.allclose(mid, ys.mean(0)) and np.allclose(hi - mid, ys.std(0))
    mid, lo, hi = band(ys, center="median", spread="quantile", level=0.5)
    assert np.allclose(mid, np.median(ys, 0))
    assert np.allclose(lo, np.quantile(ys, 0.25, 0)) and np.allclose(hi, np.quantile(ys, 0.75, 0))
    _, lo, hi = band(ys, spread="range")
    assert np.allclose(lo, ys.min(0)) and np.allclose(hi, ys.max(0))


@pytest.mark.parametrize("kwargs, match", [({"ys": [1, 2, 3]}, "2-D"),
                                           ({"spread": "iqr"}, "spread must be one of"),
                                           ({"level": 1.0}, r"level must be in \(0, 1\)")])
def test_band_rejects_bad_arguments(kwargs, match):
    args = {"ys": [[1.0, 2.0], [3.0, 4.0]], **kwargs}
    with pytest.raises(ValueError, match=match):
        band(**args)


def test_plot_band_draws_a_line_and_a_band():
    fig, ax = plt.subplots()
    line = plot_band(ax, [0, 1, 2], [[0, 1, 2], [2, 3, 4]], label="x")
    assert np.allclose(line.get_ydata(), [1, 2, 3])
    assert len(ax.collections) == 1   # the shaded band
    with pytest.raises(ValueError, match="one value per point"):
        plot_band(ax, [0, 1], [[0, 1, 2]])
    plt.close(fig)


def test_plot_band_passes_the_quantile_level_on():
    ys = np.arange(11.0)[:, None] * np.ones((1, 2))      # 11 seeds: 0, 1, ..., 10
    fig, ax = plt.subplots()
    plot_band(ax, [0, 1], ys, spread="quantile", level=0.5)
    band_y = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band_y.min(), 2.5) and np.isclose(band_y.max(), 7.5)   # 25 % to 75 %
    plt.close(fig)


def test_plot_digit_grid_layout_and_errors():
    fig = plot_digit_grid(np.zeros((10, 8, 8)), ncols=4)
    assert len(fig.axes) == 10   # 3 rows of 4, the two unused axes removed
    plt.close(fig)
    with pytest.raises(ValueError, match="n x 64 or n x 8 x 8"):
        plot_digit_grid(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="one entry per image"):
        plot_digit_grid(np.zeros((2, 64)), titles=["a"])
    with pytest.raises(ValueError, match="ncols must be a positive integer"):
        plot_digit_grid(np.zeros((2, 64)), ncols=0)


def test_save_figure_writes_closes_and_returns_the_path(tmp_path):
    fig, ax = plt.subplots()
    path = save_figure(fig, tmp_path / "f.png", dpi=50)
    assert path == tmp_path / "f.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)       # closed: a notebook will not show it twice
    with pytest.raises(TypeError, match="must be a matplotlib Figure"):
        save_figure("not a figure", tmp_path / "g.png")
