"""The pair step: fits of networks of one hidden layer on two threads against one.

Each network is fitted with ``cc.MLPClassifier(optimizer="sgd")`` by default (the policy
may give its epochs two threads: src/simd/pool.h's pair session) and inside
``threadpool_limits(1)`` (one thread), the two alternating, and the medians compared.
The table also counts the steps that went through the pair step and the halves the
helper thread ran (the rest ran on the calling thread: a helper not there in time, or
blocks of steps run alone because that was faster at the time).

    python benchmarks/pair_step.py [--repeats 7] [--shapes 64-128-10/64,100-256-2/128]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import crash_core as cc
import crash_core.network as network_module

# (features, hidden units, classes, batch): digits-like and its neighbours, below and
# above the pair step's threshold (2^20 forward FLOPs a batch)
SHAPES = [
    (64, 128, 10, 64),
    (64, 128, 10, 32),
    (64, 64, 10, 64),
    (64, 256, 10, 64),
    (100, 256, 2, 128),
    (64, 128, 2, 64),
    (32, 192, 4, 128),
    (20, 64, 3, 16),
    (784, 256, 10, 128),
]


def _label(shape) -> str:
    nf, nh, nout, batch = shape
    return f"{nf}-{nh}-{nout}/{batch}"


def _fit(params: dict, X: np.ndarray, y: np.ndarray) -> float:
    """One fit's wall time in milliseconds."""
    start = time.perf_counter()
    cc.MLPClassifier(**params).fit(X, y)
    return (time.perf_counter() - start) * 1e3


def run(shapes, repeats: int, epochs: int = 3) -> list[str]:
    kernels = network_module.kernels
    lines = [
        "| network / batch | forward MFLOP a batch | 1 thread (ms) | default (ms) | ratio "
        "| pair steps | helper halves |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for shape in shapes:
        nf, nh, nout, batch = shape
        n = 20_000 if nf * nh <= 32_768 else 4_000  # a few hundred steps an epoch
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, nf)).astype(np.float32)
        y = rng.integers(0, nout, n)
        params = dict(
            hidden_layers=(nh,),
            activation="relu",
            optimizer="sgd",
            learning_rate=0.01,
            batch_size=batch,
            epochs=epochs,
            random_state=0,
            verbose=0,
        )

        _fit(params, X, y)  # warm-up: the helper thread exists from here
        times = {1: [], 2: []}
        steps, halves = kernels.pair_steps_(), kernels.pair_halves_()
        for _ in range(repeats):
            with threadpool_limits(limits=1):
                times[1].append(_fit(params, X, y))
            times[2].append(_fit(params, X, y))
        steps, halves = kernels.pair_steps_() - steps, kernels.pair_halves_() - halves
        one, default = statistics.median(times[1]), statistics.median(times[2])
        outputs = 1 if nout == 2 else nout
        mflop = 2 * batch * (nf * nh + nh * outputs) / 1e6
        line = (
            f"| {_label(shape)} | {mflop:.2f} | {one:.1f} | {default:.1f} | "
            f"{default / one:.3f} | {steps} | {halves} |"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="fits of each kind (7)")
    parser.add_argument("--shapes", default="", help="e.g. 64-128-10/64,100-256-2/128")
    args = parser.parse_args(argv)
    shapes = SHAPES
    if args.shapes:
        wanted = set(args.shapes.split(","))
        shapes = [s for s in SHAPES if _label(s) in wanted]
        shapes += [
            tuple(int(v) for v in w.replace("/", "-").split("-"))
            for w in wanted - {_label(s) for s in SHAPES}
        ]
    print("\n".join(run(shapes, args.repeats)))


if __name__ == "__main__":
    main()
