"""Hostile inputs over every public entry point: each is a clear error or a correct result.

No input may crash the process, drive a kernel outside its buffers, be modified in place,
or give a silently wrong answer. Errors are ValueError / TypeError naming the problem
(the bounded loading of forged model files is in test_io.py). Under the bounds-checked
build (CRASH_CORE_DEBUG=1) and under AddressSanitizer (tools/asan.sh) these same tests
prove that no kernel reads or writes out of bounds.
"""

from __future__ import annotations

import importlib
import pickle
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import crash_core as cc
from crash_core import functional as F
from crash_core.network import EpochTrainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
builds = importlib.import_module("builds")

ESTIMATORS = {
    "perceptron": lambda **kw: cc.Perceptron(epochs=3, random_state=0, **kw),
    "logistic": lambda **kw: cc.LogisticRegression(epochs=3, random_state=0, **kw),
    "mlp": lambda **kw: cc.MLPClassifier(hidden_layers=(4,), epochs=3, random_state=0, **kw),
    "regressor": lambda **kw: cc.MLPRegressor(hidden_layers=(4,), epochs=3, random_state=0, **kw),
}
CLASSIFIERS = ["perceptron", "logistic", "mlp"]


def data(n=24, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)


def targets(name, X, y):
    return X @ np.array([1.0, -2.0, 0.5])[: X.shape[1]] if name == "regressor" else y


def fitted(name, **kw):
    X, y = data()
    return ESTIMATORS[name](**kw).fit(X, targets(name, X, y)), X, y


def refuses(call, *words, error=(ValueError, TypeError)):
    """``call()`` raises ``error`` whose message names every one of ``words``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


# --------------------------------------------------------------------------- Network state
def network(**kw):
    return cc.Network([3, 4, 2, 1], dtype="float64", random_state=0, **kw)


@pytest.mark.parametrize(
    "attr, value",
    [
        ("kinds", np.array([], dtype=np.intc)),
        ("layers", np.array([[3, 4, 0, 12], [20, 1, 16, 36]], dtype=np.intp)),
        ("out_kind", 7),
        ("layer_sizes", (3, 40, 1)),
        ("activation", "tanh"),
        ("activations", ("tanh", "tanh")),
        ("output", "softmax"),
        ("dtype", np.dtype(np.float32)),
    ],
)
def test_the_network_layout_cannot_be_reassigned(attr, value):
    net = network()
    before = net.forward(np.ones((2, 3)))
    refuses(
        lambda: setattr(net, attr, value), f"Network.{attr}", "new Network", error=AttributeError
    )
    assert np.array_equal(net.forward(np.ones((2, 3))), before)


@pytest.mark.parametrize("attr", ["layers", "kinds"])
def test_the_network_tables_are_read_only(attr):
    net = network()
    table = getattr(net, attr)
    with pytest.raises(ValueError, match="read-only"):
        table[0] = 20
    with pytest.raises(ValueError):
        table.setflags(write=True)
    clone = pickle.loads(pickle.dumps(net))
    with pytest.raises(ValueError, match="read-only"):
        getattr(clone, attr)[0] = 20
    with pytest.raises(ValueError, match="read-only"):
        getattr(net.copy(), attr)[0] = 20


def test_params_assignment_is_checked_and_copied():
    net = network()
    refuses(lambda: setattr(net, "params", [1.0, 2.0]), "params", str(net.n_params))
    refuses(lambda: setattr(net, "params", np.zeros((net.n_params, 1))), "params")
    refuses(lambda: setattr(net, "params", ["a"] * net.n_params), "params")
    refuses(lambda: setattr(net, "params", np.full(net.n_params, np.nan)), "finite")
    values = np.arange(net.n_params, dtype=float) / 100
    buffer = net.params
    net.params = values.tolist()
    assert net.params is buffer and np.array_equal(buffer, values)
    assert net.weights[0][0, 0] == 0.0 and net.weights[0][0, 1] == 0.01  # the views follow
    values[0] = 99.0
    assert net.params[0] == 0.0  # copied, not aliased


KERNEL_MODULES, KERNEL_IDS = builds.BUILDS, builds.IDS


def forged_tables(net):
    """(what is wrong, layers, kinds, out_kind) tables a kernel must refuse."""
    layers, kinds = np.array(net.layers), np.array(net.kinds)
    n = net.n_params
    cases = []

    def case(what, edit_layers=None, new_kinds=None, out_kind=None):
        table = layers.copy()
        if edit_layers:
            edit_layers(table)
        cases.append(
            (
                what,
                np.ascontiguousarray(table),
                kinds if new_kinds is None else np.asarray(new_kinds, dtype=np.intc),
                net.out_kind if out_kind is None else out_kind,
            )
        )

    case("inputs differ from the previous layer", lambda t: t.__setitem__((1, 0), 20))
    case("empty kinds", new_kinds=[])
    case("too many kinds", new_kinds=[0, 0, 0])
    case("unknown activation code", new_kinds=[0, 9])
    case("negative activation code", new_kinds=[-1, 0])
    case("unknown output code", out_kind=7)
    case("negative output code", out_kind=-1)
    case("weights past the end", lambda t: t.__setitem__((2, 2), n - 1))
    case("biases past the end", lambda t: t.__setitem__((2, 3), n))
    case("negative offset", lambda t: t.__setitem__((1, 2), -8))
    case("zero width", lambda t: t.__setitem__((1, 1), 0))
    case("width whose product overflows", lambda t: t.__setitem__((0, 1), 2**62))
    case("offset that overflows", lambda t: t.__setitem__((0, 2), 2**63 - 2))
    case("wrong table width", lambda t: None)
    cases[-1] = (cases[-1][0], np.ascontiguousarray(layers[:, :3]), kinds, net.out_kind)
    case("no layers")
    cases[-1] = (cases[-1][0], np.zeros((0, 4), dtype=np.intp), kinds[:0], net.out_kind)
    return cases


def kernel_calls(module, net, layers, kinds, out_kind):
    """Each network kernel called with this table, buffers large enough for the true one."""
    X, Y, sw = np.ones((5, 3)), np.ones((5, 1)), np.ones(5)
    big, grad = np.empty(10_000), np.empty(net.n_params)
    table = (net.params, layers, kinds, out_kind)
    return {
        "forward_": partial(module.forward_, *table, X, np.empty((5, 1)), big, 5),
        "evaluate_": partial(module.evaluate_, *table, X, Y, sw, True, big, big, 5),
        "loss_and_grad_": partial(
            module.loss_and_grad_,
            net.params,
            grad,
            *table[1:],
            X,
            Y,
            sw,
            True,
            0.0,
            0.0,
            big,
            big,
            big,
        ),
    }


@pytest.mark.parametrize("module", KERNEL_MODULES, ids=KERNEL_IDS)
def test_every_kernel_refuses_a_forged_table(module):
    net = network()
    for what, layers, kinds, out_kind in forged_tables(net):
        for name, call in kernel_calls(module, net, layers, kinds, out_kind).items():
            with pytest.raises(ValueError):
                call()
            assert np.isfinite(net.params).all(), (what, name)


@pytest.mark.parametrize("module", KERNEL_MODULES, ids=KERNEL_IDS)
def test_kernels_refuse_buffers_too_small_for_the_table(module):
    net = network()
    X, Y = np.ones((5, 3)), np.ones((5, 1))
    width = int(net.layers[:, 1].sum())
    small = np.empty(5 * width - 1)
    enough = np.empty(5 * width)
    table = (net.params, net.layers, net.kinds, net.out_kind)
    with pytest.raises(ValueError):
        module.forward_(*table, X, np.empty((5, 1)), small, 5)
    with pytest.raises(ValueError):  # a cap whose product with the widths overflows
        module.forward_(
            net.params, net.layers, net.kinds, net.out_kind, X, np.empty((5, 1)), enough, 2**62
        )
    with pytest.raises(ValueError):
        module.loss_and_grad_(
            net.params, np.empty(net.n_params), net.layers, net.kinds, net.out_kind,
            X, Y, np.ones(5), False, 0.0, 0.0, enough, np.empty(5 * 4 - 1), enough,
        )  # fmt: skip
    out = np.empty((5, 1))
    assert module.forward_(net.params, net.layers, net.kinds, net.out_kind, X, out, enough, 5)
    assert np.allclose(out, net.forward(X))


def test_huge_layer_sizes_are_a_clear_error():
    refuses(lambda: cc.Network([3, 10**20, 1]), "layer_sizes", "smaller layers")
    refuses(lambda: cc.Network([3, 2**30, 2**30, 1]), "parameters", "smaller layers")
    X, y = data()
    refuses(lambda: cc.MLPClassifier(hidden_layers=(10**20,), epochs=1).fit(X, y), "smaller")


# --------------------------------------------------------------------------- overflow
@pytest.mark.parametrize("dtype, big", [("float32", 3e37), ("float64", 1e307)])
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_finite_inputs_that_overflow_a_hidden_layer_are_an_error(dtype, big, output):
    """The first layer's product is finite; the second overflows: no NaN comes out."""
    k = 1 if output == "sigmoid" else 2
    net = cc.Network([1, 2, 2, k], "relu", output, dtype)
    w1, w2, w3 = net.weights
    params = np.zeros(net.n_params)
    params[: w1.size] = 1.0
    params[w1.size + 2 : w1.size + 2 + w2.size] = 100.0
    start = w1.size + 2 + w2.size + 2
    params[start : start + w3.size] = np.resize([1.0, -1.0], w3.size)
    net.params = params
    assert np.isfinite(net.forward(np.ones((2, 1)))).all()
    message = refuses(lambda: net.forward(np.full((3, 1), big)), "overflowed", dtype, "Scale")
    assert "NaN" not in message


@pytest.mark.parametrize("dtype, big", [("float32", 3e37), ("float64", 1e300)])
def test_estimators_refuse_inputs_that_overflow(dtype, big):
    X, y = data()
    model = cc.MLPClassifier(hidden_layers=(8, 8), epochs=2, dtype=dtype, random_state=0)
    model.fit(X, y)
    model.network_.params = model.network_.params * 1e3
    huge = np.full((3, 3), big)
    refuses(lambda: model.predict_proba(huge), "overflowed")
    refuses(lambda: model.predict(huge), "overflowed")
    assert np.isfinite(model.predict_proba(X)).all()


def test_non_finite_inputs_are_still_named_as_such():
    model, X, _ = fitted("mlp")
    X = X.copy()
    X[1, 2] = np.nan
    refuses(lambda: model.predict(X), "NaN")


def test_perceptron_updates_that_overflow_are_an_error():
    X, y = data()
    model = cc.Perceptron(learning_rate=1e308, epochs=3)
    refuses(lambda: model.fit(X * 1e300, y), "overflowed", "learning_rate")
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("step", [F.perceptron_step, F.gradient_descent_step])
def test_functional_steps_refuse_non_finite_results(step):
    X = np.array([[1e308, -1e308], [1e308, 1e308]])
    y = np.array([1, 0])
    W = np.array([-1e308, 1e308])
    refuses(lambda: step(X, y, W, 0.0, 1e10), "overflowed", "learn_rate")
    W2, b2 = step(X[:1] / 1e300, y[:1], W / 1e300, 0.0, 0.1)  # a finite step still works
    assert np.isfinite(W2).all() and np.isfinite(b2)


# --------------------------------------------------------------------------- Network calls
@pytest.mark.parametrize("bad", [7, -1, 1.5])
def test_sigmoid_targets_outside_zero_one(bad):
    net, (X, _) = network(), data()
    Y = np.full(len(X), bad)
    refuses(lambda: net.loss_and_grad(X, Y), "[0, 1]")
    refuses(lambda: net.train_epoch(X, Y), "[0, 1]")


def test_softmax_targets():
    net = cc.Network([3, 4, 3], output="softmax", random_state=0)
    X, _ = data()
    refuses(lambda: net.loss_and_grad(X, np.array(["a"] * len(X))), "numeric", error=TypeError)
    refuses(lambda: net.loss_and_grad(X, np.full(len(X), 3)), "class indices")
    refuses(lambda: net.loss_and_grad(X, np.full((len(X), 3), 0.9)), "sum to 1")
    loss, _ = net.loss_and_grad(X, np.full((len(X), 3), 1 / 3))
    assert np.isfinite(loss)


@pytest.mark.parametrize("y", [1, None, 0.5])
def test_scalar_or_missing_targets(y):
    net, (X, _) = network(), data()
    refuses(lambda: net.loss_and_grad(X, y), "one target per sample")
    refuses(lambda: net.train_epoch(X, y), "one target per sample")


@pytest.mark.parametrize(
    "kw, word",
    [
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"l1": float("nan")}, "l1"),
        ({"l1": -1.0}, "l1"),
        ({"l1": float("inf")}, "l1"),
        ({"l2": -0.5}, "l2"),
        ({"l2": float("inf")}, "l2"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
    ],
)
def test_network_training_settings(kw, word):
    net, (X, y) = network(), data()
    before = net.params.copy()
    refuses(lambda: net.train_epoch(X, y, **kw), word)
    assert np.array_equal(net.params, before)
    penalties = {k: v for k, v in kw.items() if k in ("l1", "l2")}
    if penalties:
        refuses(lambda: net.loss_and_grad(X, y, **penalties), word)


@pytest.mark.parametrize(
    "weights, word",
    [
        (np.full(24, np.nan), "NaN"),
        (-np.ones(24), "negative"),
        (np.zeros(24), "zeros"),
        (np.ones(5), "shape"),
        (np.array(["a"] * 24), "sample_weight"),
    ],
)
def test_network_sample_weights(weights, word):
    net, (X, y) = network(), data()
    refuses(lambda: net.loss_and_grad(X, y, sample_weight=weights), word)


@pytest.mark.parametrize("rate", [1.0, -0.5, float("nan"), 7, "high", [0.1]])
def test_epoch_trainer_dropout(rate):
    refuses(lambda: EpochTrainer(network(), 4, dropout=rate), "dropout")


def test_epoch_trainer_accepts_valid_dropout():
    trainer = EpochTrainer(network(), 4, dropout=[0.5, 0.0])
    assert trainer.rates.tolist() == [0.5, 0.0] and trainer.use_dropout
    assert EpochTrainer(network(), 4, dropout=0.25).rates.tolist() == [0.25, 0.25]
    assert not EpochTrainer(network(), 4, dropout=None).use_dropout


# --------------------------------------------------------------------------- estimators
BAD_PARAMS = {
    "learning_rate": [0, -1.0, float("nan"), float("inf"), "fast", None],
    "epochs": [0, -1, 1.5, "many", None],
    "shuffle": ["yes", 1],
    "random_state": [-1, "seed", 1.5],
    "dtype": ["float16", "int", 5],
    "verbose": ["loud"],
}
BAD_LINEAR = {
    "l1": [-1.0, float("nan"), float("inf")],
    "l2": [-1.0, float("inf")],
    "tol": [-1.0, float("nan")],
    "batch_size": [0, 2.5],
    "optimizer": ["adamw", 5],
}
BAD_MLP = {
    "hidden_layers": [(0,), (-1,), "wide", (2.5,), None],
    "activation": [None, "relux", 5, ["relu", "relu"]],
    "optimizer": ["adamw", 5],
    "lr_schedule": ["sometimes", 5],
    "batch_size": [0, -1, 2.5],
    "l1": [-1.0, float("nan"), float("inf"), "a"],
    "l2": [-1.0, float("inf")],
    "dropout": [1.0, -0.5, float("nan"), None, "a", [0.1, 0.1]],
    "early_stopping": ["yes"],
    "validation_fraction": [0.0, 1.0, float("nan")],
    "patience": [-1, 1.5],
    "min_delta": [-1.0, float("inf")],
    "n_restarts": [0, 1.5],
    "n_jobs": [0, "all"],
    "callbacks": [5, [5], "EarlyStopping"],
    "warm_start": ["yes"],
}
CASES = [
    (name, param, value)
    for name in ESTIMATORS
    for table in (
        BAD_PARAMS,
        BAD_LINEAR if name == "logistic" else {},
        BAD_MLP if name in ("mlp", "regressor") else {},
    )
    for param, values in table.items()
    for value in values
]


@pytest.mark.parametrize("name, param, value", CASES)
def test_every_hyperparameter_out_of_range_or_of_the_wrong_type(name, param, value):
    X, y = data()
    model = ESTIMATORS[name]()
    model.set_params(**{param: value})
    refuses(lambda: model.fit(X, targets(name, X, y)), param)


@pytest.mark.parametrize(
    "weights, error",
    [
        ({0: np.nan, 1: 1.0}, ValueError),
        ({0: -1.0, 1: 1.0}, ValueError),
        ({0: "a", 1: 1.0}, TypeError),
        ({0: None, 1: 1.0}, TypeError),
        ({5: 1.0}, ValueError),
        ("sometimes", (TypeError, ValueError)),
        ([1.0, 2.0], TypeError),
    ],
)
def test_class_weight_errors_name_class_weight(weights, error):
    X, y = data()
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=1, class_weight=weights)
    refuses(lambda: model.fit(X, y), "class_weight", error=error)


@pytest.mark.parametrize("param, value", [("activation", "tanh"), ("hidden_layers", (5,))])
def test_warm_start_refuses_a_changed_architecture(param, value):
    model, X, y = fitted("mlp", warm_start=True)
    before = model.network_.params.copy()
    model.set_params(**{param: value})
    refuses(lambda: model.fit(X, y), "warm_start=False")
    assert np.array_equal(model.network_.params, before)
    model.set_params(warm_start=False).fit(X, y)
    assert model.network_.activations == ((value,) if param == "activation" else ("relu",))


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_score_refuses_non_finite_targets(name, bad):
    model, X, y = fitted(name)
    target = targets(name, X, y).astype(float)
    target[3] = bad
    refuses(lambda: model.score(X, target), "NaN or infinity")
    refuses(lambda: model.score(X, 1.0), "one target per sample")
    refuses(lambda: model.score(X, None), "one target per sample")


# --------------------------------------------------------------------------- input classes
BAD_X = {
    "nan": lambda X: np.where(X > 1, np.nan, X),
    "inf": lambda X: np.where(X > 1, np.inf, X),
    "empty": lambda X: X[:0],
    "wrong width": lambda X: X[:, :2],
    "1-D": lambda X: X[:, 0],
    "3-D": lambda X: X[:, :, None],
    "ragged": lambda X: [list(X[0]), list(X[1][:2])],
    "object": lambda X: X.astype(object).tolist() + [["a", None, 1]],
    "text": lambda X: np.where(X > 0, "high", "low"),
    "complex": lambda X: X + 1j,
    "scalar": lambda X: 3.0,
    "none": lambda X: None,
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("kind", list(BAD_X))
def test_bad_X_at_fit_and_predict(name, kind):
    model, X, y = fitted(name)
    bad = BAD_X[kind](X)
    before = pickle.dumps(model)
    refuses(lambda: model.predict(bad))
    assert pickle.dumps(model) == before  # a refused call changes nothing
    if kind not in ("ragged", "object", "scalar", "none", "empty", "1-D", "wrong width"):
        refuses(lambda: ESTIMATORS[name]().fit(bad, targets(name, X, y)[: len(bad)]))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_one_sample_one_class_and_unseen_labels(name):
    X, y = data()
    refuses(lambda: ESTIMATORS[name]().fit(X[:1], y[:1]), "class")
    refuses(lambda: ESTIMATORS[name]().fit(X, np.zeros(len(X), int)), "class")
    model = ESTIMATORS[name]().fit(X, y)
    assert model.score(X, np.full(len(X), 7)) == 0.0  # an unseen label is simply never right


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_memory_layout_gives_the_same_result(name, tmp_path):
    model, X, y = fitted(name)
    expected = model.predict(X)
    fortran = np.asfortranarray(X)
    strided = np.repeat(X, 2, axis=0)[::2]
    readonly = X.copy()
    readonly.setflags(write=False)
    mapped = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", shape=X.shape)
    mapped[...] = X
    for layout in (fortran, strided, readonly, mapped, X.astype(np.float32), X.tolist()):
        assert np.array_equal(model.predict(layout), expected)
    fresh = ESTIMATORS[name]().fit(readonly, targets(name, X, y))
    assert np.array_equal(fresh.predict(X), expected)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_nothing_is_modified_in_place(name):
    X, y = data()
    t = targets(name, X, y)
    X0, t0 = X.copy(), t.copy()
    weights = np.linspace(0.5, 1.5, len(X))
    w0 = weights.copy()
    model = ESTIMATORS[name]()
    if name == "perceptron":
        model.fit(X, t)
    else:
        model.fit(X, t, sample_weight=weights)
    model.predict(X)
    model.score(X, t)
    assert np.array_equal(X, X0) and np.array_equal(t, t0) and np.array_equal(weights, w0)


@pytest.mark.parametrize("name", ["logistic", "mlp"])
def test_huge_but_finite_values_fit_or_refuse_clearly(name):
    X, y = data()
    model = ESTIMATORS[name]()
    try:
        model.fit(X * 1e30, y)
    except ValueError as exc:
        assert "learning_rate" in str(exc) or "overflow" in str(exc) or "Scale" in str(exc)
    else:
        assert np.isfinite(model.predict_proba(X)).all()


# --------------------------------------------------------------------------- fitted state
@pytest.mark.parametrize("name", ["logistic", "mlp", "regressor"])
def test_a_replaced_network_is_refused(name):
    model, X, _ = fitted(name)
    predict = model.predict if name == "regressor" else model.predict_proba
    model.network_ = "a network"
    refuses(lambda: predict(X), "network_", "Fit the model again", error=TypeError)
    model.network_ = cc.Network([5, 3, 1])
    refuses(lambda: predict(X), "network_", "Fit the model again")


@pytest.mark.parametrize("name", ["perceptron", "logistic"])
def test_replaced_coefficients_are_refused(name):
    model, X, _ = fitted(name)
    model.coef_ = np.zeros((1, 5))
    refuses(lambda: model.decision_function(X), "coef_", "Fit the model again")


def test_a_diverging_network_epoch_is_refused_and_undone():
    net, (X, y) = network(), data()
    before = net.params.copy()
    refuses(lambda: net.train_epoch(X * 1e150, y, learning_rate=1e300), "diverged")
    assert np.array_equal(net.params, before)
