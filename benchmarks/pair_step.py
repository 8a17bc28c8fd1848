"""The pair step: epochs of networks whose last hidden layer runs in two halves, against the
whole layer.

For each network, ``EpochTrainer.run`` epochs (shuffled as ``fit`` shuffles) in four ways,
taken round-robin so that load from other processes hits them alike:

* ``layer 1t``: the whole step (the pair step's threshold raised out of reach), one
  thread: the reference every ratio is taken against;
* ``halves 1t``: the pair step on one thread (``threadpool_limits(1)``);
* ``halves 2t``: the pair step as the policy runs it with two cores (a helper thread runs
  the second halves while it is faster);
* ``layer 2t``: the whole step as the policy runs it with two cores.

The last columns count the steps that went through the pair step and the halves the helper
thread ran in the ``halves 2t`` epochs (the rest ran on the calling thread: a helper not
there in time, or blocks of steps run alone because that was faster at the time).

``--contended`` keeps another process spinning on one core while it measures, and tells
the policy both cores are free, as a host does that takes the second core away where the
policy cannot see it (steal time): the ``2t`` ways then get a helper that is late or loses
its core, and show what the pair session does about it (timed blocks run alone, a late
helper ends the session).

``--threshold F`` runs the ``halves`` ways at a pair threshold of F forward FLOPs a batch
instead of the default (``0``: every step paired, strictly).

    python benchmarks/pair_step.py [--repeats 5] [--epochs 3] [--optimizer sgd]
                                   [--shapes 64-128-10/64,2-64-64-1/32] [--contended]
                                   [--threshold F] [--l1 1e-4] [--l2 1e-4]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import crash_core.network as network_module
from crash_core import _blas_threads as bt
from crash_core.network import EpochTrainer, Network
from crash_core.training import epoch_order, shuffle_rows

# (features, hidden units..., outputs, batch): digits-like and its neighbours, above the
# pair step's threshold (2^20 forward FLOPs a batch), two it does not take, and networks of
# two hidden layers
SHAPES = [
    (64, 128, 10, 64),
    (64, 256, 10, 64),
    (100, 256, 2, 128),
    (32, 192, 4, 128),
    (64, 128, 1, 64),
    (20, 512, 3, 64),
    (64, 128, 10, 32),
    (784, 256, 10, 128),
    (2, 64, 64, 1, 32),
    (64, 64, 128, 10, 64),
]
WAYS = ("layer 1t", "halves 1t", "halves 2t", "layer 2t")


def _parse_shape(text: str):
    net, batch = text.split("/")
    return (*map(int, net.split("-")), int(batch))


def measure(shape, repeats: int, epochs: int, optimizer: str, seed: int = 0,
            threshold: float | None = None, l1: float = 0.0, l2: float = 0.0) -> dict:
    """Median seconds of ``epochs`` epochs each way, and the pair step's counts."""
    kernels = network_module.kernels
    sizes, batch = shape[:-1], shape[-1]
    n_features, k = sizes[0], sizes[-1]
    n = 20_000 if n_features < 300 else 4_000
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype(np.float32)
    y = rng.integers(0, max(k, 2), n)
    output = "sigmoid" if k == 1 else "softmax"
    net = Network(sizes, "relu", output, "float32", random_state=seed)
    Y = net.targets(y, n)
    start = net.params.copy()
    trainer = EpochTrainer(net, batch, optimizer)
    default = kernels.pair_min_flops_()
    paired = default if threshold is None else threshold
    settings = {
        "layer 1t": (float("inf"), 1),
        "halves 1t": (paired, 1),
        "halves 2t": (paired, None),
        "layer 2t": (float("inf"), None),
    }
    times = {way: [] for way in WAYS}
    steps = halves = 0
    try:
        for _ in range(repeats):
            for way, (threshold, limit) in settings.items():
                kernels.pair_min_flops_(threshold)
                net.params[...] = start
                order, state = epoch_order(n, np.random.default_rng(seed + 1))
                before = kernels.pair_steps_(), kernels.pair_halves_()
                with threadpool_limits(limit):
                    t0 = time.perf_counter()
                    for _ in range(epochs):
                        shuffle_rows(order, state)
                        trainer.run(X, Y, order, 0.01, l1=l1, l2=l2)
                    times[way].append(time.perf_counter() - t0)
                if way == "halves 2t":
                    steps += kernels.pair_steps_() - before[0]
                    halves += kernels.pair_halves_() - before[1]
    finally:
        kernels.pair_min_flops_(default)
    return {
        "medians": {way: statistics.median(t) for way, t in times.items()},
        "steps": steps,
        "halves": halves,
        "mflop": 2.0 * batch * sum(a * b for a, b in zip(sizes, sizes[1:], strict=False)) / 1e6,
    }


@contextlib.contextmanager
def contended():
    """Another process spinning on one core (compare.py's ``busy_core``), while the policy
    is told both are free."""
    if __package__ in (None, ""):
        from compare import busy_core
    else:
        from .compare import busy_core
    free_cores = bt.free_cores
    bt.free_cores = lambda strict=False: 2
    try:
        with busy_core():
            yield
    finally:
        bt.free_cores = free_cores


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--shapes", default=None, help="comma-separated nf-nh-k/batch")
    p.add_argument(
        "--contended",
        action="store_true",
        help="another process spinning on one core, the policy told both are free",
    )
    p.add_argument("--threshold", type=float, default=None,
                   help="the halves ways' pair threshold, forward FLOPs a batch")
    p.add_argument("--l1", type=float, default=0.0, help="the fits' L1 penalty")
    p.add_argument("--l2", type=float, default=0.0, help="the fits' L2 penalty")
    args = p.parse_args(argv)
    shapes = [_parse_shape(s) for s in args.shapes.split(",")] if args.shapes else SHAPES
    print(
        f"epochs of {args.optimizer} (l1 {args.l1:g}, l2 {args.l2:g}), float32: median of "
        f"{args.repeats} runs of {args.epochs} epochs, as a ratio to the whole step on one "
        "thread"
        + (", another process spinning on one core" if args.contended else "")
        + "\n"
    )
    print(
        "| network / batch | forward MFLOP a batch | layer 1t | "
        + " | ".join(WAYS[1:])
        + " | pair steps | helper halves |"
    )
    print("|---|---:|---:|" + "---:|" * (len(WAYS) - 1) + "---:|---:|")
    for shape in shapes:
        with contended() if args.contended else contextlib.nullcontext():
            r = measure(shape, args.repeats, args.epochs, args.optimizer,
                        threshold=args.threshold, l1=args.l1, l2=args.l2)
        base = r["medians"]["layer 1t"]
        ratios = " | ".join(f"{r['medians'][way] / base:.3f}" for way in WAYS[1:])
        name = "-".join(map(str, shape[:-1]))
        print(
            f"| {name} / {shape[-1]} | {r['mflop']:.2f} | {base * 1e3:.1f} ms | {ratios} | "
            f"{r['steps']} | {r['halves']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
