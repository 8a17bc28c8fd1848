"""The pair step (src/simd/gemm_body.h's pair_job, src/simd/pool.h's pair session): an
epoch of a network of one hidden layer on two threads, each keeping half of the hidden
units through the step.  The fit is bit for bit the one thread's, for every ISA level,
precision, optimizer and width, with the helper running every second half (strict) or
racing the caller for them; and the policy pairs only the epochs it may."""

import multiprocessing
import sys

import numpy as np
import pytest

import crash_core as cc
import crash_core.network as network_module
from crash_core import _blas_threads as bt
from tests.builds import BUILDS, IDS, using

# the helper thread needs POSIX threads (an MSVC build runs every step on one thread)
HAVE_POOL = sys.platform != "win32"


@pytest.fixture
def restore_pairing():
    """The builds' pair and split thresholds back as they were after the test."""
    previous = [(b.pair_min_flops_(), b.split_min_flops_()) for b in BUILDS]
    yield
    for b, (pair, split) in zip(BUILDS, previous, strict=True):
        b.pair_min_flops_(pair)
        b.split_min_flops_(split)
        b.split_threads_(1)


def _fit(X, y, threads, sample_weight=None, **params):
    """A fit whose epochs the policy gives ``threads`` threads, and its probabilities."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network_module, "split_threads", lambda *args, **kwargs: threads)
        mp.setattr(network_module, "kernel_threads", lambda *args, **kwargs: threads)
        model = cc.MLPClassifier(epochs=3, random_state=0, **params)
        model.fit(X, y, sample_weight=sample_weight)
        return model, model.predict_proba(X)


def _data(n_features, n_classes, n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    y = (X[:, :n_classes] ** 2).argmax(axis=1) if n_classes > 2 else (X[:, 0] > 0.3)
    return X, y.astype(int)


def _halves(build, hidden, dtype):
    """Whether the pair step takes ``hidden`` units at ``build``'s level: two halves of
    whole vectors, the first whole blocks of two vectors, the second at least one block
    (src/simd/gemm_body.h's pair_columns and pair_takes)."""
    lanes = build.VECTOR_BYTES // np.dtype(dtype).itemsize
    if not lanes or hidden % lanes:
        return False
    block = 2 * lanes
    first = -(-hidden // 2 // block) * block
    return hidden - first >= block


def _paired_and_one_thread(build, X, y, **params):
    with using(build):
        one, p_one = _fit(X, y, 1, **params)
        steps, halves = build.pair_steps_(), build.pair_halves_()
        two, p_two = _fit(X, y, 2, **params)
        steps, halves = build.pair_steps_() - steps, build.pair_halves_() - halves
    np.testing.assert_array_equal(one.network_.params, two.network_.params)
    np.testing.assert_array_equal(p_one, p_two)
    assert one.loss_ == two.loss_
    return steps, halves


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "case",
    [
        # (features, hidden units, classes, batch, params)
        (20, 128, 10, 32, {"optimizer": "sgd", "dtype": "float32"}),
        (13, 112, 3, 40, {"optimizer": "adam", "dtype": "float32"}),  # halves of 64 and 48
        (11, 100, 3, 20, {"optimizer": "sgd", "dtype": "float32"}),  # paired where L divides
        (30, 64, 2, 25, {"optimizer": "momentum", "dtype": "float64"}),
        (7, 200, 4, 50, {"optimizer": "sgd", "dtype": "float64", "l2": 1e-3}),
        (16, 96, 2, 16, {"optimizer": "sgd", "activation": "tanh", "dtype": "float32"}),
        (9, 80, 5, 32, {"optimizer": "nesterov", "activation": "sigmoid", "dtype": "float32"}),
    ],
    ids=["sgd-128", "adam-112", "sgd-100", "momentum-64-f64", "sgd-l2-200-f64", "tanh-96",
         "sigmoid-80"],
)
def test_a_paired_fit_is_the_one_threads_bit_for_bit(build, case, restore_pairing):
    n_features, hidden, n_classes, batch, params = case
    X, y = _data(n_features, n_classes)
    build.pair_min_flops_(0.0)  # every epoch paired, the helper running every second half
    steps, halves = _paired_and_one_thread(
        build, X, y, hidden_layers=(hidden,), batch_size=batch, **params
    )
    if HAVE_POOL and _halves(build, hidden, params["dtype"]):
        assert steps == 3 * -(-X.shape[0] // batch)  # every step of the paired fit
        assert halves == 2 * steps  # the helper ran the second half of both phases
    else:
        assert steps == 0


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_a_helper_that_races_the_caller_changes_no_bit(build, restore_pairing):
    # outside the tests' strict mode the caller takes a half the helper has not claimed,
    # times its steps and runs some of them alone: the bits stay the one thread's
    X, y = _data(24, 6, n=600, seed=1)
    build.pair_min_flops_(1.0)
    w = np.random.default_rng(2).uniform(0.2, 2.0, X.shape[0])
    for _ in range(3):
        steps, _ = _paired_and_one_thread(
            build, X, y, sample_weight=w, hidden_layers=(128,), batch_size=24
        )
        assert steps > 0 or not (HAVE_POOL and build.VECTOR_BYTES)


def _pair_steps_of_fit(**params):
    kernels = network_module.kernels
    X, y = _data(64, 10, n=640)
    before = kernels.pair_steps_()
    cc.MLPClassifier(epochs=2, random_state=0, **params).fit(X, y)
    return kernels.pair_steps_() - before


@pytest.mark.skipif(not HAVE_POOL, reason="no helper threads without POSIX threads")
def test_the_policy_pairs_only_the_epochs_it_may(monkeypatch, restore_pairing):
    if not network_module.kernels.VECTOR_BYTES:
        pytest.skip("BLAS does every product at this ISA level: no pair step")
    monkeypatch.setattr(network_module, "split_budget", lambda: 2)
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 2)
    # 64-128-10 / b64: 1.2 MFLOP forward a batch, above the default threshold
    big = {"hidden_layers": (128,), "batch_size": 64}
    assert _pair_steps_of_fit(**big) == 20
    assert _pair_steps_of_fit(hidden_layers=(128,), batch_size=16) == 0  # too small a batch
    assert _pair_steps_of_fit(hidden_layers=(128, 64), batch_size=64) == 0  # two layers
    assert _pair_steps_of_fit(dropout=0.1, **big) == 0  # the mask is drawn in order
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 1)  # another process's core
    assert _pair_steps_of_fit(**big) == 0
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 2)
    monkeypatch.setattr(network_module, "split_budget", lambda: 1)  # threadpool_limits(1)
    assert _pair_steps_of_fit(**big) == 0


def _child_fit(queue):
    X, y = _data(20, 4, n=120)
    network_module.kernels.pair_min_flops_(0.0)
    model, _ = _fit(X, y, 2, hidden_layers=(64,), batch_size=30)
    queue.put((model.network_.params, network_module.kernels.pair_halves_()))


@pytest.mark.skipif(sys.platform != "linux", reason="forking a process with threads: Linux only")
def test_a_forked_child_pairs_its_steps_with_a_helper_of_its_own(restore_pairing):
    kernels = network_module.kernels
    if not kernels.VECTOR_BYTES:
        pytest.skip("BLAS does every product at this ISA level: no pair step")
    X, y = _data(20, 4, n=120)
    kernels.pair_min_flops_(0.0)
    parent, _ = _fit(X, y, 2, hidden_layers=(64,), batch_size=30)  # the helper exists now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_fit, args=(queue,))
    child.start()
    params, halves = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(params, parent.network_.params)
    assert halves > 0
