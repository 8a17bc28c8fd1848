"""Microseconds per training step of ``EpochTrainer.run`` for several small networks.

One step = one mini-batch: gather, forward, loss, backward, plain SGD update (float32, one
BLAS thread, process CPU time, the median over ``--repeats`` epochs after a warm-up epoch).
The shapes go beyond the three of ``compare.py``: a tanh network with a 3-class softmax
and a batch of 16 stands for the networks the benchmarks do not name.

    python benchmarks/step_shapes.py [--shapes tiny,digits,mnist,tanh] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

# name: (layer sizes, batch, hidden activation, output, samples)
SHAPES = {
    "tiny": ((2, 64, 64, 1), 32, "relu", "sigmoid", 8_000),
    "digits": ((64, 128, 10), 64, "relu", "softmax", 8_000),
    "mnist": ((784, 256, 128, 10), 128, "relu", "softmax", 1_024),
    "tanh": ((20, 100, 50, 3), 16, "tanh", "softmax", 8_000),
}


def step_time(name: str, repeats: int = 7) -> float:
    """Median µs per step of one epoch of plain SGD on random data."""
    from crash_core.network import EpochTrainer, Network

    sizes, batch, activation, output, n = SHAPES[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, 2 if output == "sigmoid" else sizes[-1], n)
    net = Network(sizes, activation=activation, output=output, dtype="float32", random_state=0)
    Y = net.targets(y, n)
    trainer = EpochTrainer(net, batch, "sgd")
    times = []
    for r in range(repeats + 1):
        order = np.random.default_rng(r).permutation(n)
        t0 = time.process_time()
        trainer.run(X, Y, order, 0.01)
        times.append(time.process_time() - t0)
    return statistics.median(times[1:]) / -(-n // batch) * 1e6


def main() -> None:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with threadpool_limits(1):
        for name in args.shapes.split(","):
            sizes, batch = SHAPES[name][:2]
            label = "-".join(map(str, sizes))
            us = step_time(name, args.repeats)
            print(f"{name:7s} {label:16s} b{batch:<4d} {us:9.1f} µs/step")


if __name__ == "__main__":
    main()
