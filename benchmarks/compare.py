"""Peer comparison: the SAME workload in crash_core, JAX, NumPy, scikit-learn, PyTorch.

Every implementation trains the same data, architecture, batch size, number of epochs and
learning rate with plain SGD (no momentum, no penalty), shuffling every epoch.  Each is
timed after a warm-up run at BLAS/torch thread settings 1 and 2, the peers' runs taken
round-robin so that load from other processes hits them alike, each after a pause for the
thread pools of the run before it to go to sleep and 50 ms of vector work on the timing
thread (``--cold``: none; see WARM_SECONDS); the cell shows the median
of ``--repeats`` runs at the better setting (the thread count in brackets).  The ratio
columns are crash_core / peer with the issue's target and a pass/fail mark.

* crash_core: the MLP workloads run ``Network`` + ``EpochTrainer.run`` (one kernel call per
  epoch; before each, the rows' order shuffled in place by the kernels' Fisher-Yates
  shuffle, as ``fit`` does, timed); "cc fit()" is the estimator
  ``cc.MLPClassifier(optimizer="sgd").fit`` for the same workload, when it exists.  The
  linear workloads run ``cc.LogisticRegression(batch_size=1)`` / ``cc.Perceptron`` (rows are
  skipped with a note while those are not importable); predict runs ``Network.forward``.
* NumPy: ``benchmarks/numpy_mlp.py`` (the same loop ``step_time.py`` measures).
* scikit-learn: ``MLPClassifier(solver="sgd", momentum=0, alpha=0, ...)``,
  ``SGDClassifier(loss="log_loss", learning_rate="constant")``, ``Perceptron``.
* PyTorch (CPU, if importable): ``nn.Sequential`` + ``torch.optim.SGD``, batches by
  indexing a ``randperm`` (no DataLoader); predict under ``torch.no_grad``.
* JAX (CPU, if importable): the whole epoch is ONE ``jax.jit``-compiled ``jax.lax.scan``
  over the batches (gather, forward, loss, ``jax.grad``, SGD), the same idea as
  crash_core's epoch kernel, fused by XLA; compiled in the warm-up run, so compilation is
  not timed.  XLA picks its own threads (the bracket shows the BLAS limit in force).
* floor: the workload's GEMM FLOPs (forward + backward: 3 products per layer, 2 for the
  first; forward only for predict) at ONE core's best sgemm/dgemm rate measured in this
  run (a 1024^3 product through numpy's and scipy's BLAS on 1 thread, probed at the
  start, after every workload and at the end; the best rate seen counts).  The measured
  fp32 FMA peak of one core (8- and 16-lane vectors, the faster) is printed under "Machine".
  Where the environment sets ``OPENBLAS_CORETYPE`` (some machines set Haswell's AVX2 kernels
  on AVX-512 CPUs), a second table gives the floor at OpenBLAS's own kernels for the CPU,
  measured in a child process without that setting.
* share of the FMA peak (float32 MLP rows): the GEMM FLOPs at one core's measured FMA peak
  over crash_core's time, and over the time each target allows (target x the peer's
  time).  A target that asks near 100% or more cannot be met on one core.
* ``--under-load``: another process spins on one core while ``cc.MLPClassifier.fit`` runs
  with the default threading and inside ``threadpool_limits(1)``, round-robin; the table
  gives their ratio (target <= 1.25).

    python benchmarks/compare.py [--workloads tiny,mnist-like] [--repeats 5] [--quick]
                                 [--markdown PATH] [--under-load] [--cold]

Importing this module does no work (asv imports every module in ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import (  # noqa: E402
        accepted_kwargs,
        blobs,
        fma_peak,
        gemm_rate,
        import_estimator,
        linear_data,
        native_gemm_rate,
        teacher_binary,
    )
    from numpy_mlp import NumpyMLP, gemm_flops, init_params  # noqa: E402
else:
    from .common import (
        accepted_kwargs,
        blobs,
        fma_peak,
        gemm_rate,
        import_estimator,
        linear_data,
        native_gemm_rate,
        teacher_binary,
    )
    from .numpy_mlp import NumpyMLP, gemm_flops, init_params

PEERS = ("jax", "numpy", "sklearn", "torch")
PEER_TITLES = {
    "jax": "JAX",
    "numpy": "NumPy",
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "floor": "floor",
}


@dataclass
class Workload:
    name: str
    kind: str  # "mlp", "logistic", "perceptron", "predict"
    n: int
    quick_n: int
    n_features: int
    hidden: tuple = ()
    n_classes: int = 2
    batch: int = 1
    epochs: int = 1
    lr: float = 0.01
    dtype: type = np.float32
    targets: dict = field(default_factory=dict)

    @property
    def layer_sizes(self):
        out = 1 if self.n_classes == 2 else self.n_classes
        return (self.n_features, *self.hidden, out)

    @property
    def output(self):
        return "sigmoid" if self.n_classes == 2 else "softmax"


# issue 8's targets (crash_core / peer; the floor is the 1-thread GEMM floor)
TINY_T = {"jax": 0.55, "numpy": 0.15, "sklearn": 0.04, "torch": 0.03, "floor": 1.3}
DIGITS_T = {"jax": 0.6, "numpy": 0.25, "sklearn": 0.09, "torch": 0.07, "floor": 1.5}
MNIST_T = {"jax": 0.85, "numpy": 0.8, "sklearn": 0.5, "torch": 0.7, "floor": 1.2}

WORKLOADS = {
    w.name: w
    for w in [
        Workload("tiny", "mlp", 10_000, 4_000, 2, (64, 64), 2, 32, 5, 0.05, targets=TINY_T),
        Workload(
            "digits-like",
            "mlp",
            20_000,
            6_000,
            64,
            (128,),
            10,
            64,
            5,
            0.05,
            targets=DIGITS_T,
        ),
        Workload(
            "mnist-like", "mlp", 20_000, 4_000, 784, (256, 128), 10, 128, 2, 0.05, targets=MNIST_T
        ),
        Workload(
            "logistic", "logistic", 100_000, 20_000, 20, (), 2, 1, 5, 0.01, targets={"sklearn": 0.3}
        ),
        Workload(
            "perceptron",
            "perceptron",
            100_000,
            20_000,
            20,
            (),
            2,
            1,
            5,
            0.01,
            targets={"sklearn": 0.5},
        ),
        Workload(
            "predict",
            "predict",
            200_000,
            20_000,
            784,
            (256, 128),
            10,
            targets={"sklearn": 0.6, "torch": 0.8},
        ),
        Workload(
            "tiny-f64",
            "mlp",
            10_000,
            4_000,
            2,
            (64, 64),
            2,
            32,
            5,
            0.05,
            dtype=np.float64,
            targets=TINY_T,
        ),
        Workload(
            "mnist-like-f64",
            "mlp",
            20_000,
            4_000,
            784,
            (256, 128),
            10,
            128,
            2,
            0.05,
            dtype=np.float64,
            targets=MNIST_T,
        ),
    ]
}
ALIASES = {
    "digits": "digits-like",
    "mnist": "mnist-like",
    "mnist-f64": "mnist-like-f64",
    "logistic-per-sample": "logistic",
}


class Skip(Exception):
    """An implementation that cannot run this workload here (with the reason)."""


@dataclass
class Runner:
    """One implementation of one workload: ``run()`` is timed, ``reset()`` is not."""

    run: object
    reset: object = None
    check: object = None  # () -> str: a sanity figure from the last run (accuracy, diff)
    torch: bool = False


# ---------------------------------------------------------------------------- data
def make_data(w: Workload, n: int, seed: int = 0):
    if w.kind == "mlp":
        if w.n_classes == 2:
            return teacher_binary(n, w.n_features, seed, w.dtype)
        return blobs(n, w.n_features, w.n_classes, seed, w.dtype)
    if w.kind in ("logistic", "perceptron"):
        return linear_data(n, w.n_features, seed, w.dtype, flip=0.1)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, w.n_features), dtype=np.float32).astype(w.dtype, copy=False)
    return X, None


def _accuracy(P, y):
    pred = (P[:, 0] > 0.5).astype(np.int64) if P.shape[1] == 1 else P.argmax(axis=1)
    return float(np.mean(pred == y))


# ---------------------------------------------------------------------------- runners
def crash_core_runner(w, X, y, seed):
    if w.kind == "mlp":
        from crash_core.network import EpochTrainer, Network
        from crash_core.training import epoch_order, shuffle_rows

        net = Network(
            w.layer_sizes,
            activation="relu",
            output=w.output,
            dtype=np.dtype(w.dtype).name,
            random_state=seed,
        )
        weights, biases = init_params(w.layer_sizes, w.dtype, seed)
        for dst, src in zip(net.weights + net.biases, weights + biases, strict=True):
            dst[...] = src
        p0 = net.params.copy()
        Y = net.targets(y, X.shape[0])
        trainer = EpochTrainer(net, w.batch, "sgd")
        state = {}

        def reset():
            net.params[...] = p0
            state["order"], state["shuffle"] = epoch_order(
                X.shape[0], np.random.default_rng(seed + 1)
            )

        def run():
            order, shuffle_state = state["order"], state["shuffle"]
            for _ in range(w.epochs):
                shuffle_rows(order, shuffle_state)
                trainer.run(X, Y, order, w.lr)

        return Runner(run, reset, lambda: f"acc {_accuracy(net.forward(X), y):.3f}")
    if w.kind == "predict":
        from crash_core.network import Network

        net = Network(
            w.layer_sizes,
            activation="relu",
            output="softmax",
            dtype=np.dtype(w.dtype).name,
            random_state=seed,
        )
        weights, biases = init_params(w.layer_sizes, w.dtype, seed)
        for dst, src in zip(net.weights + net.biases, weights + biases, strict=True):
            dst[...] = src
        out = {}

        def run():
            out["P"] = net.forward(X)

        return Runner(run, None, lambda: out)
    name = "LogisticRegression" if w.kind == "logistic" else "Perceptron"
    cls, why = import_estimator(name)
    if cls is None:
        raise Skip(why)
    kwargs = dict(
        learning_rate=w.lr,
        epochs=w.epochs,
        shuffle=True,
        random_state=seed,
        dtype=np.dtype(w.dtype).name,
        verbose=0,
    )
    if w.kind == "logistic":
        kwargs.update(batch_size=1, tol=0.0, optimizer="sgd", l1=0.0, l2=0.0)
    model = {}

    def run():
        model["m"] = cls(**accepted_kwargs(cls, **kwargs)).fit(X, y)

    def check():
        m = model["m"]
        epochs = getattr(m, "n_epochs_", "?")
        return f"acc {m.score(X, y):.3f}, epochs {epochs}"

    return Runner(run, None, check)


def crash_core_fit_runner(w, X, y, seed):
    """cc.MLPClassifier(optimizer="sgd").fit on the MLP workloads (the estimator's overhead)."""
    if w.kind != "mlp":
        raise Skip("")
    cls, why = import_estimator("MLPClassifier")
    if cls is None:
        raise Skip(why)
    kwargs = dict(
        hidden_layers=w.hidden,
        activation="relu",
        optimizer="sgd",
        learning_rate=w.lr,
        batch_size=w.batch,
        epochs=w.epochs,
        shuffle=True,
        dtype=np.dtype(w.dtype).name,
        random_state=seed,
        verbose=0,
        early_stopping=False,
    )
    model = {}

    def run():
        model["m"] = cls(**accepted_kwargs(cls, **kwargs)).fit(X, y)

    def check():
        m = model["m"]
        return f"acc {m.score(X, y):.3f}, epochs {getattr(m, 'n_epochs_', '?')}"

    return Runner(run, None, check)


def numpy_runner(w, X, y, seed):
    if w.kind in ("logistic", "perceptron"):
        raise Skip("")
    weights, biases = init_params(w.layer_sizes, w.dtype, seed)
    ref = NumpyMLP(weights, biases, output=w.output)
    if w.kind == "predict":
        out = {}

        def run():
            out["P"] = ref.forward(X)

        return Runner(run, None, lambda: out)
    if w.n_classes == 2:
        Y = y.reshape(-1, 1).astype(w.dtype)
    else:
        Y = np.zeros((y.size, w.n_classes), dtype=w.dtype)
        Y[np.arange(y.size), y] = 1
    state = {}

    def reset():
        ref.set_params(weights, biases)
        state["rng"] = np.random.default_rng(seed + 1)

    def run():
        rng = state["rng"]
        for _ in range(w.epochs):
            ref.train_epoch(X, Y, rng.permutation(X.shape[0]), w.batch, w.lr)

    return Runner(run, reset, lambda: f"acc {_accuracy(ref.forward(X), y):.3f}")


def sklearn_runner(w, X, y, seed):
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import Perceptron, SGDClassifier
        from sklearn.neural_network import MLPClassifier
    except ImportError as exc:
        raise Skip(f"scikit-learn not importable ({exc})") from None
    model = {}

    def fit(make):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model["m"] = make().fit(X, y)

        return run

    if w.kind == "mlp":

        def make():
            return MLPClassifier(
                hidden_layer_sizes=w.hidden,
                activation="relu",
                solver="sgd",
                learning_rate="constant",
                learning_rate_init=w.lr,
                momentum=0.0,
                nesterovs_momentum=False,
                alpha=0.0,
                batch_size=w.batch,
                max_iter=w.epochs,
                tol=0.0,
                n_iter_no_change=10**9,
                shuffle=True,
                early_stopping=False,
                random_state=seed,
            )

        def check():
            m = model["m"]
            return f"acc {m.score(X, y):.3f}, epochs {m.n_iter_}"

        return Runner(fit(make), None, check)
    if w.kind == "logistic":

        def make():
            return SGDClassifier(
                loss="log_loss",
                penalty=None,
                alpha=0.0,
                learning_rate="constant",
                eta0=w.lr,
                max_iter=w.epochs,
                tol=None,
                shuffle=True,
                random_state=seed,
            )

        return Runner(
            fit(make),
            None,
            lambda: f"acc {model['m'].score(X, y):.3f}, epochs {model['m'].n_iter_}",
        )
    if w.kind == "perceptron":

        def make():
            return Perceptron(
                eta0=w.lr, max_iter=w.epochs, tol=None, shuffle=True, random_state=seed
            )

        return Runner(
            fit(make),
            None,
            lambda: f"acc {model['m'].score(X, y):.3f}, epochs {model['m'].n_iter_}",
        )
    # predict: an MLPClassifier carrying the same weights as the others
    weights, biases = init_params(w.layer_sizes, w.dtype, seed)
    m = MLPClassifier(hidden_layer_sizes=w.hidden, activation="relu", max_iter=1, random_state=seed)
    small = np.ascontiguousarray(X[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(small, np.arange(100) % w.n_classes)
    m.coefs_ = [wt.copy() for wt in weights]
    m.intercepts_ = [b.copy() for b in biases]
    out = {}

    def run():
        out["P"] = m.predict_proba(X)

    return Runner(run, None, lambda: out)


def torch_runner(w, X, y, seed):
    if w.kind in ("logistic", "perceptron"):
        raise Skip("")
    try:
        import torch
    except ImportError:
        raise Skip("PyTorch not installed") from None
    tdtype = torch.float32 if w.dtype == np.float32 else torch.float64
    weights, biases = init_params(w.layer_sizes, w.dtype, seed)
    mods = []
    for i, wt in enumerate(weights):
        mods.append(torch.nn.Linear(wt.shape[0], wt.shape[1], dtype=tdtype))
        if i < len(weights) - 1:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    linears = [m for m in mods if isinstance(m, torch.nn.Linear)]

    def load():
        with torch.no_grad():
            for lin, wt, b in zip(linears, weights, biases, strict=True):
                lin.weight.copy_(torch.from_numpy(wt.T))
                lin.bias.copy_(torch.from_numpy(b))

    load()
    Xt = torch.from_numpy(X)
    if w.kind == "predict":
        out = {}

        def run():
            with torch.no_grad():
                out["P"] = torch.softmax(model(Xt), dim=1).numpy()

        return Runner(run, None, lambda: out, torch=True)
    if w.n_classes == 2:
        Yt = torch.from_numpy(y.reshape(-1, 1).astype(w.dtype))
        crit = torch.nn.BCEWithLogitsLoss()
    else:
        Yt = torch.from_numpy(y)
        crit = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=w.lr)
    n, b = X.shape[0], w.batch
    state = {}

    def reset():
        load()
        state["g"] = torch.Generator().manual_seed(seed + 1)

    def run():
        g = state["g"]
        for _ in range(w.epochs):
            perm = torch.randperm(n, generator=g)
            for s in range(0, n, b):
                idx = perm[s : s + b]
                opt.zero_grad(set_to_none=True)
                loss = crit(model(Xt[idx]), Yt[idx])
                loss.backward()
                opt.step()

    def check():
        with torch.no_grad():
            z = model(Xt).numpy()
        P = z if w.n_classes != 2 else 1 / (1 + np.exp(-z))
        return f"acc {_accuracy(P, y):.3f}"

    return Runner(run, reset, check, torch=True)


def jax_runner(w, X, y, seed):
    """The epoch as ONE jit-compiled ``jax.lax.scan`` over the full batches (the last,
    partial batch is one more step inside the same compiled function): gather, forward,
    loss, ``jax.grad``, plain SGD.  XLA fuses what it can; compilation happens in the
    warm-up run, so the timed runs exclude it."""
    if w.kind in ("logistic", "perceptron"):
        raise Skip("")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("JAX not installed") from None
    if w.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    weights, biases = init_params(w.layer_sizes, w.dtype, seed)
    start = [(jnp.asarray(wt), jnp.asarray(b)) for wt, b in zip(weights, biases, strict=True)]
    Xj = jnp.asarray(X)

    def logits(params, xb):
        a = xb
        for wt, b in params[:-1]:
            a = jax.nn.relu(a @ wt + b)
        wt, b = params[-1]
        return a @ wt + b

    if w.kind == "predict":
        forward = jax.jit(lambda params, xb: jax.nn.softmax(logits(params, xb), axis=1))
        out = {}

        def run():
            out["P"] = np.asarray(forward(start, Xj).block_until_ready())

        return Runner(run, None, lambda: out)
    if w.n_classes == 2:
        Yj = jnp.asarray(y.reshape(-1, 1).astype(w.dtype))

        def loss(params, xb, yb):
            z = logits(params, xb)
            # binary cross-entropy from the logit: softplus(z) - y z
            return jnp.mean(jnp.logaddexp(0, z) - yb * z)
    else:
        Yj = jnp.asarray(np.eye(w.n_classes, dtype=w.dtype)[y])

        def loss(params, xb, yb):
            z = logits(params, xb)
            return -jnp.mean(jnp.sum(yb * jax.nn.log_softmax(z, axis=1), axis=1))

    grad = jax.grad(loss)
    n, b = X.shape[0], w.batch
    full = n // b

    def step(params, idx):
        g = grad(params, Xj[idx], Yj[idx])
        return jax.tree_util.tree_map(lambda p, d: p - w.lr * d, params, g)

    @jax.jit
    def epoch(params, perm):
        batches = perm[: full * b].reshape(full, b)
        params, _ = jax.lax.scan(lambda p, idx: (step(p, idx), None), params, batches)
        if full * b < n:
            params = step(params, perm[full * b :])
        return params

    state = {}

    def reset():
        state["params"] = start
        state["rng"] = np.random.default_rng(seed + 1)

    def run():
        params, rng = state["params"], state["rng"]
        for _ in range(w.epochs):
            params = epoch(params, jnp.asarray(rng.permutation(n)))
        state["params"] = jax.block_until_ready(params)

    def check():
        z = np.asarray(logits(state["params"], Xj))
        P = z if w.n_classes != 2 else 1 / (1 + np.exp(-z))
        return f"acc {_accuracy(P, y):.3f}"

    return Runner(run, reset, check)


RUNNERS = {
    "crash_core": crash_core_runner,
    "cc_fit": crash_core_fit_runner,
    "numpy": numpy_runner,
    "sklearn": sklearn_runner,
    "torch": torch_runner,
    "jax": jax_runner,
}


# ---------------------------------------------------------------------------- timing
@contextlib.contextmanager
def threads_limited(n_threads, uses_torch):
    from threadpoolctl import threadpool_limits

    old = None
    if uses_torch:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        if old is not None:
            import torch

            torch.set_num_threads(old)


# Seconds a run waits, untimed, for the thread pools of the run before it to go to sleep:
# the peers share one process, and OpenBLAS's threads spin for 0.1-0.2 s after their last
# product (20 numpy products of 512x512 on 2 cores, then a pause: the threads still ran
# after 0.1 s, not after 0.2 s in 4 tries of 5), where they take a core from the next run.
# A user runs one library at a time.
SETTLE_SECONDS = 0.25
# Seconds of vector work on the timing thread after that pause, untimed, so that a run
# starts on a core that is working, as a training loop is after its first milliseconds.
# This host runs any code slowly for milliseconds after a pause: after 0.25 s asleep, the
# first of tiny's five epochs took 5.7 ms against 3.3 ms back to back (the other four
# 3.3-3.4), crash_core's whole run 19.3 against 16.4 ms, and a loop of NumPy's 64x64
# products slowed alike.  The pause's first ~2 ms are then timed for every peer: 12% of
# tiny's crash_core run, 6% of JAX's, none of scikit-learn's, and all against the floor,
# which is computed.  With 50 ms of elementwise NumPy products (no BLAS threads) after
# the pause, the run took 17.6 ms; with 20 ms, 18.3; with a pure-Python spin of 100 ms
# instead, 19.0 (Zen 3 host, one BLAS thread, medians of 7).  Only the timing thread's
# core is warmed: a peer's other threads (its second BLAS or torch thread, XLA's pool,
# crash_core's helper) start on a core that was idle, as before.  ``--cold``: none, as
# before (``--under-load`` takes no pause and no warm-up either way).
WARM_DEFAULT = 0.05
WARM_SECONDS = WARM_DEFAULT


def warm_core(seconds: float) -> None:
    """Elementwise float32 products on this thread for ``seconds`` (vector work that
    starts no thread pool); nothing for 0."""
    if seconds <= 0:
        return
    a = np.linspace(0.5, 1.5, 4096, dtype=np.float32)
    out = np.empty_like(a)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(16):
            np.multiply(a, a, out=out)


def timed_run(runner: Runner, n_threads: int) -> float:
    """Seconds for one ``run()`` at ``n_threads`` (``reset()``, a gc pass,
    SETTLE_SECONDS for the last run's thread pools and WARM_SECONDS of vector work
    untimed)."""
    with threads_limited(n_threads, runner.torch):
        if runner.reset is not None:
            runner.reset()
        gc.collect()
        time.sleep(SETTLE_SECONDS)
        warm_core(WARM_SECONDS)
        t0 = time.perf_counter()
        runner.run()
        return time.perf_counter() - t0


def interleaved_medians(runners: dict, repeats: int, thread_options, errors: dict) -> dict:
    """{impl: (median seconds, threads)} at each implementation's better thread setting.

    For each thread setting every implementation is warmed up once, then the repeats are
    taken round-robin (run 1 of each, run 2 of each, ...), so a burst of load from other
    processes on a shared machine hits all peers alike instead of one peer's whole block.
    An implementation that raises is dropped and its error stored in ``errors``.
    """
    samples = {}
    for t in thread_options:
        for r in range(repeats + 1):
            for impl, runner in runners.items():
                if impl in errors:
                    continue
                try:
                    sec = timed_run(runner, t)
                except Exception as exc:  # noqa: BLE001 - report and carry on with the peers
                    errors[impl] = f"{type(exc).__name__}: {exc}"
                    continue
                if r > 0:  # r == 0 is the warm-up
                    samples.setdefault((impl, t), []).append(sec)
    best = {}
    for (impl, t), times in samples.items():
        if impl in errors:
            continue
        med = statistics.median(times)
        if impl not in best or med < best[impl][0]:
            best[impl] = (med, t)
    return best


# ---------------------------------------------------------------------------- under load
# (hidden layers, n_features, batch, n, epochs): the case first, then the workloads
UNDER_LOAD = {
    "256x256 on 64 features, b32": ((256, 256), 64, 32, 6_000, 1),
    "tiny 2-64-64-1, b32": ((64, 64), 2, 32, 10_000, 2),
    "digits-like 64-128-10, b64": ((128,), 64, 64, 20_000, 1),
    "mnist-like 784-256-128-10, b128": ((256, 128), 784, 128, 10_000, 1),
}
UNDER_LOAD_TARGET = 1.25


@contextlib.contextmanager
def busy_core():
    """Another process spinning on one core for the duration of the block."""
    import subprocess

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it get scheduled
        yield
    finally:
        spinner.kill()
        spinner.wait()


def under_load(args):
    """Default ``fit`` vs the same fit inside ``threadpool_limits(1)``, one core kept busy.

    Both fits run round-robin in the same loaded period; the ratio of their medians is
    what a user on a busy machine pays for threads that wait for each other.
    """
    from threadpoolctl import threadpool_limits

    cls, why = import_estimator("MLPClassifier")
    if cls is None:
        raise SystemExit(why)
    rows = []
    with busy_core():
        for name, (hidden, nf, batch, n, epochs) in UNDER_LOAD.items():
            n = n // 4 if args.quick else n
            X, y = blobs(n, nf, 2 if nf == 2 else 10, args.seed)
            kwargs = dict(
                hidden_layers=hidden,
                activation="relu",
                optimizer="sgd",
                learning_rate=0.05,
                batch_size=batch,
                epochs=epochs,
                dtype="float32",
                random_state=args.seed,
                verbose=0,
                early_stopping=False,
            )
            kwargs = accepted_kwargs(cls, **kwargs)

            def default_fit(kwargs=kwargs, X=X, y=y):
                cls(**kwargs).fit(X, y)

            def one_thread_fit(kwargs=kwargs, X=X, y=y):
                with threadpool_limits(limits=1):
                    cls(**kwargs).fit(X, y)

            times = {"default": [], "1 thread": []}
            for r in range(args.repeats + 1):
                for label, fn in (("default", default_fit), ("1 thread", one_thread_fit)):
                    gc.collect()
                    t0 = time.perf_counter()
                    fn()
                    if r > 0:
                        times[label].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in times.items()}
            rows.append((f"{name} (n={n:,}, {epochs} epoch(s))", med))
            log(f"  under load {name}: {med}")
    out = [
        f"Under load: another process spins on one core; cc.MLPClassifier(optimizer='sgd')"
        f".fit, default vs inside threadpool_limits(1), median of {args.repeats} runs "
        "taken round-robin after a warm-up\n",
        "| workload | default fit | 1-thread fit | default / 1-thread | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, med in rows:
        ratio = med["default"] / med["1 thread"]
        mark = "✓" if ratio <= UNDER_LOAD_TARGET else "✗"
        out.append(
            f"| {name} | {med['default'] * 1e3:.1f} ms | {med['1 thread'] * 1e3:.1f} ms "
            f"| {ratio:.2f} {mark} | ≤ {UNDER_LOAD_TARGET} |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------- memory
def fit_peak_memory(w: Workload, X, y, seed=0):
    """Peak traced allocation (bytes, numpy buffers included) during one fit, beyond X and y.

    crash_core: ``cc.MLPClassifier(optimizer="sgd").fit`` when it exists, else ``Network``
    + ``EpochTrainer`` + the epochs (what the estimator adds on top is then not included).
    """
    results = {}
    cls, _ = import_estimator("MLPClassifier")
    if cls is not None:
        label = "cc.MLPClassifier.fit"
        kwargs = dict(
            hidden_layers=w.hidden,
            activation="relu",
            optimizer="sgd",
            learning_rate=w.lr,
            batch_size=w.batch,
            epochs=w.epochs,
            dtype=np.dtype(w.dtype).name,
            random_state=seed,
            verbose=0,
        )

        def cc_fit():
            cls(**accepted_kwargs(cls, **kwargs)).fit(X, y)
    else:
        label = "Network + EpochTrainer"

        def cc_fit():
            from crash_core.network import EpochTrainer, Network
            from crash_core.training import epoch_order, shuffle_rows

            net = Network(
                w.layer_sizes, output=w.output, dtype=np.dtype(w.dtype).name, random_state=seed
            )
            Y = net.targets(y, X.shape[0])
            trainer = EpochTrainer(net, w.batch, "sgd")
            order, shuffle_state = epoch_order(X.shape[0], np.random.default_rng(seed))
            for _ in range(w.epochs):
                shuffle_rows(order, shuffle_state)
                trainer.run(X, Y, order, w.lr)

    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        MLPClassifier = None

    def sk_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(
                hidden_layer_sizes=w.hidden,
                solver="sgd",
                learning_rate_init=w.lr,
                momentum=0.0,
                alpha=0.0,
                batch_size=w.batch,
                max_iter=w.epochs,
                tol=0.0,
                n_iter_no_change=10**9,
                random_state=seed,
            ).fit(X, y)

    for name, fn in ((label, cc_fit), ("sklearn MLPClassifier.fit", sk_fit)):
        if fn is sk_fit and MLPClassifier is None:
            continue
        gc.collect()
        tracemalloc.start()
        try:
            fn()
            results[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # the bound: data + 3 x parameters + a per-batch workspace
    item = np.dtype(w.dtype).itemsize
    sizes = w.layer_sizes
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    workspace = w.batch * (sizes[0] + sizes[-1] + 1 + sum(sizes[1:]) + 2 * max(sizes)) * item
    targets = X.shape[0] * sizes[-1] * item + X.shape[0] * 8  # targets + shuffle index
    bound = targets + 3 * n_params * item + workspace
    return (
        results,
        label,
        {
            "params": n_params * item,
            "workspace": workspace,
            "targets": targets,
            "bound": bound,
            "data": X.nbytes + y.nbytes,
        },
    )


# ---------------------------------------------------------------------------- report
def fmt_time(entry):
    if entry is None:
        return "—"
    if isinstance(entry, str):
        return entry
    sec, t = entry
    return f"{sec * 1e3:.1f} ms [{t}]" if t else f"{sec * 1e3:.1f} ms"


def fmt_ratio(ratio, target):
    if ratio is None:
        return "—", ("≤ " + f"{target:g}" if target is not None else "—")
    mark = "" if target is None else (" ✓" if ratio <= target else " ✗")
    return f"{ratio:.3f}{mark}", ("≤ " + f"{target:g}" if target is not None else "—")


def build_table(rows):
    impls = ("crash_core", "cc_fit", *PEERS)
    head = ["workload", "crash_core", "cc fit()", *(PEER_TITLES[p] for p in PEERS), "floor"]
    for peer in (*PEERS, "floor"):
        head += [f"vs {PEER_TITLES[peer]}", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["name"]]
        for impl in impls:
            cells.append(fmt_time(row["times"].get(impl)))
        floor = row.get("floor")
        cells.append(f"{floor * 1e3:.1f} ms" if floor else "—")
        cc = row["times"].get("crash_core")
        for peer in (*PEERS, "floor"):
            ref = floor if peer == "floor" else row["times"].get(peer)
            ref_sec = ref if peer == "floor" else (ref[0] if isinstance(ref, tuple) else None)
            ratio = cc[0] / ref_sec if isinstance(cc, tuple) and ref_sec else None
            cells.extend(fmt_ratio(ratio, row["targets"].get(peer)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def native_floor_table(rows, native):
    """crash_core against the floor at OpenBLAS's own kernels for this CPU (``native``:
    dtype -> (rate, kernels), from ``native_gemm_rate``), where the environment's
    ``OPENBLAS_CORETYPE`` gave the run other ones."""
    head = ["workload", "kernels", "1-thread GEMM", "floor", "crash_core", "vs floor", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        entry = native.get(row.get("dtype"))
        cc = row["times"].get("crash_core")
        if "flops" not in row or entry is None or not isinstance(cc, tuple):
            continue
        rate, kernels = entry
        floor = row["flops"] / rate
        cells = [row["name"], kernels, f"{rate / 1e9:.0f} GFLOP/s", f"{floor * 1e3:.1f} ms"]
        cells.append(fmt_time(cc))
        cells.extend(fmt_ratio(cc[0] / floor, row["targets"].get("floor")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def demand_table(rows, fma):
    """What each target asks of ONE core: the workload's GEMM FLOPs at the measured fp32 FMA
    peak ``fma`` (FLOP/s), as a share of the time the target allows (target x the peer's
    time).  Beside them, the share crash_core reached in this run.  A share near 100% asks
    every microsecond of the step to go to multiply-adds at the peak; above 100% no one-core
    step can meet it, whatever it skips of the rest."""
    head = ["workload", "crash_core reached"]
    head += [f"vs {PEER_TITLES[p]} asks" for p in PEERS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if "flops" not in row or row.get("dtype") != "float32":
            continue
        at_peak = row["flops"] / fma
        cc = row["times"].get("crash_core")
        cells = [row["name"], f"{at_peak / cc[0]:.0%}" if isinstance(cc, tuple) else "—"]
        for peer in PEERS:
            ref, target = row["times"].get(peer), row["targets"].get(peer)
            if isinstance(ref, tuple) and target is not None:
                cells.append(f"{at_peak / (target * ref[0]):.0%}")
            else:
                cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def machine_summary(rates):
    import numpy
    from threadpoolctl import threadpool_info

    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    libs = sorted(
        {
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{os.path.basename(i.get('filepath', ''))})"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        }
    )
    versions = [f"python {platform.python_version()}", f"numpy {numpy.__version__}"]
    for mod in ("scipy", "sklearn", "torch", "crash_core"):
        with contextlib.suppress(Exception):
            versions.append(f"{mod} {__import__(mod).__version__}")
    env = {
        k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO"))
    }
    import crash_core

    lines = [
        f"CPU: {model}, {os.cpu_count()} logical CPUs",
        f"crash_core from {os.path.dirname(crash_core.__file__)}",
        "BLAS: " + "; ".join(libs),
        "versions: " + ", ".join(versions),
        "BLAS env vars: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "none"),
    ]
    lines.append(
        f"each timed run after a {SETTLE_SECONDS:g} s pause and {WARM_SECONDS * 1e3:.0f} ms of "
        "vector work on its thread" + (" (--cold)" if WARM_SECONDS == 0 else "")
    )
    if "fma" in rates:
        lines.append(f"fp32 FMA peak of one core, measured: {rates['fma'] / 1e9:.0f} GFLOP/s")
    for dt, entry in rates.items():
        if dt == "fma":
            continue
        rate, details = entry
        parts = ", ".join(f"{lib} {t}t {r / 1e9:.0f}" for (lib, t), r in sorted(details.items()))
        lines.append(
            f"{dt} GEMM 1024^3, best of the run (GFLOP/s): {parts}; "
            f"floor uses the 1-thread {rate / 1e9:.0f}"
        )
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS)
    )
    p.add_argument("--repeats", type=int, default=None, help="timed runs per setting (5)")
    p.add_argument(
        "--quick", action="store_true", help="1 repeat on smaller n (a smoke test, ~1-2 minutes)"
    )
    p.add_argument("--threads", default="1,2", help="thread settings to try (default 1,2)")
    p.add_argument("--markdown", metavar="PATH", help="also write the tables to PATH")
    p.add_argument("--no-memory", action="store_true", help="skip the fit peak-memory table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cold",
        action="store_true",
        help="start each timed run straight after its pause (no WARM_SECONDS of vector work)",
    )
    p.add_argument(
        "--under-load",
        action="store_true",
        help="only the under-load table: default fit vs a 1-thread fit, one core kept busy",
    )
    args = p.parse_args(argv)
    names = []
    for name in args.workloads.split(","):
        name = ALIASES.get(name.strip(), name.strip())
        if name not in WORKLOADS:
            p.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
        names.append(name)
    args.names = names
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    args.thread_options = tuple(int(t) for t in args.threads.split(","))
    return args


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(argv=None):
    global WARM_SECONDS
    args = parse_args(argv)
    WARM_SECONDS = 0.0 if args.cold else WARM_DEFAULT
    started = time.perf_counter()
    if args.under_load:
        text = under_load(args)
        text += (
            f"\n\nTotal wall time: {time.perf_counter() - started:.0f} s; command: "
            f"python benchmarks/compare.py {' '.join(argv if argv is not None else sys.argv[1:])}"
        )
        print(text)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(text + "\n")
        return
    # load crash_core's kernels (and so scipy's BLAS) before threadpoolctl looks for libraries
    import crash_core._kernels.network  # noqa: F401

    dtypes = sorted({np.dtype(WORKLOADS[n].dtype).name for n in args.names})
    rates, native = {}, {}

    def probe_gemm():
        """Measure the GEMM rates again and keep, per library and thread count, the best
        seen in this run: on a shared machine a single probe can land in a busy moment."""
        for dt in dtypes:
            threads = tuple(sorted({1, *args.thread_options}))
            _, details = gemm_rate(np.dtype(dt).type, threads=threads)
            old = rates.get(dt, (0.0, {}))[1]
            best = {key: max(rate, old.get(key, 0.0)) for key, rate in details.items()}
            # the floor is one core's: the best 1-thread rate of the run
            rates[dt] = (max(r for (_, t), r in best.items() if t == 1), best)
            own = native_gemm_rate(np.dtype(dt).type)
            if own is not None and own[0] > native.get(dt, (0.0, ""))[0]:
                native[dt] = own
        peak = fma_peak()
        if peak is not None:
            rates["fma"] = max(peak, rates.get("fma", 0.0))

    probe_gemm()
    rows, notes, checks = [], [], []
    for name in args.names:
        w = WORKLOADS[name]
        n = w.quick_n if args.quick else w.n
        X, y = make_data(w, n, args.seed)
        row = {"name": f"{name} (n={n:,})", "times": {}, "targets": w.targets}
        if w.kind in ("mlp", "predict"):
            flops = gemm_flops(
                w.layer_sizes, n, w.epochs if w.kind == "mlp" else 1, backward=w.kind == "mlp"
            )
            row["flops"], row["dtype"] = flops, np.dtype(w.dtype).name
        outputs, row_checks, runners, errors = {}, [], {}, {}
        for impl, make in RUNNERS.items():
            try:
                runners[impl] = make(w, X, y, args.seed)
            except Skip as why:
                if str(why):
                    row["times"][impl] = "skipped"
                    notes.append(f"{name} / {impl}: {why}")
        row["times"].update(interleaved_medians(runners, args.repeats, args.thread_options, errors))
        for impl, runner in runners.items():
            if impl in errors:
                row["times"][impl] = "error"
                notes.append(f"{name} / {impl}: {errors[impl]}")
                continue
            if runner.check is not None:
                figure = runner.check()
                if isinstance(figure, dict):
                    outputs[impl] = figure["P"]
                else:
                    row_checks.append(f"{impl} {figure}")
            log(f"  {name:>15} {impl:>10}: {fmt_time(row['times'][impl])}")
        if outputs and "crash_core" in outputs:
            ref = outputs["crash_core"]
            row_checks += [
                f"{impl} max|P - P_cc| {np.max(np.abs(P - ref)):.1e}"
                for impl, P in outputs.items()
                if impl != "crash_core"
            ]
        checks.append(f"- {name}: " + "; ".join(row_checks))
        rows.append(row)
        del X, y, outputs
        gc.collect()
        probe_gemm()

    memory = None
    if "mnist-like" in args.names and not args.no_memory:
        w = WORKLOADS["mnist-like"]
        X, y = make_data(w, w.quick_n if args.quick else w.n, args.seed)
        memory = fit_peak_memory(w, X, y, args.seed)
    probe_gemm()
    for row in rows:
        if "flops" in row:
            row["floor"] = row["flops"] / rates[row["dtype"]][0]

    out = []
    out.append(
        f"crash_core / peer, median of {args.repeats} run(s) after a warm-up, "
        f"best of {args.thread_options} threads (in brackets)"
        + (" — QUICK (smaller n, 1 repeat)" if args.quick else "")
        + "\n"
    )
    out.append(build_table(rows))
    mine = native_floor_table(rows, native)
    if mine:
        out.append(
            f"\nThe floor at OpenBLAS's own kernels for this CPU: this run's BLAS took "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} from the environment; "
            "the GEMM rate without it, measured in a child process, best of the run\n"
        )
        out.append(mine)
    demand = demand_table(rows, rates["fma"]) if "fma" in rates else ""
    if demand:
        out.append(
            "\nShare of one core's fp32 FMA peak (the GEMM FLOPs at the peak / the time): "
            "crash_core's in this run, and what each target asks\n"
        )
        out.append(demand)
    out.append("\nSanity (training accuracy after the last timed run / predict agreement):")
    out.extend(checks)
    if memory is not None:
        results, label, sizes = memory
        mb = 1 / 2**20
        out.append(
            f"\nPeak memory of one fit on mnist-like (tracemalloc, beyond X and y = "
            f"{sizes['data'] * mb:.1f} MB):\n"
        )
        out.append(
            "| fit | peak extra MB | issue bound MB (targets + index + 3 x params "
            "+ batch workspace) | within bound | vs scikit-learn |"
        )
        out.append("|---|---:|---:|---|---|")
        sk = results.get("sklearn MLPClassifier.fit")
        for name, peak in results.items():
            ok = "✓" if peak <= sizes["bound"] else "✗"
            vs = (
                "—"
                if name.startswith("sklearn") or sk is None
                else ("✓" if peak <= sk else "✗") + f" ({peak / sk:.2f}x)"
            )
            out.append(
                f"| {name} | {peak * mb:.2f} | {sizes['bound'] * mb:.2f} | "
                f"{ok if not name.startswith('sklearn') else '—'} | {vs} |"
            )
    if notes:
        out.append("\nNotes:")
        out.extend(f"- {n}" for n in notes)
    out.append("\nMachine:\n" + machine_summary(rates))
    out.append(
        f"\nTotal wall time: {time.perf_counter() - started:.0f} s; command: "
        f"python benchmarks/compare.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    )
    text = "\n".join(out)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
