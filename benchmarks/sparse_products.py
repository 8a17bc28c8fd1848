"""Products that skip the zeros of A (ReLU activations, masked deltas) against the dense tiles.

For each shape (m x n x k, float32, one thread) and share of nonzeros in A, the product
``C = A B`` through ``gemm_rm`` with the sparse rows allowed (``sparse_density_(1)``) and
forbidden (``sparse_density_(0)``), alternating, best of ``--repeats`` loops; the cost of
the Python call (a 1 x 1 product) is subtracted.  Then whole epochs of plain SGD for ReLU
networks with the level's default and with the sparse rows off, alternating per epoch.
The results are the same bit for bit (``tests/test_sparse.py``); only the time differs.

    python benchmarks/sparse_products.py [--repeats 5]

Importing this module does no work (asv imports every module in ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SHAPES = [(32, 64, 64), (32, 128, 64), (64, 64, 128), (16, 100, 20), (64, 10, 128), (128, 128, 128)]
DENSITIES = (0.5, 0.65)
# (layer sizes, batch, output)
NETWORKS = [((2, 64, 64, 1), 32, "sigmoid"), ((20, 100, 100, 3), 32, "softmax")]


def _loop_time(call, loops: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            call()
        best = min(best, (time.perf_counter() - t0) / loops)
    return best


def product_times(kernels, repeats: int) -> list[tuple]:
    """[(shape, density, dense µs, sparse µs)], each the best of ``repeats`` loops."""
    rng = np.random.default_rng(0)
    one = np.ones((1, 1), np.float32)
    out = np.zeros((1, 1), np.float32)
    overhead = _loop_time(lambda: kernels.gemm_rm(one, one, out), 2000, repeats)
    rows = []
    for m, n, k in SHAPES:
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.zeros((m, n), np.float32)
        for density in DENSITIES:
            a = rng.standard_normal((m, k)).astype(np.float32)
            a[rng.random((m, k)) >= density] = 0
            loops = max(200, int(2e8 / (2 * m * n * k)))
            times = {0.0: [], 1.0: []}
            for _ in range(repeats):
                for allowed in times:
                    previous = kernels.sparse_density_(allowed)
                    try:
                        times[allowed].append(
                            _loop_time(lambda a=a, b=b, c=c: kernels.gemm_rm(a, b, c), loops, 1)
                        )
                    finally:
                        kernels.sparse_density_(previous)
            dense, sparse = (min(times[x]) - overhead for x in (0.0, 1.0))
            rows.append(((m, n, k), density, dense * 1e6, sparse * 1e6))
    return rows


def epoch_times(kernels, repeats: int) -> list[tuple]:
    """[(network, batch, µs per step with the sparse rows off, at the default)]."""
    from crash_core.network import EpochTrainer, Network

    rows = []
    for sizes, batch, output in NETWORKS:
        rng = np.random.default_rng(0)
        n = 4000
        X = rng.standard_normal((n, sizes[0])).astype(np.float32)
        y = rng.integers(0, 2 if output == "sigmoid" else sizes[-1], n)
        runs = {}
        default = kernels.sparse_density_()
        for density in (0.0, default):
            net = Network(sizes, activation="relu", output=output, dtype="float32", random_state=0)
            runs[density] = (net, EpochTrainer(net, batch, "sgd"), net.targets(y, n), [])
        for r in range(8 * repeats + 1):
            order = np.random.default_rng(r).permutation(n)
            for density, (_, trainer, Y, times) in runs.items():
                previous = kernels.sparse_density_(density)
                try:
                    t0 = time.perf_counter()
                    trainer.run(X, Y, order, 0.01)
                    if r:
                        times.append(time.perf_counter() - t0)
                finally:
                    kernels.sparse_density_(previous)
        steps = -(-n // batch)
        off, on = (statistics.median(runs[d][3]) / steps * 1e6 for d in (0.0, default))
        rows.append(("-".join(map(str, sizes)), batch, off, on))
    return rows


def main() -> None:
    from threadpoolctl import threadpool_limits

    import crash_core._kernels.network as kernels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"kernels: {kernels.LEVEL} level, default sparse_density {kernels.sparse_density_()}")
    with threadpool_limits(1):
        print("\n| m x n x k | nonzeros | dense tiles | sparse rows | sparse / dense |")
        print("|---|---:|---:|---:|---:|")
        for (m, n, k), density, dense, sparse in product_times(kernels, args.repeats):
            print(
                f"| {m}x{n}x{k} | {density:.2f} | {dense:.2f} µs | {sparse:.2f} µs "
                f"| {sparse / dense:.2f} |"
            )
        print("\n| network (relu, plain SGD) | batch | sparse rows off | default | default / off |")
        print("|---|---:|---:|---:|---:|")
        for name, batch, off, on in epoch_times(kernels, args.repeats):
            print(f"| {name} | {batch} | {off:.2f} µs/step | {on:.2f} µs/step | {on / off:.2f} |")


if __name__ == "__main__":
    main()
