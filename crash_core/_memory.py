"""Buffers the kernels read and write, each starting on a cache line.

The product kernels load whole vectors from every row of their operands: 64 bytes with
AVX-512, two 32-byte halves on Zen 4.  numpy aligns its buffers to 16 bytes only, so a
buffer may start 16 or 48 bytes into a cache line, and then every other half-vector load
of its rows reads two lines.  Every buffer of a network (its parameters, the trainer's
work buffers, the optimizer's state) is allocated here, at a multiple of ``CACHE_LINE``
bytes; with layers whose widths are multiples of 16 (float32) every row then starts on a
line as well.  Measured on a 2-vCPU EPYC (Zen 4), float32, one thread, epochs on these
buffers against the same buffers 16 bytes into a line (``benchmarks/alignment.py``, four
runs): 2-64-64-1 / batch 32 0.87-0.93 of the time, 64-128-10 / b64 0.91-0.97,
784-256-128-10 / b128 0.93-0.98, 20-100-50-3 tanh / b16 0.98-1.00, the same bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CACHE_LINE = 64


def empty(n: int, dtype: Any) -> np.ndarray:
    """An uninitialised 1-D array of ``n`` values of ``dtype``, its first byte on a cache
    line (a view into a slightly larger buffer, which it keeps alive)."""
    dtype = np.dtype(dtype)
    nbytes = int(n) * dtype.itemsize
    raw = np.empty(nbytes + CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + nbytes].view(dtype)


def zeros(n: int, dtype: Any) -> np.ndarray:
    """``empty`` filled with zeros."""
    out = empty(n, dtype)
    out[...] = 0
    return out


def aligned_copy(values: np.ndarray, dtype: Any = None) -> np.ndarray:
    """A 1-D copy of ``values`` (cast to ``dtype`` when given) that starts on a cache line."""
    values = np.asarray(values)
    out = empty(values.size, values.dtype if dtype is None else dtype)
    out[...] = values.reshape(-1)
    return out


def is_aligned(values: np.ndarray) -> bool:
    """Whether ``values`` starts on a cache line."""
    return values.ctypes.data % CACHE_LINE == 0
