"""The backward pass through a layer of a few units in one pass (src/simd/gemm_body.h,
``narrow_backward``): a sigmoid or linear output, a softmax over up to 4 classes.  It takes
the delta of the layer below and the layer's weight gradient (or, with plain SGD, its update)
from one pass over the layer's inputs, with the same bits as the product, derivative and
weight-gradient kernels it replaces, at every ISA level; and it really runs where it should
and only there."""

import sys

import numpy as np
import pytest

from crash_core.network import EpochTrainer, Network
from tests import oracle
from tests.builds import BUILDS, IDS, plain_sgd_epoch, using

# (layer sizes, hidden activation, output, optimizer, dtype, dropout, batch)
CASES = [
    ((8, 32, 1), "relu", "sigmoid", "sgd", "float32", 0.0, 16),
    ((5, 48, 16, 2), "tanh", "identity", "adam", "float64", 0.0, 7),
    ((6, 32, 4), "sigmoid", "softmax", "momentum", "float32", 0.0, 33),
    ((6, 64, 3), "relu", "softmax", "sgd", "float64", 0.0, 10),
    ((6, 64, 3), "relu", "softmax", "sgd", "float32", 0.3, 10),  # dropout below: not taken
    ((6, 40, 2), "relu", "softmax", "sgd", "float32", 0.0, 10),  # 40 wide: whole vectors?
    ((4, 112, 1), "tanh", "sigmoid", "sgd", "float32", 0.0, 9),  # blocks of 4 and 3 vectors
    ((4, 80, 4), "relu", "softmax", "adam", "float32", 0.0, 12),  # blocks of 2, 2 and 1
]
IDS_CASES = [f"{'-'.join(map(str, c[0]))}-{c[1]}-{c[2]}-{c[3]}-{c[4]}-d{c[5]}" for c in CASES]


def _data(sizes, output, n=61, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    if output == "identity":
        y = rng.standard_normal((n, sizes[-1]))
    else:
        y = rng.integers(0, max(2, sizes[-1]), n)
    return X, y


def _train(build, case, narrow):
    sizes, activation, output, optimizer, dtype, dropout, batch = case
    X, y = _data(sizes, output)
    previous = build.narrow_backward_(narrow)
    try:
        with using(build):
            net = Network(sizes, activation, output, dtype, random_state=0)
            trainer = EpochTrainer(net, batch, optimizer, dropout=dropout, seed=1)
            X = X.astype(dtype)
            Y = net.targets(y, X.shape[0])
            before = build.narrow_passes_()
            losses = [
                trainer.run(X, Y, np.random.default_rng(e).permutation(X.shape[0]), 0.05)
                for e in range(3)
            ]
            passes = build.narrow_passes_() - before
            loss, grad = net.loss_and_grad(X, y, l2=1e-3)
    finally:
        build.narrow_backward_(previous)
    return net.params.copy(), losses, loss, grad, passes


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS_CASES)
def test_one_pass_backward_is_the_products_bit_for_bit(build, case):
    on = _train(build, case, 1)
    off = _train(build, case, 0)
    np.testing.assert_array_equal(on[0], off[0])  # the parameters after three epochs
    assert on[1] == off[1]  # every epoch's (loss, correct, steps)
    assert on[2] == off[2]
    np.testing.assert_array_equal(on[3], off[3])  # loss_and_grad's gradient
    sizes, dropout = case[0], case[5]
    lanes = build.VECTOR_BYTES // np.dtype(case[4]).itemsize
    expected = bool(lanes) and dropout == 0 and sizes[-2] % lanes == 0 and sizes[-2] > 4
    assert (on[4] > 0) == expected
    assert off[4] == 0


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_one_pass_backward_matches_the_numpy_reference(build, output):
    sizes = (7, 32, 32, 1 if output == "sigmoid" else 3)
    X, y = _data(sizes, output, n=20, seed=2)
    with using(build):
        net = Network(sizes, "tanh", output, "float64", random_state=3)
        before = build.narrow_passes_()
        loss, grad = net.loss_and_grad(X, y)
        taken = build.narrow_passes_() > before
    want_loss, gW, gb, _ = oracle.loss_and_grad(
        oracle.Net.like(net), X, oracle.targets(y, output, sizes[-1])
    )
    want_w, want_b = net.split(grad)
    assert taken == (build.VECTOR_BYTES > 0)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    for got, want in zip(want_w + want_b, gW + gb, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_one_pass_backward_split_over_threads_is_the_same(build):
    """Large enough, the pass shares its blocks of columns among the helper threads; each
    block is computed by the same code whichever thread takes it."""
    if not build.VECTOR_BYTES:
        pytest.skip("this build has no own product kernels")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    results = []
    for threads in (1, 2):
        net = Network((8, 256, 3), "tanh", "softmax", "float32", random_state=0)
        t = EpochTrainer(net, 100, "sgd")
        before = build.narrow_passes_(), build.split_products_()
        previous = build.split_min_flops_(0.0), build.split_threads_(threads)
        try:
            build.train_epoch_(*plain_sgd_epoch(t, X, net.targets(y, 300), 0.1))
        finally:
            build.split_min_flops_(previous[0])
            build.split_threads_(previous[1])
        assert build.narrow_passes_() > before[0]
        if sys.platform != "win32":  # the helper threads need POSIX threads
            assert (build.split_products_() > before[1]) == (threads > 1)
        results.append(net.params.copy())
    np.testing.assert_array_equal(results[0], results[1])
