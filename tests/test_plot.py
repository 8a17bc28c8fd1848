"""cc.plot: each figure is checked for what it shows (lines, points, labels, legends, titles)."""

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import crash_core as cc  # noqa: E402
from crash_core import functional as F  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def integer_ticks(ax):
    ax.figure.canvas.draw()
    ticks = ax.get_xticks()
    return len(ticks) > 0 and np.allclose(ticks, np.round(ticks))


@pytest.fixture(scope="module")
def admissions():
    return cc.datasets.admissions(n=80, noise=0.0, random_state=0)


def test_decision_boundary_shows_regions_points_legend_and_accuracy(admissions):
    X, y = admissions
    model = cc.Perceptron(random_state=0, epochs=500).fit(X, y)
    ax = cc.plot.decision_boundary(model, X, y, class_names=["rejected", "accepted"])
    assert legend_texts(ax) == ["rejected", "accepted"]
    scatters = [c for c in ax.collections if type(c) is PathCollection]
    assert sum(len(c.get_offsets()) for c in scatters) == len(X)
    accuracy = model.score(X, y)
    assert ax.get_title() == f"Perceptron: accuracy {accuracy:.1%}"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    with pytest.raises(ValueError, match="2 features"):
        cc.plot.decision_boundary(model, np.ones((3, 3)), [0, 1, 0])


def test_perceptron_update_pulls_the_line_toward_a_misclassified_point():
    X = np.array([[1.0, 1.0], [4.0, 5.0], [6.0, 6.0]])
    y = np.array([0, 1, 1])
    w, b = np.array([1.0, 1.0]), -12.0  # predicts 0 for point 1 (4 + 5 - 12 < 0): a mistake
    ax = cc.plot.perceptron_update(X, y, w, b, point=1, learning_rate=0.1)
    new_w, new_b = ax.new_line
    np.testing.assert_allclose(new_w, [1.4, 1.5])
    assert new_b == pytest.approx(-11.9)
    assert new_w @ X[1] + new_b > w @ X[1] + b  # the point's score rose: the line came closer
    assert len(ax.get_lines()) == 2
    assert "pulled toward" in ax.get_title()
    labels = legend_texts(ax)
    assert labels[:2] == ["rejected (0)", "accepted (1)"]
    assert any(t.startswith("before:") for t in labels) and "misclassified point" in labels


def test_activation_functions_draws_each_curve():
    ax = cc.plot.activation_functions()
    lines = {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }
    assert list(lines) == ["step", "sigmoid", "tanh", "relu"]
    z = lines["sigmoid"].get_xdata()
    np.testing.assert_allclose(lines["sigmoid"].get_ydata(), F.sigmoid(z))
    np.testing.assert_allclose(lines["relu"].get_ydata(), np.maximum(z, 0))
    assert set(np.unique(lines["step"].get_ydata())) == {0.0, 1.0}
    assert ax.get_xlabel().startswith("z") and ax.get_ylabel()
    with pytest.raises(ValueError, match="Unknown activation"):
        cc.plot.activation_functions(["swish"])


def test_softmax_scores_bars_are_the_probabilities():
    ax = cc.plot.softmax_scores([2.0, 1.0, 0.1], ["chocolate", "vanilla", "cookie dough"])
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:3], [2.0, 1.0, 0.1])
    np.testing.assert_allclose(heights[3:], F.softmax(np.array([2.0, 1.0, 0.1])))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["chocolate", "vanilla", "cookie dough"]
    assert legend_texts(ax) == ["score Z", "softmax probability"]
    with pytest.raises(ValueError, match="one label per score"):
        cc.plot.softmax_scores([1.0, 2.0], ["a"])


def test_cross_entropy_cases_the_three_doors():
    ax = cc.plot.cross_entropy_cases([0.8, 0.7, 0.1])
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert len(names) == 8 and names[0] == "GGG" and names[-1] == "---"
    case2 = names.index("GG-")
    assert ax.cross_entropies[case2] == pytest.approx(-np.log(0.8) - np.log(0.7) - np.log(0.9))
    probabilities = [p.get_height() for p in ax.patches]
    assert sum(probabilities) == pytest.approx(1.0)
    assert np.argmax(probabilities) == case2 == int(np.argmin(ax.cross_entropies))
    assert len(legend_texts(ax)) == 2


def test_combined_models_with_the_courses_weights():
    fig = cc.plot.combined_models(
        ([-1.0, -1.0], 7.0), ([1.0, -1.0], 0.0), weights=(7, 5), bias=-6, extent=(0, 8, 0, 8)
    )
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 3
    assert panels[2].get_title() == "combined: sigmoid(7 p1 + 5 p2 -6)"
    assert len(fig.axes) == 4  # and a colour bar
    X, y = cc.datasets.moons(n=40, random_state=0)
    fig = cc.plot.combined_models(([1.0, 0.0], 0.0), ([0.0, 1.0], 0.0), X=X, y=y)
    assert all(legend_texts(ax) == ["class 0", "class 1"] for ax in fig.axes[:3])


def test_network_diagram_units_edges_and_dropout():
    net = cc.Network((2, 4, 3, 1), activation="relu", random_state=0)
    ax = cc.plot.network_diagram(net)
    units = [c for c in ax.collections if type(c) is PathCollection]
    assert len(units) == 2 + 4 + 3 + 1
    assert len(ax.get_lines()) == 2 * 4 + 4 * 3 + 3 * 1
    assert ax.get_title() == "a deep neural network 2-4-3-1"
    ax = cc.plot.network_diagram((2, 4, 3, 1), dropped=[[0, 2], [1]])
    red = [c for c in ax.collections if np.allclose(c.get_facecolor()[0], to_rgba("tab:red"))]
    assert len(red) == 3
    assert len(ax.get_lines()) == 2 * 2 + 2 * 2 + 2 * 1
    assert "3 units dropped out" in ax.get_title()


def test_model_complexity_marks_the_best_epoch_from_one():
    history = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2], "val_loss": [1.1, 0.7, 0.5, 0.6, 0.8]}
    ax = cc.plot.model_complexity(history)
    training, validation, best = ax.get_lines()[:3]
    np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3, 4, 5])
    assert list(validation.get_ydata()) == history["val_loss"]
    assert best.get_xdata()[0] == 3
    assert legend_texts(ax) == ["training error", "validation error", "best epoch 3"]
    assert integer_ticks(ax)
    with pytest.raises(ValueError, match="'loss'"):
        cc.plot.model_complexity({"accuracy": [1.0]})


def test_compare_histories_solid_training_dashed_validation():
    runs = {
        "none": {"loss": [0.5, 0.3], "val_loss": [0.6, 0.7]},
        "L2": {"loss": [0.6, 0.4], "val_loss": [0.6, 0.5]},
    }
    ax = cc.plot.compare_histories(runs, title="L2 narrows the gap")
    lines = ax.get_lines()
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
    assert legend_texts(ax) == [
        "none (training)",
        "none (validation)",
        "L2 (training)",
        "L2 (validation)",
    ]
    assert ax.get_title() == "L2 narrows the gap" and integer_ticks(ax)
    with pytest.raises(ValueError, match="no 'accuracy'"):
        cc.plot.compare_histories(runs, key="accuracy")


def test_weight_histogram_one_outline_per_model():
    a = cc.Network((2, 8, 1), random_state=0)
    b = cc.Network((2, 8, 1), random_state=1)
    b.params[:] = 0
    ax = cc.plot.weight_histogram({"dense": a, "zero": b})
    assert len(ax.patches) == 2
    labels = legend_texts(ax)
    assert labels[0].startswith("dense: ") and labels[1].startswith("zero: 100% of |w| < 0.01")


def test_restart_losses_bars_and_the_kept_restart():
    X, y = cc.datasets.moons(n=60, random_state=0)
    model = cc.MLPClassifier(hidden_layers=(3,), epochs=5, n_restarts=3, random_state=0).fit(X, y)
    ax = cc.plot.restart_losses(model)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, model.restart_losses_)
    kept = ax.patches[model.best_restart_]
    assert np.allclose(kept.get_facecolor(), to_rgba("tab:green"))
    assert legend_texts(ax) == [f"kept: restart {model.best_restart_ + 1}"]
    with pytest.raises(ValueError, match="n_restarts"):
        cc.plot.restart_losses(cc.MLPClassifier(epochs=2).fit(X, y))


def test_learning_curves_one_panel_per_metric():
    fig = cc.plot.learning_curves({"loss": [1, 0.5], "val_loss": [1, 0.7], "accuracy": [0.5, 0.8]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes[1].get_lines()) == 1


# ------------------------------------------------------------------------- animation


def gif_frames(path):
    from PIL import Image

    with Image.open(path) as im:
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")).copy())
    return frames


def distinct(frames):
    return len({f.tobytes() for f in frames})


def test_animate_perceptron_pulls_the_line_point_by_point(tmp_path, admissions):
    from crash_core.plot import _PerceptronMovie

    X, y = admissions
    model = cc.Perceptron(learning_rate=0.1, epochs=50, random_state=3)
    path = cc.plot.animate_training(model, X, y, tmp_path / "perceptron.gif", max_frames=10)
    assert path == tmp_path / "perceptron.gif"
    frames = gif_frames(path)
    assert len(frames) == 10 and distinct(frames) == 10
    # the replay ends on the line the estimator was fitted to, after as many epochs
    movie = _PerceptronMovie(cc.Perceptron(learning_rate=0.1, epochs=50, random_state=3), X, y, 10)
    epoch, _, _, _, w, b, wrong = movie.steps[-1]
    np.testing.assert_allclose(w, model.coef_[0])
    assert b == pytest.approx(model.intercept_[0])
    assert epoch <= model.n_epochs_ and wrong == np.sum(model.predict(X) != y)
    # each step moved the line toward the point it got wrong: w += lr x or w -= lr x
    for _, point, w0, b0, w1, b1, _ in movie.steps[:20]:
        sign = 1 if y[point] == 1 else -1
        np.testing.assert_allclose(w1 - w0, sign * 0.1 * X[point])
        assert b1 - b0 == pytest.approx(sign * 0.1)


def test_animate_mlp_one_frame_per_epoch_and_the_estimator_fitted(tmp_path):
    X, y = cc.datasets.moons(n=80, noise=0.2, random_state=0)
    seen = cc.callbacks.History()
    model = cc.MLPClassifier(hidden_layers=(8,), learning_rate=0.02, epochs=100, callbacks=[seen])
    cc.plot.animate_training(model, X, y, tmp_path / "mlp.gif", epochs=10, fps=6)
    frames = gif_frames(tmp_path / "mlp.gif")
    assert len(frames) == 10 and distinct(frames) == 10
    assert model.n_epochs_ == 10 and len(seen["loss"]) == 10  # the user's callback ran too
    params = model.get_params()
    assert params["epochs"] == 100 and params["random_state"] is None
    assert params["callbacks"] == [seen]


def test_animate_logistic_regression_frames_spread_over_the_epochs(tmp_path):
    X, y = cc.datasets.admissions(n=60, noise=0.05, random_state=1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = cc.LogisticRegression(learning_rate=0.05, epochs=200, tol=0.0, random_state=0)
    cc.plot.animate_training(model, X, y, tmp_path / "logistic.gif", epochs=40, max_frames=10)
    frames = gif_frames(tmp_path / "logistic.gif")
    assert len(frames) == 10 and distinct(frames) == 10
    assert model.n_epochs_ == 40
    reference = cc.LogisticRegression(learning_rate=0.05, epochs=40, tol=0.0, random_state=0)
    np.testing.assert_array_equal(reference.fit(X, y).coef_, model.coef_)


def test_animate_training_errors(tmp_path, admissions):
    X, y = admissions
    with pytest.raises(ValueError, match="2 features"):
        cc.plot.animate_training(cc.Perceptron(), np.c_[X, X[:, :1]], y, tmp_path / "a.gif")
    with pytest.raises(TypeError, match="classifier"):
        cc.plot.animate_training(cc.MLPRegressor(), X, X[:, 0], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="two classes"):
        cc.plot.animate_training(cc.Perceptron(), X, np.arange(len(X)) % 3, tmp_path / "a.gif")
    with pytest.raises(ValueError, match="n_restarts=1"):
        cc.plot.animate_training(cc.MLPClassifier(n_restarts=2), X, y, tmp_path / "a.gif")
    with pytest.raises(ValueError, match="epochs"):
        cc.plot.animate_training(cc.Perceptron(), X, y, tmp_path / "a.gif", epochs=0)
    assert not (tmp_path / "a.gif").exists()
