"""Plotting: the course's figure style and a helper for curves with a band over seeds.

The palette is Okabe & Ito's colour-blind-safe set; figures have a white face colour so they
stay readable when the book is shown in dark mode.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from PIL.PngImagePlugin import PngInfo

from ._validation import check_option, check_real

__all__ = ["PALETTE", "use_style", "band", "plot_band", "plot_digit_grid", "figure_content",
           "save_figure", "CONTENT_KEY"]

#: The PNG text chunk in which :func:`save_figure` stores :func:`figure_content`.
CONTENT_KEY = "plotted"

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the course style to every later matplotlib figure (call once per lab).

    Example
    -------
    >>> use_style()
    >>> mpl.rcParams["figure.facecolor"]
    'white'
    """
    mpl.rcParams.update(STYLE)


def band(ys, center: str = "mean", spread: str = "std",
         level: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre line and band of ``ys`` (seeds x points) over the seeds axis.

    Parameters
    ----------
    ys : array, shape (n_seeds, n_points)
    center : {'mean', 'median'}
    spread : {'std', 'quantile', 'range'}
        'std': centre +- one standard deviation; 'quantile': the central ``level`` fraction
        of the seeds (e.g. 10 % to 90 %); 'range': min to max.
    level : float
        For 'quantile', in (0, 1).

    Example
    -------
    >>> c, lo, hi = band([[0.0, 1.0], [2.0, 3.0]])
    >>> c.tolist(), lo.tolist(), hi.tolist()
    ([1.0, 2.0], [0.0, 1.0], [2.0, 3.0])
    """
    ys = np.asarray(ys, dtype=float)
    if ys.ndim != 2 or ys.shape[0] == 0:
        raise ValueError(f"ys must be 2-D (seeds x points), got shape {ys.shape}")
    check_option("center", center, ("mean", "median"))
    check_option("spread", spread, ("std", "quantile", "range"))
    level = check_real("level", level, 0.0, 1.0, low_open=True, high_open=True)
    mid = ys.mean(axis=0) if center == "mean" else np.median(ys, axis=0)
    if spread == "std":
        sd = ys.std(axis=0)
        return mid, mid - sd, mid + sd
    if spread == "range":
        return mid, ys.min(axis=0), ys.max(axis=0)
    q = (1 - level) / 2
    return mid, np.quantile(ys, q, axis=0), np.quantile(ys, 1 - q, axis=0)


def plot_band(ax, x, ys, label: str | None = None, color: str | None = None,
              center: str = "mean", spread: str = "std", level: float = 0.8, **line_kwargs):
    """Draw the centre of ``ys`` over seeds as a line and its spread as a shaded band.

    ``center``, ``spread`` and ``level`` are as for :func:`band`. Returns the line, so a
    caller can reuse its colour.

    Example
    -------
    >>> fig, ax = plt.subplots()
    >>> line = plot_band(ax, [1, 2, 3], [[1, 2, 3], [2, 3, 4]], label="loss")
    >>> line.get_label()
    'loss'
    >>> plt.close(fig)
    """
    if not hasattr(ax, "fill_between"):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got "
                        f"{type(ax).__name__}")
    x = np.asarray(x)
    mid, lo, hi = band(ys, center=center, spread=spread, level=level)
    if x.shape != mid.shape:
        raise ValueError(f"x must have one value per point, shape {mid.shape}, got {x.shape}")
    (line,) = ax.plot(x, mid, label=label, color=color, **line_kwargs)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def plot_digit_grid(images, titles=None, ncols: int = 8, size: float = 1.0):
    """Show 8x8 digit images (rows of 64 pixels, or n x 8 x 8) in a grid; return the Figure.

    Example
    -------
    >>> fig = plot_digit_grid(np.zeros((3, 64)), titles=["a", "b", "c"], ncols=3)
    >>> len(fig.axes)
    3
    >>> plt.close(fig)
    """
    images = np.asarray(images, dtype=float)
    if images.ndim == 2 and images.shape[1] == 64:
        images = images.reshape(-1, 8, 8)
    if images.ndim != 3 or images.shape[1:] != (8, 8) or images.shape[0] == 0:
        raise ValueError(f"images must be n x 64 or n x 8 x 8 with n >= 1, got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got "
                         f"{len(titles)}")
    if isinstance(ncols, bool) or not isinstance(ncols, int):
        raise TypeError(f"ncols must be a positive integer, got {ncols!r}")
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 1.25 * nrows),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(images):
            ax.remove()
            continue
        ax.imshow(images[k], cmap="gray_r", vmin=0)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    return fig


def _numbers(values) -> list:
    """Numbers as a nested list, six significant digits, NaN and masked entries as None.

    Values that are not numbers (category names on an axis) are kept as strings.
    """
    try:
        array = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    except (TypeError, ValueError):
        return [str(v) for v in np.ravel(np.asarray(values, dtype=object))]
    rounded = [float(f"{v:.6g}") if np.isfinite(v) else None for v in array.ravel()]
    return np.array(rounded, dtype=object).reshape(array.shape).tolist()


def _xy(points) -> dict:
    """Points of shape (n, 2) as their x and y coordinates."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return {"x": _numbers(points[:, 0]), "y": _numbers(points[:, 1])}


def _texts(artists) -> list[str]:
    return [t.get_text() for t in artists if t.get_text()]


def figure_content(fig) -> dict:
    """What a figure shows, as texts and numbers: its titles, labels, legends and plotted data.

    Per axes: the titles, axis labels and limits, the legend's entries, free texts, and the
    data of every line, collection (scatter points, filled areas: their path vertices), bar
    or patch (its bounding box) and image. Two figures with the same content look the same
    up to rendering, so a test can compare the content within a tolerance where the pixels of
    a curve drawn from training move with another CPU's rounding.

    Example
    -------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [2, 3], label="a"); _ = ax.set_title("t"); _ = ax.legend()
    >>> content = figure_content(fig); plt.close(fig)
    >>> content["axes"][0]["title"], content["axes"][0]["lines"], content["axes"][0]["legend"]
    ('t', [{'x': [0.0, 1.0], 'y': [2.0, 3.0]}], ['a'])
    """
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        axes.append({
            "title": " | ".join(filter(None, (ax.get_title(loc) for loc in
                                              ("left", "center", "right")))),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xlim": _numbers(ax.get_xlim()), "ylim": _numbers(ax.get_ylim()),
            "legend": _texts(legend.get_texts()) if legend else [],
            "texts": _texts(ax.texts),
            "lines": [{"x": _numbers(line.get_xdata()), "y": _numbers(line.get_ydata())}
                      for line in ax.lines],
            "collections": [{"offsets": _xy(c.get_offsets()),
                             "paths": [_xy(path.vertices) for path in c.get_paths()]}
                            for c in ax.collections],
            "patches": [_xy(patch.get_patch_transform().transform(patch.get_path().vertices))
                        for patch in ax.patches],
            "images": [_numbers(image.get_array()) for image in ax.images],
        })
    return {"texts": _texts(fig.texts) + ([fig._suptitle.get_text()] if fig._suptitle else []),
            "axes": axes}


def save_figure(fig, path, **savefig_kwargs) -> Path:
    """Write ``fig`` to ``path``, close it (so it is not shown twice) and return the path.

    The chapters' figure scripts end every figure this way. ``savefig_kwargs`` go to
    :meth:`matplotlib.figure.Figure.savefig` (e.g. ``bbox_inches="tight"``). A PNG also
    carries :func:`figure_content` as JSON in its text chunk :data:`CONTENT_KEY`, so that a
    test can tell a figure whose data moved by another CPU's rounding from a changed one.

    Example
    -------
    >>> import tempfile
    >>> from PIL import Image
    >>> fig, ax = plt.subplots()
    >>> path = save_figure(fig, Path(tempfile.mkdtemp()) / "x.png")
    >>> path.name, json.loads(Image.open(path).text[CONTENT_KEY])["axes"][0]["lines"]
    ('x.png', [])
    """
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name or a Path, got {type(path).__name__}")
    path = Path(path)
    if path.name in ("", ".", "..") or path.is_dir():
        raise ValueError(f"path must name a file, e.g. 'figure.png', got {str(path)!r}")
    if path.suffix.lower() == ".png":
        # Matplotlib would store the content uncompressed (tEXt); a figure of long curves
        # carries hundreds of kB of numbers, so it goes into a compressed zTXt chunk instead.
        info = PngInfo()
        for key, value in (savefig_kwargs.pop("metadata", None) or {}).items():
            info.add_text(key, value)
        info.add_text(CONTENT_KEY, json.dumps(figure_content(fig), separators=(",", ":")),
                      zip=True)
        savefig_kwargs["pil_kwargs"] = {**savefig_kwargs.get("pil_kwargs", {}), "pnginfo": info}
    fig.savefig(path, **savefig_kwargs)
    plt.close(fig)
    return path
