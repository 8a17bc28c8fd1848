"""Property tests: random layer shapes, batch sizes, dtypes and activations, on every build
of the network kernels this CPU runs, agree with the plain-NumPy oracle (tests/oracle.py).

Shapes include 1-unit layers and 1 feature; batch sizes 1, ones that do not divide n and
ones larger than n. Example counts are small so the suite stays fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crash_core as cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
oracle = importlib.import_module("oracle")
builds = importlib.import_module("builds")
BUILDS, build_ids = builds.BUILDS, builds.IDS

RTOL = {"float32": 2e-4, "float64": 1e-9}
ATOL = {"float32": 2e-5, "float64": 1e-11}
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def networks(draw):
    """A random small network: (layer_sizes, activations, output, dtype, seed)."""
    n_features = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))
    output = draw(st.sampled_from(["sigmoid", "softmax", "identity"]))
    n_out = 1 if output == "sigmoid" else draw(st.integers(2 if output == "softmax" else 1, 4))
    acts = [draw(st.sampled_from(oracle.HIDDEN)) for _ in hidden]
    dtype = draw(st.sampled_from(["float32", "float64"]))
    return [n_features, *hidden, n_out], acts, output, dtype, draw(st.integers(0, 2**16))


def make(spec):
    sizes, acts, output, dtype, seed = spec
    return cc.Network(sizes, acts, output, dtype, random_state=seed)


def data_for(net, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.n_features))
    k = net.n_outputs
    if net.output == "sigmoid":
        y = rng.integers(0, 2, n)
    elif net.output == "softmax":
        y = rng.integers(0, k, n)
    else:
        y = rng.normal(size=(n, k))
    return X, y


@pytest.mark.parametrize("build", BUILDS, ids=build_ids)
@FAST
@given(spec=networks(), n=st.integers(1, 9), seed=st.integers(0, 100))
def test_forward_agrees_with_the_oracle(build, spec, n, seed):
    net = make(spec)
    X, _ = data_for(net, n, seed)
    with builds.using(build):
        got = net.forward(X)
    expected = oracle.forward(oracle.Net.like(net), X)
    dt = net.dtype.name
    np.testing.assert_allclose(got, expected, rtol=RTOL[dt], atol=ATOL[dt])
    if net.output != "identity":
        assert ((got >= 0) & (got <= 1)).all()
    if net.output == "softmax":
        np.testing.assert_allclose(got.sum(axis=1), 1, rtol=0, atol=10 * ATOL[dt] + 1e-6)


@pytest.mark.parametrize("build", BUILDS, ids=build_ids)
@FAST
@given(spec=networks(), n=st.integers(1, 9), seed=st.integers(0, 100))
def test_loss_and_gradient_agree_with_the_oracle(build, spec, n, seed):
    net = make(spec)
    X, y = data_for(net, n, seed)
    with builds.using(build):
        loss, grad = net.loss_and_grad(X, y, l1=0.01, l2=0.02)
    ref = oracle.Net.like(net)
    Y = oracle.targets(y, net.output, net.n_outputs)
    ref_loss, gW, gb, _ = oracle.loss_and_grad(ref, X, Y, 0.01, 0.02)
    weights, biases = net.split(grad)
    dt = net.dtype.name
    tol = {"rtol": 20 * RTOL[dt], "atol": 20 * ATOL[dt]}
    np.testing.assert_allclose(loss, ref_loss, **tol)
    for got, want in zip([*weights, *biases], [*gW, *gb], strict=True):
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("build", BUILDS, ids=build_ids)
@FAST
@given(
    spec=networks(),
    n=st.integers(1, 9),
    batch=st.sampled_from(["one", "not dividing", "larger than n", "n"]),
    seed=st.integers(0, 100),
)
def test_an_epoch_agrees_with_the_oracle(build, spec, n, batch, seed):
    net = make(spec)
    X, y = data_for(net, n, seed)
    batch_size = {"one": 1, "not dividing": max(1, n - 1) if n > 2 else 2, "n": n}.get(batch, n + 3)
    ref = oracle.Net.like(net)
    with builds.using(build):
        loss, _ = net.train_epoch(X, y, batch_size=batch_size, learning_rate=0.05, shuffle=False)
    Y = oracle.targets(y, net.output, net.n_outputs)
    total, _ = oracle.train_epoch(ref, X, Y, np.arange(n), batch_size, 0.05)
    dt = net.dtype.name
    tol = {"rtol": 50 * RTOL[dt], "atol": 50 * ATOL[dt]}
    np.testing.assert_allclose(loss, total / n, **tol)
    for got, want in zip([*net.weights, *net.biases], ref.arrays(), strict=True):
        np.testing.assert_allclose(got, want, **tol)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    n_features=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    k=st.integers(2, 4),
    dtype=st.sampled_from(["float32", "float64"]),
    batch_size=st.integers(1, 40),
    activation=st.sampled_from(oracle.HIDDEN),
)
def test_predict_proba_rows_are_probabilities(n_features, hidden, k, dtype, batch_size, activation):
    rng = np.random.default_rng(n_features * 100 + k)
    X = rng.normal(size=(30, n_features)) * 3
    y = np.arange(30) % k
    model = cc.MLPClassifier(
        hidden_layers=tuple(hidden),
        activation=activation,
        batch_size=batch_size,
        epochs=2,
        dtype=dtype,
        random_state=0,
    ).fit(X, y)
    P = model.predict_proba(np.vstack([X, 50 * X]))
    assert P.shape == (60, k)
    assert ((P >= 0) & (P <= 1)).all()
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(model.predict(X), model.classes_[P[:30].argmax(axis=1)])


@st.composite
def narrow_or_wide(draw):
    """(a network, whether every layer has <= 1024 inputs: the own fixed-order products)."""
    narrow = draw(st.booleans())
    top = 4 if narrow else 40
    n_features = draw(st.sampled_from([1, 3, 30, 700] if narrow else [1, 3, 30, 700, 1100]))
    hidden = draw(st.lists(st.integers(1, top), min_size=1, max_size=2))
    output = draw(st.sampled_from(["sigmoid", "softmax", "identity"]))
    k = 1 if output == "sigmoid" else draw(st.integers(2 if output == "softmax" else 1, top))
    sizes = [n_features, *hidden, k]
    dtype = draw(st.sampled_from(["float32", "float64"]))
    act = draw(st.sampled_from(oracle.HIDDEN))
    net = cc.Network(sizes, act, output, dtype, random_state=draw(st.integers(0, 99)))
    return net, max(sizes[:-1]) <= 1024


@pytest.mark.parametrize("build", BUILDS, ids=build_ids)
@settings(max_examples=20, deadline=None, derandomize=True)
@given(case=narrow_or_wide(), starts=st.lists(st.integers(0, 2500), min_size=1, max_size=3))
def test_a_rows_prediction_does_not_depend_on_its_batch(build, case, starts):
    """Bit-identical when every layer has <= 1024 inputs (the own products sum each output
    in a fixed order); otherwise equal up to rounding (a few units in the last place)."""
    net, narrow = case
    X = np.random.default_rng(len(starts)).normal(size=(2600, net.n_features))
    with builds.using(build):
        full = net.forward(X)
        for start in starts:
            for rows in (1, 5, 7, 600):
                part = net.forward(X[start : start + rows])
                expected = full[start : start + rows]
                if narrow:
                    assert np.array_equal(part, expected), (net, start, rows)
                else:
                    eps = float(np.finfo(net.dtype).eps)
                    np.testing.assert_allclose(part, expected, rtol=32 * eps, atol=32 * eps)
