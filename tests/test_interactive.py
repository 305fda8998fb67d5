import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from utils.interactive import interactive_figure  # noqa: E402


def test_static_view_first_then_redraw_on_change():
    calls = []

    def draw(k, name):
        calls.append((k, name))
        fig, ax = plt.subplots()
        ax.plot(range(k))
        return fig

    k = widgets.IntSlider(value=3, min=1, max=9)
    name = widgets.Dropdown(options=["a", "b"], value="a")
    assert interactive_figure(draw, k=k, name=name) is None   # no result, so no extra output
    assert calls == [(3, "a")]          # drawn once, with the defaults, as a plain output
    k.value = 5
    name.value = "b"
    assert calls == [(3, "a"), (5, "a"), (5, "b")]


def test_controls_and_figure_are_displayed(capsys):
    def draw(k, sigma):
        fig, ax = plt.subplots()
        return fig

    interactive_figure(draw, k=widgets.IntSlider(value=2, description="k"), sigma=widgets.FloatSlider())
    shown = capsys.readouterr().out     # outside IPython, display() prints the reprs
    assert "[Interactive controls: k, sigma." in shown and "Figure(" in shown


def test_controls_say_what_they_are_where_no_kernel_runs():
    from utils.interactive import _Controls
    box = _Controls([widgets.IntSlider(description="width")])
    bundle = box._repr_mimebundle_()
    # Jupyter renders the widget view; the book and other kernel-less clients read the text.
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("[Interactive controls: width.")


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one control"):
        interactive_figure(lambda: None)
    with pytest.raises(TypeError, match="value widget"):
        interactive_figure(lambda k: None, k=3)
    with pytest.raises(TypeError, match="draw must be a function"):
        interactive_figure("draw", k=widgets.IntSlider())
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        interactive_figure(lambda k: 1, k=widgets.IntSlider())
