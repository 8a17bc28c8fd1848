"""cc.functional against plain NumPy / math / scipy.special references and the course's loops."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

from crash_core import functional as F

EXTREME = np.array([-1e4, -800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0, 1e4])
FLOAT_DTYPES = [np.float32, np.float64]
ACTIVATIONS = [F.step, F.sigmoid, F.sigmoid_derivative, F.tanh, F.relu]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def raise_on_float_errors():
    """Overflow, division by zero or an invalid operation fails the test even without -W."""
    return np.errstate(over="raise", divide="raise", invalid="raise")


def one_hot(labels, n_classes):
    return np.eye(n_classes)[labels]


# ---------------------------------------------------------------------------------------------
# Activations


def test_step_is_one_from_zero_on():
    z = np.array([-2.0, -1e-300, 0.0, 1e-300, 3.0])
    assert_array_equal(F.step(z), [0, 0, 1, 1, 1])
    assert_array_equal(F.step([[-1, 0], [2, -3]]), [[0, 1], [1, 0]])


def test_sigmoid_matches_expit(rng):
    z = rng.normal(scale=5, size=(7, 3))
    assert_allclose(F.sigmoid(z), special.expit(z), rtol=1e-15, atol=0)
    assert F.sigmoid(0) == 0.5


def test_sigmoid_matches_the_course_formula_where_it_is_safe(rng):
    z = rng.uniform(-30, 30, size=50)
    assert_allclose(F.sigmoid(z), [1 / (1 + math.exp(-v)) for v in z], rtol=1e-14)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sigmoid_and_derivative_are_stable_for_extreme_inputs(dtype):
    z = EXTREME.astype(dtype)
    with raise_on_float_errors():
        s = F.sigmoid(z)
        ds = F.sigmoid_derivative(z)
    assert_allclose(s, special.expit(z), rtol=1e-6 if dtype is np.float32 else 1e-15)
    assert s[0] == 0 and s[-1] == 1
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.isfinite(ds)) and np.all(ds >= 0)
    assert ds[0] == 0 and ds[-1] == 0 and ds[4] == 0.25


def test_sigmoid_derivative_is_s_times_one_minus_s(rng):
    z = rng.normal(scale=4, size=100)
    s = special.expit(z)
    assert_allclose(F.sigmoid_derivative(z), s * (1 - s), rtol=1e-12, atol=1e-300)


def test_sigmoid_derivative_matches_a_finite_difference():
    z = np.linspace(-6, 6, 25)
    h = 1e-6
    numeric = (special.expit(z + h) - special.expit(z - h)) / (2 * h)
    assert_allclose(F.sigmoid_derivative(z), numeric, rtol=1e-7, atol=1e-12)


def test_tanh_and_relu(rng):
    z = rng.normal(scale=3, size=(4, 5))
    assert_allclose(F.tanh(z), np.tanh(z), rtol=1e-15)
    assert_array_equal(F.relu(z), np.where(z > 0, z, 0.0))
    with raise_on_float_errors():
        assert_array_equal(F.tanh(EXTREME)[[0, -1]], [-1, 1])
        assert_array_equal(F.relu(EXTREME), np.maximum(EXTREME, 0))


@given(
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6), elements=st.floats(-1e6, 1e6))
)
@settings(derandomize=True, max_examples=60, deadline=None)
def test_sigmoid_is_symmetric_and_bounded(z):
    s = F.sigmoid(z)
    assert s.shape == z.shape
    assert np.all((s >= 0) & (s <= 1))
    assert_allclose(F.sigmoid(-z), 1 - s, atol=1e-15)


def test_scalars_give_scalars():
    for fn in ACTIVATIONS:
        assert np.ndim(fn(1.5)) == 0
        assert np.ndim(fn(np.float32(1.5))) == 0


@pytest.mark.parametrize("fn", ACTIVATIONS)
def test_activations_accept_empty_arrays(fn):
    assert fn(np.empty((0, 3), dtype=np.float32)).shape == (0, 3)


# ---------------------------------------------------------------------------------------------
# Softmax


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_matches_scipy(rng, axis):
    Z = rng.normal(scale=3, size=(5, 4))
    assert_allclose(F.softmax(Z, axis=axis), special.softmax(Z, axis=axis), rtol=1e-14)
    assert_allclose(F.softmax(Z, axis=axis).sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_matches_the_course_loop():
    scores = [5.0, 6.0, 7.0]
    total = sum(math.exp(s) for s in scores)
    assert_allclose(F.softmax(scores), [math.exp(s) / total for s in scores], rtol=1e-15)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_is_stable_for_extreme_scores(dtype):
    Z = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    with raise_on_float_errors():
        P = F.softmax(Z)
    assert P.dtype == dtype
    assert_allclose(P, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    assert_allclose(P, special.softmax(Z.astype(np.float64), axis=-1), rtol=1e-6)


def test_log_of_softmax_matches_log_softmax(rng):
    Z = rng.normal(scale=20, size=(6, 5))
    assert_allclose(np.log(F.softmax(Z)), special.log_softmax(Z, axis=-1), rtol=1e-9, atol=1e-12)


def test_softmax_is_shift_invariant(rng):
    Z = rng.normal(size=(3, 6))
    assert_allclose(F.softmax(Z + 1000.0), F.softmax(Z), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Error functions


def course_cross_entropy(Y, P):
    total = 0.0
    for y_i, p_i in zip(Y, P, strict=True):
        total -= y_i * math.log(p_i) + (1 - y_i) * math.log(1 - p_i)
    return total


def test_cross_entropy_of_the_three_doors():
    # gifts behind the first two doors, none behind the third
    expected = -math.log(0.8) - math.log(0.7) - math.log(0.9)
    assert_allclose(F.cross_entropy([1, 1, 0], [0.8, 0.7, 0.1]), expected, rtol=1e-15)


def test_cross_entropy_is_the_course_sum_and_bce_its_mean(rng):
    y = rng.integers(0, 2, size=40)
    p = rng.uniform(0.01, 0.99, size=40)
    expected = course_cross_entropy(y, p)
    assert_allclose(F.cross_entropy(y, p), expected, rtol=1e-13)
    assert_allclose(F.binary_cross_entropy(y, p), expected / 40, rtol=1e-13)


def test_bce_from_sigmoid_equals_the_logit_form(rng):
    z = rng.normal(scale=5, size=30)
    y = rng.integers(0, 2, size=30)
    # -ln sigmoid(z) = log(1 + e^-z), -ln(1 - sigmoid(z)) = log(1 + e^z)
    expected = np.mean(np.where(y == 1, np.logaddexp(0, -z), np.logaddexp(0, z)))
    assert_allclose(F.binary_cross_entropy(y, F.sigmoid(z)), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_losses_stay_finite_at_probabilities_0_and_1(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    y = np.array([0, 1, 1, 0])
    eps = np.finfo(dtype).eps
    with raise_on_float_errors():
        ce = F.cross_entropy(y, p)
        bce = F.binary_cross_entropy(y, p)
        cce = F.categorical_cross_entropy([0, 1], np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype))
    # the two wrong answers cost -ln(eps) each, the right ones almost nothing
    assert_allclose(ce, -2 * np.log(eps), rtol=1e-5)
    assert_allclose(bce, ce / 4, rtol=1e-6)
    assert_allclose(cce, -np.log(eps) / 2, rtol=1e-5)
    assert np.isfinite(ce) and np.isfinite(cce)


def test_categorical_cross_entropy_labels_and_one_hot_agree(rng):
    Z = rng.normal(scale=2, size=(12, 4))
    labels = rng.integers(0, 4, size=12)
    P = special.softmax(Z, axis=1)
    expected = -np.mean(special.log_softmax(Z, axis=1)[np.arange(12), labels])
    assert_allclose(F.categorical_cross_entropy(labels, P), expected, rtol=1e-12)
    assert_allclose(F.categorical_cross_entropy(one_hot(labels, 4), P), expected, rtol=1e-12)


def test_categorical_cross_entropy_with_two_classes_is_bce(rng):
    p = rng.uniform(0.05, 0.95, size=20)
    y = rng.integers(0, 2, size=20)
    P = np.column_stack([1 - p, p])
    assert_allclose(F.categorical_cross_entropy(y, P), F.binary_cross_entropy(y, p), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# dtypes and inputs left alone


def call_everything(dtype):
    """Every public function on small inputs of ``dtype``, by name."""
    z = np.array([-2.0, 0.0, 3.0], dtype=dtype)
    P = np.array([[0.2, 0.8], [0.6, 0.4]], dtype=dtype)
    p = np.array([0.2, 0.9], dtype=dtype)
    X = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=dtype)
    W = np.array([0.1, -0.3], dtype=dtype)
    return {
        "step": F.step(z),
        "sigmoid": F.sigmoid(z),
        "sigmoid_derivative": F.sigmoid_derivative(z),
        "tanh": F.tanh(z),
        "relu": F.relu(z),
        "softmax": F.softmax(P),
        "cross_entropy": F.cross_entropy([0, 1], p),
        "binary_cross_entropy": F.binary_cross_entropy([0, 1], p),
        "categorical_cross_entropy": F.categorical_cross_entropy([1, 0], P),
        "perceptron_step": F.perceptron_step(X, [0, 1], W, dtype(0.5)),
        "gradient_descent_step": F.gradient_descent_step(X, [0, 1], W, dtype(0.5), 0.1),
    }


def test_every_public_function_is_covered():
    assert sorted(call_everything(np.float64)) == sorted(F.__all__)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtype_is_preserved(dtype):
    for name, result in call_everything(dtype).items():
        for value in result if isinstance(result, tuple) else (result,):
            assert np.asarray(value).dtype == dtype, name


def test_integers_are_computed_in_float64():
    assert F.sigmoid([1, 2]).dtype == np.float64
    assert F.step(np.array([1, -1], dtype=np.int32)).dtype == np.float64
    assert F.softmax([1, 2]).dtype == np.float64
    W, b = F.perceptron_step([[1, 2]], [0], [0, 0], 0)
    assert W.dtype == np.float64 and np.asarray(b).dtype == np.float64


def test_inputs_are_never_modified(rng):
    z = rng.normal(size=(4, 3))
    Y = one_hot(rng.integers(0, 3, size=4), 3)
    X = rng.normal(size=(4, 3))
    y = np.array([0.0, 1.0, 1.0, 0.0])
    W = rng.normal(size=(3, 1))
    b = np.array([0.3])
    P = F.softmax(z)
    before = [a.copy() for a in (z, Y, X, y, W, b, P)]
    for fn in ACTIVATIONS:
        fn(z)
    F.softmax(z, axis=0)
    F.cross_entropy(y, P[:, 0])
    F.binary_cross_entropy(y, P[:, 0])
    F.categorical_cross_entropy(Y, P)
    W1, b1 = F.perceptron_step(X, y, W, b, learn_rate=0.5)
    W2, b2 = F.gradient_descent_step(X, y, W, b, learn_rate=0.5)
    for old, new in zip(before, (z, Y, X, y, W, b, P), strict=True):
        assert_array_equal(old, new)
    for new in (W1, b1, W2, b2):
        assert not np.shares_memory(new, W) and not np.shares_memory(new, b)
    assert not np.array_equal(W2, W)


# ---------------------------------------------------------------------------------------------
# The update rules against the course's loops


def course_perceptron_step(X, y, W, b, learn_rate=0.01):
    """The course's perceptronStep, for any number of features, on copies."""
    W = W.copy()
    for i in range(len(X)):
        y_hat = 1 if (np.matmul(X[i], W) + b)[0] >= 0 else 0
        if y[i] - y_hat == 1:
            for j in range(len(X[i])):
                W[j] += X[i][j] * learn_rate
            b += learn_rate
        elif y[i] - y_hat == -1:
            for j in range(len(X[i])):
                W[j] -= X[i][j] * learn_rate
            b -= learn_rate
    return W, b


def course_update_weights(X, y, weights, bias, learnrate):
    """The course's update_weights, applied to each point in order, on copies."""
    weights = weights.copy()
    for x, target in zip(X, y, strict=True):
        output = special.expit(np.dot(x, weights) + bias)
        d_error = target - output
        weights += learnrate * d_error * x
        bias += learnrate * d_error
    return weights, bias


@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_perceptron_step_is_the_course_algorithm(rng, n_features):
    X = rng.uniform(0, 10, size=(60, n_features))
    y = (X.sum(axis=1) > 5 * n_features).astype(int)
    W = rng.normal(size=(n_features, 1))
    b = -1.0
    for _ in range(5):  # several passes, so that the state carried between them is checked too
        W_expected, b_expected = course_perceptron_step(X, y, W, b, learn_rate=0.1)
        W, b = F.perceptron_step(X, y, W, b, learn_rate=0.1)
        assert W.shape == (n_features, 1)
        assert_array_equal(W, W_expected)
        assert b == b_expected


def test_perceptron_step_default_rate_and_flat_weights():
    X = np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, -2.0]])
    y = np.array([0, 1, 1])
    W, b = F.perceptron_step(X, y, np.zeros(2), 0.0)
    # point 1 scores 0, so it is predicted 1 but is 0: subtract it. Point 2 then scores -0.02,
    # predicted 0 but is 1: add it. Point 3 then scores 0.02 and is rightly predicted 1.
    assert_allclose(W, [0.02, -0.03])
    assert b == 0.0
    assert W.shape == (2,) and np.ndim(b) == 0


def test_perceptron_step_leaves_a_separating_line_alone(rng):
    X = rng.uniform(0, 10, size=(50, 2))
    y = (2 * X[:, 0] + X[:, 1] - 18 >= 0).astype(int)
    W, b = F.perceptron_step(X, y, [2.0, 1.0], -18.0)
    assert_array_equal(W, [2.0, 1.0]) and b == -18.0


@pytest.mark.parametrize("n_features", [1, 3])
def test_gradient_descent_step_is_the_course_update(rng, n_features):
    X = rng.normal(size=(80, n_features))
    y = (X[:, 0] + rng.normal(scale=0.5, size=80) > 0).astype(float)
    W = rng.normal(size=n_features)
    b = 0.2
    for _ in range(5):
        W_expected, b_expected = course_update_weights(X, y, W, b, 0.05)
        W, b = F.gradient_descent_step(X, y, W, b, 0.05)
        assert_allclose(W, W_expected, rtol=1e-13)
        assert_allclose(b, b_expected, rtol=1e-13)


def test_gradient_descent_step_is_stable_for_huge_scores():
    X = np.array([[1e4, -1e4], [-1e4, 1e4]])
    with raise_on_float_errors():
        W, b = F.gradient_descent_step(X, [1, 1], [1.0, 0.0], 0.0, 0.1)
    # the first point is already right (y_hat = 1); the second is y_hat = 0, so it moves fully
    assert_allclose(W, [1.0 - 1e3, 1e3])
    assert_allclose(b, 0.1)


def test_gradient_descent_step_lowers_the_error(rng):
    X = rng.normal(size=(100, 2))
    y = (X @ [1.5, -2.0] + 0.5 > 0).astype(float)
    W, b = np.zeros(2), 0.0
    errors = []
    for _ in range(10):
        errors.append(F.binary_cross_entropy(y, F.sigmoid(X @ W + b)))
        W, b = F.gradient_descent_step(X, y, W, b, 0.1)
    assert np.all(np.diff(errors) < 0)


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("fn", [*ACTIVATIONS, F.softmax])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_activations_reject_nan_and_infinity(fn, bad):
    with pytest.raises(ValueError, match="NaN or infinity"):
        fn([[0.0, bad]])


@pytest.mark.parametrize("fn", [*ACTIVATIONS, F.softmax])
def test_activations_reject_non_numbers(fn):
    with pytest.raises(TypeError, match="real numbers"):
        fn(["a", "b"])
    with pytest.raises(TypeError, match="real numbers"):
        fn(np.array([1 + 2j]))


def test_softmax_rejects_bad_shapes_and_axes():
    with pytest.raises(ValueError, match="at least one dimension"):
        F.softmax(3.0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        F.softmax([[1.0, 2.0]], axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        F.softmax([1.0, 2.0], axis=1.0)
    with pytest.raises(ValueError, match="no scores"):
        F.softmax(np.empty((3, 0)))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.binary_cross_entropy])
def test_binary_losses_reject_bad_input(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn([0, 1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        fn([0, 1], [[0.5], [0.5]])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="probabilities"):
        fn([0, 1], [-0.1, 0.5])
    with pytest.raises(ValueError, match="probabilities"):
        fn([0, 1], [3.0, 0.5])
    with pytest.raises(ValueError, match="labels in"):
        fn([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        fn([0, 1], [np.nan, 0.5])


def test_categorical_cross_entropy_rejects_bad_input():
    P = np.array([[0.3, 0.7], [0.5, 0.5]])
    with pytest.raises(ValueError, match="2-D"):
        F.categorical_cross_entropy([0, 1], [0.3, 0.7])
    with pytest.raises(ValueError, match="labels must be in"):
        F.categorical_cross_entropy([0, 2], P)
    with pytest.raises(ValueError, match="labels must be in"):
        F.categorical_cross_entropy([-1, 0], P)
    with pytest.raises(ValueError, match="one label per row"):
        F.categorical_cross_entropy([0, 1, 1], P)
    with pytest.raises(TypeError, match="integer class labels"):
        F.categorical_cross_entropy([0.0, 1.0], P)
    with pytest.raises(ValueError, match="same shape"):
        F.categorical_cross_entropy(np.eye(3), P)
    with pytest.raises(ValueError, match="empty"):
        F.categorical_cross_entropy(np.empty(0, dtype=int), np.empty((0, 2)))
    with pytest.raises(ValueError, match="probabilities"):
        F.categorical_cross_entropy([0, 1], [[2.0, -1.0], [0.5, 0.5]])


@pytest.mark.parametrize("update", [F.perceptron_step, F.gradient_descent_step])
def test_update_rules_reject_bad_input(update):
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([0, 1])
    W = np.zeros(2)
    with pytest.raises(ValueError, match="X must be 2-D"):
        update([1.0, 2.0], y, W, 0.0, 0.1)
    with pytest.raises(ValueError, match="different lengths"):
        update(X, [0, 1, 1], W, 0.0, 0.1)
    with pytest.raises(ValueError, match="y must be 1-D"):
        update(X, [[0], [1]], W, 0.0, 0.1)
    with pytest.raises(ValueError, match="one weight per feature"):
        update(X, y, np.zeros(3), 0.0, 0.1)
    with pytest.raises(ValueError, match="single number"):
        update(X, y, W, [0.0, 1.0], 0.1)
    with pytest.raises(ValueError, match="empty"):
        update(np.empty((0, 2)), [], W, 0.0, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        update([[1.0, np.nan], [3.0, 4.0]], y, W, 0.0, 0.1)
    with pytest.raises(ValueError, match="positive"):
        update(X, y, W, 0.0, -0.1)
    with pytest.raises(TypeError, match="learn_rate must be a number"):
        update(X, y, W, 0.0, "fast")
    with pytest.raises(ValueError, match="labels"):
        update(X, [0, 3], W, 0.0, 0.1)


def test_perceptron_step_needs_0_1_labels():
    with pytest.raises(ValueError, match="0 and 1"):
        F.perceptron_step([[1.0], [2.0]], [0, 0.5], [0.0], 0.0)
