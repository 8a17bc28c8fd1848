"""The threading policy: how many threads the kernels' matrix products may use.

crash_core's kernels call scipy's OpenBLAS (``scipy.linalg.cython_blas``).  OpenBLAS
splits a product over all the threads it is allowed, whatever its size; a batch-sized
product (32 x 64 x 64 is 0.3 MFLOP, a few microseconds) then spends more time waking and
joining threads than multiplying, and when another process holds a core the threads wait
for each other for whole scheduler slices (a fit measured 2.7x slower than on one
thread).  So:

* **A product earns threads by its size.**  ``threads_earned(flops)`` gives one thread
  per ``FLOPS_PER_THREAD`` of work, at least 1 and at most the budget.  Training decides
  once per epoch from its largest product (``epoch_threads``): mini-batch products stay on
  one thread unless the batch and layers are big.
* **The budget is what the user allowed.**  ``blas_budget()`` reads OpenBLAS's current
  thread count, which ``threadpoolctl.threadpool_limits``, ``OPENBLAS_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` and the workers of joblib (loky) and Dask (which set those
  variables) all lower.  Work already running in a worker thread (``n_jobs`` restarts,
  a threaded Dask worker or joblib's threading backend) is not split again:
  ``split_budget()`` is 1 off the main thread.
* **Large work uses the cores.**  The own product kernels split a large product's rows
  over the library's helper threads (``src/simd/pool.h``: a row is computed the same way
  on any thread, so results do not depend on the count).  ``kernel_threads`` decides, once
  per epoch or forward pass, over how many: 1 unless its largest product reaches the
  kernels' split threshold, then the budget, but no more threads than there are cores no
  other process wants right now (``free_cores()``: from the runnable count in
  /proc/loadavg; a helper that finds its core taken by a thread of this process just
  takes fewer rows).  A forward pass whose products go to BLAS splits its rows into
  chunks fed to up to ``split_budget()`` GIL-free threads, each multiplying on one BLAS
  thread, but to no more threads than there are cores that other processes leave idle
  (``idle_cores()``, from the load average).

OpenBLAS's thread count is one number for the whole process, so ``limited_blas(n)``
lowers it for as long as ANY caller needs it lowered (a count of holders, not a
save/restore per caller that concurrent callers would interleave) and restores it when
the last one leaves.  Where the BLAS cannot be found (another BLAS, another platform)
the guards do nothing and the budget is ``os.cpu_count()``.

``import crash_core`` loads this BLAS (``load_blas``: a ``dlopen`` of the library file,
not an import of scipy), so a ``threadpool_limits`` block entered before the first fit
sees it and its limit holds for the kernels, which are loaded lazily.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
import time
from functools import cache

__all__ = [
    "BLAS_ONE_THREAD_MACS",
    "FLOPS_PER_THREAD",
    "SPLIT_MIN_FLOPS",
    "blas_budget",
    "load_blas",
    "split_budget",
    "idle_cores",
    "free_cores",
    "kernel_threads",
    "threads_earned",
    "epoch_threads",
    "limited_blas",
    "single_threaded_blas",
]

# A product earns one BLAS thread per this many FLOPs (2 m n k).  Measured with scipy's
# OpenBLAS 0.3.30 sgemm on a 2-vCPU EPYC: 2 threads first beat 1 on a quiet machine near
# 2^24 FLOP (128 x 256 x 256, ~0.4 ms on one core); with another process holding a core
# the 2-thread product is slower at every size up to ~2^27 (a 3-4 ms scheduler slice is
# then a small part of the work).  2^27 keeps every mini-batch product of the networks
# this library targets (batch <= 256, layers of a few hundred units) on one thread.
FLOPS_PER_THREAD = 2**27
# OpenBLAS runs a product of at most 65536 * GEMM_MULTITHREAD_THRESHOLD (4) multiply-adds
# (m n k) on the calling thread whatever its thread count (interface/gemm.c; measured: a
# 100 x 100 x 26 sgemm keeps one core busy, 100 x 100 x 27 wakes a second thread), so
# such products need no guard.
BLAS_ONE_THREAD_MACS = 2**18
# Feeding rows forward is split over threads only when the whole pass is at least this
# much work (~0.4 ms on one core): the prediction threads are started once and kept, so
# handing a share over costs ~20 us, and a split then saves far more than it costs.
SPLIT_MIN_FLOPS = 2**23


@cache
def _openblas() -> ctypes.CDLL | None:
    """scipy's OpenBLAS, the library the kernels call, loaded into the process (without
    importing scipy: a wheel ships it beside the package, so finding it is enough)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("scipy")
    except (ImportError, ValueError):  # pragma: no cover - scipy is a dependency
        spec = None
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        return None
    package = list(spec.submodule_search_locations)[0]
    patterns = [
        os.path.join(os.path.dirname(package), "scipy.libs", "libscipy_openblas*"),
        os.path.join(package, ".dylibs", "libscipy_openblas*"),
    ]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def _function(*names: str):
    lib = _openblas()
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            return fn
    return None


@cache
def _get_threads():
    fn = _function("scipy_openblas_get_num_threads", "openblas_get_num_threads")
    if fn is not None:
        fn.restype, fn.argtypes = ctypes.c_int, []
    return fn


@cache
def _set_threads():
    fn = _function("scipy_openblas_set_num_threads", "openblas_set_num_threads")
    if fn is not None:
        fn.restype, fn.argtypes = None, [ctypes.c_int]
    return fn


def load_blas() -> bool:
    """Load the kernels' BLAS now (``import crash_core`` does), so that a
    ``threadpoolctl.threadpool_limits`` block entered before the first fit finds it and
    limits it; True when it was found."""
    return _openblas() is not None


def blas_budget() -> int:
    """Threads the kernels' BLAS may use now (threadpool_limits and env vars included)."""
    get = _get_threads()
    if get is None:
        return os.cpu_count() or 1
    return max(1, int(get()))


def split_budget() -> int:
    """Threads a call may split its rows over: the BLAS budget, but 1 in a worker thread
    (the caller already runs in parallel: n_jobs restarts, threaded Dask/joblib workers)."""
    if threading.current_thread() is not threading.main_thread():
        return 1
    return blas_budget()


def idle_cores() -> int:
    """Cores that other work leaves free, from the 1-minute load average (which counts
    this process's own busy thread): ``os.cpu_count() - load + 1``, rounded, 1 to
    ``os.cpu_count()``; every core where the load average is unknown.  Splitting rows over
    threads only pays on cores nobody else holds: a share whose thread waits for a
    scheduler slice holds up the whole pass (OpenMP's dynamic mode reads the load
    average for the same reason)."""
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - a platform without it
        return cpus
    return max(1, min(cpus, round(cpus - load + 1)))


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - a platform without affinity
        return os.cpu_count() or 1


def _runnable() -> int:
    """Threads of the whole machine running or ready to run (/proc/loadavg)."""
    with open("/proc/loadavg", "rb") as f:
        return int(f.read().split()[3].split(b"/")[0])


# the name of the kernels' helper threads (CC_HELPER_NAME in src/simd/pool.h)
HELPER_NAME = b"crash_core"


def _own_runnable() -> tuple[int, int]:
    """(threads of this process running or ready to run, the caller among them; how many
    of them are the kernels' helpers)."""
    running = helpers = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        close = stat.rfind(b")")  # the state follows the name in parentheses
        if stat[close + 2 : close + 3] == b"R":
            running += 1
            helpers += stat[stat.find(b"(") + 1 : close] == HELPER_NAME
    return max(1, running), helpers


def _other_runnable(strict: bool) -> int:
    """Runnable threads that compete with the kernels: other processes' (the machine's,
    read before and after this process's own, so that one of ours that starts or stops
    meanwhile is not taken for another process's; it can still hide one that stopped
    between the readings), and with ``strict`` this process's other threads too (another
    library's pool spinning between its products), never the caller or the helpers."""
    before = _runnable()
    own, helpers = _own_runnable()
    others = max(0, min(before, _runnable()) - own)
    return others + max(0, own - helpers - 1) if strict else others


# free_cores() takes the most of this many readings (one can miss another process, see
# _other_runnable; measured: 1 reading in ~200 missed a spinning process), ~40 us each,
# and reuses a reading this young
FREE_CORES_SAMPLES = 2
FREE_CORES_TTL = 0.02
_free_cores_seen: dict[bool, tuple[float, int]] = {}  # strict -> (monotonic time, cores)


def free_cores(strict: bool = False) -> int:
    """Cores that other threads leave free at this instant: the usable cores less the
    runnable threads of other processes (the count in /proc/loadavg less this process's
    runnable threads), and with ``strict`` less this process's own other runnable threads
    too, 1 to the usable cores; a reading younger than FREE_CORES_TTL seconds is reused.
    Where there is no /proc, ``idle_cores()`` (the 1-minute load average).

    Unlike the load average this sees another process the moment it starts.  An epoch
    does not count this process's threads (a BLAS pool that spins for a while after its
    products): its helpers take fewer rows where they find less time, and rest after a
    product they held up (src/simd/pool.h).  A prediction, a few hundred microseconds that
    one such wait would triple, counts them (``strict``), and so does an epoch that would
    hold a pair session's helper beside the caller for all its steps."""
    now = time.monotonic()
    seen = _free_cores_seen.get(strict)
    if seen is not None and now - seen[0] < FREE_CORES_TTL:
        return seen[1]
    cpus = _usable_cpus()
    try:
        others = max(_other_runnable(strict) for _ in range(FREE_CORES_SAMPLES))
        cores = max(1, min(cpus, cpus - others))
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        cores = min(cpus, idle_cores())
    _free_cores_seen[strict] = (now, cores)
    return cores


def kernel_threads(
    largest_flops: float, min_flops: float, budget: int | None = None, strict: bool = False
) -> int:
    """Threads the own kernels may split products over in a pass whose largest product is
    ``largest_flops`` FLOPs: 1 below ``min_flops`` (the kernels' split threshold) or off the
    main thread (``split_budget``), else the budget up to ``free_cores(strict)``."""
    if largest_flops < min_flops:
        return 1
    budget = split_budget() if budget is None else int(budget)
    if budget < 2:
        return 1
    return max(1, min(budget, free_cores(strict)))


def threads_earned(flops: float, budget: int | None = None) -> int:
    """Threads a product of ``flops`` FLOPs earns: one per FLOPS_PER_THREAD, 1 to budget."""
    budget = blas_budget() if budget is None else budget
    return max(1, min(int(budget), int(flops // FLOPS_PER_THREAD)))


def epoch_threads(layers, batch: int, budget: int | None = None) -> int:
    """Threads the products of one training step earn: decided by the largest of them,
    2 * batch * n_in * n_out for the widest layer (``layers`` rows are (n_in, n_out, ...))."""
    largest = max(int(n_in) * int(n_out) for n_in, n_out, *_ in layers)
    return threads_earned(2.0 * batch * largest, budget)


_lock = threading.Lock()
_holders: list[int] = []  # the limit each active holder asked for
_saved: list[int] = []  # the thread count before the first holder came


class limited_blas:  # noqa: N801 - used like the function it replaced: with limited_blas(n)
    """Within the block the BLAS uses at most ``n_threads`` threads (process-wide: it is
    one setting); the count in force before the first holder comes back after the last.

    A block that asks for no fewer threads than are allowed while nobody else holds the
    count changes nothing and costs two calls; a class, not a generator, because a
    prediction of one row enters one.
    """

    __slots__ = ("n_threads", "held")

    def __init__(self, n_threads: int) -> None:
        self.n_threads = max(1, int(n_threads))
        self.held = False

    def __enter__(self) -> None:
        get = _get_threads()
        if get is None or _set_threads() is None:
            return
        if not _holders and self.n_threads >= get():
            return  # nothing to lower (a holder arriving later saves and restores its own)
        with _lock:
            if not _holders:
                _saved[:] = [int(get())]
            _holders.append(self.n_threads)
            if self.n_threads < int(get()):
                _set_threads()(self.n_threads)
        self.held = True

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.held = False
            with _lock:
                _holders.remove(self.n_threads)
                _set_threads()(min(_holders + _saved))


def single_threaded_blas():
    """``limited_blas(1)``: the products within the block run on one thread."""
    return limited_blas(1)
