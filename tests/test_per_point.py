"""The per-point loops of src/linear.pyx (``logistic_epoch``, ``perceptron_epoch``) at
every ISA level this CPU runs, against the plain-NumPy loops of tests/oracle.py.

For one sigmoid unit on narrow rows the logistic loop computes a point's score before the
step of the point before has reached w (z_(i+1) = b_(i-1) + u_i . x_(i+1) + e_i (1 + x_i .
x_(i+1)), see its docstring), so the cases below run it both ways (the early scores forced
on and off) and cover what the early scores could get wrong: the first and the last point,
the same row twice in a row, penalties (u_i differs from w_(i-1)), sample weights, one and
several outputs, scores far beyond the exponential's range, rows long enough for the wide
dot products.
"""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core as cc
import crash_core._kernels as kernels

sys.path.insert(0, str(Path(__file__).resolve().parent))
oracle = importlib.import_module("oracle")

LEVELS = [
    pytest.param(
        importlib.import_module(
            "crash_core._kernels.linear" + ("" if level == "portable" else f"_{level}")
        ),
        id=level,
    )
    for level in kernels.cpu_levels()
    if level in kernels.built_levels("linear")
]
# float64 follows the oracle to rounding; float32 to its own precision over a few hundred
# steps
RTOL = {np.float64: 1e-10, np.float32: 2e-4}
ATOL = {np.float64: 1e-12, np.float32: 2e-5}


@pytest.fixture(params=["early", "direct"])
def early(request):
    """Each level's logistic loop with its early scores on every row width, or on none."""
    modules = [p.values[0] for p in LEVELS]
    before = [m.early_scores_max_features() for m in modules]
    for m in modules:
        m.early_scores_max_features(10**9 if request.param == "early" else 0)
    yield request.param
    for m, setting in zip(modules, before, strict=True):
        m.early_scores_max_features(setting)


def problem(k, n=60, n_features=7, seed=0, scale=1.0):
    """Rows, (n x k) targets, starting weights and biases, and an order that visits rows
    at random, twice in a row once."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)) * scale
    if k == 1:
        Y = (rng.random((n, 1)) < 0.5).astype(float)
    else:
        Y = oracle.one_hot(rng.integers(0, k, n), k)
    W = rng.normal(size=(n_features, k)) * 0.3
    b = rng.normal(size=k) * 0.3
    order = rng.permutation(n)
    order = np.concatenate([order[:5], order[4:5], order[5:], rng.integers(0, n, n // 2)])
    return X, Y, W, b, order


def run(module, X, Y, W, b, order, lr, l1=0.0, l2=0.0, weights=None, dtype=np.float64):
    """logistic_epoch once over ``order``, on copies; returns (W, b, total, correct)."""
    k = Y.shape[1]
    Wd = np.ascontiguousarray(W, dtype=dtype).ravel().copy()
    bd = np.ascontiguousarray(b, dtype=dtype).copy()
    scores = np.empty(2 * k, dtype=dtype)
    sw = scores[:0] if weights is None else np.ascontiguousarray(weights, dtype=dtype)
    total, correct = module.logistic_epoch(
        Wd,
        bd,
        np.ascontiguousarray(X, dtype=dtype),
        np.ascontiguousarray(Y, dtype=dtype),
        sw,
        weights is not None,
        np.ascontiguousarray(order, dtype=np.intp),
        lr,
        l1,
        l2,
        scores,
    )
    return Wd.reshape(W.shape), bd, total, correct


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.05), (0.01, 0.05)])
@pytest.mark.parametrize("n_features", [7, 70])  # 70: the wide dot products
def test_logistic_epoch_follows_the_per_point_oracle(
    module, dtype, k, weighted, l1, l2, n_features, early
):
    X, Y, W, b, order = problem(k, seed=k, n_features=n_features)
    X /= np.sqrt(n_features / 7)
    weights = np.random.default_rng(9).uniform(0.2, 2.0, len(X)) if weighted else None
    got_W, got_b, total, correct = run(module, X, Y, W, b, order, 0.1, l1, l2, weights, dtype)
    want_W, want_b, want_total, want_correct = oracle.per_point_epoch(
        W, b, X, Y, order, 0.1, l1, l2, weights
    )
    assert_allclose(got_W, want_W, rtol=RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(got_b, want_b, rtol=RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(total, want_total, rtol=RTOL[dtype])
    assert correct == want_correct


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("k", [1, 4])
def test_logistic_epoch_first_and_last_points(module, k, early):
    """One point (its step is the last one), two points, and one feature."""
    X, Y, W, b, _ = problem(k, n=5, n_features=1, seed=3)
    for order in ([2], [2, 2], [4, 0]):
        got_W, got_b, total, correct = run(module, X, Y, W, b, np.array(order), 0.5)
        want_W, want_b, want_total, want_correct = oracle.per_point_epoch(
            W, b, X, Y, order, 0.5
        )
        assert_allclose(got_W, want_W, rtol=1e-12, atol=1e-14)
        assert_allclose(got_b, want_b, rtol=1e-12, atol=1e-14)
        assert_allclose(total, want_total, rtol=1e-12)
        assert correct == want_correct


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("k", [1, 3])
def test_logistic_epoch_scores_beyond_the_exponentials_range(module, k, early):
    """Features in the hundreds put |z| past 88 (float32's e^-|z| is 0): the probabilities
    saturate, the loss stays the exact -y min(z, 0) - (1 - y) min(-z, 0) + ln(1 + e^-|z|)."""
    X, Y, W, b, order = problem(k, n=30, seed=5, scale=300.0)
    for dtype in (np.float64, np.float32):
        got_W, got_b, total, correct = run(module, X, Y, W, b, order, 0.01, dtype=dtype)
        want_W, want_b, want_total, want_correct = oracle.per_point_epoch(
            W, b, X, Y, order, 0.01
        )
        assert np.isfinite(total) and np.isfinite(got_W).all()
        assert_allclose(got_W, want_W, rtol=RTOL[dtype], atol=ATOL[dtype] * 300)
        assert_allclose(got_b, want_b, rtol=RTOL[dtype], atol=ATOL[dtype])
        assert_allclose(total, want_total, rtol=RTOL[dtype])
        assert correct == want_correct


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logistic_epoch_is_reproducible_bit_for_bit(module, dtype, early):
    X, Y, W, b, order = problem(3, seed=8)
    first = run(module, X, Y, W, b, order, 0.1, 0.01, 0.02, dtype=dtype)
    second = run(module, X, Y, W, b, order, 0.1, 0.01, 0.02, dtype=dtype)
    assert_array_equal(first[0], second[0])
    assert_array_equal(first[1], second[1])
    assert first[2:] == second[2:]


def test_the_levels_train_alike(early):
    if len(LEVELS) < 2:
        pytest.skip("this CPU runs one level")
    X, Y, W, b, order = problem(1, n=200, seed=11)
    results = [run(p.values[0], X, Y, W, b, order, 0.1) for p in LEVELS]
    for got in results[1:]:
        assert_allclose(got[0], results[0][0], rtol=1e-12, atol=1e-14)
        assert_allclose(got[2], results[0][2], rtol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_per_point_fit_float32_agrees_with_float64(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (k == 3) * (X[:, 2] > 0.8)
    fits = [
        cc.LogisticRegression(
            batch_size=1, epochs=5, tol=0.0, learning_rate=0.05, random_state=0, dtype=dtype
        ).fit(X, y)
        for dtype in ("float64", "float32")
    ]
    assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(fits[1].intercept_, fits[0].intercept_, rtol=1e-4, atol=1e-5)
    assert_array_equal(fits[1].predict(X), fits[0].predict(X))


def test_logistic_epoch_refuses_short_scratch():
    X, Y, W, b, order = problem(3, n=4)
    with pytest.raises(ValueError, match="scores or sample_weight"):
        LEVELS[0].values[0].logistic_epoch(
            W.ravel().copy(), b.copy(), X, Y, np.empty(0), False, order % 4, 0.1, 0.0, 0.0,
            np.empty(2),
        )


def perceptron_problem(k, n=80, n_features=6, seed=0):
    """Separable-ish rows with 0/1 labels per perceptron (int8), and a shuffled order
    with one row twice in a row."""
    X, _, W, b, order = problem(k, n=n, n_features=n_features, seed=seed)
    rng = np.random.default_rng(seed + 1)
    truth = X @ rng.normal(size=(n_features, k)) + rng.normal(size=k) * 0.1
    Y = (truth > 0).astype(np.int8)
    return X, Y, W, b, order


def run_perceptron(module, X, Y, W, b, order, lr, dtype=np.float64):
    Wd = np.ascontiguousarray(W, dtype=dtype).ravel().copy()
    bd = np.ascontiguousarray(b, dtype=dtype).copy()
    mistakes = module.perceptron_epoch(
        Wd, bd, np.ascontiguousarray(X, dtype=dtype), Y,
        np.ascontiguousarray(order, dtype=np.intp), lr,
    )
    return Wd.reshape(W.shape), bd, mistakes


@pytest.mark.parametrize("module", LEVELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3])
def test_perceptron_epoch_follows_the_plain_loop(module, dtype, k):
    X, Y, W, b, order = perceptron_problem(k, seed=k)
    for _ in range(3):  # later epochs make fewer mistakes: runs of points with no step
        got_W, got_b, mistakes = run_perceptron(module, X, Y, W, b, order, 0.1, dtype)
        W, b, want_mistakes = oracle.perceptron_epoch(W, b, X, Y, order, 0.1)
        assert mistakes == want_mistakes
        assert_allclose(got_W, W, rtol=RTOL[dtype], atol=ATOL[dtype])
        assert_allclose(got_b, b, rtol=RTOL[dtype], atol=ATOL[dtype])
    assert want_mistakes < len(order) // 3


@pytest.mark.parametrize("module", LEVELS)
def test_perceptron_epoch_point_by_point_equals_one_pass(module):
    """One call per point (the plot module's replay) trains as one call over them all."""
    X, Y, W, b, order = perceptron_problem(2, n=20, seed=4)
    whole = run_perceptron(module, X, Y, W, b, order, 0.5)
    Wd, bd, total = W.ravel().copy(), b.copy(), 0
    for i in range(len(order)):
        total += module.perceptron_epoch(Wd, bd, X, Y, order[i : i + 1].astype(np.intp), 0.5)
    assert total == whole[2]
    assert_allclose(Wd.reshape(W.shape), whole[0], rtol=1e-12, atol=1e-14)
    assert_allclose(bd, whole[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("module", LEVELS)
def test_per_point_loops_refuse_rows_without_features_and_take_no_points(module):
    X = np.zeros((3, 0))
    with pytest.raises(ValueError, match="no features"):
        module.logistic_epoch(
            np.zeros(0), np.zeros(1), X, np.zeros((3, 1)), np.empty(0), False,
            np.arange(3, dtype=np.intp), 0.1, 0.0, 0.0, np.empty(2),
        )
    with pytest.raises(ValueError, match="no features"):
        module.perceptron_epoch(
            np.zeros(0), np.zeros(1), X, np.zeros((3, 1), np.int8), np.arange(3, dtype=np.intp),
            0.1,
        )
    X, Y, W, b, _ = problem(2, n=4)
    got = run(module, X, Y, W, b, np.empty(0, dtype=np.intp), 0.1)
    assert_array_equal(got[0], W)
    assert got[2:] == (0.0, 0)


def test_early_scores_are_for_one_unit_on_narrow_rows():
    module = LEVELS[0].values[0]
    assert module.early_scores_max_features() == 64
    previous = module.early_scores_max_features(5)
    try:
        assert previous == 64 and module.early_scores_max_features() == 5
    finally:
        module.early_scores_max_features(previous)
