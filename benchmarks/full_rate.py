"""The AVX-512 level's kernel choices, epoch by epoch in one process.

Where a 512-bit FMA runs at a 256-bit one's rate (``FMA512_FULL_RATE``: Zen 5, Intel's
server cores), the AVX-512 build takes tiles of 4 rows x 4 vectors for products of 4 or
more vectors of columns (``wide_tiles_``); where it runs at half the rate (Zen 4), tiles of
6 x 2.  Both take the sparse rows at up to 60% nonzeros (``sparse_density_``).  This
script trains the same epochs under each setting, taking the settings round-robin (their
order reversed every other round), one BLAS thread, and prints the median epoch and its
ratio to the first setting.  The settings only choose kernels: the parameters after every
epoch are the same bit for bit.

    python benchmarks/full_rate.py [--rounds 30]

The networks: compare.py's tiny and digits-like workloads (their data, initial weights
and learning rates), and two on random data (that of ``sparse_products.py`` and a deeper
one).  Needs the AVX-512 build and a CPU that runs it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# name: (wide tiles, sparse density)
SETTINGS = {
    "6x2 tiles, sparse <= 0.6 (half rate)": (0, 0.6),
    "6x2 tiles, dense": (0, 0.0),
    "4x4 tiles, dense": (1, 0.0),
    "4x4 tiles, sparse <= 0.45": (1, 0.45),
    "4x4 tiles, sparse <= 0.6 (full rate)": (1, 0.6),
}


def _networks():
    """[(label, network, targets, X, learning rate, batch)]."""
    import compare
    from numpy_mlp import init_params

    from crash_core.network import Network

    out = []
    for name in ("tiny", "digits-like"):
        w = compare.WORKLOADS[name]
        X, y = compare.make_data(w, w.n, 0)
        net = Network(w.layer_sizes, "relu", w.output, "float32", random_state=0)
        weights, biases = init_params(w.layer_sizes, w.dtype, 0)
        for dst, src in zip(net.weights + net.biases, weights + biases, strict=True):
            dst[...] = src
        label = f"{name} {'-'.join(map(str, w.layer_sizes))} b{w.batch}"
        out.append((label, net, net.targets(y, X.shape[0]), X, w.lr, w.batch))
    for sizes, batch, output in (
        ((2, 64, 64, 1), 32, "sigmoid"),
        ((20, 128, 128, 10), 32, "softmax"),
    ):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((4000, sizes[0])).astype(np.float32)
        y = rng.integers(0, 2 if output == "sigmoid" else sizes[-1], 4000)
        net = Network(sizes, "relu", output, "float32", random_state=0)
        label = f"random {'-'.join(map(str, sizes))} b{batch}"
        out.append((label, net, net.targets(y, 4000), X, 0.01, batch))
    return out


def main() -> None:
    from threadpoolctl import threadpool_limits

    import crash_core._kernels as kernels
    from crash_core._kernels import network as kn
    from crash_core.network import EpochTrainer
    from crash_core.training import epoch_order, shuffle_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if kernels.kernel_level() != "avx512":
        sys.exit(
            f"the active kernels are the {kernels.kernel_level()} level's: this compares AVX-512's"
        )
    print(
        f"FMA512_FULL_RATE = {kn.FMA512_FULL_RATE}; median ms per epoch, ratio to the first setting"
    )
    saved = kn.wide_tiles_(), kn.sparse_density_()
    try:
        for label, net, Y, X, lr, batch in _networks():
            trainer = EpochTrainer(net, batch, "sgd")
            order, state = epoch_order(X.shape[0], np.random.default_rng(1))
            times = {name: [] for name in SETTINGS}
            with threadpool_limits(1):
                for r in range(args.rounds + 1):
                    names = list(SETTINGS) if r % 2 else list(SETTINGS)[::-1]
                    for name in names:
                        wide, density = SETTINGS[name]
                        kn.wide_tiles_(wide)
                        kn.sparse_density_(density)
                        shuffle_rows(order, state)
                        t0 = time.perf_counter()
                        trainer.run(X, Y, order, lr)
                        if r:  # the first round warms up
                            times[name].append(time.perf_counter() - t0)
            medians = {name: statistics.median(t) for name, t in times.items()}
            first = medians[next(iter(SETTINGS))]
            print(f"\n{label}")
            for name, t in medians.items():
                print(f"  {name:40s} {t * 1e3:8.3f} ms  {t / first:.3f}")
    finally:
        kn.wide_tiles_(saved[0])
        kn.sparse_density_(saved[1])


if __name__ == "__main__":
    main()
