"""cc.Network: gradients against finite differences, train_epoch against the same SGD steps
done by hand, float32 against float64, reproducibility, learning curve-separated data, and
the API contract (one flat parameter buffer with views, initialisation, errors, inputs)."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import crash_core as cc
from crash_core.network import Network

sys.path.insert(0, str(Path(__file__).resolve().parent))
oracle = importlib.import_module("oracle")

N_OUT = {"sigmoid": 1, "softmax": 3, "identity": 2}


def scaled_error(got, want):
    got, want = np.ravel(got).astype(float), np.ravel(want).astype(float)
    scale = max(np.linalg.norm(got), np.linalg.norm(want), 1e-300)
    return np.linalg.norm(got - want) / scale


def make_data(n, n_in, out, seed=0, k=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    k = N_OUT[out] if k is None else k
    if out == "sigmoid":
        y = rng.integers(0, 2, size=n).astype(float)
    elif out == "softmax":
        y = rng.integers(0, k, size=n)
    else:
        y = rng.normal(size=(n, k))
    return X, y


def moons(n, noise, seed):
    """Two interleaved half-moons, standardised: not separable by a line."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    upper = np.c_[np.cos(t), np.sin(t)]
    lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    X = np.where(label[:, None] == 0, upper, lower) + rng.normal(scale=noise, size=(n, 2))
    return (X - X.mean(axis=0)) / X.std(axis=0), label


def rings(n, noise, seed):
    """Three concentric rings, one class each: only a curved boundary separates them."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    t = rng.uniform(0, 2 * np.pi, n)
    r = 1.0 + label + rng.normal(scale=noise, size=n)
    X = np.c_[r * np.cos(t), r * np.sin(t)]
    return X / X.std(axis=0), label


# ---------------------------------------------------------------- finite differences
def numerical_grad(net, X, y, l1, l2, sample_weight=None, h=1e-6):
    p = net.params
    g = np.empty_like(p)
    for i in range(p.size):
        old = p[i]
        p[i] = old + h
        plus, _ = net.loss_and_grad(X, y, l1, l2, sample_weight)
        p[i] = old - h
        minus, _ = net.loss_and_grad(X, y, l1, l2, sample_weight)
        p[i] = old
        g[i] = (plus - minus) / (2 * h)
    return g


def away_from_kinks(net, X, margin=1e-4):
    """No relu pre-activation and (for l1) no weight within ``margin`` of 0."""
    ref = oracle.Net.like(net)
    Zs, _ = oracle.forward_all(ref, X)
    relu_z = [z for z, a in zip(Zs[:-1], ref.hidden, strict=True) if a == "relu"]
    near_z = any(np.abs(z).min() < margin for z in relu_z)
    return not near_z and np.abs(net.params[np.abs(net.params) > 0]).min() >= margin


def kink_free_case(sizes, hidden, out, n=6):
    """A network and data set (fixed seeds, the first that is kink-free) for a gradient check."""
    for seed in range(50):
        net = Network(sizes, activation=hidden, output=out, random_state=seed)
        rng = np.random.default_rng(seed + 1000)
        for b in net.biases:
            b[...] = rng.uniform(-0.3, 0.3, size=b.shape)
        X, y = make_data(n, sizes[0], out, seed=seed, k=sizes[-1])
        if away_from_kinks(net, X):
            return net, X, y
    raise AssertionError("no kink-free case found")  # pragma: no cover


GRAD_CASES = [
    pytest.param(widths, act, id=f"{act}-{'x'.join(map(str, widths))}")
    for act in oracle.HIDDEN
    for widths in [(1,), (4,), (4, 3)]
] + [pytest.param((), "relu", id="no-hidden")]


@pytest.mark.parametrize("widths,hidden", GRAD_CASES)
@pytest.mark.parametrize("out", oracle.OUTPUTS)
@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.03), (0.02, 0.05)])
def test_loss_and_grad_matches_finite_differences(widths, hidden, out, l1, l2):
    sizes = (3, *widths, N_OUT[out])
    net, X, y = kink_free_case(sizes, hidden, out)
    loss, grad = net.loss_and_grad(X, y, l1=l1, l2=l2)
    assert np.isfinite(loss) and grad.shape == net.params.shape
    num = numerical_grad(net, X, y, l1, l2)
    assert scaled_error(grad, num) <= 1e-6
    assert np.linalg.norm(grad) > 1e-3  # the check compares something


@pytest.mark.parametrize("out", oracle.OUTPUTS)
@pytest.mark.parametrize("hidden", oracle.HIDDEN)
def test_loss_and_grad_with_sample_weight_matches_finite_differences(out, hidden):
    net, X, y = kink_free_case((3, 4, N_OUT[out]), hidden, out, n=7)
    sw = np.random.default_rng(3).uniform(0.1, 4.0, size=len(X))
    loss, grad = net.loss_and_grad(X, y, 0.01, 0.02, sample_weight=sw)
    num = numerical_grad(net, X, y, 0.01, 0.02, sample_weight=sw)
    assert scaled_error(grad, num) <= 1e-6
    # sum w_i L_i / sum w_i: integer weights are the same as repeating rows
    reps = np.array([1, 3, 2, 1, 4, 2, 1])
    loss_w, grad_w = net.loss_and_grad(X, y, sample_weight=reps)
    loss_r, grad_r = net.loss_and_grad(np.repeat(X, reps, axis=0), np.repeat(y, reps, axis=0))
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    assert_allclose(grad_w, grad_r, rtol=1e-10, atol=1e-14)
    # unit weights are no weights
    loss_1, grad_1 = net.loss_and_grad(X, y, sample_weight=np.ones(len(X)))
    loss_0, grad_0 = net.loss_and_grad(X, y)
    assert loss_1 == pytest.approx(loss_0, rel=1e-14)
    assert_allclose(grad_1, grad_0, rtol=1e-12, atol=1e-15)


def test_softmax_one_hot_targets_equal_class_indices():
    net = Network((3, 4, 3), output="softmax", random_state=0)
    X, y = make_data(9, 3, "softmax", seed=1)
    loss_i, grad_i = net.loss_and_grad(X, y)
    loss_h, grad_h = net.loss_and_grad(X, oracle.one_hot(y, 3))
    assert loss_i == loss_h
    assert_array_equal(grad_i, grad_h)


# ---------------------------------------------------------------- train_epoch by hand
def sgd_epoch_by_hand(net, X, y, order, batch, lr, l1, l2):
    """The epoch as loss_and_grad + a NumPy update per batch; returns (mean loss, accuracy)."""
    total, right = 0.0, 0
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        P = net.forward(X[idx])
        loss, grad = net.loss_and_grad(X[idx], y[idx], l1, l2)
        Y = oracle.targets(y[idx], net.output, net.n_outputs)
        right += oracle.correct(P, Y, net.output)
        total += len(idx) * loss
        net.params[...] -= lr * grad
    accuracy = right / len(order) if net.output != "identity" else float("nan")
    return total / len(order), accuracy


@pytest.mark.parametrize("out", oracle.OUTPUTS)
@pytest.mark.parametrize(
    "n,batch",
    [(24, 8), (25, 8), (10, 32), (9, 1)],
    ids=["divides", "ragged", "batch>n", "per-sample"],
)
@pytest.mark.parametrize("shuffle", [True, False])
def test_train_epoch_equals_sgd_by_hand(out, n, batch, shuffle):
    net = Network(
        (3, 5, 1, N_OUT[out]) if out == "sigmoid" else (3, 5, 4, N_OUT[out]),
        activation=["tanh", "relu"],
        output=out,
        random_state=2,
    )
    twin = net.copy()
    X, y = make_data(n, 3, out, seed=3)
    l1, l2, lr = 0.001, 0.003, 0.1
    for epoch in range(2):
        seed = 10 + epoch
        loss, acc = net.train_epoch(
            X,
            y,
            batch_size=batch,
            learning_rate=lr,
            l1=l1,
            l2=l2,
            shuffle=shuffle,
            random_state=seed,
        )
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        want_loss, want_acc = sgd_epoch_by_hand(twin, X, y, order, batch, lr, l1, l2)
        assert_allclose(net.params, twin.params, rtol=1e-10, atol=1e-13)
        assert loss == pytest.approx(want_loss, rel=1e-10)
        if out == "identity":
            assert np.isnan(acc) and np.isnan(want_acc)
        else:
            assert acc == want_acc
    assert not np.array_equal(
        net.params, Network(net.layer_sizes, ["tanh", "relu"], out, random_state=2).params
    )


def test_train_epoch_batch_far_larger_than_n_is_one_full_batch():
    X, y = make_data(10, 3, "sigmoid", seed=4)
    a, b = Network((3, 4, 1), random_state=0), Network((3, 4, 1), random_state=0)
    want = a.train_epoch(X, y, batch_size=10, learning_rate=0.1, random_state=0)
    got = b.train_epoch(X, y, batch_size=2**44, learning_rate=0.1, random_state=0)
    assert got == want
    assert_array_equal(a.params, b.params)


def test_train_epoch_shuffle_false_ignores_random_state():
    X, y = make_data(20, 3, "sigmoid", seed=4)
    a, b = Network((3, 4, 1), random_state=0), Network((3, 4, 1), random_state=0)
    a.train_epoch(X, y, 6, 0.1, shuffle=False, random_state=1)
    b.train_epoch(X, y, 6, 0.1, shuffle=False, random_state=2)
    assert_array_equal(a.params, b.params)
    a.train_epoch(X, y, 6, 0.1, shuffle=True, random_state=1)
    b.train_epoch(X, y, 6, 0.1, shuffle=True, random_state=2)
    assert not np.array_equal(a.params, b.params)


# ---------------------------------------------------------------- float32 vs float64
@pytest.mark.parametrize("out", oracle.OUTPUTS)
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid"])
def test_float32_training_tracks_float64(out, hidden):
    sizes = (2, 8, 8, N_OUT[out])
    net64 = Network(sizes, hidden, out, dtype="float64", random_state=5)
    net32 = Network(sizes, hidden, out, dtype="float32", random_state=99)
    net32.params[...] = net64.params.astype(np.float32)
    X, y = make_data(40, 2, out, seed=6)
    for epoch in range(4):
        l64, a64 = net64.train_epoch(X, y, 8, 0.05, l2=0.001, random_state=epoch)
        l32, a32 = net32.train_epoch(X, y, 8, 0.05, l2=0.001, random_state=epoch)
        assert l32 == pytest.approx(l64, rel=1e-4)
        if out != "identity":
            assert abs(a32 - a64) <= 1 / len(X)  # at most a point on the boundary flips
    assert net32.params.dtype == np.float32
    assert scaled_error(net32.params, net64.params) <= 1e-4
    start = Network(sizes, hidden, out, dtype="float64", random_state=5).params
    assert scaled_error(net32.params - start, net64.params - start) <= 1e-3
    assert scaled_error(net32.forward(X), net64.forward(X)) <= 1e-4


# ---------------------------------------------------------------- reproducibility
def test_same_random_state_gives_bit_identical_training():
    X, y = moons(60, 0.2, seed=7)

    def run(seed):
        net = Network((2, 8, 8, 1), "relu", "sigmoid", random_state=seed)
        for _ in range(5):
            net.train_epoch(X, y, batch_size=7, learning_rate=0.1)
        return net

    a, b, c = run(3), run(3), run(4)
    assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    # the shuffling differs too, not only the initial weights
    d = Network((2, 8, 8, 1), "relu", "sigmoid", random_state=3)
    e = Network((2, 8, 8, 1), "relu", "sigmoid", random_state=3)
    d.train_epoch(X, y, 7, 0.1)
    e.train_epoch(X, y, 7, 0.1, random_state=12345)
    assert not np.array_equal(d.params, e.params)


# ---------------------------------------------------------------- learning
@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_learns_two_moons(hidden):
    X, y = moons(200, 0.15, seed=8)
    net = Network((2, 16, 16, 1), hidden, "sigmoid", random_state=0)
    before, _ = net.loss_and_grad(X, y)
    history = [net.train_epoch(X, y, batch_size=16, learning_rate=0.1) for _ in range(150)]
    after, _ = net.loss_and_grad(X, y)
    assert after < 0.5 * before
    assert history[-1][0] < history[0][0]
    assert ((net.forward(X)[:, 0] >= 0.5) == y).mean() >= 0.95
    assert history[-1][1] >= 0.95


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_learns_three_rings_with_softmax(hidden):
    X, y = rings(300, 0.1, seed=9)
    net = Network((2, 16, 16, 3), hidden, "softmax", random_state=0)
    before, _ = net.loss_and_grad(X, y)
    for _ in range(150):
        net.train_epoch(X, y, batch_size=16, learning_rate=0.1)
    after, _ = net.loss_and_grad(X, y)
    assert after < 0.5 * before
    assert (net.forward(X).argmax(axis=1) == y).mean() >= 0.95


# ---------------------------------------------------------------- API: the parameter buffer
def test_params_is_one_buffer_and_weights_are_views():
    net = Network((3, 5, 4, 2), "tanh", "softmax", random_state=0)
    p = net.params
    assert p.ndim == 1 and p.flags.c_contiguous and p.dtype == np.float64
    assert p.size == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2 == net.n_params
    assert [w.shape for w in net.weights] == [(3, 5), (5, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(5,), (4,), (2,)]
    for arr in net.weights + net.biases:
        assert np.shares_memory(arr, p)
    # every entry of params belongs to exactly one weight or bias
    covered = np.zeros(p.size, dtype=int)
    for arr in net.split(covered)[0] + net.split(covered)[1]:
        arr += 1
    assert_array_equal(covered, 1)
    net.weights[1][2, 3] = 123.0
    net.biases[2][1] = -7.0
    assert 123.0 in p and -7.0 in p
    p[...] = 0.5
    assert all(np.all(a == 0.5) for a in net.weights + net.biases)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_kernel_buffer_starts_on_a_cache_line(dtype):
    """The parameters, the trainer's work buffers and the optimizer's state start on a
    64-byte line, also after copy, astype and a pickle round trip (numpy alone aligns to
    16 bytes, which splits the kernels' vector loads over two lines)."""
    import pickle

    from crash_core._memory import CACHE_LINE
    from crash_core.network import EpochTrainer

    def on_line(a):
        return a.ctypes.data % CACHE_LINE == 0

    for seed in range(8):  # numpy's own buffers land on a line one time in four
        net = Network((3, 16, 5, 2), "relu", "softmax", dtype=dtype, random_state=seed)
        assert on_line(net.params)
        for other in (net.copy(), net.astype("float32"), pickle.loads(pickle.dumps(net))):
            assert on_line(other.params)
            assert_array_equal(other.params, net.params.astype(other.dtype))
            assert all(np.shares_memory(w, other.params) for w in other.weights + other.biases)
        trainer = EpochTrainer(net, 7, "adam", dropout=0.2)
        buffers = ("grad", "xb", "yb", "wb", "acts", "delta", "spare", "dmask")
        assert all(on_line(getattr(trainer, name)) for name in buffers)
        assert on_line(trainer.state.state1) and on_line(trainer.state.state2)


def test_plain_sgd_keeps_no_gradient_buffer_until_an_l1_penalty_needs_one():
    """Plain SGD folds its step into the backward pass, so its trainer holds no gradient
    buffer (a fit's memory stays at the parameters, their best copy and the last finite
    copy); an L2 penalty rides along as weight decay, and the first epoch with an L1
    penalty allocates it.  The kernel refuses a missing buffer where the update needs it."""
    from crash_core._kernels import network as kernels
    from crash_core.network import EpochTrainer
    from tests.builds import plain_sgd_epoch

    X, y = make_data(40, 3, "sigmoid")
    X = X.astype(np.float32)
    net = Network((3, 16, 1), "relu", "sigmoid", dtype="float32", random_state=0)
    Y = net.targets(y, 40)
    trainer = EpochTrainer(net, 8, "sgd")
    assert trainer.grad.size == 0
    trainer.run(X, Y, np.arange(40), 0.1)
    assert trainer.grad.size == 0
    trainer.run(X, Y, np.arange(40), 0.1, l2=1e-3)
    assert trainer.grad.size == 0
    trainer.run(X, Y, np.arange(40), 0.1, l1=1e-3)
    assert trainer.grad.size == net.n_params
    assert EpochTrainer(net, 8, "adam").grad.size == net.n_params
    assert EpochTrainer(net, 8, "momentum").grad.size == net.n_params

    t = EpochTrainer(net, 8, "sgd")
    with pytest.raises(ValueError, match="grad must have the length of params"):
        kernels.train_epoch_(*plain_sgd_epoch(t, X, Y, 0.1, l1=1e-3))  # an L1 penalty needs it
    kernels.train_epoch_(*plain_sgd_epoch(t, X, Y, 0.1))  # plain SGD does not
    kernels.train_epoch_(*plain_sgd_epoch(t, X, Y, 0.1, l2=1e-3))  # nor with weight decay


def test_training_does_not_depend_on_where_the_buffers_start():
    """The same epoch on buffers that start 16 bytes into a line gives the same bits."""
    from crash_core.network import EpochTrainer

    X, y = make_data(50, 3, "softmax")
    X = X.astype(np.float32)
    results = []
    for offset in (0, 16):
        net = Network((3, 32, 3), "relu", "softmax", dtype="float32", random_state=0)
        trainer = EpochTrainer(net, 8, "sgd")
        if offset:
            for name in ("acts", "delta", "spare", "xb", "yb"):
                buf = getattr(trainer, name)
                raw = np.empty(buf.nbytes + 64 + offset, dtype=np.uint8)
                start = -raw.ctypes.data % 64 + offset
                setattr(trainer, name, raw[start : start + buf.nbytes].view(buf.dtype))
        trainer.run(X, net.targets(y, 50), np.arange(50), 0.1)
        results.append(net.params.copy())
    assert_array_equal(results[0], results[1])


def test_split_gives_views_of_another_array():
    net = Network((3, 4, 1), random_state=0)
    flat = np.arange(net.n_params, dtype=float)
    weights, biases = net.split(flat)
    assert [w.shape for w in weights] == [(3, 4), (4, 1)]
    assert [b.shape for b in biases] == [(4,), (1,)]
    for arr in weights + biases:
        assert np.shares_memory(arr, flat) and not np.shares_memory(arr, net.params)
    weights[0][...] = -1
    assert np.sum(flat == -1) == 12
    _, grad = net.loss_and_grad(*make_data(5, 3, "sigmoid"))
    gw, gb = net.split(grad)
    assert [g.shape for g in gw] == [w.shape for w in net.weights]
    with pytest.raises(ValueError):
        net.split(np.zeros(net.n_params + 1))
    with pytest.raises(ValueError):
        net.split(np.zeros((1, net.n_params)))


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32])
def test_dtype(dtype):
    net = Network((2, 3, 1), dtype=dtype, random_state=0)
    assert net.params.dtype == np.dtype(dtype)
    X, y = make_data(4, 2, "sigmoid")
    assert net.forward(X).dtype == np.dtype(dtype)
    assert net.loss_and_grad(X, y)[1].dtype == np.dtype(dtype)
    with pytest.raises(ValueError, match="float32"):
        Network((2, 1), dtype="float16")


@pytest.mark.parametrize("init", ["glorot", "he"])
def test_initialisation_glorot_by_default_he_for_relu_as_an_option(init):
    sizes = (60, 50, 40, 30, 3)
    acts = ["relu", "tanh", "relu"]
    net = Network(sizes, activation=acts, output="softmax", random_state=0, init=init)
    glorot = [np.sqrt(6 / (a + b)) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    limits = list(glorot)
    if init == "he":
        limits[0] = np.sqrt(6 / 60)  # into relu: He
        limits[2] = np.sqrt(6 / 40)  # into relu: He
    for w, b, limit in zip(net.weights, net.biases, limits, strict=True):
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() >= 0.9 * limit
        assert abs(w.mean()) < 0.25 * limit
        assert_array_equal(b, 0.0)
    assert_array_equal(
        net.params, Network(sizes, acts, "softmax", random_state=0, init=init).params
    )
    assert not np.array_equal(
        net.params, Network(sizes, acts, "softmax", random_state=1, init=init).params
    )
    if init == "glorot":
        assert_array_equal(net.params, Network(sizes, acts, "softmax", random_state=0).params)
    with pytest.raises(ValueError, match="Unknown init 'lecun'. Valid options: glorot, he"):
        Network(sizes, acts, "softmax", init="lecun")


@pytest.mark.parametrize("out", oracle.OUTPUTS)
def test_forward_shape_and_probabilities(out):
    net = Network((3, 6, N_OUT[out]), "relu", out, random_state=0)
    X, _ = make_data(11, 3, out)
    P = net.forward(X)
    assert P.shape == (11, N_OUT[out])
    if out == "softmax":
        assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    if out != "identity":
        assert np.all((P > 0) & (P < 1))
    assert net.forward(X[:0]).shape == (0, N_OUT[out])
    assert_allclose(net.forward(X[3:4]), P[3:4], rtol=1e-12)


# ---------------------------------------------------------------- API: errors
@pytest.mark.parametrize(
    "sizes", [(3,), (), (3, 0, 1), (3, -1), (2.0, 1), "21", (3, True), [4, 2.5]]
)
def test_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        Network(sizes)


@pytest.mark.parametrize("sizes", [5, None])
def test_non_sequence_layer_sizes_get_a_clear_error(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        Network(sizes)


def test_non_sequence_activation_gets_a_clear_error():
    with pytest.raises(TypeError, match="activation") as err:
        Network((2, 3, 1), activation=5)
    assert "relu" in str(err.value)


def test_unknown_activation_and_output_list_the_valid_names():
    with pytest.raises(ValueError, match="softplus") as err:
        Network((2, 3, 1), activation="softplus")
    for name in ("sigmoid", "tanh", "relu"):
        assert name in str(err.value)
    with pytest.raises(ValueError, match="linear") as err:
        Network((2, 3, 1), output="linear")
    for name in ("sigmoid", "softmax", "identity"):
        assert name in str(err.value)
    with pytest.raises(ValueError, match="hidden"):
        Network((2, 3, 4, 1), activation=["relu"])


def test_output_width_errors():
    with pytest.raises(ValueError, match="softmax"):
        Network((2, 3, 2), output="sigmoid")
    with pytest.raises(ValueError):
        Network((2, 3, 1), output="softmax")


def test_bad_inputs():
    net = Network((3, 4, 1), random_state=0)
    X, y = make_data(5, 3, "sigmoid")
    with pytest.raises(ValueError, match="3"):
        net.forward(np.ones((5, 2)))
    with pytest.raises(ValueError):
        net.forward(np.ones(3))
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[2, 1] = bad
        with pytest.raises(ValueError, match="NaN"):
            net.forward(Xb)
        with pytest.raises(ValueError, match="NaN"):
            net.loss_and_grad(Xb, y)
        with pytest.raises(ValueError, match="NaN"):
            net.train_epoch(Xb, y)
    with pytest.raises(ValueError, match="samples"):
        net.loss_and_grad(X, y[:4])
    with pytest.raises(ValueError):
        net.loss_and_grad(X[:0], y[:0])
    with pytest.raises(ValueError):
        net.loss_and_grad(X, y, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="batch_size"):
        net.train_epoch(X, y, batch_size=0)
    soft = Network((3, 4, 3), output="softmax", random_state=0)
    with pytest.raises(ValueError, match="class"):
        soft.loss_and_grad(X, np.array([0, 1, 3, 0, 1]))


# ---------------------------------------------------------------- API: inputs
@pytest.mark.parametrize("out", oracle.OUTPUTS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_inputs_are_never_modified(out, dtype):
    net = Network((3, 4, N_OUT[out]), output=out, dtype=dtype, random_state=0)
    X, y = make_data(10, 3, out)
    X = X.astype(dtype)
    sw = np.linspace(0.5, 2, 10)
    X0, y0, sw0 = X.copy(), y.copy(), sw.copy()
    net.forward(X)
    net.loss_and_grad(X, y, 0.1, 0.1, sample_weight=sw)
    net.train_epoch(X, y, 3, 0.1, 0.01, 0.01)
    assert_array_equal(X, X0)
    assert_array_equal(y, y0)
    assert_array_equal(sw, sw0)


@pytest.mark.parametrize("out", oracle.OUTPUTS)
def test_read_only_and_memmap_inputs(out, tmp_path):
    X, y = make_data(12, 3, out, seed=5)
    sw = np.linspace(0.5, 2, 12)
    reference = Network((3, 4, N_OUT[out]), output=out, random_state=0)
    want_p = reference.forward(X)
    want_lg = reference.loss_and_grad(X, y, sample_weight=sw)
    reference.train_epoch(X, y, 5, 0.1, random_state=0)

    Xr, yr, swr = X.copy(), y.copy(), sw.copy()
    for a in (Xr, yr, swr):
        a.setflags(write=False)
    Xm = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
    Xm[...] = X
    Xm.flush()
    Xm = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="r", shape=X.shape)
    for data in (Xr, Xm):
        net = Network((3, 4, N_OUT[out]), output=out, random_state=0)
        assert_array_equal(net.forward(data), want_p)
        loss, grad = net.loss_and_grad(data, yr, sample_weight=swr)
        assert loss == want_lg[0]
        assert_array_equal(grad, want_lg[1])
        net.train_epoch(data, yr, 5, 0.1, random_state=0)
        assert_array_equal(net.params, reference.params)


def test_network_is_exported():
    assert cc.Network is Network
