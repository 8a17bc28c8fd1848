"""Large products split over the kernels' helper threads (src/simd/pool.h): the result is
bit for bit the one thread's, for every product shape, ISA level, fit and prediction, and
the policy (crash_core/_blas_threads.kernel_threads) splits only where it may."""

import multiprocessing
import subprocess
import sys
import threading

import numpy as np
import pytest

import crash_core as cc
import crash_core.network as network_module
from crash_core import _blas_threads as bt
from tests.builds import BUILDS, IDS, using

# (m, n, k, trans_a, trans_b): every path of the own products, with rows and columns that
# are not multiples of a tile
SHAPES = [
    (128, 256, 784, False, False),
    (97, 100, 64, False, False),  # the last 4 columns through the edge panel
    (61, 33, 300, False, False),  # k * L beyond the stack panel: a heap panel
    (130, 10, 100, False, False),  # fewer columns than a tile: dot products
    (784, 256, 128, True, False),  # a weight gradient
    (100, 12, 64, True, False),  # a narrow weight gradient, as its transpose
    (128, 256, 128, False, True),  # delta W^T
    (77, 3, 50, False, True),  # delta w^T of a narrow output
]


# the helper threads need POSIX threads (an MSVC build runs every product on one thread)
HAVE_POOL = sys.platform != "win32"


@pytest.fixture
def split_everything():
    """Every product split, whatever its size, for the tests' small shapes."""
    previous = [b.split_min_flops_(0.0) for b in BUILDS]
    yield
    for b, flops in zip(BUILDS, previous, strict=True):
        b.split_min_flops_(flops)
        b.split_threads_(1)


def _product(build, a, b, shape, threads, beta):
    m, n, _, ta, tb = shape
    c = np.linspace(-1, 1, m * n, dtype=a.dtype).reshape(m, n)
    previous = build.split_threads_(threads)
    try:
        build.gemm_rm(a, b, c, ta, tb, alpha=0.5, beta=beta)
    finally:
        build.split_threads_(previous)
    return c


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s[0]}x{s[1]}x{s[2]}" for s in SHAPES])
def test_a_split_product_is_the_one_threads_bit_for_bit(build, dtype, shape, split_everything):
    m, n, k, ta, tb = shape
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    for beta in (0.0, 1.0):
        before = build.split_products_()
        one = _product(build, a, b, shape, 1, beta)
        assert build.split_products_() == before
        for threads in (2, 3):
            np.testing.assert_array_equal(_product(build, a, b, shape, threads, beta), one)
        assert build.split_products_() > before or not HAVE_POOL
        reference = 0.5 * (a.T if ta else a).astype(np.float64) @ (b.T if tb else b)
        if beta:
            reference += np.linspace(-1, 1, m * n).reshape(m, n)
        atol = 1e-3 if dtype == "float32" else 1e-9
        np.testing.assert_allclose(one, reference, rtol=1e-4, atol=atol)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tb", [False, True], ids=["forward", "delta-W^T"])
def test_sparse_rows_split_over_threads_are_the_one_threads_bit_for_bit(
    build, dtype, tb, split_everything
):
    """A product through the sparse rows (every one forced, an odd number of rows, an
    edge of columns) gives the same bits on 2 and 3 threads as on one."""
    m, n, k = 33, 70, 48
    rng = np.random.default_rng(7)
    a = rng.standard_normal((m, k)).astype(dtype)
    a[rng.random(a.shape) < 0.5] = 0.0
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    previous = build.sparse_density_(1.0)
    try:
        before = build.sparse_products_()
        one = _product(build, a, b, (m, n, k, False, tb), 1, 0.0)
        for threads in (2, 3):
            np.testing.assert_array_equal(
                _product(build, a, b, (m, n, k, False, tb), threads, 0.0), one
            )
        assert build.sparse_products_() == before + 3 * (build.VECTOR_BYTES > 0)
    finally:
        build.sparse_density_(previous)
    reference = 0.5 * a.astype(np.float64) @ (b.T if tb else b)
    np.testing.assert_allclose(one, reference, rtol=1e-4, atol=1e-3 if dtype == "float32" else 1e-9)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape",
    [
        (128, 256, 784, False, False),
        (784, 256, 128, True, False),
        (128, 256, 128, False, True),
        (48, 128, 300, False, False),
    ],
    ids=["forward", "weight-gradient", "delta-W^T", "fewest-rows"],
)
def test_packing_a_block_of_columns_changes_no_bit(build, dtype, shape, split_everything):
    """B's rows a power of two apart (256 or 128 columns) are copied into panels before the
    tiles read them (gemm_body.h's axpy_blocks); 4 columns more (rows 16 or 32 bytes past a
    power of two apart, not whole blocks) are read in place.  The first columns of the
    wider product are the narrower one's, bit for bit, on 1 or 2 threads."""
    m, n, k, ta, tb = shape
    rng = np.random.default_rng(k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n + 4, k) if tb else (k, n + 4)).astype(dtype)
    narrow = np.ascontiguousarray(b[:n] if tb else b[:, :n])
    for threads in (1, 2):
        before = build.packed_products_()
        packed = _product(build, a, narrow, shape, threads, 0.0)
        packs = build.packed_products_() - before
        in_place = _product(build, a, b, (m, n + 4, k, ta, tb), threads, 0.0)
        assert build.packed_products_() - before == packs  # the wider one is not packed
        np.testing.assert_array_equal(packed, in_place[:, :n])
        if dtype == "float32" and build.VECTOR_BYTES:
            assert packs == 1


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_threads_that_come_and_go_keep_their_own_scratch_panels(build, split_everything):
    """An NT panel beyond the stack (256 x 128) and packed blocks go to scratch buffers of
    the calling thread, kept between its products and freed when it ends: products from
    short-lived threads, side by side, are the main thread's bit for bit."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((128, 128)).astype(np.float32)
    b = rng.standard_normal((256, 128)).astype(np.float32)
    shape = (128, 256, 128, False, True)
    expected = _product(build, a, b, shape, 1, 0.0)
    results, errors = [], []

    def work(threads):
        try:
            for _ in range(3):
                results.append(_product(build, a, b, shape, threads, 0.0))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for _ in range(3):
        workers = [threading.Thread(target=work, args=(t,)) for t in (1, 2, 1)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert not errors
    assert len(results) == 27
    for got in results:
        np.testing.assert_array_equal(got, expected)


def _fit(X, y, threads, **params):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network_module, "split_threads", lambda *args, **kwargs: threads)
        params = {"batch_size": 40, **params}
        model = cc.MLPClassifier(epochs=3, random_state=0, **params).fit(X, y)
        return model, model.predict_proba(X)


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "sgd", "dtype": "float32"},
        {"optimizer": "adam", "dropout": 0.2, "l2": 1e-3, "dtype": "float32"},
        {"optimizer": "momentum", "activation": "tanh", "dtype": "float64"},
        # a 256 x 128 layer at batch 64: its forward product and delta W^T packed
        {"optimizer": "sgd", "dtype": "float32", "hidden_layers": (256, 128), "batch_size": 64},
    ],
    ids=["sgd", "adam-dropout-l2", "momentum-f64", "sgd-packed"],
)
def test_a_fit_on_split_products_is_the_one_threads_bit_for_bit(build, params, split_everything):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    params = {"hidden_layers": (70, 37), **params}
    with using(build):
        packed = build.packed_products_()
        one, p_one = _fit(X, y, 1, **params)
        before = build.split_products_()
        two, p_two = _fit(X, y, 2, **params)
        assert build.split_products_() > before or not HAVE_POOL
        if "batch_size" in params and build.VECTOR_BYTES:
            assert build.packed_products_() > packed
    np.testing.assert_array_equal(one.network_.params, two.network_.params)
    np.testing.assert_array_equal(p_one, p_two)
    assert one.loss_ == two.loss_


def test_the_policy_splits_only_large_products_on_the_main_thread(monkeypatch):
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 4)
    assert bt.kernel_threads(1e6, 8e6, budget=8) == 1  # below the threshold
    assert bt.kernel_threads(1e9, 8e6, budget=1) == 1  # a limit of one thread
    assert bt.kernel_threads(1e9, 8e6, budget=8) == 4  # no more than the free cores
    assert bt.kernel_threads(1e9, 8e6, budget=3) == 3
    seen = []
    worker = threading.Thread(target=lambda: seen.append(bt.kernel_threads(1e9, 8e6)))
    worker.start()
    worker.join()
    assert seen == [1]  # a worker thread (n_jobs restarts, Dask threads) never splits again


def test_an_epoch_splits_when_the_policy_allows(monkeypatch, split_everything):
    # the budget is read before the epoch lowers the BLAS thread count for its own products
    monkeypatch.setattr(network_module, "split_budget", lambda: 2)
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 2)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 20))
    y = (X[:, 0] > 0).astype(int)
    before = network_module.kernels.split_products_()
    cc.MLPClassifier(hidden_layers=(40,), epochs=2, random_state=0).fit(X, y)
    assert network_module.kernels.split_products_() > before or not HAVE_POOL
    monkeypatch.setattr(bt, "free_cores", lambda strict=False: 1)  # another process's core
    before = network_module.kernels.split_products_()
    cc.MLPClassifier(hidden_layers=(40,), epochs=2, random_state=0).fit(X, y)
    assert network_module.kernels.split_products_() == before


def test_a_users_threadpool_limits_keeps_the_products_on_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if bt._get_threads() is None:
        pytest.skip("scipy's OpenBLAS thread controls are not reachable on this platform")
    with threadpoolctl.threadpool_limits(limits=1):
        assert network_module.split_threads(1e12) == 1


_SPIN = "import sys\nprint('spinning', flush=True)\nwhile True:\n    pass\n"


def test_free_cores_sees_another_process_at_once():
    cpus = bt._usable_cpus()
    spinner = subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline().strip() == "spinning"
        readings = []
        for _ in range(20):
            bt._free_cores_seen.clear()  # no reuse of an earlier reading
            readings.append(bt.free_cores())
        # the spinner is runnable at every reading; other processes can only lower the count
        assert 1 <= min(readings) and max(readings) <= max(1, cpus - 1)
    finally:
        spinner.kill()
        spinner.wait()
    bt._free_cores_seen.clear()
    assert 1 <= bt.free_cores() <= cpus


def _child_product(queue):
    from crash_core._kernels import network as kernels

    kernels.split_min_flops_(0.0)
    kernels.split_threads_(2)
    a = np.arange(96 * 40, dtype=np.float64).reshape(96, 40) % 7
    c = np.zeros((96, 96))
    kernels.gemm_rm(a, a.T.copy(), c)
    queue.put(c)


@pytest.mark.skipif(sys.platform != "linux", reason="forking a process with threads: Linux only")
def test_a_forked_child_splits_products_with_helpers_of_its_own(split_everything):
    from crash_core._kernels import network as kernels

    a = np.arange(96 * 40, dtype=np.float64).reshape(96, 40) % 7
    c = np.zeros((96, 96))
    previous = kernels.split_threads_(2)
    kernels.gemm_rm(a, a.T.copy(), c)  # the parent's helpers exist now
    kernels.split_threads_(previous)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_product, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(result, c)


def test_a_prediction_counts_this_processs_other_busy_threads(split_everything):
    import os

    from crash_core._kernels import network as kernels

    a = np.ones((300, 300))
    c = np.zeros((300, 300))
    previous = kernels.split_threads_(2)
    kernels.gemm_rm(a, a, c)  # the helpers exist now, named for the policy
    kernels.split_threads_(previous)
    names = set()
    for task in os.listdir("/proc/self/task") if sys.platform == "linux" else []:
        with open(f"/proc/self/task/{task}/comm", "rb") as f:
            names.add(f.read().strip())
    assert bt.HELPER_NAME in names or sys.platform != "linux" or not HAVE_POOL

    stop = threading.Event()

    def busy():  # a thread of this process that keeps a core (GIL-free products)
        x = np.ones((200, 200))
        y = np.zeros((200, 200))
        while not stop.is_set():
            kernels.gemm_rm(x, x, y)

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        readings = []
        for _ in range(10):
            bt._free_cores_seen.clear()
            readings.append(bt.free_cores(strict=True))
    finally:
        stop.set()
        worker.join()
    cpus = bt._usable_cpus()
    assert max(readings) <= max(1, cpus - 1) or sys.platform != "linux"
