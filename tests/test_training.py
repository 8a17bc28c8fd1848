"""Acceptance tests of the training tricks (issue 4), through the models.

The kernels' own update rules are proven against an oracle in ``tests/test_kernels.py``
(one optimizer step with random gradients, and the epoch kernel); here the same rules are
checked end to end: a fit of ``MLPRegressor``/``MLPClassifier`` against a NumPy reference
driven by ``Network.loss_and_grad``.  The callbacks and schedules are unit-tested in
``tests/test_callbacks.py`` and ``tests/test_schedules.py``; here they act in real fits.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core as cc
import crash_core.models.mlp as mlp_module
from crash_core.callbacks import Callback, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau
from crash_core.network import EpochTrainer
from crash_core.optimizers import SGD, Adam
from crash_core.schedules import CosineDecay, ExponentialDecay, InverseTimeDecay, StepDecay
from crash_core.training import epoch_order, shuffle_rows


# ----------------------------------------------------------------------------- data sets
@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return X, y


@pytest.fixture(scope="module")
def small():
    """60 points, 3 features, two overlapping classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0.3).astype(int)
    return X, y


@pytest.fixture(scope="module")
def noisy_moons():
    """Noisy moons with a held-out validation part (early stopping has something to find)."""
    X, y = cc.datasets.moons(n=300, noise=0.3, random_state=1)
    return cc.datasets.train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    return cc.datasets.train_test_split(X / 16, y, test_size=0.25, stratify=y, random_state=0)


def binary_loss(model, X, y, l1=0.0, l2=0.0):
    """Mean cross-entropy of a binary classifier from predict_proba, plus the penalty
    l1 sum|w| + l2 sum w^2 over the weights (never the biases)."""
    p = model.predict_proba(X)[:, 1]
    positive = y == model.classes_[1]
    data = -np.mean(np.where(positive, np.log(p), np.log1p(-p)))
    weights = [w.astype(np.float64) for w in model.network_.weights]
    return data + sum(l1 * np.abs(w).sum() + l2 * np.square(w).sum() for w in weights)


# ----------------------------------------------------------------- optimizers, end to end
def reference_fit(
    X,
    y,
    optimizer,
    steps,
    lr,
    l1,
    l2,
    sizes,
    activation,
    output,
    seed,
    mu=0.9,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
):
    """Full-batch training by the documented rules (crash_core/optimizers.py), in NumPy.

    The gradient g (penalty gradient on the weights included) comes from
    Network.loss_and_grad; the network starts from the same initialisation a model with
    random_state=seed draws.
    """
    net = cc.Network(sizes, activation, output, "float64", random_state=np.random.default_rng(seed))
    w = net.params.copy()
    v, m, s = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        net.params[...] = w
        _, g = net.loss_and_grad(X, y, l1=l1, l2=l2)
        if optimizer == "sgd":
            w = w - lr * g
        elif optimizer == "momentum":
            v = mu * v - lr * g
            w = w + v
        elif optimizer == "nesterov":
            v = mu * v - lr * g
            w = w + mu * v - lr * g
        else:
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
    return w


OPTIMIZERS = {
    "sgd": SGD(),
    "momentum": SGD(momentum=0.9),
    "nesterov": SGD(momentum=0.9, nesterov=True),
    "adam": Adam(beta1=0.9, beta2=0.999, eps=1e-8),
}


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("by", ["name", "object"])
@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.01, 0.02)])
def test_three_full_batch_steps_equal_the_numpy_reference(regression, name, by, l1, l2):
    X, y = regression
    model = cc.MLPRegressor(
        hidden_layers=(5,),
        activation="tanh",
        optimizer=name if by == "name" else OPTIMIZERS[name],
        learning_rate=0.05,
        batch_size=len(y),
        shuffle=False,
        epochs=3,
        l1=l1,
        l2=l2,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    want = reference_fit(X, y, name, 3, 0.05, l1, l2, (4, 5, 1), "tanh", "identity", 0)
    assert model._optimizer_state.t == 3
    assert_allclose(model.network_.params, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam"])
def test_optimizer_hyperparameters_are_used(regression, name):
    X, y = regression
    opt = (
        Adam(beta1=0.5, beta2=0.9, eps=1e-3)
        if name == "adam"
        else SGD(momentum=0.3, nesterov=name == "nesterov")
    )
    model = cc.MLPRegressor(
        hidden_layers=(5,),
        activation="tanh",
        optimizer=opt,
        learning_rate=0.05,
        batch_size=None,
        shuffle=False,
        epochs=3,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    want = reference_fit(
        X,
        y,
        name,
        3,
        0.05,
        0,
        0,
        (4, 5, 1),
        "tanh",
        "identity",
        0,
        mu=0.3,
        b1=0.5,
        b2=0.9,
        eps=1e-3,
    )
    assert_allclose(model.network_.params, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam"])
def test_three_steps_through_a_softmax_classifier(name):
    X, y = cc.datasets.spirals(n=45, n_classes=3, random_state=0)
    model = cc.MLPClassifier(
        hidden_layers=(6, 4),
        activation=["relu", "sigmoid"],
        optimizer=name,
        learning_rate=0.1,
        batch_size=None,
        shuffle=False,
        epochs=3,
        l2=0.01,
        dtype="float64",
        random_state=3,
    ).fit(X, y)
    want = reference_fit(
        X, y, name, 3, 0.1, 0, 0.01, (2, 6, 4, 3), ["relu", "sigmoid"], "softmax", 3
    )
    assert_allclose(model.network_.params, want, rtol=1e-12, atol=1e-14)


def test_mini_batches_take_one_step_per_batch(regression):
    X, y = regression  # 30 rows in batches of 8: 4 steps per epoch
    model = cc.MLPRegressor(
        hidden_layers=(3,), optimizer="adam", batch_size=8, epochs=2, random_state=0
    ).fit(X, y)
    assert model._optimizer_state.t == 8


def test_each_epoch_visits_every_row_in_a_new_seeded_order(monkeypatch, regression):
    """fit shuffles the rows' order in place every epoch: each epoch's order is a
    permutation of all rows, the epochs' orders differ, and the seed fixes them;
    shuffle=False keeps the rows in order."""
    seen = []
    run = EpochTrainer.run

    def spy(self, X, Y, order, *args, **kwargs):
        seen.append(np.array(order, copy=True))
        return run(self, X, Y, order, *args, **kwargs)

    monkeypatch.setattr(EpochTrainer, "run", spy)
    X, y = regression

    def orders(**params):
        seen.clear()
        cc.MLPRegressor(hidden_layers=(3,), batch_size=8, epochs=4, **params).fit(X, y)
        return [order.copy() for order in seen]

    first = orders(random_state=0)
    assert len(first) == 4
    for order in first:
        assert_array_equal(np.sort(order), np.arange(len(y)))
    assert len({tuple(order) for order in first}) == 4
    assert all(np.array_equal(a, b) for a, b in zip(first, orders(random_state=0), strict=True))
    assert not np.array_equal(first[0], orders(random_state=1)[0])
    for order in orders(random_state=0, shuffle=False):
        assert_array_equal(order, np.arange(len(y)))


def test_the_epoch_order_is_shuffled_in_place_uniformly_and_by_its_seed():
    """epoch_order + shuffle_rows, the shuffle fit runs before each epoch (and
    benchmarks/compare.py with it): in place, a permutation every time, new orders epoch
    after epoch, the same ones for the same seed, and every order of 4 rows about equally
    often (Fisher-Yates over the kernels' generator)."""
    order, state = epoch_order(6, np.random.default_rng(0))
    assert_array_equal(order, np.arange(6))
    assert order.dtype == np.intp and state.dtype == np.uint64 and state[0] % 2 == 1
    epochs = []
    for _ in range(5):
        assert shuffle_rows(order, state) is None  # the order itself is shuffled
        assert_array_equal(np.sort(order), np.arange(6))
        epochs.append(tuple(order))
    assert len(set(epochs)) == 5
    again, state2 = epoch_order(6, np.random.default_rng(0))
    for expected in epochs:
        shuffle_rows(again, state2)
        assert tuple(again) == expected
    other, state3 = epoch_order(6, np.random.default_rng(1))
    shuffle_rows(other, state3)
    assert tuple(other) != epochs[0]

    order, state = epoch_order(4, np.random.default_rng(2))
    counts = {}
    draws = 24_000
    for _ in range(draws):
        shuffle_rows(order, state)
        counts[tuple(order)] = counts.get(tuple(order), 0) + 1
    assert len(counts) == 24
    expected = draws / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 60  # 23 degrees of freedom: P(chi2 > 60) < 1e-4


# ------------------------------------------------------------------------------- dropout
def dropout_model(seed, rate=0.5, **params):
    return cc.MLPClassifier(
        hidden_layers=(32, 16),
        dropout=rate,
        epochs=20,
        learning_rate=0.01,
        random_state=seed,
        **params,
    )


def test_dropout_fits_with_the_same_seed_are_identical(small):
    X, y = small
    a = dropout_model(7).fit(X, y)
    b = dropout_model(7).fit(X, y)
    assert np.array_equal(a.network_.params, b.network_.params)
    assert a.history_["loss"] == b.history_["loss"]
    # ... and the masks do act: another seed, or no dropout, trains another model
    no_dropout = dropout_model(7, rate=0.0).fit(X, y)
    assert not np.array_equal(a.network_.params, no_dropout.network_.params)


def test_dropout_masks_come_from_the_seed():
    # same initial weights, same data order: only the dropout stream differs between seeds
    X, y = cc.datasets.moons(n=64, random_state=0)
    net_a = cc.Network((2, 16, 1), "relu", "sigmoid", "float64", random_state=0)
    net_b = cc.Network((2, 16, 1), "relu", "sigmoid", "float64", random_state=0)
    net_c = cc.Network((2, 16, 1), "relu", "sigmoid", "float64", random_state=0)
    Y = y.reshape(-1, 1).astype(float)
    order = np.arange(64)
    for net, seed in ((net_a, 1), (net_b, 1), (net_c, 2)):
        EpochTrainer(net, 16, "sgd", [0.5], seed=seed).run(X, Y, order, 0.1)
    assert np.array_equal(net_a.params, net_b.params)
    assert not np.array_equal(net_a.params, net_c.params)


def numpy_forward(model, X):
    """relu hidden layers, sigmoid output: no dropout, no rescaling."""
    a = np.asarray(X, dtype=np.float64)
    ws, bs = model.network_.weights, model.network_.biases
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        a = np.maximum(a @ w.astype(np.float64) + b, 0.0)
    z = a @ ws[-1].astype(np.float64) + bs[-1]
    return 1.0 / (1.0 + np.exp(-z[:, 0]))


def test_predict_is_deterministic_and_unaffected_by_dropout(small):
    X, y = small
    model = dropout_model(0, rate=0.6, dtype="float64").fit(X, y)
    first, second = model.predict_proba(X), model.predict_proba(X)
    assert_array_equal(first, second)
    assert_array_equal(model.predict(X), model.predict(X))
    assert_allclose(first[:, 1], numpy_forward(model, X), rtol=1e-12)
    # forward on one row at a time gives the same as the batch
    rows = np.vstack([model.predict_proba(X[i : i + 1]) for i in range(5)])
    assert_allclose(rows, first[:5], rtol=1e-12)


def dropped_fraction_per_layer(dmask, hidden, rows):
    """Fraction of zeros in each hidden layer's block of the dropout buffer."""
    fractions, offset = [], 0
    for width in hidden:
        block = dmask[offset : offset + rows * width]
        fractions.append(float(np.mean(block == 0)))
        offset += rows * width
    return fractions


def test_dropped_fraction_per_layer_is_the_rate_in_the_epoch_kernel():
    # sigmoid units have f' > 0 everywhere, so a zero in dmask means "dropped"; one batch
    # of all n rows makes the last batch's mask the whole epoch's
    rng = np.random.default_rng(0)
    n, hidden, rates = 400, (60, 40, 30), [0.1, 0.5, 0.3]
    X = rng.normal(size=(n, 5))
    Y = (X[:, :1] > 0).astype(float)
    net = cc.Network((5, *hidden, 1), "sigmoid", "sigmoid", "float64", random_state=0)
    trainer = EpochTrainer(net, n, "sgd", rates, seed=123)
    trainer.run(X, Y, np.arange(n), 1e-12)
    fractions = dropped_fraction_per_layer(trainer.dmask, hidden, n)
    for fraction, rate in zip(fractions, rates, strict=True):
        assert abs(fraction - rate) <= 0.02
    # kept units are scaled by 1 / (1 - rate): dmask = f'(z) / (1 - rate) <= 0.25 / (1 - rate)
    first = trainer.dmask[: n * hidden[0]]
    assert first[first > 0].max() <= 0.25 / (1 - rates[0]) + 1e-12


@pytest.mark.parametrize("rates", [0.25, [0.4, 0.1]])
def test_dropped_fraction_per_layer_through_the_model(monkeypatch, rates):
    trainers = []

    class Recording(EpochTrainer):
        def run(self, *args, **kwargs):
            out = super().run(*args, **kwargs)
            trainers.append(self.dmask.copy())
            return out

    monkeypatch.setattr(mlp_module, "EpochTrainer", Recording)
    rng = np.random.default_rng(1)
    n, hidden = 300, (50, 40)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(int)
    cc.MLPClassifier(
        hidden_layers=hidden,
        activation="sigmoid",
        dropout=rates,
        batch_size=None,
        epochs=2,
        random_state=0,
    ).fit(X, y)
    assert len(trainers) == 2
    want = [rates] * 2 if np.isscalar(rates) else rates
    for dmask in trainers:  # each epoch
        for fraction, rate in zip(dropped_fraction_per_layer(dmask, hidden, n), want, strict=True):
            assert abs(fraction - rate) <= 0.02


def noisy_many_features(seed):
    """100 training rows of 50 features, 3 informative, 15% of the labels flipped."""
    rng = np.random.default_rng(seed)
    n, n_test, d = 100, 2000, 50
    X = rng.normal(size=(n + n_test, d))
    y = (X[:, :3] @ np.array([1.5, -1.0, 1.0]) > 0).astype(int)
    flip = rng.random(len(y)) < 0.15
    y[flip] = 1 - y[flip]
    return X[:n], y[:n], X[n:], y[n:]


@pytest.mark.parametrize("seed", [0, 1])
def test_l2_narrows_the_train_test_gap_on_noisy_data(seed):
    X_train, y_train, X_test, y_test = noisy_many_features(seed)

    def gap(**params):
        model = cc.MLPClassifier(hidden_layers=(64,), epochs=200, random_state=0, **params)
        model.fit(X_train, y_train)
        test = model.score(X_test, y_test)
        return model.score(X_train, y_train) - test, test

    free_gap, free_test = gap()
    l2_gap, l2_test = gap(l2=0.1)
    assert free_gap >= 0.3  # the unregularised net memorises the noise
    assert l2_gap <= free_gap - 0.05
    assert l2_test >= free_test


# ------------------------------------------------------------------------------ L1 vs L2
def test_l1_drives_noise_weights_closer_to_zero_than_l2():
    rng = np.random.default_rng(0)
    n, d, k = 300, 20, 3
    X = rng.normal(size=(n, d))
    y = (X[:, :k] @ np.array([2.0, -1.5, 1.0]) + 0.5 * rng.normal(size=n) > 0).astype(int)

    def relative_noise_weight(**penalty):
        model = cc.LogisticRegression(
            learning_rate=0.1, epochs=300, tol=0.0, random_state=0, **penalty
        )
        w = np.abs(model.fit(X, y).coef_.ravel())
        return w[k:].mean() / w[:k].mean(), int(np.sum(w[k:] < 1e-2))

    l1_ratio, l1_small = relative_noise_weight(l1=0.03)
    l2_ratio, l2_small = relative_noise_weight(l2=0.03)
    assert l1_ratio < 0.25 * l2_ratio
    assert l1_small > l2_small

    def mlp_noise_weight(**penalty):  # a network without hidden layer, the same effect
        model = cc.MLPClassifier(
            hidden_layers=(),
            optimizer="sgd",
            learning_rate=0.1,
            batch_size=None,
            epochs=300,
            dtype="float64",
            random_state=0,
            **penalty,
        ).fit(X, y)
        w = np.abs(model.network_.weights[0].ravel())
        return w[k:].mean() / w[:k].mean()

    assert mlp_noise_weight(l1=0.03) < 0.25 * mlp_noise_weight(l2=0.03)


# ------------------------------------------------------------------------ early stopping
class Snapshots(Callback):
    """Records the weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.params = {}

    def on_epoch_end(self, epoch, logs=None):
        self.params[epoch] = self.model.network_.params.copy()


def es_model(**params):
    defaults = {
        "hidden_layers": (64, 64),
        "learning_rate": 0.01,
        "epochs": 200,
        "early_stopping": True,
        "patience": 10,
        "random_state": 0,
    }
    return cc.MLPClassifier(**{**defaults, **params})


@pytest.mark.parametrize("ends_by", ["patience", "epochs"])
def test_early_stopping_keeps_the_epoch_with_the_least_validation_loss(noisy_moons, ends_by):
    X_train, X_val, y_train, y_val = noisy_moons
    params = (
        {"epochs": 200, "patience": 10}
        if ends_by == "patience"
        else {"epochs": 25, "patience": 100}
    )
    snapshots = Snapshots()
    model = es_model(l2=1e-3, dtype="float64", callbacks=[snapshots], **params)
    model.fit(X_train, y_train, validation_data=(X_val, y_val))
    val_loss = model.history_["val_loss"]
    best = int(np.argmin(val_loss))
    if ends_by == "patience":
        assert model.n_epochs_ == best + 1 + 10 < 200
    else:
        assert model.n_epochs_ == 25 and best < 24  # the last epoch is not the best one
    assert model.best_epoch_ == best + 1  # epochs count from 1; history_[k][i] is epoch i + 1
    assert_array_equal(model.network_.params, snapshots.params[best])
    final = binary_loss(model, X_val, y_val, l2=1e-3)
    assert final == pytest.approx(min(val_loss), rel=1e-10)
    assert final < val_loss[-1]


def test_early_stopping_loss_recomputed_by_evaluate(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    model = es_model(l1=1e-4).fit(X_train, y_train, validation_data=(X_val, y_val))
    data = cc.training.Dataset(X_val.astype(np.float32), y_val.reshape(-1, 1).astype(np.float32))
    loss, _ = cc.training.evaluate(model.network_, data, l1=1e-4)
    # float32 products over chunks of another height may round differently in the last bit
    assert loss == pytest.approx(min(model.history_["val_loss"]), rel=1e-6)


def test_early_stopping_on_a_held_out_fraction(noisy_moons):
    X_train, _, y_train, _ = noisy_moons
    snapshots = Snapshots()
    model = es_model(validation_fraction=0.2, callbacks=[snapshots]).fit(X_train, y_train)
    val_loss = model.history_["val_loss"]
    assert "val_accuracy" in model.history_
    assert model.best_epoch_ == int(np.argmin(val_loss)) + 1
    assert model.n_epochs_ < 200
    assert_array_equal(model.network_.params, snapshots.params[model.best_epoch_ - 1])
    # the same seed holds out the same rows: a refit is identical
    again = es_model(validation_fraction=0.2).fit(X_train, y_train)
    assert again.history_["val_loss"] == val_loss


def test_held_out_fraction_is_stratified_seeded_and_not_trained_on(monkeypatch, small):
    X, y = small  # 60 rows, unbalanced classes
    seen = []
    real_evaluate = cc.training.evaluate

    def recording(network, data, *args, **kwargs):
        seen.append(data)
        return real_evaluate(network, data, *args, **kwargs)

    trained_on = []

    class Recording(EpochTrainer):
        def run(self, X, *args, **kwargs):
            trained_on.append(X.copy())
            return super().run(X, *args, **kwargs)

    monkeypatch.setattr(cc.training, "evaluate", recording)
    monkeypatch.setattr(mlp_module, "EpochTrainer", Recording)

    def held_out(seed):
        seen.clear()
        trained_on.clear()
        es_model(hidden_layers=(4,), epochs=3, validation_fraction=0.25, random_state=seed).fit(
            X, y
        )
        return seen[0]

    data = held_out(0)
    assert len(data.X) == 15  # ceil(0.25 * 60)
    val_ones = int(data.Y[:, 0].sum())
    assert abs(val_ones - 15 * y.mean()) <= 1  # class proportions kept
    rows = [int(np.flatnonzero(np.all(np.isclose(X, row, rtol=1e-6), axis=1))[0]) for row in data.X]
    assert len(set(rows)) == 15
    assert_array_equal(data.Y[:, 0], y[rows])
    # the other 45 rows, and only those, are trained on
    train_X = trained_on[0]
    assert len(train_X) == 45
    assert not any(np.all(np.isclose(train_X, row, rtol=1e-6), axis=1).any() for row in data.X)
    assert_array_equal(held_out(0).X, data.X)
    assert not np.array_equal(held_out(1).X, data.X)


def test_early_stopping_uses_validation_data_when_given(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    stopped = es_model(patience=5).fit(X_train, y_train, validation_data=(X_val, y_val))
    watched = es_model(patience=5, early_stopping=False, epochs=stopped.n_epochs_)
    watched.fit(X_train, y_train, validation_data=(X_val, y_val))
    # all of X_train was trained on (nothing held out) and X_val was what was measured
    assert stopped.history_["loss"] == watched.history_["loss"]
    assert stopped.history_["val_loss"] == watched.history_["val_loss"]
    assert binary_loss(watched, X_val, y_val) == pytest.approx(
        watched.history_["val_loss"][-1], rel=1e-5
    )


def test_early_stopping_callback_works_like_the_parameter(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    by_param = es_model(patience=7).fit(X_train, y_train, validation_data=(X_val, y_val))
    stopper = EarlyStopping(patience=7)
    by_callback = es_model(early_stopping=False, callbacks=[stopper])
    by_callback.fit(X_train, y_train, validation_data=(X_val, y_val))
    assert by_callback.n_epochs_ == by_param.n_epochs_ < 200
    assert by_callback.best_epoch_ == by_param.best_epoch_ == stopper.best_epoch + 1
    assert np.array_equal(by_callback.network_.params, by_param.network_.params)
    assert stopper.best == min(by_callback.history_["val_loss"])


def test_early_stopping_callback_on_accuracy_keeps_the_best_accuracy(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    stopper = EarlyStopping(monitor="val_accuracy", patience=15)
    model = es_model(early_stopping=False, callbacks=[stopper], epochs=150)
    model.fit(X_train, y_train, validation_data=(X_val, y_val))
    accuracy = model.history_["val_accuracy"]
    assert model.best_epoch_ == int(np.argmax(accuracy)) + 1
    assert model.score(X_val, y_val) == pytest.approx(max(accuracy))


# ----------------------------------------------------------------------- random restarts
def restart_model(**params):
    defaults = {
        "hidden_layers": (16,),
        "learning_rate": 0.01,
        "epochs": 30,
        "n_restarts": 3,
        "random_state": 0,
    }
    return cc.MLPClassifier(**{**defaults, **params})


def test_restarts_keep_the_lowest_validation_loss_and_equal_a_single_fit(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    model = restart_model(dtype="float64").fit(X_train, y_train, validation_data=(X_val, y_val))
    assert len(model.restart_losses_) == len(model.restart_seeds_) == 3
    assert len(set(model.restart_losses_)) == 3  # three different initialisations
    assert model.best_restart_ == int(np.argmin(model.restart_losses_))
    assert binary_loss(model, X_val, y_val) == pytest.approx(min(model.restart_losses_), rel=1e-10)
    seed = model.restart_seeds_[model.best_restart_]
    single = restart_model(n_restarts=1, random_state=seed, dtype="float64")
    single.fit(X_train, y_train, validation_data=(X_val, y_val))
    assert np.array_equal(single.network_.params, model.network_.params)
    assert single.history_["val_loss"] == model.history_["val_loss"]
    # every restart can be repeated alone with its seed and scores what was recorded
    for seed, loss in zip(model.restart_seeds_, model.restart_losses_, strict=True):
        alone = restart_model(n_restarts=1, random_state=seed, dtype="float64")
        alone.fit(X_train, y_train, validation_data=(X_val, y_val))
        assert binary_loss(alone, X_val, y_val) == pytest.approx(loss, rel=1e-10)


def test_restarts_without_validation_data_use_the_training_loss(small):
    X, y = small
    model = restart_model(l2=1e-3, dtype="float64").fit(X, y)
    assert model.best_restart_ == int(np.argmin(model.restart_losses_))
    assert binary_loss(model, X, y, l2=1e-3) == pytest.approx(min(model.restart_losses_), rel=1e-10)


def test_restarts_with_early_stopping(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    model = restart_model(early_stopping=True, patience=5, epochs=100, learning_rate=0.03)
    model.fit(X_train, y_train, validation_data=(X_val, y_val))
    assert min(model.restart_losses_) == min(model.history_["val_loss"])
    assert model.best_epoch_ == int(np.argmin(model.history_["val_loss"])) + 1


def test_restarts_in_threads_equal_restarts_in_sequence(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    one = restart_model(n_jobs=1, dropout=0.2).fit(X_train, y_train, validation_data=(X_val, y_val))
    two = restart_model(n_jobs=2, dropout=0.2).fit(X_train, y_train, validation_data=(X_val, y_val))
    assert one.restart_losses_ == two.restart_losses_
    assert one.best_restart_ == two.best_restart_
    assert np.array_equal(one.network_.params, two.network_.params)


# ----------------------------------------------------------------------------- schedules
LR0 = 0.01

SCHEDULES = {
    "StepDecay": (StepDecay(factor=0.5, every=3), lambda e: LR0 * 0.5 ** (e // 3)),
    "ExponentialDecay": (ExponentialDecay(rate=0.9), lambda e: LR0 * 0.9**e),
    "ExponentialDecay-staircase": (
        ExponentialDecay(rate=0.5, staircase=True, decay_epochs=2),
        lambda e: LR0 * 0.5 ** (e // 2),
    ),
    "InverseTimeDecay": (InverseTimeDecay(decay=0.5), lambda e: LR0 / (1 + 0.5 * e)),
    "CosineDecay": (
        CosineDecay(epochs=6, min_lr=0.001),
        lambda e: 0.001 + (LR0 - 0.001) * (1 + math.cos(math.pi * min(e, 6) / 6)) / 2,
    ),
    "callable": (lambda epoch, lr: lr * (1 + epoch), lambda e: LR0 * (1 + e)),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_produces_its_documented_sequence(small, name):
    X, y = small
    schedule, formula = SCHEDULES[name]
    model = cc.MLPClassifier(
        hidden_layers=(4,), learning_rate=LR0, epochs=10, lr_schedule=schedule, random_state=0
    ).fit(X, y)
    assert_allclose(model.history_["lr"], [formula(e) for e in range(10)], rtol=1e-14)


def test_schedule_rate_is_the_rate_trained_with(regression):
    # an epoch trained with the scheduled rate equals one trained at that constant rate
    X, y = regression
    common = {
        "hidden_layers": (5,),
        "optimizer": "sgd",
        "batch_size": None,
        "shuffle": False,
        "dtype": "float64",
        "random_state": 0,
        "epochs": 2,
    }
    scheduled = cc.MLPRegressor(learning_rate=0.1, lr_schedule=StepDecay(0.5, 1), **common).fit(
        X, y
    )
    net = cc.Network(
        (4, 5, 1), "relu", "identity", "float64", random_state=np.random.default_rng(0)
    )
    for lr in (0.1, 0.05):
        _, g = net.loss_and_grad(X, y)
        net.params[...] -= lr * g
    assert_allclose(scheduled.network_.params, net.params, rtol=1e-12, atol=1e-14)


def test_schedule_continues_counting_epochs_on_warm_start(small):
    X, y = small
    model = cc.MLPClassifier(
        hidden_layers=(4,),
        learning_rate=LR0,
        epochs=4,
        warm_start=True,
        lr_schedule=StepDecay(0.5, 3),
        random_state=0,
    )
    model.fit(X, y).fit(X, y)
    assert_allclose(model.history_["lr"], [LR0 * 0.5 ** (e // 3) for e in range(8)], rtol=1e-14)


def test_learning_rate_scheduler_callback_passes_the_current_rate(small):
    X, y = small
    model = cc.MLPClassifier(
        hidden_layers=(4,),
        learning_rate=LR0,
        epochs=6,
        random_state=0,
        callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)],
    ).fit(X, y)
    assert_allclose(model.history_["lr"], [LR0 * 0.5 ** (e + 1) for e in range(6)], rtol=1e-14)
    # a Schedule object gets the initial rate, as with lr_schedule=
    model = cc.MLPClassifier(
        hidden_layers=(4,),
        learning_rate=LR0,
        epochs=6,
        random_state=0,
        callbacks=[LearningRateScheduler(StepDecay(0.5, 2))],
    ).fit(X, y)
    assert_allclose(model.history_["lr"], [LR0 * 0.5 ** (e // 2) for e in range(6)], rtol=1e-14)


def test_reduce_lr_on_plateau_follows_the_documented_rule(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    factor, patience, min_delta, min_lr = 0.5, 2, 1e-3, 0.002
    model = cc.MLPClassifier(
        hidden_layers=(32,),
        learning_rate=0.05,
        epochs=40,
        random_state=0,
        callbacks=[
            ReduceLROnPlateau(factor=factor, patience=patience, min_delta=min_delta, min_lr=min_lr)
        ],
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    # replay the documented rule on the recorded val_loss
    best, wait, lr, expected = None, 0, 0.05, []
    for value in model.history_["val_loss"]:
        expected.append(lr)
        if best is None or value < best - min_delta:
            best, wait = value, 0
            continue
        wait += 1
        if wait >= patience and lr > min_lr:
            lr, wait = max(lr * factor, min_lr), 0
    assert_allclose(model.history_["lr"], expected, rtol=1e-14)
    assert len(set(expected)) >= 3  # the rate did go down, more than once
    assert min(expected) >= min_lr


# ------------------------------------------------------------------------ Adam vs plain SGD
def first_epoch_reaching(accuracies, level):
    hits = np.flatnonzero(np.asarray(accuracies) >= level)
    return int(hits[0]) + 1 if hits.size else None


def test_adam_reaches_97_percent_on_digits_in_fewer_epochs_than_sgd(digits):
    X_train, X_test, y_train, y_test = digits
    adam = cc.MLPClassifier(optimizer="adam", epochs=100, random_state=0)
    adam.fit(X_train, y_train, validation_data=(X_test, y_test))
    adam_epochs = first_epoch_reaching(adam.history_["val_accuracy"], 0.97)
    assert adam_epochs is not None
    # plain SGD at the same default settings, given three times as many epochs
    sgd = cc.MLPClassifier(optimizer="sgd", epochs=3 * adam_epochs, random_state=0)
    sgd.fit(X_train, y_train, validation_data=(X_test, y_test))
    assert sgd.learning_rate == adam.learning_rate == 1e-3
    sgd_epochs = first_epoch_reaching(sgd.history_["val_accuracy"], 0.97)
    assert sgd_epochs is None or sgd_epochs > adam_epochs


# --------------------------------------------------------------------------- sample weights
WEIGHT_MODELS = [
    (cc.MLPClassifier, "sgd"),
    (cc.MLPClassifier, "adam"),
    (cc.MLPRegressor, "momentum"),
    (cc.MLPRegressor, "adam"),
]


def full_batch(cls, optimizer, **params):
    return cls(
        hidden_layers=(6,),
        optimizer=optimizer,
        learning_rate=0.05,
        epochs=10,
        batch_size=None,
        shuffle=False,
        dtype="float64",
        random_state=0,
        **params,
    )


def weight_data(cls, small):
    X, y = small
    return X, (X @ np.array([1.0, -2.0, 0.5]) if cls is cc.MLPRegressor else y)


@pytest.mark.parametrize("cls,optimizer", WEIGHT_MODELS)
def test_sample_weight_two_everywhere_equals_no_weights(small, cls, optimizer):
    X, y = weight_data(cls, small)
    plain = full_batch(cls, optimizer).fit(X, y)
    doubled = full_batch(cls, optimizer).fit(X, y, sample_weight=np.full(len(y), 2.0))
    assert_allclose(doubled.network_.params, plain.network_.params, rtol=1e-13, atol=1e-15)
    assert_allclose(doubled.history_["loss"], plain.history_["loss"], rtol=1e-13)
    # in mini-batches too: each batch's loss is normalised by its sum of weights
    mb = {"batch_size": 8, "shuffle": True}
    plain = cls(hidden_layers=(6,), optimizer=optimizer, epochs=5, random_state=0, **mb).fit(X, y)
    doubled = cls(hidden_layers=(6,), optimizer=optimizer, epochs=5, random_state=0, **mb)
    doubled.fit(X, y, sample_weight=np.full(len(y), 2.0))
    assert_allclose(doubled.network_.params, plain.network_.params, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,optimizer", WEIGHT_MODELS)
def test_duplicated_row_equals_weight_two(small, cls, optimizer):
    X, y = weight_data(cls, small)
    rows = [7, 20]
    duplicated = full_batch(cls, optimizer).fit(
        np.vstack([X, X[rows]]), np.concatenate([y, y[rows]])
    )
    weights = np.ones(len(y))
    weights[rows] = 2.0
    weighted = full_batch(cls, optimizer).fit(X, y, sample_weight=weights)
    assert_allclose(weighted.network_.params, duplicated.network_.params, rtol=1e-10, atol=1e-13)
    assert_allclose(weighted.history_["loss"], duplicated.history_["loss"], rtol=1e-10)
    # a different weight is a different model
    weights[rows] = 5.0
    other = full_batch(cls, optimizer).fit(X, y, sample_weight=weights)
    assert not np.allclose(other.network_.params, duplicated.network_.params, rtol=1e-6)


def test_logistic_regression_full_batch_sample_weights(small):
    X, y = small
    plain = cc.LogisticRegression(shuffle=False, epochs=20).fit(X, y)
    doubled = cc.LogisticRegression(shuffle=False, epochs=20).fit(
        X, y, sample_weight=np.full(len(y), 2.0)
    )
    assert_allclose(doubled.coef_, plain.coef_, rtol=1e-13)
    duplicated = cc.LogisticRegression(shuffle=False, epochs=20).fit(
        np.vstack([X, X[:1]]), np.append(y, y[0])
    )
    weights = np.ones(len(y))
    weights[0] = 2
    weighted = cc.LogisticRegression(shuffle=False, epochs=20).fit(X, y, sample_weight=weights)
    assert_allclose(weighted.coef_, duplicated.coef_, rtol=1e-10)


def test_class_weight_balanced_and_dict_equal_the_sample_weights(small):
    X, y = small
    names = np.array(["no", "yes"])[y]
    n, n_yes = len(y), int(y.sum())
    assert n_yes != n - n_yes  # unbalanced, so "balanced" changes something
    balanced = full_batch(cc.MLPClassifier, "adam", class_weight="balanced").fit(X, names)
    by_hand = np.where(y == 1, n / (2 * n_yes), n / (2 * (n - n_yes)))
    weighted = full_batch(cc.MLPClassifier, "adam").fit(X, names, sample_weight=by_hand)
    plain = full_batch(cc.MLPClassifier, "adam").fit(X, names)
    assert_allclose(balanced.network_.params, weighted.network_.params, rtol=1e-13, atol=1e-15)
    assert not np.allclose(balanced.network_.params, plain.network_.params, rtol=1e-6)

    as_dict = full_batch(cc.MLPClassifier, "adam", class_weight={"yes": 3.0}).fit(X, names)
    weighted = full_batch(cc.MLPClassifier, "adam").fit(
        X, names, sample_weight=np.where(y == 1, 3.0, 1.0)
    )
    assert_allclose(as_dict.network_.params, weighted.network_.params, rtol=1e-13, atol=1e-15)
    # class weights multiply the sample weights
    sw = np.linspace(0.5, 2.0, n)
    both = full_batch(cc.MLPClassifier, "adam", class_weight={"yes": 3.0}).fit(
        X, names, sample_weight=sw
    )
    product = full_batch(cc.MLPClassifier, "adam").fit(
        X, names, sample_weight=sw * np.where(y == 1, 3.0, 1.0)
    )
    assert_allclose(both.network_.params, product.network_.params, rtol=1e-13, atol=1e-15)
    # upweighting a class moves predictions towards it
    assert as_dict.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


# ---------------------------------------------------------------- warm start, partial_fit
def incremental(**params):
    defaults = {
        "hidden_layers": (8,),
        "learning_rate": 0.01,
        "batch_size": None,
        "shuffle": False,
        "dtype": "float64",
        "random_state": 0,
    }
    return cc.MLPClassifier(**{**defaults, **params})


def test_warm_start_continues_from_the_fitted_weights_and_optimizer_state(small):
    X, y = small
    straight = incremental(epochs=8).fit(X, y)
    model = incremental(epochs=5, warm_start=True).fit(X, y)
    first_params = model.network_.params.copy()
    assert model.n_epochs_ == 5 and model._optimizer_state.t == 5
    model.set_params(epochs=3).fit(X, y)
    assert model.n_epochs_ == 8 and len(model.history_) == 8
    assert model.history_.epoch == list(range(8))
    assert model.history_["loss"][:5] == straight.history_["loss"][:5]
    assert model._optimizer_state.t == 8
    # 5 + 3 epochs with the optimizer state kept is exactly 8 epochs in one go
    assert np.array_equal(model.network_.params, straight.network_.params)
    assert not np.array_equal(model.network_.params, first_params)


def test_without_warm_start_fit_starts_afresh(small):
    X, y = small
    model = incremental(epochs=5).fit(X, y)
    first = model.network_.params.copy()
    model.fit(X, y)
    assert model.n_epochs_ == 5 and len(model.history_) == 5
    assert np.array_equal(model.network_.params, first)


def test_warm_start_uses_a_changed_learning_rate(small):
    X, y = small
    model = incremental(epochs=3, warm_start=True).fit(X, y)
    model.set_params(learning_rate=0.05).fit(X, y)
    assert model.history_["lr"] == [0.01] * 3 + [0.05] * 3


def test_partial_fit_runs_one_epoch_and_keeps_optimizer_state(small):
    X, y = small
    model = incremental(batch_size=16, optimizer="adam")
    steps_per_epoch = math.ceil(len(y) / 16)
    for call in range(1, 4):
        model.partial_fit(X, y)
        assert model.n_epochs_ == call and len(model.history_) == call
        assert model._optimizer_state.t == call * steps_per_epoch
    assert model.history_.epoch == [0, 1, 2]
    straight = incremental(batch_size=16, optimizer="adam", epochs=3).fit(X, y)
    assert np.array_equal(model.network_.params, straight.network_.params)


def test_partial_fit_with_classes_on_partial_batches(small):
    X, y = small
    names = np.array(["a", "b", "c"])[np.where(X[:, 1] > 0.5, 2, y)]
    model = incremental(optimizer="adam")
    model.partial_fit(X[:30], names[:30], classes=["a", "b", "c"])
    model.partial_fit(X[30:], names[30:])
    assert_array_equal(model.classes_, ["a", "b", "c"])
    assert model.predict_proba(X).shape == (len(y), 3)


def test_partial_fit_with_early_stopping_raises_a_clear_error(small):
    X, y = small
    with pytest.raises(ValueError, match=r"partial_fit.*early.stop"):
        incremental(early_stopping=True).partial_fit(X, y)


# ----------------------------------------------------------------------------- divergence
def divergent():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    return X, 1000 * (X @ np.array([1.0, -2.0, 0.5]))


def huge_rate(**params):
    return cc.MLPRegressor(
        hidden_layers=(8,), optimizer="sgd", learning_rate=1e6, random_state=0, **params
    )


def test_divergence_raises_naming_the_epoch_and_a_lower_learning_rate():
    X, y = divergent()
    with pytest.raises(ValueError, match=r"(?s)epoch \d+.*lower learning_rate"):
        huge_rate(epochs=5).fit(X, y)


def test_divergence_on_warm_start_keeps_the_last_finite_weights():
    X, y = divergent()
    model = huge_rate(epochs=1, warm_start=True).fit(X, y)  # one epoch: still finite
    last_finite = model.network_.params.copy()
    assert np.isfinite(last_finite).all()
    with pytest.raises(ValueError, match=r"(?s)epoch 2\b.*lower learning_rate"):
        model.set_params(epochs=5).fit(X, y)
    assert np.isfinite(model.network_.params).all()
    assert np.array_equal(model.network_.params, last_finite)
    assert model.n_epochs_ == len(model.history_) == 1  # the failed epoch is not recorded


def test_divergence_on_a_fresh_fit_keeps_the_last_finite_weights():
    X, y = divergent()
    model = huge_rate(epochs=5)
    with pytest.raises(ValueError, match="diverged"):
        model.fit(X, y)
    assert np.isfinite(model.network_.params).all()


# ------------------------------------------------------------------------------ callbacks
class Recorder(Callback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.events = []
        self.stop_after = stop_after

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", None, None))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch, None))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))
        if self.stop_after is not None and epoch + 1 >= self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append(("train_end", None, None))


def test_callback_hooks_are_called_in_order_with_logs(noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    recorder = Recorder()
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=3, random_state=0, callbacks=[recorder])
    model.fit(X_train, y_train, validation_data=(X_val, y_val))
    kinds = [(kind, epoch) for kind, epoch, _ in recorder.events]
    assert kinds == [
        ("train_begin", None),
        ("epoch_begin", 0),
        ("epoch_end", 0),
        ("epoch_begin", 1),
        ("epoch_end", 1),
        ("epoch_begin", 2),
        ("epoch_end", 2),
        ("train_end", None),
    ]
    for epoch, (_, _, logs) in enumerate(e for e in recorder.events if e[0] == "epoch_end"):
        assert set(logs) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
        for key, value in logs.items():
            assert value == model.history_[key][epoch]
    assert recorder.model.estimator is model
    # a regressor logs no accuracy; no validation data, no val_ keys
    recorder = Recorder()
    cc.MLPRegressor(hidden_layers=(4,), epochs=2, random_state=0, callbacks=[recorder]).fit(
        X_train, X_train[:, 0]
    )
    assert set(recorder.events[2][2]) == {"loss", "lr"}


def test_callback_stop_training_stops(small):
    X, y = small
    recorder = Recorder(stop_after=4)
    model = cc.MLPClassifier(
        hidden_layers=(4,), epochs=50, random_state=0, callbacks=[recorder]
    ).fit(X, y)
    assert model.n_epochs_ == 4 and len(model.history_) == 4
    assert recorder.events[-1][0] == "train_end"
    # epochs keep counting on a warm start, and the callback sees that
    recorder.stop_after = None
    model.set_params(warm_start=True, epochs=2).fit(X, y)
    assert [e for kind, e, _ in recorder.events if kind == "epoch_end"][-2:] == [4, 5]


def test_verbose_prints_one_line_per_epoch(capsys, noisy_moons):
    X_train, X_val, y_train, y_val = noisy_moons
    cc.MLPClassifier(hidden_layers=(4,), epochs=5, random_state=0, verbose=1).fit(
        X_train, y_train, validation_data=(X_val, y_val)
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    for i, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {i}/5")
        for key in ("loss", "val_loss", "accuracy"):
            assert key in line
        assert line.rstrip().endswith("s")
    cc.MLPClassifier(hidden_layers=(4,), epochs=5, random_state=0).fit(X_train, y_train)
    assert capsys.readouterr().out == ""
