"""The pair step (src/network_kernels.pyx's pair_epoch, src/simd/pool.h's pair session): an
epoch with the last hidden layer's units in two halves that each train as a network of their
own (the layers below whole in both; the logits summed, and below a hidden layer each half's
delta W^T for it), on two threads when the policy gives it them.  It trains as the NumPy
reference does; the fit is bit for bit the same on one thread or two, for every ISA level,
precision, optimizer, width and depth (one thread runs the whole step with the halves'
sums), with the helper running every second half (strict) or racing the caller for them;
and it is taken only where it may."""

import multiprocessing
import sys

import numpy as np
import pytest

import crash_core as cc
import crash_core.network as network_module
from crash_core import _blas_threads as bt
from crash_core.network import EpochTrainer, Network
from tests import oracle
from tests.builds import BUILDS, IDS, plain_sgd_epoch, using

# the helper thread needs POSIX threads (an MSVC build runs every step on one thread)
HAVE_POOL = sys.platform != "win32"


@pytest.fixture
def restore_pairing():
    """The builds' pair and split thresholds back as they were after the test."""
    previous = [(b.pair_min_flops_(), b.split_min_flops_(), b.pair_alone_steps_()) for b in BUILDS]
    yield
    for b, (pair, split, alone) in zip(BUILDS, previous, strict=True):
        b.pair_min_flops_(pair)
        b.split_min_flops_(split)
        b.pair_alone_steps_(alone)
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
    """Whether the pair step takes a last hidden layer of ``hidden`` units at ``build``'s
    level: the first half whole vectors, about half of them, and the second at least a
    vector (src/network_kernels.pyx's pair_units)."""
    lanes = build.VECTOR_BYTES // np.dtype(dtype).itemsize
    if not lanes:
        return False
    first = -(-(hidden // 2) // lanes) * lanes
    return hidden - first >= lanes


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
        (13, 112, 3, 40, {"optimizer": "sgd", "dtype": "float32"}),  # halves of 64 and 48
        (11, 100, 3, 20, {"optimizer": "sgd", "dtype": "float32"}),  # a half of no whole vectors
        (7, 200, 4, 50, {"optimizer": "sgd", "dtype": "float64"}),
        (16, 96, 2, 16, {"optimizer": "sgd", "activation": "tanh", "dtype": "float32"}),
        (9, 80, 5, 32, {"optimizer": "sgd", "activation": "sigmoid", "dtype": "float64"}),
        (13, 112, 3, 40, {"optimizer": "adam", "dtype": "float32"}),
        (30, 64, 2, 25, {"optimizer": "momentum", "dtype": "float64"}),
        (7, 200, 4, 50, {"optimizer": "sgd", "dtype": "float64", "l2": 1e-3}),
        (10, 96, 3, 32, {"optimizer": "nesterov", "dtype": "float32", "l1": 1e-3}),
        # deeper networks: the last hidden layer split, the layers below in both halves
        (2, (64, 64), 1, 32, {"optimizer": "sgd", "dtype": "float32"}),
        (5, (24, 40), 3, 16, {"optimizer": "adam", "dtype": "float64"}),
        (6, (16, 32, 48), 4, 20, {"optimizer": "momentum", "dtype": "float32"}),
        (3, (32, 72), 2, 25, {"optimizer": "nesterov", "activation": "tanh",
                              "dtype": "float32"}),
        (4, (20, 64), 5, 32, {"optimizer": "sgd", "activation": "sigmoid", "dtype": "float64"}),
        (8, (40, 100), 3, 20, {"optimizer": "sgd", "dtype": "float32"}),
        (5, (24, 40), 3, 16, {"optimizer": "adam", "dtype": "float64", "l2": 1e-3}),
        (8, (40, 100), 3, 20, {"optimizer": "sgd", "dtype": "float32", "l2": 1e-3}),
        (6, (16, 32, 48), 4, 20, {"optimizer": "sgd", "dtype": "float32", "l1": 1e-3,
                                  "l2": 1e-3}),
    ],
    ids=["sgd-128", "sgd-112", "sgd-100", "sgd-200-f64", "tanh-96", "sigmoid-80-f64",
         "adam-112", "momentum-64-f64", "sgd-l2-200-f64", "nesterov-l1-96",
         "sgd-64-64", "adam-24-40-f64", "momentum-16-32-48", "nesterov-tanh-32-72",
         "sigmoid-20-64-f64", "sgd-40-100", "adam-l2-24-40-f64", "sgd-l2-40-100",
         "sgd-l1-l2-16-32-48"],
)
def test_a_paired_fit_is_the_one_threads_bit_for_bit(build, case, restore_pairing):
    n_features, hidden, n_classes, batch, params = case
    hidden = hidden if isinstance(hidden, tuple) else (hidden,)
    X, y = _data(n_features, n_classes)
    build.pair_min_flops_(0.0)  # every epoch paired, the helper running every second half
    steps, halves = _paired_and_one_thread(
        build, X, y, hidden_layers=hidden, batch_size=batch, **params
    )
    if _halves(build, hidden[-1], params["dtype"]):
        assert steps == 3 * -(-X.shape[0] // batch)  # every step of the two-thread fit
        if HAVE_POOL:  # the helper ran every second half: each task's and each epoch's last
            assert halves == (1 if len(hidden) == 1 else 2) * steps + 3
    else:
        assert steps == 0


def _helper_halves(steps: int, pattern: int, tasks: int = 1) -> int:
    """Second halves the helper runs in an epoch of ``steps`` steps whose steps the pattern
    names run alone: ``tasks`` per step paired (two below a hidden layer), and one more for
    the backward pass of the last step's forward pass when that ran in the halves, unless
    its own bit is set."""
    alone = [bool(pattern >> (s % 32) & 1) for s in range(steps + 1)]
    paired = sum(not a for a in alone[:steps])
    return tasks * paired + (not alone[steps - 1] and not alone[steps])


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "pattern",
    [0x55555555, 0x0F0F0F0F, 0xF0F0F0F0, 0xFFFFFFFF, 0x1, 0x7F, 0xFFFFFFFE],
    ids=["every-other", "alone-first", "paired-first", "all-alone", "first-alone",
         "last-paired", "first-paired"],
)
@pytest.mark.parametrize(
    "params",
    [{"optimizer": "sgd", "dtype": "float32"}, {"optimizer": "adam", "dtype": "float64"},
     {"optimizer": "nesterov", "dtype": "float32", "weighted": True},
     {"optimizer": "sgd", "dtype": "float32", "l2": 1e-3, "weighted": True},
     {"optimizer": "momentum", "dtype": "float64", "l1": 1e-3, "l2": 1e-3}],
    ids=["sgd-f32", "adam-f64", "nesterov-f32-weighted", "sgd-l2-f32-weighted",
         "momentum-l1-l2-f64"],
)
@pytest.mark.parametrize("hidden", [(112,), (24, 112)], ids=["one-layer", "two-layers"])
def test_steps_alone_on_the_whole_network_change_no_bit(build, pattern, params, hidden,
                                                        restore_pairing):
    # a session that runs some steps alone trains them on the whole network's arrays (the
    # whole step with the halves' sums), moving the parameters and the optimizer's state
    # between the layouts mid-epoch, and the last batch's backward pass with them
    params = dict(params)
    w = None
    X, y = _data(13, 4, n=7 * 24 + 5, seed=4)  # 8 steps of 24, the last of 5 rows
    if params.pop("weighted", False):
        w = np.random.default_rng(3).uniform(0.2, 2.0, X.shape[0])
        w[24:48] = 0.0  # the second batch weighs nothing: no step for it
        params["shuffle"] = False
    build.pair_min_flops_(0.0)
    build.pair_alone_steps_(float(pattern))
    steps, halves = _paired_and_one_thread(
        build, X, y, sample_weight=w, hidden_layers=hidden, batch_size=24, **params
    )
    assert build.pair_alone_steps_() == pattern
    if not _halves(build, hidden[-1], params["dtype"]):
        assert steps == 0
        return
    assert steps == 3 * 8 - (0 if w is None else 3)
    if HAVE_POOL:
        assert halves == 3 * _helper_halves(8, pattern, len(hidden))


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "shape",
    [(10, 96, 4, "relu", 0.0), (6, 64, 1, "tanh", 0.0), (5, 72, 3, "sigmoid", 1e-3),
     (7, (24, 64), 3, "relu", 0.0), (4, (16, 20, 40), 1, "sigmoid", 0.0),
     (6, (12, 48), 2, "tanh", 1e-3)],
    ids=["relu-softmax", "tanh-sigmoid-out", "sigmoid-softmax-l2", "relu-two-layers",
         "sigmoid-three-layers", "tanh-two-layers-l2"],
)
def test_the_pair_step_trains_as_the_reference(build, shape, restore_pairing):
    n_features, hidden, k, activation, l2 = shape
    hidden = hidden if isinstance(hidden, tuple) else (hidden,)
    if not _halves(build, hidden[-1], "float64"):
        pytest.skip("the pair step does not take this width at this level")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((90, n_features))
    y = rng.integers(0, max(k, 2), 90)
    net = Network((n_features, *hidden, k), activation, "sigmoid" if k == 1 else "softmax",
                  "float64", random_state=1)
    trainer = EpochTrainer(net, 32, "sgd")
    Y = net.targets(y, X.shape[0])
    ref = oracle.Net.like(net)
    build.pair_min_flops_(0.0)
    steps = build.pair_steps_()
    total, correct, _ = build.train_epoch_(*plain_sgd_epoch(trainer, X, Y, 0.2, l2=l2))
    assert build.pair_steps_() - steps == 3
    want_total, want_correct = oracle.train_epoch(ref, X, Y, np.arange(90), 32, 0.2, l2=l2)
    assert correct == want_correct
    np.testing.assert_allclose(total, want_total, rtol=1e-12)
    for got, want in zip(net.weights + net.biases, ref.weights + ref.biases, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("hidden", [(128,), (16, 128)], ids=["one-layer", "two-layers"])
def test_a_helper_that_races_the_caller_changes_no_bit(build, hidden, restore_pairing):
    # outside the tests' strict mode the caller takes a half the helper has not claimed,
    # times its steps and runs some of them alone: the bits stay the one thread's
    X, y = _data(24, 6, n=600, seed=1)
    build.pair_min_flops_(1.0)
    w = np.random.default_rng(2).uniform(0.2, 2.0, X.shape[0])
    for _ in range(3):
        steps, _ = _paired_and_one_thread(
            build, X, y, sample_weight=w, optimizer="sgd", hidden_layers=hidden, batch_size=24
        )
        assert steps > 0 or not build.VECTOR_BYTES


def _pair_steps_of_fit(**params):
    """Steps of a 2-epoch fit that ran as the pair step, and halves its helper ran."""
    kernels = network_module.kernels
    X, y = _data(64, 10, n=640)
    steps, halves = kernels.pair_steps_(), kernels.pair_halves_()
    params = {"optimizer": "sgd", **params}
    cc.MLPClassifier(epochs=2, random_state=0, **params).fit(X, y)
    return kernels.pair_steps_() - steps, kernels.pair_halves_() - halves


@pytest.mark.skipif(not HAVE_POOL, reason="no helper threads without POSIX threads")
@pytest.mark.filterwarnings("ignore:The loss ended higher")  # 2 epochs of noise
def test_the_policy_pairs_only_the_epochs_it_may(monkeypatch, restore_pairing):
    if not network_module.kernels.VECTOR_BYTES:
        pytest.skip("BLAS does every product at this ISA level: no pair step")
    monkeypatch.setattr(network_module, "split_budget", lambda: 2)
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 2)
    # 64-128-10 / b64: 1.2 MFLOP forward a batch, above the default threshold
    big = {"hidden_layers": (128,), "batch_size": 64}
    assert _pair_steps_of_fit(**big)[0] == 20
    assert _pair_steps_of_fit(hidden_layers=(128,), batch_size=16)[0] == 0  # too small a batch
    # two hidden layers: the last split where the layers below cost both halves little
    # (16-192 behind 64 inputs: 0.26 MFLOP a batch of 128 against 1.3 through the split one)
    assert _pair_steps_of_fit(hidden_layers=(16, 192), batch_size=128)[0] == 10
    assert _pair_steps_of_fit(hidden_layers=(128, 64), batch_size=64)[0] == 0  # 1.05 vs 1.13
    assert _pair_steps_of_fit(dropout=0.1, **big)[0] == 0  # the mask is drawn in order
    assert _pair_steps_of_fit(optimizer="adam", **big)[0] == 20  # every optimizer
    assert _pair_steps_of_fit(l2=1e-3, **big)[0] == 20  # each half sums its share
    assert _pair_steps_of_fit(l1=1e-3, **big)[0] == 20
    # one thread: the whole step with the halves' sums (the same bits), no helper
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 1)  # another process's core
    assert _pair_steps_of_fit(**big) == (20, 0)
    # another thread of this process running (a library's pool spinning after its products)
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 1 if strict else 2)
    assert _pair_steps_of_fit(**big) == (20, 0)
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 2)
    monkeypatch.setattr(network_module, "split_budget", lambda: 1)  # threadpool_limits(1)
    assert _pair_steps_of_fit(**big) == (20, 0)


def _child_fit(queue):
    X, y = _data(20, 4, n=120)
    network_module.kernels.pair_min_flops_(0.0)
    model, _ = _fit(X, y, 2, optimizer="sgd", hidden_layers=(64,), batch_size=30)
    queue.put((model.network_.params, network_module.kernels.pair_halves_()))


@pytest.mark.skipif(sys.platform != "linux", reason="forking a process with threads: Linux only")
def test_a_forked_child_pairs_its_steps_with_a_helper_of_its_own(restore_pairing):
    kernels = network_module.kernels
    if not kernels.VECTOR_BYTES:
        pytest.skip("BLAS does every product at this ISA level: no pair step")
    X, y = _data(20, 4, n=120)
    kernels.pair_min_flops_(0.0)
    parent, _ = _fit(X, y, 2, optimizer="sgd", hidden_layers=(64,), batch_size=30)  # a helper now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_fit, args=(queue,))
    child.start()
    params, halves = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(params, parent.network_.params)
    assert halves > 0


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "params",
    [{"optimizer": "sgd"}, {"optimizer": "adam"}, {"optimizer": "momentum"}],
    ids=["sgd", "adam", "momentum"],
)
@pytest.mark.parametrize("hidden", [(96,), (20, 96)], ids=["one-layer", "two-layers"])
def test_a_batch_of_zero_weights_is_skipped_as_without_the_pair_step(
    build, params, hidden, restore_pairing
):
    X, y = _data(12, 3, n=160, seed=3)
    w = np.ones(X.shape[0])
    w[:32] = 0.0  # the first batch weighs nothing: no step for it
    fits = []
    for threshold in (0.0, 1e30):  # the pair step, then the whole step
        build.pair_min_flops_(threshold)
        with using(build):
            model = cc.MLPClassifier(
                hidden_layers=hidden, batch_size=32, epochs=2, shuffle=False,
                learning_rate=0.05, dtype="float64", random_state=0, **params,
            ).fit(X, y, sample_weight=w)
        fits.append(model)
    np.testing.assert_allclose(fits[0].network_.params, fits[1].network_.params, rtol=1e-10,
                               atol=1e-13)
    np.testing.assert_allclose(fits[0].loss_, fits[1].loss_, rtol=1e-12)
