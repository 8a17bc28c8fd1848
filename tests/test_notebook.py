"""In a real notebook kernel (started by nbclient inside the test): ``verbose=1`` is ONE output
that updates in place, and estimators show themselves as HTML."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel")

ROOT = Path(__file__).resolve().parents[1]

FIT = """\
import crash_core as cc
X, y = cc.datasets.moons(n=200, noise=0.1, random_state=0)
model = cc.MLPClassifier(hidden_layers=(8,), epochs=25, verbose=1, random_state=0)
model.fit(X, y);
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running: a verbose fit, then the model as the cell's value."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(FIT),
        nbformat.v4.new_code_cell("model"),
        nbformat.v4.new_code_cell(
            "cc.LogisticRegression(epochs=6, tol=0.0, verbose=1).fit(X, y);"
        ),
        nbformat.v4.new_code_cell("cc.Perceptron(epochs=7, verbose=1, random_state=0).fit(X, y);"),
    ]
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), old]))
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=120, kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}},
        )
        client.execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    return notebook


def test_verbose_fit_is_one_updating_output(executed):
    outputs = executed.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    text = outputs[0].data["text/plain"]
    # the one output holds the LAST epoch's line: it was updated 24 times in place
    assert text.startswith("epoch 25/25  loss ") and "\n" not in text


@pytest.mark.parametrize("cell, last", [(2, "epoch 6/6  loss "), (3, "epoch ")])
def test_linear_models_progress_is_one_output_too(executed, cell, last):
    outputs = executed.cells[cell].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    assert outputs[0].data["text/plain"].startswith(last)


def test_estimators_show_as_html(executed):
    (result,) = executed.cells[1].outputs
    html = result.data["text/html"]
    assert "MLPClassifier" in html and "(fitted)" in html
    assert "<b>8</b>" not in html  # hidden_layers is a tuple: shown as (8,)
    assert "hidden_layers" in html and "<b>(8,)</b>" in html and "2 → 8 → 1" in html
