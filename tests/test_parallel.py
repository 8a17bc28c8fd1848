"""Where random restarts run: joblib's active backend inside a backend context, else threads.
Either way the fit is the same, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import crash_core as cc
from crash_core._parallel import joblib_backend_active

joblib = pytest.importorskip("joblib", reason="joblib (with scikit-learn) is not installed")


def test_backend_context_detected():
    assert not joblib_backend_active()
    with joblib.parallel_config(n_jobs=2):  # no backend named: still threads
        assert not joblib_backend_active()
    with joblib.parallel_config(backend="threading"):
        assert joblib_backend_active()
        with joblib.parallel_config(n_jobs=3):  # an inner context keeps the backend
            assert joblib_backend_active()
    with joblib.parallel_backend("loky", n_jobs=2):
        assert joblib_backend_active()
    assert not joblib_backend_active()


@pytest.mark.parametrize("cls", [cc.MLPClassifier, cc.MLPRegressor])
def test_restarts_run_on_the_active_backend_with_the_same_result(cls, monkeypatch):
    X, y = cc.datasets.moons(n=200, noise=0.2, random_state=3)
    params = dict(hidden_layers=(6,), epochs=5, n_restarts=3, n_jobs=2, random_state=0)
    sequential = cls(**{**params, "n_jobs": None}).fit(X, y)
    given = []
    call = joblib.Parallel.__call__

    def counting_call(self, tasks):
        tasks = list(tasks)
        given.extend(tasks)
        return call(self, tasks)

    monkeypatch.setattr(joblib.Parallel, "__call__", counting_call)
    threads = cls(**params).fit(X, y)
    assert given == []  # no backend context: the model's own threads
    with joblib.parallel_config(backend="threading"):
        backend = cls(**params).fit(X, y)
    assert len(given) == 3  # every restart went to the backend
    for model in (threads, backend):
        assert model.restart_losses_ == sequential.restart_losses_
        np.testing.assert_array_equal(model.network_.params, sequential.network_.params)
