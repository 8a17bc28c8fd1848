"""Two builds of the network kernels in one process: epochs of each, alternating.

The machine these benchmarks run on is shared and noisy: two runs of a script minutes apart
can differ by 20%.  This script loads another build of one level's kernel module (a
``network_kernels*.so`` copied aside before a change) next to the installed one and trains
the same epochs with each, alternating which goes first, so that both see the same
machine.  It prints the median and the best epoch time of each and their ratio
(installed / other), per network.

    cp crash_core/_kernels/network_kernels_avx512.*.so /tmp/old/   # before the change
    ... change, rebuild ...
    python benchmarks/ab_kernels.py /tmp/old/network_kernels_avx512.*.so [--repeats 31]
                                    [--optimizer adam] [--threads 2] [--networks tiny,deep]
                                    [--l1 1e-4] [--l2 1e-4] [--dtype float64]

``--threads 2`` trains as a default fit on two free cores does, instead of inside
``threadpool_limits(1)``: the policy is told both cores are free (each build's helper
spins a while after its epoch, which the policy would take for another thread of the
process at the other's start) and gives the installed build its threads; the other gets
two, its helper threads its own.

Only the kernels differ: both run through the installed ``EpochTrainer.run`` and argument
checks, so a build whose epoch kernel expects other buffers than the installed trainer
makes cannot be compared this way; with a penalty both get a gradient buffer, which a build
that needs one for it reads.  Importing this module does no work.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time

import numpy as np

# name: (layer sizes, batch, hidden activation, output)
NETWORKS = {
    "tiny": ((2, 64, 64, 1), 32, "relu", "sigmoid"),
    "digits": ((64, 128, 10), 64, "relu", "softmax"),
    "tanh": ((20, 100, 50, 3), 16, "tanh", "softmax"),
    "edges": ((30, 100, 100, 3), 32, "relu", "softmax"),
    "mnist": ((784, 256, 128, 10), 128, "relu", "softmax"),
    "deep": ((20, 128, 128, 10), 32, "relu", "softmax"),
    "wide": ((64, 256, 256, 2), 32, "relu", "softmax"),
}


def load_build(path: str):
    """The kernels of the module file at ``path`` (its level read from its name)."""
    from crash_core._kernels import network

    name = os.path.basename(path).split(".")[0]
    level = name.rpartition("_")[2] if name != "network_kernels" else "portable"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return network.Kernels(level, module), network.at_level(level)


def epoch_times(
    kernels: dict,
    name: str,
    repeats: int,
    n: int = 4096,
    optimizer: str = "sgd",
    l1: float = 0.0,
    l2: float = 0.0,
    dtype: str = "float32",
) -> dict:
    """Seconds per epoch of ``optimizer`` on random data, each build in turn: the same
    ``EpochTrainer.run`` a fit makes, with the network kernels' ``train_epoch_`` swapped
    for the build's while it runs."""
    from unittest import mock

    from crash_core.network import EpochTrainer, Network
    from crash_core.network import kernels as active

    sizes, batch, activation, output = NETWORKS[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, max(2, sizes[-1]), n)
    times = {label: [] for label in kernels}
    for r in range(repeats):
        labels = list(kernels) if r % 2 else list(kernels)[::-1]
        for label in labels:
            net = Network(sizes, activation=activation, output=output, dtype=dtype)
            trainer = EpochTrainer(net, batch, optimizer)
            if l1 or l2:
                trainer.grad = np.zeros(net.n_params, dtype)
            Y = net.targets(y, n)
            order = np.random.default_rng(r).permutation(n)
            with mock.patch.object(active, "train_epoch_", kernels[label].train_epoch_):
                t0 = time.perf_counter()
                trainer.run(X, Y, order, 0.01, l1=l1, l2=l2)
                times[label].append(time.perf_counter() - t0)
    return times


def main() -> None:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="another build's network_kernels*.so")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--threads", type=int, choices=(1, 2), default=1)
    parser.add_argument("--l1", type=float, default=0.0)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    other, installed = load_build(args.other)
    kernels = {"installed": installed, "other": other}
    threads = "one thread" if args.threads == 1 else "two threads"
    print(
        f"{installed.level} level; ratio = installed / other ({threads}, {args.dtype}, "
        f"{args.optimizer}, l1 {args.l1:g}, l2 {args.l2:g})"
    )
    if args.threads == 2:
        from crash_core import _blas_threads

        other.split_threads_(2)
        _blas_threads.free_cores = lambda strict=False: 2
    with threadpool_limits(1 if args.threads == 1 else None):
        for name in args.networks.split(","):
            sizes, batch = NETWORKS[name][:2]
            times = epoch_times(
                kernels,
                name,
                args.repeats,
                optimizer=args.optimizer,
                l1=args.l1,
                l2=args.l2,
                dtype=args.dtype,
            )
            steps = -(-4096 // batch)
            med = {k: statistics.median(v) / steps * 1e6 for k, v in times.items()}
            best = {k: min(v) / steps * 1e6 for k, v in times.items()}
            label = "-".join(map(str, sizes))
            print(
                f"{name:7s} {label:16s} b{batch:<3d} median {med['installed']:7.2f} / "
                f"{med['other']:7.2f} µs/step = {med['installed'] / med['other']:.3f}; "
                f"best {best['installed'] / best['other']:.3f}"
            )


if __name__ == "__main__":
    main()
