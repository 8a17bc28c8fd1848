"""Builds of the network kernels against each other in whole runs, as compare.py times them.

``ab_kernels.py`` alternates single epochs back to back; what a user meets after a pause
(the second core's helper asleep, the caches holding other work) and what a policy does
over many epochs (the pair session's choice between two threads and one) shows only in
whole runs.  This script loads several builds of one level's kernel module (files copied
aside, as for ``ab_kernels.py``) and times compare.py's crash_core runner of one MLP
workload with each, through compare.py's ``timed_run`` (its pause and warm-up, then all the
epochs with their shuffles): per round, every build once, in an order that rotates from
round to round.
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
import os
import statistics
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import compare  # noqa: E402
    from ab_kernels import load_build  # noqa: E402
else:
    from . import compare
    from .ab_kernels import load_build


def run_times(builds: dict, workload: str, rounds: int, threads: int) -> dict:
    """Seconds per run of ``workload`` for each build, one list per build: compare.py's
    crash_core runner and ``timed_run``, with the network kernels' ``train_epoch_``
    swapped for the build's while it runs."""
    from unittest import mock

    from crash_core.network import kernels as active

    w = compare.WORKLOADS[workload]
    X, y = compare.make_data(w, w.n)
    runner = compare.crash_core_runner(w, X, y, 0)
    labels = list(builds)
    times = {label: [] for label in labels}
    for r in range(rounds + 1):  # round 0 warms every build up, untimed
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            with mock.patch.object(active, "train_epoch_", builds[label].train_epoch_):
                seconds = compare.timed_run(runner, threads)
            if r:
                times[label].append(seconds)
    return times


def main() -> None:
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
    times = run_times(builds, args.workload, args.rounds, args.threads)
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
