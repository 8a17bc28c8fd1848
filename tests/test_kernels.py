"""The compiled kernels against the plain-NumPy oracle (tests/oracle.py).

Each kernel family is called through its ``def`` wrapper (``crash_core._kernels.<name>``);
the network kernels (forward_, loss_and_grad_, train_epoch_) through the ``Network`` /
``EpochTrainer`` methods that are one kernel call each.  Shapes include the edges a
bounds-checked build should see: a one-unit hidden layer, no hidden layer, n = 1, batches
that do not divide n and batches larger than n, in float32 and float64.
"""

import importlib
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core._kernels as kernels_pkg
from crash_core._kernels import activations as kact
from crash_core._kernels import blas as kblas
from crash_core._kernels import losses as klosses
from crash_core._kernels import network as knetwork
from crash_core._kernels import optimizers as kopt
from crash_core._kernels import random as krandom
from crash_core.network import EpochTrainer, Network
from crash_core.optimizers import SGD, Adam

sys.path.insert(0, str(Path(__file__).resolve().parent))
oracle = importlib.import_module("oracle")

pytestmark = pytest.mark.kernels

DTYPES = [np.float64, np.float32]
HIDDEN_KIND = {"sigmoid": 0, "tanh": 1, "relu": 2, "identity": 3}
OUTPUT_KIND = {"sigmoid": 0, "softmax": 1, "identity": 2}
OPT_KIND = {"sgd": 0, "momentum": 1, "nesterov": 2, "adam": 3}
N_OUT = {"sigmoid": 1, "softmax": 3, "identity": 2}
# hidden widths (between the inputs and the outputs) and their activations
STRUCTURES = {
    "no-hidden": ((), ()),
    "one-unit": ((1,), ("tanh",)),
    "one-hidden": ((5,), ("relu",)),
    "two-hidden-mixed": ((4, 3), ("sigmoid", "relu")),
}


def tol(dtype):
    """(rtol for values, scaled tolerance for vectors) for a kernel dtype vs float64 maths."""
    return (1e-12, 1e-10) if dtype == np.float64 else (1e-4, 1e-3)


def scaled_error(got, want):
    got, want = np.ravel(got).astype(float), np.ravel(want).astype(float)
    scale = max(np.linalg.norm(got), np.linalg.norm(want), 1e-300)
    return np.linalg.norm(got - want) / scale


def flat(arrays):
    return np.concatenate([np.ravel(a).astype(float) for a in arrays])


def make_net(structure, out, dtype, seed=0, n_in=3):
    """A Network initialised in float64 then cast to ``dtype``, biases made non-zero."""
    widths, acts = STRUCTURES[structure]
    sizes = (n_in, *widths, N_OUT[out])
    net64 = Network(sizes, activation=list(acts), output=out, dtype="float64", random_state=seed)
    rng = np.random.default_rng(seed + 100)
    for b in net64.biases:
        b[...] = rng.uniform(-0.5, 0.5, size=b.shape)
    if dtype == np.float64:
        return net64
    net = Network(sizes, activation=list(acts), output=out, dtype="float32", random_state=seed)
    net.params[...] = net64.params.astype(np.float32)
    return net


def make_data(n, n_in, out, dtype, seed=0):
    """(X in ``dtype``, y as the Network takes it, Y as the oracle takes it)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)).astype(dtype)
    k = N_OUT[out]
    if out == "sigmoid":
        y = rng.integers(0, 2, size=n).astype(float)
    elif out == "softmax":
        y = rng.integers(0, k, size=n)
    else:
        y = rng.normal(size=(n, k))
    return X, y, oracle.targets(y, out, k)


# ---------------------------------------------------------------- BLAS wrappers
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (3, 4, 5), (7, 1, 3), (1, 6, 2), (5, 5, 1)])
def test_gemm_rm_matches_numpy(dtype, trans_a, trans_b, m, n, k):
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    op_a = rng.normal(size=(m, k))
    op_b = rng.normal(size=(k, n))
    c0 = rng.normal(size=(m, n))
    a = np.ascontiguousarray(op_a.T if trans_a else op_a, dtype=dtype)
    b = np.ascontiguousarray(op_b.T if trans_b else op_b, dtype=dtype)
    c = c0.astype(dtype)
    knetwork.gemm_rm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=1.5, beta=0.5)
    ab = op_a.astype(dtype).astype(float) @ op_b.astype(dtype).astype(float)
    rtol = tol(dtype)[0] * 100
    assert_allclose(c, 1.5 * ab + 0.5 * c0.astype(dtype), rtol=rtol, atol=rtol)
    # beta = 0 ignores whatever c held
    c[...] = np.nan
    knetwork.gemm_rm(a, b, c, trans_a=trans_a, trans_b=trans_b)
    assert_allclose(c, ab, rtol=rtol, atol=rtol)


def test_gemm_rm_rejects_mismatched_shapes():
    a, b, c = np.ones((2, 3)), np.ones((4, 5)), np.ones((2, 5))
    with pytest.raises(ValueError, match="shapes"):
        knetwork.gemm_rm(a, b, c)
    with pytest.raises(ValueError, match="shapes"):
        knetwork.gemm_rm(a, np.ones((3, 5)), c, trans_a=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 17])
def test_axpy_and_dot(dtype, n):
    rng = np.random.default_rng(n)
    x, y0 = rng.normal(size=n), rng.normal(size=n)
    y = y0.astype(dtype)
    kblas.axpy_(-2.5, x.astype(dtype), y)
    rtol = tol(dtype)[0] * 10
    assert_allclose(y, y0 - 2.5 * x, rtol=rtol, atol=rtol)
    assert kblas.dot_(x.astype(dtype), y0.astype(dtype)) == pytest.approx(x @ y0, rel=rtol)


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(HIDDEN_KIND))
@pytest.mark.parametrize("shape", [(1, 1), (6, 4)])
def test_add_bias_activate(dtype, kind, shape):
    rng = np.random.default_rng(1)
    z0 = rng.normal(scale=3, size=shape)
    z0.flat[0] = 0.0
    bias = rng.normal(size=shape[1])
    z = z0.astype(dtype)
    kact.add_bias_activate_(z, bias.astype(dtype), HIDDEN_KIND[kind])
    pre = z0.astype(dtype).astype(float) + bias.astype(dtype).astype(float)
    assert_allclose(z, oracle.activate(pre, kind), rtol=tol(dtype)[0] * 10, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(HIDDEN_KIND))
@pytest.mark.parametrize("n", [1, 25])
def test_multiply_derivative_from_outputs(dtype, kind, n):
    rng = np.random.default_rng(2)
    z = rng.normal(scale=2, size=n)
    if n > 1:
        z[0] = 0.0  # relu'(0) is taken as 0, like the oracle's (z > 0)
    delta0 = rng.normal(size=n)
    a = oracle.activate(z, kind).astype(dtype)
    delta = delta0.astype(dtype)
    kact.multiply_derivative_(delta, a, HIDDEN_KIND[kind])
    assert_allclose(delta, delta0 * oracle.derivative(z, kind), rtol=1e-5, atol=1e-6)


def test_activation_wrappers_check_lengths():
    with pytest.raises(ValueError):
        kact.add_bias_activate_(np.ones((2, 3)), np.ones(2), 0)
    with pytest.raises(ValueError):
        kact.multiply_derivative_(np.ones(3), np.ones(2), 0)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
@pytest.mark.parametrize("n", [1, 9])
def test_output_loss_matches_oracle(dtype, out, n):
    rng = np.random.default_rng(3)
    k = N_OUT[out]
    Z = rng.normal(scale=2, size=(n, k))
    _, _, Y = make_data(n, 1, out, np.float64, seed=4)
    z = Z.astype(dtype)
    Zc = z.astype(float)
    delta = np.full((n, k), np.nan, dtype=dtype)
    scale = 0.25
    total, right = klosses.output_loss_(z, Y.astype(dtype), delta, OUTPUT_KIND[out], scale)
    P = oracle.output(Zc, out)
    rtol = tol(dtype)[0]
    assert total == pytest.approx(oracle.row_losses(Zc, Y, out).sum(), rel=rtol)
    assert_allclose(z, P, rtol=rtol * 10, atol=1e-7)  # z now holds the outputs
    assert_allclose(delta, scale * (P - Y), rtol=rtol * 10, atol=1e-7)
    assert right == oracle.correct(P, Y, out)
    if out == "softmax":
        assert_allclose(z.sum(axis=1), 1.0, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
def test_output_loss_extreme_logits_stay_finite(dtype, out):
    k = N_OUT[out]
    big = 1e4
    if out == "softmax":
        Z = np.array([[big, -big, 0.0], [-big, big, 0.0], [big, big, -big]])
        Y = oracle.one_hot([0, 0, 2], 3)
    elif out == "sigmoid":
        Z = np.array([[big], [-big], [big], [-big]])
        Y = np.array([[1.0], [1.0], [0.0], [0.0]])
    else:
        Z = np.array([[big, -big], [0.0, big]])
        Y = np.zeros((2, k))
    z = Z.astype(dtype)
    delta = np.empty_like(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total, right = klosses.output_loss_(z, Y.astype(dtype), delta, OUTPUT_KIND[out], 1.0)
    assert np.isfinite(total)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(delta))
    assert total == pytest.approx(oracle.row_losses(Z, Y, out).sum(), rel=1e-6)
    P = oracle.output(Z, out)
    atol = 1e-6 if dtype == np.float64 else 1e-5
    assert_allclose(z, P, atol=atol)
    assert_allclose(delta, P - Y, atol=atol)
    assert right == oracle.correct(P, Y, out)


@pytest.mark.parametrize("big", [1e3, 1e4])
def test_output_loss_float32_softmax_rows_sum_to_one(big):
    z = np.array([[big, big, -big]], dtype=np.float32)
    delta = np.empty_like(z)
    klosses.output_loss_(z, np.array([[1.0, 0.0, 0.0]], dtype=np.float32), delta, 1, 1.0)
    assert_allclose(z, [[0.5, 0.5, 0.0]], atol=1e-6)
    assert abs(float(delta.sum())) <= 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
def test_output_activation(dtype, out):
    rng = np.random.default_rng(5)
    Z = rng.normal(scale=3, size=(4, N_OUT[out]))
    Z[0, 0] = 800.0
    z = Z.astype(dtype)
    klosses.output_activation_(z, OUTPUT_KIND[out])
    assert_allclose(z, oracle.output(Z.astype(dtype).astype(float), out), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- optimizer steps
def layer_masks(net):
    """Boolean flat masks (weights, biases) in the Network's own layout."""
    is_weight = np.zeros(net.n_params, dtype=bool)
    weights, _ = net.split(is_weight)
    for w in weights:
        w[...] = True
    return is_weight, ~is_weight


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", oracle.OPTIMIZERS)
@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.01, 0.02)])
def test_optimizer_step_vs_oracle(dtype, kind, l1, l2):
    net = make_net("two-hidden-mixed", "softmax", dtype, seed=6)
    for b in net.biases:
        b[...] = 3.0  # large biases would show any penalty applied to them
    is_weight, is_bias = layer_masks(net)
    n = net.n_params
    params = net.params
    state1 = np.zeros(n if kind != "sgd" else 0, dtype=dtype)
    state2 = np.zeros(n if kind == "adam" else 0, dtype=dtype)
    w_ref, b_ref = params[is_weight].astype(float), params[is_bias].astype(float)
    ref_opt = oracle.Optimizer(kind, momentum=0.9, beta1=0.8, beta2=0.99, eps=1e-7)
    rng = np.random.default_rng(7)
    t = 0
    for step in range(3):
        grad = rng.normal(size=n).astype(dtype)
        pen_before = l1 * np.abs(w_ref).sum() + l2 * (w_ref**2).sum()
        penalty, t = kopt.step(
            params,
            grad,
            state1,
            state2,
            net.layers,
            OPT_KIND[kind],
            0.05,
            momentum=0.9,
            beta1=0.8,
            beta2=0.99,
            eps=1e-7,
            l1=l1,
            l2=l2,
            t=t,
        )
        g = grad.astype(float)
        ref_opt.step([w_ref, b_ref], [g[is_weight], g[is_bias]], [True, False], 0.05, l1, l2)
        assert t == step + 1
        assert penalty == pytest.approx(pen_before, rel=tol(dtype)[0], abs=1e-15)
        rtol = tol(dtype)[0] * 10
        assert_allclose(params[is_weight], w_ref, rtol=rtol, atol=rtol)
        assert_allclose(params[is_bias], b_ref, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_weights", [1, 15, 16, 17, 31, 33, 250, 4099])
def test_penalty_sums_every_weight_once(dtype, n_weights):
    """The penalty is summed in 16 interleaved partial sums: every length, whole blocks of
    16 or not, gives l1 sum|w| + l2 sum w^2 to double precision."""
    rng = np.random.default_rng(n_weights)
    w = rng.standard_normal(n_weights).astype(dtype)
    # one layer of n_weights x 1 units: weights first, then one bias
    params = np.concatenate([w, np.array([5.0], dtype)])
    layers = np.array([[n_weights, 1, 0, n_weights]], dtype=np.intp)
    penalty, _ = kopt.step(
        params,
        np.zeros_like(params),
        np.zeros(0, dtype),
        np.zeros(0, dtype),
        layers,
        OPT_KIND["sgd"],
        0.0,
        l1=0.3,
        l2=0.4,
    )
    w64 = w.astype(np.float64)
    exact = math.fsum(0.3 * abs(x) + 0.4 * x * x for x in w64)
    assert penalty == pytest.approx(exact, rel=1e-13)
    # each penalty alone (the other's sum skipped)
    for l1, l2 in [(0.3, 0.0), (0.0, 0.4)]:
        penalty, _ = kopt.step(
            params,
            np.zeros_like(params),
            np.zeros(0, dtype),
            np.zeros(0, dtype),
            layers,
            OPT_KIND["sgd"],
            0.0,
            l1=l1,
            l2=l2,
        )
        exact = math.fsum(l1 * abs(x) + l2 * x * x for x in w64)
        assert penalty == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("kind", oracle.OPTIMIZERS)
def test_optimizer_step_never_penalises_biases(kind):
    net = make_net("one-hidden", "sigmoid", np.float64, seed=8)
    for b in net.biases:
        b[...] = -2.0
    is_weight, is_bias = layer_masks(net)
    # adam moves a weight by about the learning rate (0.1): weights above that shrink
    w0 = net.params[is_weight]
    net.params[is_weight] = np.sign(w0) * (0.15 + np.abs(w0))
    before = net.params.copy()
    n = net.n_params
    s1 = np.zeros(n if kind != "sgd" else 0)
    s2 = np.zeros(n if kind == "adam" else 0)
    penalty, _ = kopt.step(
        net.params,
        np.zeros(n),
        s1,
        s2,
        net.layers,
        OPT_KIND[kind],
        0.1,
        momentum=0.9,
        l1=0.3,
        l2=0.4,
    )
    w = before[is_weight]
    assert penalty == pytest.approx(0.3 * np.abs(w).sum() + 0.4 * (w**2).sum(), rel=1e-12)
    assert_array_equal(net.params[is_bias], before[is_bias])
    # a zero data gradient still shrinks every weight towards zero
    assert np.all(np.abs(net.params[is_weight]) < np.abs(w))


def test_optimizer_step_checks_state_lengths():
    net = make_net("one-hidden", "sigmoid", np.float64)
    n = net.n_params
    with pytest.raises(ValueError, match="state1"):
        kopt.step(net.params, np.zeros(n), np.zeros(0), np.zeros(0), net.layers, 1, 0.1)
    with pytest.raises(ValueError, match="state2"):
        kopt.step(net.params, np.zeros(n), np.zeros(n), np.zeros(0), net.layers, 3, 0.1)
    with pytest.raises(ValueError, match="grad"):
        kopt.step(net.params, np.zeros(n - 1), np.zeros(0), np.zeros(0), net.layers, 0, 0.1)


# ---------------------------------------------------------------- random numbers
def test_uniform_in_unit_interval_with_mean_one_half():
    u = krandom.uniform(krandom.new_state(42), 200_000)
    assert u.dtype == np.float64 and u.shape == (200_000,)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005
    assert abs(u.var() - 1 / 12) < 0.002
    # roughly flat: every tenth of [0, 1) gets about a tenth of the draws
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts / u.size - 0.1) < 0.005)


def test_uniform_reproducible_per_seed_and_advances_state():
    s1, s2 = krandom.new_state(7), krandom.new_state(7)
    assert s1.dtype == np.uint64 and s1.shape == (4,)
    assert_array_equal(s1, s2)
    assert np.any(krandom.new_state(0) != 0)
    first = krandom.uniform(s1, 50)
    assert_array_equal(first, krandom.uniform(s2, 50))
    assert_array_equal(s1, s2)
    assert not np.array_equal(first, krandom.uniform(s1, 50))  # the state moved on
    assert not np.array_equal(first, krandom.uniform(krandom.new_state(8), 50))
    with pytest.raises(ValueError):
        krandom.uniform(np.zeros(3, dtype=np.uint64), 1)


# ---------------------------------------------------------------- network kernels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
@pytest.mark.parametrize("structure", list(STRUCTURES))
@pytest.mark.parametrize("n", [1, 8, 1100])
def test_forward_matches_oracle(dtype, out, structure, n):
    net = make_net(structure, out, dtype, seed=9)
    X, _, _ = make_data(n, 3, out, dtype, seed=10)
    P = net.forward(X)
    assert P.dtype == dtype and P.shape == (n, N_OUT[out])
    want = oracle.forward(oracle.Net.like(net), X.astype(float))
    assert scaled_error(P, want) <= tol(dtype)[1]
    if out == "softmax":
        assert_allclose(P.sum(axis=1), 1.0, rtol=tol(dtype)[0] * 10)
    if out != "identity":
        assert np.all((P >= 0) & (P <= 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
@pytest.mark.parametrize("structure", list(STRUCTURES))
@pytest.mark.parametrize("n", [1, 13])
@pytest.mark.parametrize("penalty", [(0.0, 0.0), (0.003, 0.01)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_grad_match_oracle(dtype, out, structure, n, penalty, weighted):
    l1, l2 = penalty
    net = make_net(structure, out, dtype, seed=11)
    X, y, Y = make_data(n, 3, out, dtype, seed=12)
    sw = np.random.default_rng(13).uniform(0.2, 3.0, size=n) if weighted else None
    loss, grad = net.loss_and_grad(X, y, l1=l1, l2=l2, sample_weight=sw)
    assert grad.dtype == dtype and grad.shape == net.params.shape
    swc = None if sw is None else sw.astype(dtype).astype(float)
    want_loss, gW, gb, _ = oracle.loss_and_grad(
        oracle.Net.like(net), X.astype(float), Y, l1, l2, swc
    )
    rtol, vtol = tol(dtype)
    assert loss == pytest.approx(want_loss, rel=rtol)
    weights, biases = net.split(grad)
    assert (
        scaled_error(
            np.concatenate([g.ravel() for g in weights + biases]),
            np.concatenate([g.ravel() for g in gW + gb]),
        )
        <= vtol
    )
    for got, want in zip(weights + biases, gW + gb, strict=True):
        assert got.shape == want.shape


def _epoch_optimizer(kind):
    return {
        "sgd": SGD(),
        "momentum": SGD(momentum=0.9),
        "nesterov": SGD(momentum=0.9, nesterov=True),
        "adam": Adam(beta1=0.9, beta2=0.999, eps=1e-8),
    }[kind]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", oracle.OPTIMIZERS)
@pytest.mark.parametrize(
    "n,batch",
    [(12, 4), (11, 4), (7, 16), (1, 1), (1, 5), (10, 1)],
    ids=["divides", "ragged", "batch>n", "n=1", "n=1,batch>n", "per-sample"],
)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1", [0.001, 0.0], ids=["l1+l2", "l2"])
def test_epoch_kernel_matches_oracle(dtype, kind, n, batch, weighted, l1):
    """Two epochs against the oracle; with an L2 penalty alone plain SGD steps inside the
    backward pass, the penalty as weight decay in the weight-gradient products' beta."""
    out = "softmax" if kind in ("momentum", "adam") else "sigmoid"
    structure = "one-unit" if kind in ("sgd", "adam") else "two-hidden-mixed"
    net = make_net(structure, out, dtype, seed=14)
    X, y, Y = make_data(n, 3, out, dtype, seed=15)
    sw = np.random.default_rng(16).uniform(0.2, 3.0, size=n).astype(dtype) if weighted else None
    ref = oracle.Net.like(net)
    ref_opt = oracle.Optimizer(kind, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8)
    trainer = EpochTrainer(net, batch, _epoch_optimizer(kind))
    Yk = Y.astype(dtype)
    swc = None if sw is None else sw.astype(float)
    lr, l2 = 0.05, 0.002
    rtol, vtol = tol(dtype)
    for epoch in range(2):  # the second epoch continues from the optimizer state
        order = np.random.default_rng(epoch).permutation(n)
        got_start = flat(net.weights + net.biases)
        want_start = flat(ref.arrays())
        total, right = trainer.run(X, Yk, order, lr, l1, l2, sample_weight=sw)
        want_total, want_right = oracle.train_epoch(
            ref, X.astype(float), Y, order, batch, lr, l1, l2, ref_opt, swc
        )
        assert trainer.state.t == ref_opt.t == (epoch + 1) * -(-n // batch)
        assert total == pytest.approx(want_total, rel=rtol)
        assert right == want_right
        got, want = flat(net.weights + net.biases), flat(ref.arrays())
        assert scaled_error(got, want) <= vtol
        assert scaled_error(got - got_start, want - want_start) <= vtol * 10


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", list(OUTPUT_KIND))
@pytest.mark.parametrize("structure", ["no-hidden", "one-unit", "two-hidden-mixed"])
@pytest.mark.parametrize("n,cap", [(1, 1), (10, 3), (10, 10), (7, 64)])
@pytest.mark.parametrize("weighted", [False, True])
def test_evaluate_kernel_matches_oracle(dtype, out, structure, n, cap, weighted):
    net = make_net(structure, out, dtype, seed=17)
    X, _, Y = make_data(n, 3, out, dtype, seed=18)
    sw = np.random.default_rng(19).uniform(0.2, 3.0, size=n).astype(dtype)
    acts = np.empty(cap * int(net.layers[:, 1].sum()), dtype=dtype)
    delta = np.empty(cap * net.n_outputs, dtype=dtype)
    total, right = knetwork.evaluate_(
        net.params,
        net.layers,
        net.kinds,
        net.out_kind,
        X,
        Y.astype(dtype),
        sw if weighted else sw[:0],
        weighted,
        acts,
        delta,
        cap,
    )
    ref = oracle.Net.like(net)
    Zs, _ = oracle.forward_all(ref, X.astype(float))
    losses = oracle.row_losses(Zs[-1], Y, out)
    want = (sw.astype(float) @ losses) if weighted else losses.sum()
    assert total == pytest.approx(want, rel=tol(dtype)[0])
    assert right == oracle.correct(oracle.output(Zs[-1], out), Y, out)


# every build of the network kernels this CPU can run (importing another would crash it)
RUNNABLE_NETWORK_BUILDS = [
    level
    for level in kernels_pkg.cpu_levels()
    if level in kernels_pkg.built_levels("network_kernels")
]


def network_build(level):
    return knetwork.at_level(level)


@pytest.mark.parametrize("level", RUNNABLE_NETWORK_BUILDS)
def test_every_isa_build_agrees_with_the_portable_build(level):
    """Each ISA level's build of the network kernels computes the same loss and gradient."""
    rng = np.random.default_rng(11)
    net = Network((5, 7, 3), activation="tanh", output="softmax", random_state=0)
    X = rng.normal(size=(13, 5))
    Y = np.eye(3)[rng.integers(0, 3, 13)]
    results = []
    for module in (knetwork, network_build(level)):
        grad = np.empty_like(net.params)
        acts = np.empty(13 * 10)
        delta, spare = np.empty(13 * 7), np.empty(13 * 7)
        loss, _ = module.loss_and_grad_(
            net.params,
            grad,
            net.layers,
            net.kinds,
            net.out_kind,
            X,
            Y,
            X[:0, 0].copy(),
            False,
            0.01,
            0.02,
            acts,
            delta,
            spare,
        )
        results.append((loss, grad))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-12)
    assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("level", RUNNABLE_NETWORK_BUILDS)
def test_gradient_does_not_read_what_the_buffers_held(level):
    """The gradient overwrites its buffer: NaN left in it from before must not leak in."""
    module = network_build(level)
    rng = np.random.default_rng(12)
    net = Network((4, 6, 2), activation="relu", output="softmax", random_state=0)
    X = rng.normal(size=(9, 4))
    Y = np.eye(2)[rng.integers(0, 2, 9)]
    grads = []
    for fill in (0.0, np.nan):
        grad = np.full_like(net.params, fill)
        acts, delta, spare = np.full(9 * 8, fill), np.full(9 * 6, fill), np.full(9 * 6, fill)
        module.loss_and_grad_(
            net.params,
            grad,
            net.layers,
            net.kinds,
            net.out_kind,
            X,
            Y,
            X[:0, 0].copy(),
            False,
            0.0,
            0.0,
            acts,
            delta,
            spare,
        )
        grads.append(grad)
    assert np.isfinite(grads[1]).all()
    assert_array_equal(grads[0], grads[1])
