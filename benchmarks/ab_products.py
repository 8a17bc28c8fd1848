"""Two builds' matrix products in one process: each shape through each build, alternating.

The products a training step makes, one at a time through ``Kernels.gemm_rm`` (the own
tiles, or OpenBLAS where the build leaves the shape to it), on operands that start on a
64-byte line as the library's buffers do.  Like ``ab_kernels.py`` it loads another build's
``network_kernels*.so`` next to the installed one, so both see the same machine; it
prints each build's GFLOP/s and their time ratio (installed / other), one thread, with
OpenBLAS's own rate for the same product beside them.

    cp crash_core/_kernels/network_kernels_avx2.*.so /tmp/old/   # before the change
    ... change, rebuild ...
    python benchmarks/ab_products.py /tmp/old/network_kernels_avx2.*.so [--repeats 7]
                                     [--dtype float64] [--shapes 128x256x784,784x256x128t]

A shape is ``MxNxK`` (C is M x N, K terms a sum) with ``t`` for A transposed (a weight
gradient A^T delta) or ``n`` for B transposed (delta W^T).  Importing this module does no
work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial

import numpy as np

# the products of a 784-256-128-10 step at batch 128, then of 2-64-64-1 at batch 32
SHAPES = (
    "128x256x784,128x128x256,784x256x128t,256x128x128t,128x256x128n,32x64x64,64x64x32t,32x64x64n"
)


def _parse(text: str):
    trans = text[-1] if text[-1] in "tn" else ""
    m, n, k = (int(v) for v in text.rstrip("tn").split("x"))
    return m, n, k, trans == "t", trans == "n"


def _aligned(rng, shape, dtype):
    """A standard normal array starting on a cache line, as the library's buffers do."""
    from crash_core import _memory

    out = _memory.empty(int(np.prod(shape)), dtype).reshape(shape)
    out[...] = rng.standard_normal(shape)
    return out


def main(argv=None) -> None:
    from threadpoolctl import threadpool_limits

    if __package__ in (None, ""):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from ab_kernels import load_build
    else:
        from .ab_kernels import load_build

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="another build's network_kernels*.so")
    parser.add_argument("--shapes", default=SHAPES)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args(argv)
    other, installed = load_build(args.other)
    rng = np.random.default_rng(0)
    print(f"{installed.level} level, {args.dtype}, one thread; GFLOP/s and installed / other")
    with threadpool_limits(1):
        for b in (installed, other):
            b.split_threads_(1)
        for text in args.shapes.split(","):
            m, n, k, ta, tb = _parse(text)
            a = _aligned(rng, (k, m) if ta else (m, k), args.dtype)
            b = _aligned(rng, (n, k) if tb else (k, n), args.dtype)
            c = _aligned(rng, (m, n), args.dtype)
            calls = max(10, int(2e8 / (2 * m * n * k)))
            runs = {
                "installed": partial(installed.gemm_rm, a, b, c, ta, tb),
                "other": partial(other.gemm_rm, a, b, c, ta, tb),
                "OpenBLAS": partial(np.matmul, a.T if ta else a, b.T if tb else b, out=c),
            }
            times = {label: [] for label in runs}
            for r in range(args.repeats):
                for label in list(runs) if r % 2 else list(runs)[::-1]:
                    runs[label]()
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        runs[label]()
                    times[label].append((time.perf_counter() - t0) / calls)
            med = {label: statistics.median(v) for label, v in times.items()}
            rate = {label: 2.0 * m * n * k / t / 1e9 for label, t in med.items()}
            print(
                f"{text:14s} installed {rate['installed']:6.1f}  other {rate['other']:6.1f}  "
                f"OpenBLAS {rate['OpenBLAS']:6.1f} GFLOP/s;  installed / other "
                f"{med['installed'] / med['other']:.3f}"
            )


if __name__ == "__main__":
    main()
