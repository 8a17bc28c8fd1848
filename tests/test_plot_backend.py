"""Plotting never changes the matplotlib backend the user (or the notebook) chose."""

import sys
from pathlib import Path

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402

import crash_core as cc  # noqa: E402

BACKEND = "module://crash_core_test_backend"


@pytest.fixture
def own_backend(tmp_path, monkeypatch):
    """A backend of the user's own, with no display around (as in a notebook server)."""
    (tmp_path / "crash_core_test_backend.py").write_text(
        "from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    before = mpl.get_backend()
    plt.switch_backend(BACKEND)
    yield
    plt.close("all")
    plt.switch_backend(before)


def test_every_figure_keeps_the_users_backend(own_backend, tmp_path):
    X, y = cc.datasets.moons(n=40, random_state=0)
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=3, random_state=0).fit(X, y)
    figures = [
        cc.plot.decision_boundary(model, X, y),
        cc.plot.perceptron_update(X, y, np.array([1.0, 1.0]), 0.0, point=0),
        cc.plot.activation_functions(),
        cc.plot.softmax_scores([1.0, 2.0]),
        cc.plot.cross_entropy_cases([0.8, 0.7, 0.1]),
        cc.plot.combined_models(([1.0, 0.0], 0.0), ([0.0, 1.0], 0.0), X=X, y=y),
        cc.plot.network_diagram(model),
        cc.plot.model_complexity(model.history_),
        cc.plot.compare_histories({"a": model}),
        cc.plot.weight_histogram({"a": model}),
        cc.plot.learning_curves(model.history_),
    ]
    cc.plot.animate_training(cc.Perceptron(random_state=0), X, y, tmp_path / "p.gif", max_frames=2)
    assert mpl.get_backend() == BACKEND
    # the figures are the user's to show: they live on the user's backend's canvas
    assert all(
        type(getattr(f, "figure", f).canvas).__module__.endswith("backend_agg") for f in figures
    )


def test_a_notebooks_inline_backend_stays_in_place(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib_inline")
    root = str(Path(cc.__file__).resolve().parent.parent)
    cells = [
        f"import sys; sys.path.insert(0, {root!r})",
        "%matplotlib inline",
        "import matplotlib; print(matplotlib.get_backend())",
        "import matplotlib, crash_core as cc\n"
        "X, y = cc.datasets.moons(n=50, random_state=0)\n"
        "model = cc.LogisticRegression(random_state=0).fit(X, y)\n"
        "ax = cc.plot.decision_boundary(model, X, y)",
        "print(matplotlib.get_backend())",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    before, after = (nb.cells[i].outputs[0]["text"].strip() for i in (2, 4))
    assert "inline" in before and after == before
    shown = [o for o in nb.cells[3].outputs if o.get("output_type") == "display_data"]
    assert shown and "image/png" in shown[0]["data"]  # the figure appeared inline
    assert sys.modules.get("matplotlib") is mpl  # nothing above touched this process
