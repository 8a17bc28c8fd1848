"""Where the random restarts of one fit run: the active joblib backend, or threads.

Inside a joblib backend context (``with joblib.parallel_config(backend="dask"):``, or
``parallel_backend``) the restarts are joblib tasks, so they spread over that backend's
workers (a Dask cluster's processes, loky's processes...).  Otherwise they run in
``n_jobs`` threads of this process.  Each restart is a pure function of its seed, so where it
runs does not change the result.

joblib is not a dependency: when it has not been imported, no backend context can be
active, and the threads are used.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["joblib_backend_active", "map_in_parallel"]


def joblib_backend_active() -> bool:
    """True inside a joblib context that names a backend (``parallel_config(backend=...)``
    or ``parallel_backend(...)``), on the thread that entered it."""
    parallel = sys.modules.get("joblib.parallel")
    local = getattr(parallel, "_backend", None)
    config = getattr(local, "config", None)  # joblib >= 1.3
    if isinstance(config, dict):
        unset = getattr(parallel, "default_parallel_config", {}).get("backend")
        backend = config.get("backend")
        return backend is not None and backend is not unset
    return getattr(local, "backend_and_jobs", None) is not None  # older joblib


def map_in_parallel(fn: Callable[..., Any], items: Sequence[Any], n_jobs: int) -> list[Any]:
    """``[fn(item) for item in items]``, computed by up to ``n_jobs`` workers at a time:
    the active joblib backend's when there is one, else threads."""
    if joblib_backend_active():
        import joblib

        return list(joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(fn)(i) for i in items))
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(fn, items))
