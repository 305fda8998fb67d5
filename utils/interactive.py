"""Interactive figures that also work where no kernel runs (the rendered book, nbval).

:func:`interactive_figure` shows the figure for the default values as an ordinary output
and updates that same output in place when a control moves. Because the first figure is a
plain output (not drawn inside an ``Output`` widget, as ``ipywidgets.interact`` does), the
rendered book shows it, and every client -- Jupyter, nbclient, nbval -- records the same
outputs for the cell, so the notebook's stored outputs can be checked.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import DisplayHandle, display

__all__ = ["interactive_figure"]


class _Controls(widgets.VBox):
    """The controls of an interactive figure, with a plain-text view that says what they are.

    Jupyter draws the sliders; a client without a kernel (the rendered book, a diff of the
    notebook) shows the text instead of a dead widget or a widget's ``repr``.
    """

    def __repr__(self) -> str:
        names = ", ".join(getattr(child, "description", "") or "?" for child in self.children)
        return (f"[Interactive controls: {names}. They move in a running notebook; "
                "the figure below is drawn at their default values.]")

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


def interactive_figure(draw: Callable[..., "plt.Figure"], **controls: widgets.ValueWidget) -> None:
    """Display ``controls`` and the figure ``draw(**values)``, redrawn when a value changes.

    Parameters
    ----------
    draw : callable
        Takes one keyword argument per control and returns a matplotlib Figure.
    **controls : ipywidgets value widgets
        E.g. ``sigma=ipywidgets.FloatSlider(value=0.5, min=0, max=2)``; each widget's
        initial value is the default drawn in the static view.

    Returns
    -------
    None
        Nothing, on purpose: a returned value would add an output that depends on how the
        cell ends (a trailing ``;`` is honoured by Jupyter but not by every client).

    Example
    -------
    >>> def draw(k):
    ...     fig, ax = plt.subplots(); ax.plot(range(k)); return fig
    >>> k = widgets.IntSlider(value=3, min=1, max=9, description="k")
    >>> interactive_figure(draw, k=k)  # doctest: +ELLIPSIS
    [Interactive controls: k. They move in a running notebook; the figure below is drawn at their default values.]
    Figure(...)
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function returning a Figure, got {type(draw).__name__}")
    if not controls:
        raise ValueError("give at least one control, e.g. k=ipywidgets.IntSlider(value=3)")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets value widget (a slider, "
                             f"dropdown, ...), got {type(control).__name__}")

    def render():
        fig = draw(**{name: c.value for name, c in controls.items()})
        if not isinstance(fig, plt.Figure):
            raise TypeError(f"draw must return a matplotlib Figure, got {type(fig).__name__}")
        plt.close(fig)  # shown through the display handle only, never twice
        return fig

    for name, control in controls.items():
        control.description = control.description or name
    box = _Controls(list(controls.values()))
    display(box)
    # Outside IPython (a plain script) display() prints and returns None; updates then print too.
    handle = display(render(), display_id=True) or DisplayHandle()

    def on_change(_change):
        handle.update(render())

    for control in controls.values():
        control.observe(on_change, names="value")
