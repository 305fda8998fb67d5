"""Progress bars that end up showing where they finished, in Jupyter and in the book.

``tqdm.auto`` draws a widget in Jupyter. A saved notebook keeps, as the widget's plain-text
fallback, the bar as it was when it first appeared ("0%"), and that fallback is what the
rendered book shows. :func:`progress_bar` displays the widget under a display id and, when the
bar closes, updates that same output, so the saved text is the finished bar ("100%").
Outside a notebook it is tqdm's ordinary text bar.
"""
from __future__ import annotations

from typing import Iterable

from tqdm import std

__all__ = ["progress_bar"]


def _in_notebook() -> bool:
    """True inside a Jupyter kernel that can draw widgets."""
    try:
        from IPython import get_ipython
        import ipywidgets  # noqa: F401  (the notebook bar needs it)
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None,
                 desc: str | None = None, disable: bool = False, leave: bool = True) -> std.tqdm:
    """A tqdm progress bar over ``iterable`` whose saved output shows the finished state.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (as for ``tqdm``).
    total : int, optional
        Number of items, when ``iterable`` has no length.
    desc : str, optional
        Label in front of the bar.
    disable : bool, default False
        No bar at all (the iteration still happens).
    leave : bool, default True
        Keep the finished bar on screen.

    Returns
    -------
    tqdm.std.tqdm
        A bar, used like any tqdm bar.

    Example
    -------
    >>> sum(progress_bar(range(5), desc="adding", disable=True))
    10
    """
    if total is not None and not isinstance(total, int):
        raise TypeError(f"total must be a non-negative int or None, got {total!r}")
    if total is not None and total < 0:
        raise ValueError(f"total must be a non-negative int or None, got {total!r}")
    if iterable is not None and not isinstance(iterable, Iterable):
        raise TypeError(f"iterable must be something to loop over (a list, a range, ...), got "
                        f"{type(iterable).__name__}; for a bar of n steps use range(n) or "
                        "total=n")
    if disable or not _in_notebook():
        return std.tqdm(iterable, total=total, desc=desc, disable=disable, leave=leave)
    return _notebook_bar()(iterable, total=total, desc=desc, leave=leave)


def _notebook_bar():
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm

    class NotebookBar(notebook_tqdm):
        """tqdm's widget bar, shown under a display id and refreshed once it closes."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, display=False, **kwargs)
            self._handle = display(self.container, display_id=True)
            self.displayed = True

        def close(self):
            super().close()
            if getattr(self, "_handle", None) is not None:
                self._handle.update(self.container)  # the saved text becomes the final bar
                self._handle = None

    return NotebookBar
