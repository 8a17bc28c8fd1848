"""crash_core on a Dask cluster: grid search through joblib's Dask backend, streaming chunks
through ``partial_fit`` with dask-ml's ``Incremental``, and random restarts spread over the
workers.  The tests start their own two-process ``LocalCluster``."""

from __future__ import annotations

import logging
import signal

import numpy as np
import pytest

import crash_core as cc

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
dask = pytest.importorskip("dask", reason="the 'dask' extra is not installed")
da = pytest.importorskip("dask.array", reason="the 'dask' extra (dask[array]) is not installed")
joblib = pytest.importorskip("joblib", reason="joblib (with scikit-learn) is not installed")

# no single test may hang CI: each gets this many seconds
TEST_SECONDS = 120


@pytest.fixture(autouse=True)
def deadline():
    def expire(signum, frame):
        raise TimeoutError(f"a Dask test ran longer than {TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def client():
    """A cluster of two worker processes with one thread each, closed after the module."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster, timeout="60s")
    try:
        client.wait_for_workers(2, timeout=60)
        yield client
    finally:
        client.close()
        cluster.close()


def workers_used(tasks: list[dict]) -> set[str]:
    return {t["worker"] for t in tasks}


def test_grid_search_on_the_cluster_equals_the_local_one(client):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X, y = cc.datasets.moons(n=240, noise=0.2, random_state=0)
    search = GridSearchCV(
        cc.MLPClassifier(epochs=8, batch_size=16, random_state=0),
        {"hidden_layers": [(4,), (8,)], "learning_rate": [0.01, 0.05]},
        cv=2,
    )
    local = clone(search).fit(X, y)
    with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as stream:
        remote = clone(search).set_params(n_jobs=-1).fit(X, y)
    assert workers_used(stream.data) == set(client.scheduler_info()["workers"])
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )


def test_incremental_streams_chunks_through_partial_fit(client):
    from dask_ml.wrappers import Incremental

    # built lazily chunk by chunk: the cluster never holds the whole data set at once
    X = da.random.RandomState(0).normal(size=(4000, 2), chunks=(1000, 2))
    y = (X[:, 0] * X[:, 0] + X[:, 1] > 0.5).astype(np.int64)
    passes = 3
    model = cc.MLPClassifier(hidden_layers=(16,), learning_rate=0.01, random_state=0)
    incremental = Incremental(model, shuffle_blocks=False)
    with distributed.get_task_stream(client) as stream:
        for _ in range(passes):
            incremental.partial_fit(X, y, classes=[0, 1])
    assert len(stream.data) > 0
    fitted = incremental.estimator_
    assert fitted.n_epochs_ == passes * X.numblocks[0]  # one epoch per chunk per pass

    # the same chunks in the same order through partial_fit here: the same weights
    local = cc.MLPClassifier(hidden_layers=(16,), learning_rate=0.01, random_state=0)
    chunks = dask.compute(*zip(X.to_delayed().ravel(), y.to_delayed(), strict=True))
    for _ in range(passes):
        for X_chunk, y_chunk in chunks:
            local.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    np.testing.assert_array_equal(fitted.network_.params, local.network_.params)
    X_test, y_test = X[:1000].compute(), y[:1000].compute()
    assert incremental.score(X_test, y_test) > 0.9


def test_restarts_spread_over_the_workers(client):
    X, y = cc.datasets.moons(n=300, noise=0.2, random_state=1)
    params = dict(hidden_layers=(8,), epochs=10, n_restarts=4, n_jobs=2, random_state=0)
    threads = cc.MLPClassifier(**params).fit(X, y)
    with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as stream:
        spread = cc.MLPClassifier(**params).fit(X, y)
    assert len(stream.data) >= 4  # one task per restart (or more: joblib batches them)
    assert workers_used(stream.data) == set(client.scheduler_info()["workers"])
    assert spread.restart_losses_ == threads.restart_losses_
    assert spread.best_restart_ == threads.best_restart_
    np.testing.assert_array_equal(spread.network_.params, threads.network_.params)
    assert spread.history_["loss"] == threads.history_["loss"]
