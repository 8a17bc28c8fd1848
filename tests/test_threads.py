"""The threading policy (crash_core/_blas_threads.py): decisions and guards, never timings."""

import threading

import numpy as np
import pytest

import crash_core.network as network_module
from crash_core import _blas_threads as bt
from crash_core.network import EpochTrainer, Network

needs_openblas = pytest.mark.skipif(
    bt._get_threads() is None or bt._set_threads() is None,
    reason="scipy's OpenBLAS thread controls are not reachable on this platform",
)


def test_small_products_earn_one_thread_and_large_ones_the_budget():
    assert bt.threads_earned(2 * 32 * 64 * 64, budget=8) == 1
    assert bt.threads_earned(bt.FLOPS_PER_THREAD - 1, budget=8) == 1
    assert bt.threads_earned(3 * bt.FLOPS_PER_THREAD, budget=8) == 3
    assert bt.threads_earned(1e15, budget=8) == 8
    assert bt.threads_earned(1e15, budget=1) == 1
    earned = [bt.threads_earned(2.0**e, budget=16) for e in range(10, 40)]
    assert earned == sorted(earned)


def test_the_step_of_a_small_network_earns_one_thread():
    tiny = Network((2, 64, 64, 1), dtype="float32", random_state=0)
    mnist = Network((784, 256, 128, 10), output="softmax", dtype="float32", random_state=0)
    assert bt.epoch_threads(tiny.layers, 32, budget=64) == 1
    assert bt.epoch_threads(mnist.layers, 128, budget=64) == 1
    big = Network((4096, 4096, 1), dtype="float32", random_state=0)
    assert bt.epoch_threads(big.layers, 256, budget=2) == 2


def test_worker_threads_do_not_split_again():
    seen = []
    worker = threading.Thread(target=lambda: seen.append(bt.split_budget()))
    worker.start()
    worker.join()
    assert seen == [1]
    assert bt.split_budget() == bt.blas_budget()


@needs_openblas
def test_a_users_threadpool_limits_is_the_budget():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        assert bt.blas_budget() == 1
        assert bt.threads_earned(1e15) == 1


@needs_openblas
def test_limited_blas_lowers_and_restores_the_count():
    before = bt.blas_budget()
    with bt.limited_blas(1):
        assert bt.blas_budget() == 1
        with bt.limited_blas(before + 3):  # never raises the count above what was allowed
            assert bt.blas_budget() == 1
    assert bt.blas_budget() == before


@needs_openblas
def test_concurrent_holders_restore_the_count_only_when_the_last_leaves():
    before = bt.blas_budget()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with bt.limited_blas(1):
            a_in.set()
            b_in.wait()
        a_out.set()

    def b():
        a_in.wait()
        with bt.limited_blas(1):
            b_in.set()
            a_out.wait()
            seen["after a left"] = bt.blas_budget()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["after a left"] == 1
    assert bt.blas_budget() == before


class _Recorder:
    """Stands in for the kernel module and records the BLAS thread count at each call."""

    def __init__(self, real, seen):
        self._real, self._seen = real, seen

    def __getattr__(self, name):
        fn = getattr(self._real, name)
        if name.startswith(("split_", "pair_")):  # the kernels' own settings, not a product
            return fn

        def call(*args, **kwargs):
            self._seen.append((name, bt.blas_budget()))
            return fn(*args, **kwargs)

        return call


@needs_openblas
def test_batch_sized_training_runs_on_one_blas_thread(monkeypatch):
    seen = []
    monkeypatch.setattr(network_module, "kernels", _Recorder(network_module.kernels, seen))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    net = Network((8, 64, 64, 1), dtype="float32", random_state=0)
    trainer = EpochTrainer(net, 32, "sgd", n_samples=256)
    before = bt.blas_budget()
    with bt.limited_blas(before):  # a count above 1 is in force, whatever the machine
        trainer.run(X, net.targets(y, 256), np.arange(256), 0.05)
    assert seen == [("train_epoch_", 1)]
    assert bt.blas_budget() == before


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predictions_split_over_threads_match_one_pass(monkeypatch, dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, 5)).astype(dtype)
    net = Network((5, 16, 3), output="softmax", dtype=dtype, random_state=0)
    net.__dict__["_forward_blas"] = True  # a pass with BLAS products: shares over threads
    whole = net.forward(X)  # far below SPLIT_MIN_FLOPS: one pass
    monkeypatch.setattr(network_module, "SPLIT_MIN_FLOPS", 0)
    monkeypatch.setattr(network_module, "SPLIT_MIN_ROWS", 64)
    monkeypatch.setattr(network_module, "split_budget", lambda: 3)
    monkeypatch.setattr(network_module, "idle_cores", lambda: 3)
    split = net.forward(X)
    np.testing.assert_allclose(split, whole, rtol=1e-6 if dtype == "float32" else 1e-13)
    X[777, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.forward(X)


_LIMIT_BEFORE_FIRST_FIT = r"""
import json
import crash_core as cc
from threadpoolctl import threadpool_info, threadpool_limits

from crash_core import _blas_threads as bt

def scipy_blas():
    return [i for i in threadpool_info() if "libscipy_openblas" in i["filepath"]
            and ("scipy.libs" in i["filepath"] or ".dylibs" in i["filepath"])]

seen = []
with threadpool_limits(limits=1):
    listed = [i["num_threads"] for i in scipy_blas()]
    import numpy as np
    import crash_core.network as net
    kernel = net.kernels.train_epoch_

    def spy(*args):
        seen.append(bt.blas_budget())  # the count in force while the products run
        return kernel(*args)

    net.kernels.train_epoch_ = spy
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 512)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    # batch 256 x 512 x 1024 earns two threads when two are allowed
    cc.MLPClassifier(hidden_layers=(1024,), batch_size=256, epochs=1, random_state=0).fit(X, y)
default = bt.blas_budget()  # the count outside the block
earned = bt.epoch_threads(net.Network((512, 1024, 1)).layers, 256, default)
print(json.dumps({"listed": listed, "seen": seen, "default": default, "earned": earned}))
"""


@needs_openblas
def test_a_limit_entered_before_the_first_fit_reaches_the_kernels_blas():
    import json
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    out = subprocess.run(
        [sys.executable, "-c", _LIMIT_BEFORE_FIRST_FIT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # import crash_core loaded scipy's OpenBLAS, so threadpoolctl found and limited it
    assert result["listed"] == [1]
    assert result["seen"] and set(result["seen"]) == {1}
    # without the limit the same epoch would have run on more threads (where there are any)
    assert result["earned"] == min(2, result["default"])
