"""Training epochs on buffers that start on a cache line against buffers 16 bytes into one.

crash_core allocates every buffer its kernels read and write at a multiple of 64 bytes
(``crash_core/_memory.py``); numpy alone aligns to 16.  For each network this trains the
same epochs of plain SGD (float32, one thread) twice, alternating per epoch: once on the
buffers as allocated, once on copies of the parameters and the trainer's work buffers that
start 16 bytes into a line.  It prints the median step time of each and their ratio
(aligned / offset); the parameters after the last epoch agree bit for bit (printed).

    python benchmarks/alignment.py [--networks tiny,digits,mnist,tanh] [--repeats 15]

The networks and their data are ``benchmarks/step_shapes.py``'s.

Importing this module does no work (asv imports every module in ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from step_shapes import SHAPES as NETWORKS  # noqa: E402
else:
    from .step_shapes import SHAPES as NETWORKS
WORK_BUFFERS = ("grad", "xb", "yb", "wb", "acts", "delta", "spare")


def off_line(values: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``values`` that starts ``offset`` bytes after a 64-byte line."""
    raw = np.empty(values.nbytes + 128, dtype=np.uint8)
    start = -raw.ctypes.data % 64 + offset
    out = raw[start : start + values.nbytes].view(values.dtype)
    out[...] = values
    return out


def compare(name: str, repeats: int) -> tuple[float, float, bool]:
    """(aligned µs a step, offset µs a step, same final parameters) for one network."""
    from threadpoolctl import threadpool_limits

    from crash_core.network import EpochTrainer, Network

    sizes, batch, activation, output, n = NETWORKS[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, 2 if output == "sigmoid" else sizes[-1], n)
    runs = []
    for offset in (0, 16):
        net = Network(sizes, activation=activation, output=output, dtype="float32", random_state=0)
        trainer = EpochTrainer(net, batch, "sgd")
        if offset:
            net.__dict__["_params"] = off_line(net.params, offset)
            net.weights, net.biases = net.split(net.params)
            for buffer in WORK_BUFFERS:
                setattr(trainer, buffer, off_line(getattr(trainer, buffer), offset))
        runs.append((net, trainer, net.targets(y, n), net.params.copy(), []))
    with threadpool_limits(1):
        for r in range(repeats + 1):
            order = np.random.default_rng(r).permutation(n)
            for net, trainer, Y, start, times in runs[:: 1 if r % 2 else -1]:
                net.params[...] = start
                t0 = time.perf_counter()
                trainer.run(X, Y, order, 0.01)
                if r:  # the first round warms up
                    times.append(time.perf_counter() - t0)
    steps = -(-n // batch)
    aligned, offset = (statistics.median(run[4]) / steps * 1e6 for run in runs)
    return aligned, offset, bool(np.array_equal(runs[0][0].params, runs[1][0].params))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", default=",".join(NETWORKS))
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    print("| network | aligned µs/step | 16 B in µs/step | aligned / 16 B in | same bits |")
    print("|---|---|---|---|---|")
    for name in args.networks.split(","):
        aligned, offset, same = compare(name, args.repeats)
        sizes, batch = NETWORKS[name][:2]
        label = f"{name} {'-'.join(map(str, sizes))}, b{batch}"
        print(f"| {label} | {aligned:.2f} | {offset:.2f} | {aligned / offset:.3f} | {same} |")


if __name__ == "__main__":
    main()
