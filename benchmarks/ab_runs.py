"""Builds of the network kernels against each other in whole runs, as compare.py times them.

``ab_kernels.py`` alternates single epochs back to back; what a user meets after a pause
(the second core's helper asleep, the caches holding other work) and what a policy does
over many epochs (the pair session's choice between two threads and one) shows only in
whole runs.  This script loads several builds of one level's kernel module (files copied
aside, as for ``ab_kernels.py``) and trains one of compare.py's MLP workloads with each:
per round, every build once, in an order that rotates from round to round, each run after
compare.py's pause and warm-up (``warm_core``), all its epochs timed with the shuffles.
It prints each build's median run and its ratios to the first build's: of the medians,
and the geometric mean of the per-round ratios (runs of one round are seconds apart, so
the host's slow phases hit them alike).

The policy is told both cores are free (as ``ab_kernels.py --threads 2`` does): each
build's helper spins a while after its run, which the policy would take for another
thread of this process at the next build's start.

    python benchmarks/ab_runs.py A.so B.so [C.so ...] [--workload digits-like] [--rounds 40]
                                 [--threads 2]

Each build is named by its file's folder (``/tmp/ab/OLD/network_kernels_avx512...so`` is
``OLD``).  Importing this module does no work.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import compare  # noqa: E402
    from ab_kernels import load_build  # noqa: E402
else:
    from . import compare
    from .ab_kernels import load_build


def run_times(builds: dict, workload: str, rounds: int) -> dict:
    """Seconds per run of ``workload`` for each build, one list per build."""
    from unittest import mock

    from crash_core.network import EpochTrainer, Network
    from crash_core.network import kernels as active
    from crash_core.training import epoch_order, shuffle_rows

    w = compare.WORKLOADS[workload]
    X, y = compare.make_data(w, w.n)
    labels = list(builds)
    times = {label: [] for label in labels}
    for r in range(rounds + 1):  # round 0 warms every build up, untimed
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            net = Network(
                w.layer_sizes, activation="relu", output=w.output, dtype=np.dtype(w.dtype).name
            )
            Y = net.targets(y, X.shape[0])
            trainer = EpochTrainer(net, w.batch, "sgd")
            order, state = epoch_order(X.shape[0], np.random.default_rng(1))
            gc.collect()
            time.sleep(compare.SETTLE_SECONDS)
            compare.warm_core(compare.WARM_SECONDS)
            with mock.patch.object(active, "train_epoch_", builds[label].train_epoch_):
                t0 = time.perf_counter()
                for _ in range(w.epochs):
                    shuffle_rows(order, state)
                    trainer.run(X, Y, order, w.lr)
                seconds = time.perf_counter() - t0
            if r:
                times[label].append(seconds)
    return times


def main() -> None:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs="+", help="network_kernels*.so files, one a folder")
    parser.add_argument("--workload", default="digits-like")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, choices=(1, 2), default=2)
    args = parser.parse_args()
    builds = {}
    for path in args.builds:
        kernels, _ = load_build(path)
        if args.threads == 2:
            kernels.split_threads_(2)
        builds[os.path.basename(os.path.dirname(os.path.abspath(path)))] = kernels
    if args.threads == 2:
        from crash_core import _blas_threads

        _blas_threads.free_cores = lambda strict=False: 2
    with threadpool_limits(1 if args.threads == 1 else None):
        times = run_times(builds, args.workload, args.rounds)
    first = next(iter(times))
    print(f"{args.workload}: {args.rounds} rounds, {args.threads} thread(s); ratios to {first}")
    for label, runs in times.items():
        per_round = [a / b for a, b in zip(runs, times[first], strict=True)]
        print(
            f"{label:10s} median {statistics.median(runs) * 1e3:7.2f} ms  "
            f"median / {first}'s {statistics.median(runs) / statistics.median(times[first]):.3f}  "
            f"per-round geometric mean {np.exp(np.mean(np.log(per_round))):.3f}"
        )


if __name__ == "__main__":
    main()
