"""What one small call costs: fit, partial_fit and predict_proba next to the kernel work
they wrap, and predict_proba next to PyTorch and scikit-learn.

* ``fit`` of ONE epoch (784-1024-10, relu, softmax, Adam, batch 256, 10,000 rows,
  float32, no restarts, no validation) against one call of the epoch kernel
  (``EpochTrainer.run``) on the same data, network and batch; the input validation
  (``check_X_y``) a fit does is timed on its own and reported separately.
* ``partial_fit`` (64 features, hidden (100,), 10 classes, batch 32, Adam) on 100 and
  1,000 rows of a model that has seen a first chunk, against the epoch kernel on the same
  rows with the same batch and optimizer.
* ``predict_proba`` of the same 64-100-10 network on 1, 100 and 1,000 rows against
  PyTorch (the same layers as a ``torch.nn.Sequential`` in float32, ``torch.no_grad()``,
  ``torch.set_num_threads(1)``, from a NumPy array to a NumPy array) and scikit-learn's
  MLPClassifier (hidden (100,), fitted on the same float32 data), both peers on one
  thread (scikit-learn inside ``threadpool_limits(1)``: its BLAS threads would otherwise
  spin between its calls on the cores the next contender gets).  crash_core runs under
  its own thread policy (the products of 1,000 rows may be split over two threads when
  no other thread wants the second core); the column "crash_core,
  threadpool_limits(1)" is the same call held to one thread, with its own ratio.

Contenders run round-robin (interleaved) so that load from other processes hits them
alike; every cell is the median over ``--repeats`` rounds (a round times a burst of calls
and keeps the mean per call).  Run it twice on a shared machine before trusting a ratio.

    PYTHONPATH=. python benchmarks/per_call.py [--repeats 41] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import blobs  # noqa: E402


def burst(fn, calls: int, context=None) -> tuple[float, float]:
    """(wall, CPU) seconds per call, the mean over ``calls`` back-to-back calls (inside
    ``context()`` when given, entered before the clocks start).  The CPU time is the
    process's (every thread's), which load from other processes does not inflate."""
    with context() if context is not None else contextlib.nullcontext():
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def interleaved(contenders: dict, repeats: int, calls: int, cpu: bool = False) -> dict:
    """{name: median seconds per call} (wall clock, or CPU time with ``cpu``); each round
    runs every contender once, in a rotating order.  A contender is a function, or
    (function, context factory)."""
    names = list(contenders)
    pairs = {k: v if isinstance(v, tuple) else (v, None) for k, v in contenders.items()}
    for fn, context in pairs.values():  # warm-up
        burst(fn, max(1, calls // 4), context)
    times: dict = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(burst(pairs[name][0], calls, pairs[name][1])[int(cpu)])
    return {name: statistics.median(v) for name, v in times.items()}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.2f} ms"


# ---------------------------------------------------------------------- fit, one epoch
def fit_one_epoch(repeats: int, n: int) -> list[str]:
    from threadpoolctl import threadpool_limits

    import crash_core as cc
    from crash_core._validation import check_X_y
    from crash_core.models._common import one_hot
    from crash_core.network import EpochTrainer, Network

    X, y = blobs(n, 784, 10, seed=0)
    Y = one_hot(y, 10, np.float32)
    params = dict(hidden_layers=(1024,), batch_size=256, epochs=1, random_state=0)
    net = Network((784, 1024, 10), output="softmax", dtype="float32", random_state=0)
    trainer = EpochTrainer(net, 256, "adam", n_samples=n)
    order = np.random.default_rng(0).permutation(n)

    one = lambda: threadpool_limits(limits=1)  # noqa: E731
    start = net.params.copy()

    @contextlib.contextmanager
    def first_epoch():
        """Each kernel epoch starts where a fit's first epoch does: the same initial
        weights (the fit draws them from the same seed) and a fresh Adam state (how many
        relu units are off, which the backward pass skips, depends on the weights)."""
        net.params[...] = start
        trainer.state.state1[...] = 0
        trainer.state.state2[...] = 0
        trainer.state.t = 0
        with threadpool_limits(limits=1):
            yield

    times = interleaved(
        {
            "fit": (lambda: cc.MLPClassifier(**params).fit(X, y), one),
            "kernel": (lambda: trainer.run(X, Y, order, 1e-3), first_epoch),
            "validation": (lambda: check_X_y(X, y, dtype=np.float32), one),
        },
        repeats,
        1,
        cpu=True,
    )
    fit, kernel, validation = times["fit"], times["kernel"], times["validation"]
    return [
        f"**fit, one epoch** — 784-1024-10, batch 256, {n:,} rows, Adam, float32, "
        "n_restarts=1, no validation; one thread (`threadpool_limits(1)`), CPU time, "
        f"median of {repeats} interleaved rounds",
        "",
        "| | time | ratio |",
        "|---|---:|---:|",
        f"| one kernel epoch (`EpochTrainer.run`) | {us(kernel)} | 1.00x |",
        f"| `fit(X, y)` | {us(fit)} | {fit / kernel:.2f}x |",
        f"| of which input validation (`check_X_y`) | {us(validation)} | "
        f"{validation / kernel:.3f}x |",
        f"| `fit` without the validation | {us(fit - validation)} | "
        f"**{(fit - validation) / kernel:.2f}x** (target <= 1.1x) |",
        "",
    ]


# ---------------------------------------------------------------------- partial_fit
def partial_fit_rows(repeats: int) -> list[str]:
    from threadpoolctl import threadpool_limits

    import crash_core as cc
    from crash_core.models._common import one_hot
    from crash_core.network import EpochTrainer

    X, y = blobs(3000, 64, 10, seed=0)
    lines = [
        "**partial_fit** — 64 features, hidden (100,), 10 classes, batch 32, Adam, float32; "
        f"one thread, CPU time, median of {repeats} interleaved rounds",
        "",
        "| rows | epoch kernel | `partial_fit` | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for rows, calls in ((100, 20), (1000, 3)):
        model = cc.MLPClassifier(hidden_layers=(100,), random_state=0)
        model.partial_fit(X[:rows], y[:rows], classes=np.arange(10))
        Xc, yc = X[rows : 2 * rows].copy(), y[rows : 2 * rows].copy()
        Yc = one_hot(yc, 10, np.float32)
        trainer = EpochTrainer(model.network_.copy(), 32, "adam", n_samples=rows)
        order = np.random.default_rng(0).permutation(rows)
        one = lambda: threadpool_limits(limits=1)  # noqa: E731
        times = interleaved(
            {
                "kernel": (lambda: trainer.run(Xc, Yc, order, 1e-3), one),  # noqa: B023
                "partial_fit": (lambda: model.partial_fit(Xc, yc), one),  # noqa: B023
            },
            repeats,
            calls,
            cpu=True,
        )
        ratio = times["partial_fit"] / times["kernel"]
        target = " (target <= 3x)" if rows == 100 else ""
        lines.append(
            f"| {rows:,} | {us(times['kernel'])} | {us(times['partial_fit'])} | "
            f"**{ratio:.2f}x**{target} |"
        )
    return [*lines, ""]


# ---------------------------------------------------------------------- predict_proba
def torch_twin(network):
    """The same layers as a torch.nn.Sequential (float32), weights copied."""
    import torch

    layers = []
    for i, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        layers.append(torch.nn.ReLU() if i < len(network.weights) - 1 else torch.nn.Softmax(1))
    return torch.nn.Sequential(*layers).eval()


def predict_rows(repeats: int) -> list[str]:
    import torch
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    import crash_core as cc

    torch.set_num_threads(1)
    X, y = blobs(3000, 64, 10, seed=0)
    model = cc.MLPClassifier(hidden_layers=(100,), epochs=2, random_state=0).fit(X, y)
    twin = torch_twin(model.network_)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2 iterations do not converge; only the cost counts
        sk = SkMLP(hidden_layer_sizes=(100,), max_iter=2, random_state=0).fit(X, y)

    def torch_proba(rows):
        with torch.no_grad():
            return twin(torch.from_numpy(rows)).numpy()

    check = X[:100]
    assert np.allclose(torch_proba(check), model.predict_proba(check), atol=1e-5)

    lines = [
        "**predict_proba** — 64-100-10 (relu, softmax), float32; PyTorch: "
        "`torch.nn.Sequential`, `no_grad`, `set_num_threads(1)`; scikit-learn in "
        "`threadpool_limits(1)`; wall-clock latency, "
        f"median of {repeats} interleaved rounds; ratio = crash_core / PyTorch",
        "",
        "| rows | crash_core | crash_core, threadpool_limits(1) | PyTorch | scikit-learn "
        "| crash_core / PyTorch | one thread / PyTorch | crash_core / scikit-learn |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cpu_lines = [
        "",
        "The same calls on one thread each (crash_core in `threadpool_limits(1)`, "
        "scikit-learn too), CPU time: what a call costs when other processes share the "
        "cores",
        "",
        "| rows | crash_core | PyTorch | scikit-learn | crash_core / PyTorch |",
        "|---:|---:|---:|---:|---:|",
    ]
    one = lambda: threadpool_limits(limits=1)  # noqa: E731
    for n, calls in ((1, 200), (100, 50), (1000, 10)):
        rows = np.ascontiguousarray(X[n : 2 * n])
        times = interleaved(
            {
                "cc": lambda: model.predict_proba(rows),  # noqa: B023
                "cc1": (lambda: model.predict_proba(rows), one),  # noqa: B023
                "torch": lambda: torch_proba(rows),  # noqa: B023
                "sklearn": (lambda: sk.predict_proba(rows), one),  # noqa: B023
            },
            repeats,
            calls,
        )
        lines.append(
            f"| {n:,} | {us(times['cc'])} | {us(times['cc1'])} | {us(times['torch'])} | "
            f"{us(times['sklearn'])} | **{times['cc'] / times['torch']:.2f}x** "
            f"(target <= 0.5x) | {times['cc1'] / times['torch']:.2f}x | "
            f"{times['cc'] / times['sklearn']:.2f}x |"
        )
        cpu = interleaved(
            {
                "cc": (lambda: model.predict_proba(rows), one),  # noqa: B023
                "torch": lambda: torch_proba(rows),  # noqa: B023
                "sklearn": (lambda: sk.predict_proba(rows), one),  # noqa: B023
            },
            repeats,
            calls,
            cpu=True,
        )
        cpu_lines.append(
            f"| {n:,} | {us(cpu['cc'])} | {us(cpu['torch'])} | {us(cpu['sklearn'])} | "
            f"**{cpu['cc'] / cpu['torch']:.2f}x** |"
        )
    return [*lines, *cpu_lines, ""]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=41, help="interleaved rounds per cell")
    parser.add_argument("--fit-repeats", type=int, default=5, help="rounds of the epoch fit")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds, 2,000 rows")
    args = parser.parse_args(argv)
    repeats, fit_repeats, n = args.repeats, args.fit_repeats, 10_000
    if args.quick:
        repeats, fit_repeats, n = 3, 1, 2_000
    from crash_core._blas_threads import blas_budget
    from crash_core._kernels import kernel_level

    print(
        f"crash_core per-call costs; kernels {kernel_level()}, BLAS budget {blas_budget()} "
        f"thread(s), {os.cpu_count()} CPU(s)\n"
    )
    print("\n".join(predict_rows(repeats)), flush=True)
    print("\n".join(partial_fit_rows(repeats)), flush=True)
    print("\n".join(fit_one_epoch(fit_repeats, n)), flush=True)


if __name__ == "__main__":
    main()
