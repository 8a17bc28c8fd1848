"""How many threads scipy's OpenBLAS (the BLAS behind the kernels) may use.

Random restarts run in threads of their own (``n_jobs``); if each restart's matrix
products also fanned out over every core, the threads would fight for the cores and
spin.  ``single_threaded_blas()`` makes the BLAS of the calling thread single-threaded
while it is active.  Where the BLAS cannot be found (another BLAS, another platform),
it does nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

__all__ = ["single_threaded_blas"]


@cache
def _openblas() -> ctypes.CDLL | None:
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library)
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    root = os.path.dirname(os.path.dirname(scipy.__file__))
    patterns = [
        os.path.join(root, "scipy.libs", "libscipy_openblas*"),
        os.path.join(os.path.dirname(scipy.__file__), ".dylibs", "libscipy_openblas*"),
    ]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within the block, the calling thread's BLAS calls use one thread."""
    lib = _openblas()
    local = getattr(lib, "openblas_set_num_threads_local", None) if lib is not None else None
    if local is None:
        yield
        return
    local.restype = ctypes.c_int
    local.argtypes = [ctypes.c_int]
    previous = local(1)
    try:
        yield
    finally:
        local(previous)
