"""Synthetic data and small helpers shared by the benchmark scripts and the asv suites.

Everything is seeded, so every run (and every peer in a run) sees the same data.
Importing this module does no work.
"""

from __future__ import annotations

import inspect
import os
import time

import numpy as np

__all__ = [
    "blobs",
    "teacher_binary",
    "linear_data",
    "import_estimator",
    "require_estimator",
    "log_loss",
    "accepted_kwargs",
    "gemm_rate",
    "native_gemm_rate",
    "fma_peak",
]


def blobs(n, n_features, n_classes, seed=0, dtype=np.float32, spread=1.0):
    """Gaussian blobs, classes balanced (n // k or n // k + 1 each), rows shuffled.

    Centres are drawn N(0, 1) per coordinate and points N(centre, spread^2), so the
    classes overlap a little and training has something left to do every epoch.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, n_features)).astype(dtype)
    y = rng.permutation(np.arange(n) % n_classes)
    X = rng.standard_normal((n, n_features), dtype=np.float32 if dtype == np.float32 else float)
    X *= spread
    X += centres[y]
    return np.ascontiguousarray(X, dtype=dtype), y.astype(np.int64)


def teacher_binary(n, n_features, seed=0, dtype=np.float32, hidden=16):
    """Gaussian inputs labelled by a random relu teacher network, split at its median."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    w1 = rng.standard_normal((n_features, hidden))
    w2 = rng.standard_normal(hidden)
    score = np.maximum(X @ w1, 0) @ w2
    y = (score > np.median(score)).astype(np.int64)
    return X.astype(dtype), y


def linear_data(n, n_features, seed=0, dtype=np.float32, flip=0.1):
    """A noisy linear problem: labels from a random hyperplane, a fraction ``flip`` flipped.

    The flips make the data non-separable, so a perceptron never has a mistake-free epoch
    and runs every epoch it is given.  Classes are balanced (split at the median).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    w = rng.standard_normal(n_features)
    score = X @ w
    y = (score > np.median(score)).astype(np.int64)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return X.astype(dtype), y


def import_estimator(name):
    """``cc.<name>`` or the reason it is unavailable: (class or None, message)."""
    try:
        import crash_core as cc

        return getattr(cc, name), ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not there yet"
        return None, f"cc.{name} unavailable ({type(exc).__name__}: {exc})"


def require_estimator(name):
    """``cc.<name>``, or NotImplementedError (asv then marks the benchmark skipped)."""
    cls, why = import_estimator(name)
    if cls is None:
        raise NotImplementedError(why)
    return cls


def log_loss(y, proba, classes):
    """Mean cross-entropy of integer labels ``y`` under ``proba`` (columns = ``classes``)."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1 or proba.shape[1] == 1:
        p1 = proba.reshape(-1)
        proba = np.column_stack([1 - p1, p1])
    col = np.searchsorted(np.asarray(classes), y)
    p = np.clip(proba[np.arange(len(y)), col], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


def accepted_kwargs(cls, **kwargs):
    """The subset of ``kwargs`` that ``cls.__init__`` accepts (e.g. ``dtype``)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def gemm_rate(dtype=np.float32, size=1024, threads=(1, 2), repeats=5):
    """Best GEMM rate in FLOP/s for a size^3 product, through numpy's and scipy's BLAS.

    crash_core calls scipy's BLAS (``scipy.linalg.cython_blas``), numpy its own; both are
    timed at each thread setting and the best rate wins (the floor is what the hardware
    can do, whichever library gets there).  Returns (rate, details dict).
    """
    from scipy.linalg import blas as sblas
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    c = np.empty((size, size), dtype=dtype)
    af, bf = np.asfortranarray(a), np.asfortranarray(b)
    sgemm = sblas.sgemm if dtype == np.float32 else sblas.dgemm
    flops = 2.0 * size**3
    details = {}

    def numpy_product():
        np.matmul(a, b, out=c)

    def scipy_product():
        sgemm(1.0, af, bf)

    for label, fn in (("numpy", numpy_product), ("scipy", scipy_product)):
        for t in threads:
            with threadpool_limits(limits=t):
                fn()
                best = float("inf")
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    fn()
                    best = min(best, time.perf_counter() - t0)
            details[(label, t)] = flops / best
    return max(details.values()), details


_NATIVE_PROBE = """
import json, sys
import numpy as np
from threadpoolctl import threadpool_info
sys.path.insert(0, {here!r})
from common import gemm_rate
rate, _ = gemm_rate(np.dtype({dtype!r}).type, threads=(1,))
arch = sorted({{i.get("architecture") for i in threadpool_info() if i.get("user_api") == "blas"}})
print(json.dumps([rate, arch]))
"""


def native_gemm_rate(dtype=np.float32):
    """The 1-thread GEMM rate (FLOP/s) with OpenBLAS's own choice of kernels for this CPU,
    and the kernels' names, when ``OPENBLAS_CORETYPE`` names others (else None).

    A machine may set ``OPENBLAS_CORETYPE`` (Haswell's AVX2 kernels on a CPU that OpenBLAS
    would give AVX-512 ones, say), and the floor then rests on a slower GEMM than the CPU
    runs.  The rate is measured in a child process without that setting, one BLAS thread.
    """
    import json
    import subprocess
    import sys

    if "OPENBLAS_CORETYPE" not in os.environ:
        return None
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    here = os.path.dirname(os.path.abspath(__file__))
    code = _NATIVE_PROBE.format(here=here, dtype=np.dtype(dtype).name)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    rate, arch = json.loads(out.strip().splitlines()[-1])
    return rate, ", ".join(a for a in arch if a)


FMA_PROBE = r"""
/* 12 independent chains of multiply-adds: enough to cover the FMA latency on every current
   x86/arm core, so the loop runs at the FMA units' throughput.  Once on 8-lane and once on
   16-lane vectors: a core whose 512-bit FMAs run at full rate (Zen 5, Intel's servers) does
   twice the work with the wider ones; elsewhere the compiler splits them and the 8-lane
   loop is the faster. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECL(i) V acc##i = m * (float)(i + 1);
#define STEP(i) acc##i = acc##i * m + a;
#define SUM(i) s += acc##i;
#define PROBE(name, lanes)                                                        \
    typedef float name##_v __attribute__((vector_size(4 * lanes)));             \
    double name(long iters) {                                                    \
        typedef name##_v V;                                                      \
        V m = {0}, a = {0}, s = {0};                                             \
        for (int j = 0; j < lanes; j++) { m[j] = 0.999999f; a[j] = 1e-7f; }      \
        CHAINS(DECL)                                                             \
        for (long t = 0; t < iters; t++) { CHAINS(STEP) }                        \
        CHAINS(SUM)                                                              \
        return s[0] + s[lanes - 1]; /* used, so the loop is not removed */       \
    }
PROBE(fma_flops, 8)
PROBE(fma_flops_16, 16)
"""


def fma_peak(seconds=0.2):
    """Measured single-core fp32 FMA rate (FLOP/s), or None without a C compiler.

    Compiles 12-chain multiply-add loops on 8-lane and 16-lane vectors with the system
    compiler (``-O2 -march=native -ffp-contract=fast``), times both on this thread and
    returns the faster rate.
    """
    import ctypes
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src, lib = os.path.join(tmp, "fma.c"), os.path.join(tmp, "fma.so")
        with open(src, "w") as f:
            f.write(FMA_PROBE)
        cc = os.environ.get("CC", "cc")
        flags = ["-O2", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC"]
        try:
            subprocess.run([cc, *flags, src, "-o", lib], check=True, capture_output=True)
            probe = ctypes.CDLL(lib)
        except (OSError, subprocess.CalledProcessError):
            return None
        best = 0.0
        for name, lanes in (("fma_flops", 8), ("fma_flops_16", 16)):
            fn = getattr(probe, name)
            fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_long]
            iters = 1_000_000
            for _ in range(5):
                t0 = time.perf_counter()
                fn(iters)
                sec = time.perf_counter() - t0
                best = max(best, iters * 12 * lanes * 2 / sec)
                if sec < seconds / 10:
                    iters *= 2
        return best
