"""Small calls do only the work asked for: no scoring pass a single run does not use,
no re-check of unchanged parameters, a kept trainer, a prediction fast path that ends in
the same results and errors as the full validation, rows split over threads without
changing a bit.  Behaviour only; the costs are measured in benchmarks/per_call.py."""

import os
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import crash_core as cc
import crash_core.models.mlp as mlp_module
import crash_core.network as network_module
from crash_core.models._common import one_hot
from crash_core.network import PREDICT_CHUNK, SPLIT_MIN_ROWS, Network, row_shares
from crash_core.training import Dataset, evaluate


def data(n=120, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) * (k > 2)
    return X, y


@pytest.fixture
def scoring_calls(monkeypatch):
    """How often the scoring pass after training ran (the per-epoch validation loss is
    evaluated elsewhere, in crash_core.training)."""
    calls = []
    real = mlp_module.evaluate

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mlp_module, "evaluate", spy)
    return calls


# ---------------------------------------------------------------------- scoring pass
@pytest.mark.parametrize("early_stopping", [False, True])
def test_one_run_is_not_scored_after_training(scoring_calls, early_stopping):
    X, y = data()
    cc.MLPClassifier(
        hidden_layers=(8,), epochs=3, early_stopping=early_stopping, random_state=0
    ).fit(X, y)
    assert scoring_calls == []


def test_restarts_without_validation_are_scored_on_the_training_data(scoring_calls):
    X, y = data()
    model = cc.MLPClassifier(hidden_layers=(8,), epochs=3, n_restarts=3, random_state=0)
    model.fit(X, y)
    assert len(scoring_calls) == 3
    Y = one_hot(np.searchsorted(model.classes_, y), len(model.classes_), np.float32)
    assert model.restart_losses_[model.best_restart_] == evaluate(
        model.network_, Dataset(X, Y)
    )[0]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_restarts_reuse_the_validation_loss_of_the_kept_weights(scoring_calls, early_stopping):
    X, y = data(200)
    X_val, y_val = data(60, seed=1)
    model = cc.MLPClassifier(
        hidden_layers=(8,),
        epochs=6,
        n_restarts=3,
        early_stopping=early_stopping,
        patience=1,
        learning_rate=0.05,
        l2=1e-3,
        random_state=0,
    )
    model.fit(X, y, validation_data=(X_val, y_val))
    assert scoring_calls == []
    # the reused score is bit for bit what a pass over the validation data gives
    Y_val = one_hot(np.searchsorted(model.classes_, y_val), len(model.classes_), np.float32)
    fresh = evaluate(model.network_, Dataset(X_val, Y_val), 0.0, 1e-3)[0]
    assert model.restart_losses_[model.best_restart_] == fresh


def test_restarts_with_user_callbacks_are_scored_by_a_pass(scoring_calls):
    X, y = data(200)
    model = cc.MLPClassifier(
        hidden_layers=(8,),
        epochs=2,
        n_restarts=2,
        callbacks=[cc.callbacks.History()],  # might change the weights, as far as fit knows
        random_state=0,
    )
    model.fit(X, y, validation_data=data(40, seed=1))
    assert len(scoring_calls) == 2


# ---------------------------------------------------------------------- partial_fit
@pytest.fixture
def trainers_built(monkeypatch):
    built = []
    real = mlp_module.EpochTrainer

    def counting(*args, **kwargs):
        trainer = real(*args, **kwargs)
        built.append(trainer)
        return trainer

    monkeypatch.setattr(mlp_module, "EpochTrainer", counting)
    return built


def test_partial_fit_keeps_its_trainer_and_rebuilds_it_when_the_batch_changes(trainers_built):
    X, y = data(400)
    model = cc.MLPClassifier(hidden_layers=(8,), batch_size=32, random_state=0)
    for start in range(0, 400, 100):
        model.partial_fit(X[start : start + 100], y[start : start + 100], classes=[0, 1, 2])
    # the first call builds the network (and a trainer), the second the kept trainer
    assert len(trainers_built) == 2
    model.partial_fit(X[:20], y[:20])  # 20 rows: a batch of 20, other buffers
    assert len(trainers_built) == 3
    model.partial_fit(X[20:40], y[20:40])
    assert len(trainers_built) == 3
    model.set_params(batch_size=8)
    model.partial_fit(X[:100], y[:100])
    assert len(trainers_built) == 4 and trainers_built[-1].capacity == 8
    model.set_params(optimizer="sgd")  # a new optimizer starts a new state
    model.partial_fit(X[:100], y[:100])
    assert len(trainers_built) == 5


def test_a_kept_trainer_trains_bit_for_bit_as_a_new_one():
    X, y = data(500)
    params = dict(hidden_layers=(8,), batch_size=16, dropout=0.2, random_state=3)
    kept, fresh = cc.MLPClassifier(**params), cc.MLPClassifier(**params)
    for start in range(0, 500, 100):
        chunk = slice(start, start + 100)
        kept.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        fresh.__dict__.pop("_kept_trainer", None)
        fresh.__dict__.pop("_checked", None)
        fresh.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert_array_equal(kept.network_.params, fresh.network_.params)
    assert kept.history_["loss"] == fresh.history_["loss"]


def test_set_params_between_partial_fit_calls_is_checked_and_used():
    X, y = data()
    model = cc.MLPClassifier(hidden_layers=(8,), random_state=0).partial_fit(X, y)
    model.set_params(learning_rate=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        model.partial_fit(X, y)
    model.set_params(learning_rate=0.001, hidden_layers=(5,))
    with pytest.raises(ValueError, match="warm_start=False"):
        model.partial_fit(X, y)
    model.set_params(hidden_layers=[8], dropout=[0.1])
    model.partial_fit(X, y)
    model.dropout[0] = 1.5  # changed in place: still a change
    with pytest.raises(ValueError, match="dropout"):
        model.partial_fit(X, y)
    model.dropout[0] = 0.0
    # a changed rate is used: the same step at a larger rate moves the weights further
    a = cc.MLPClassifier(hidden_layers=(8,), random_state=0).partial_fit(X, y)
    b = cc.MLPClassifier(hidden_layers=(8,), random_state=0).partial_fit(X, y)
    before = a.network_.params.copy()
    a.partial_fit(X, y)
    b.set_params(learning_rate=0.01).partial_fit(X, y)
    assert np.abs(b.network_.params - before).sum() > 2 * np.abs(a.network_.params - before).sum()


def test_what_a_model_keeps_between_calls_is_not_pickled():
    X, y = data(300)
    model = cc.MLPClassifier(hidden_layers=(8,), random_state=0)
    for start in (0, 100):
        model.partial_fit(X[start : start + 100], y[start : start + 100])
    assert "_kept_trainer" in vars(model) and "_checked" in vars(model)
    copy = pickle.loads(pickle.dumps(model))
    assert "_kept_trainer" not in vars(copy) and "_checked" not in vars(copy)
    model.partial_fit(X[200:], y[200:])
    copy.partial_fit(X[200:], y[200:])
    assert_array_equal(model.network_.params, copy.network_.params)


def test_known_labels_take_the_short_encoding_and_unknown_ones_still_fail():
    X, y = data()
    model = cc.MLPClassifier(hidden_layers=(4,), random_state=0)
    model.partial_fit(X, y + 10, classes=[10, 11, 12])
    model.partial_fit(X, y + 10, classes=np.array([10, 11, 12]))
    with pytest.raises(ValueError, match="not seen before"):
        model.partial_fit(X, y + 11)
    with pytest.raises(ValueError, match="differs from the classes"):
        model.partial_fit(X, y + 10, classes=[10, 11])


# ---------------------------------------------------------------------- predict
@pytest.fixture(scope="module")
def fitted():
    X, y = data(200, d=6)
    return cc.MLPClassifier(hidden_layers=(16,), epochs=3, random_state=0).fit(X, y), X


@pytest.fixture
def full_validations(monkeypatch):
    calls = []
    real = mlp_module.validate_X

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mlp_module, "validate_X", spy)
    return calls


def test_a_plain_array_skips_the_full_validation_with_the_same_result(fitted, full_validations):
    model, X = fitted
    fast = model.predict_proba(X[:7])
    assert full_validations == []
    assert_array_equal(fast, model.predict_proba(X[:7].tolist()))
    assert len(full_validations) == 1
    assert_array_equal(model.predict(X[:1]), model.predict(X[:1].tolist()))


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.astype(np.float64),
        lambda X: np.asfortranarray(X),
        lambda X: np.repeat(X, 2, axis=0)[::2],  # a strided view
        lambda X: X.tolist(),
        lambda X: X.astype(np.int64),
    ],
    ids=["float64", "fortran", "strided", "list", "int"],
)
def test_other_inputs_take_the_full_path_and_agree(fitted, full_validations, convert):
    model, X = fitted
    rows = np.round(X[:9]) if convert(X[:1]).__class__ is np.ndarray else X[:9]
    expected = model.predict_proba(np.ascontiguousarray(rows, dtype=np.float32))
    assert full_validations == []
    assert_array_equal(model.predict_proba(convert(rows)), expected)
    assert full_validations == [1]


def test_a_frame_takes_the_full_path(fitted, full_validations):
    pd = pytest.importorskip("pandas")
    model, X = fitted
    frame = pd.DataFrame(X[:5])
    assert_array_equal(model.predict_proba(frame), model.predict_proba(X[:5]))
    assert full_validations == [1]


def _error(method, X):
    with pytest.raises((ValueError, TypeError)) as info:
        method(X)
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "bad",
    [
        lambda X: X[:3, :5].copy(),  # wrong width
        lambda X: np.where(np.arange(6) == 2, np.nan, X[:3]).astype(np.float32),
        lambda X: np.where(np.arange(6) == 2, np.inf, X[:3]).astype(np.float32),
        lambda X: X[:0].copy(),  # no rows
        lambda X: X[0].copy(),  # 1-D
    ],
    ids=["width", "nan", "inf", "empty", "1-D"],
)
def test_bad_arrays_fail_as_the_full_path_fails(fitted, bad):
    model, X = fitted
    array = bad(X)
    full = array.astype(np.float64)  # another dtype: the full validation
    for method in (model.predict_proba, model.predict):
        fast_error, full_error = _error(method, array), _error(method, full)
        # the same error (a 1-D X is shown in the message, printed at its own precision)
        assert fast_error[0] is full_error[0]
        assert fast_error[1].split("\n")[0] == full_error[1].split("\n")[0]


def test_a_model_fitted_on_named_columns_still_warns_about_a_plain_array():
    pd = pytest.importorskip("pandas")
    X, y = data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = cc.MLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(frame, y)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X)


def test_predictions_from_several_threads_are_those_of_one(fitted):
    model, X = fitted
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((n, 6)).astype(np.float32) for n in (1, 5, 64, 700) * 4]
    serial = [model.predict_proba(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(model.predict_proba, batches))
    for s, p in zip(serial, parallel, strict=True):
        assert_array_equal(s, p)


# ---------------------------------------------------------------------- rows over threads
def test_row_shares_cover_the_rows_within_the_chunks():
    for n in (1, 127, 255, 256, 300, 520, 1000, 2048, 2049, 2100, 5000, 9999):
        shares = row_shares(n)
        assert shares[0][0] == 0 and shares[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(shares[:-1], shares[1:], strict=True))
        for start, stop in shares:
            chunk = start // PREDICT_CHUNK
            assert (stop - 1) // PREDICT_CHUNK == chunk  # never across two chunks
            whole = min(PREDICT_CHUNK, n - chunk * PREDICT_CHUNK)
            assert stop - start == whole or stop - start >= SPLIT_MIN_ROWS


@pytest.mark.parametrize(
    "sizes",
    [(64, 100, 10), (6, 300, 200, 3), (8, 4, 4, 1), (1100, 8, 3)],
    ids=["tabular", "wide", "narrow", "long-input"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rows_split_over_threads_are_fed_bit_for_bit_as_in_one_pass(monkeypatch, sizes, dtype):
    output = "sigmoid" if sizes[-1] == 1 else "softmax"
    net = Network(sizes, output=output, dtype=dtype, random_state=0)
    # the shares are how a pass with BLAS products uses threads (with the own products
    # every large product splits its rows instead: tests/test_split.py)
    net.__dict__["_forward_blas"] = True
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4200, sizes[0])).astype(dtype)
    monkeypatch.setattr(network_module, "split_budget", lambda: 1)
    one = {n: net.forward(X[:n]) for n in (300, 520, 1000, 2100, 4200)}
    fed = []
    real = Network._forward_rows

    def counting(self, rows, out):
        fed.append((threading.get_ident(), rows.shape[0]))
        return real(self, rows, out)

    monkeypatch.setattr(Network, "_forward_rows", counting)
    submitted = []
    pool = network_module._threads()

    class Offering:
        def submit(self, fn):
            submitted.append(fn)
            return pool.submit(fn)

    monkeypatch.setattr(network_module, "_threads", Offering)
    monkeypatch.setattr(network_module, "split_budget", lambda: 2)
    monkeypatch.setattr(network_module, "idle_cores", lambda: 2)
    monkeypatch.setattr(network_module, "SPLIT_MIN_FLOPS", 0)
    for n, expected in one.items():
        fed.clear()
        submitted.clear()
        assert_array_equal(net.forward(X[:n]), expected)
        assert len(fed) == len(row_shares(n)) > 1  # it was split
        assert len(submitted) == 1  # and offered to a second thread
    if max(sizes[:-1]) <= 1024:  # the batching rule: then a row's result is the same in
        monkeypatch.setattr(network_module, "split_budget", lambda: 1)  # any batch
        for cut in (1, 3, 48, 49, 299):
            assert_array_equal(net.forward(X[:cut]), one[300][:cut])


def test_the_own_products_limit_is_the_kernels(source_tree):
    path = source_tree / "src" / "simd" / "gemm.h"
    if not path.is_file():  # the tests copied beside an installed wheel, without src/
        pytest.skip(f"needs the kernels' sources: {path} is not there")
    header = path.read_text()
    assert f"#define CC_OWN_MAX_K {network_module.OWN_MAX_INPUTS}\n" in header


@pytest.mark.parametrize("n", [5, 100, 600])
def test_a_pass_without_blas_products_leaves_the_thread_count_alone(monkeypatch, n):
    guards = []
    monkeypatch.setattr(network_module, "limited_blas", lambda k: guards.append(k))
    X = np.random.default_rng(0).standard_normal((n, 64)).astype(np.float32)
    net = Network((64, 100, 10), output="softmax", dtype="float32", random_state=0)
    if not net._forward_blas:  # the own products take every forward product
        net.forward(X)
        assert guards == []
    long_input = Network((4097, 4, 1), dtype="float32", random_state=0)
    assert long_input._forward_blas  # past the own products: BLAS multiplies


def test_rows_are_not_split_onto_cores_other_processes_hold(monkeypatch):
    from crash_core import _blas_threads as bt

    cpus = os.cpu_count() or 1
    monkeypatch.setattr(bt.os, "getloadavg", lambda: (cpus + 3.0, 0.0, 0.0))
    assert bt.idle_cores() == 1
    monkeypatch.setattr(bt.os, "getloadavg", lambda: (1.0, 0.0, 0.0))  # this process alone
    assert bt.idle_cores() == cpus
    submitted = []
    monkeypatch.setattr(network_module, "_threads", lambda: submitted.append(1))
    monkeypatch.setattr(network_module, "split_budget", lambda: 2)
    monkeypatch.setattr(network_module, "SPLIT_MIN_FLOPS", 0)
    monkeypatch.setattr(network_module, "idle_cores", lambda: 1)
    net = Network((16, 32, 3), output="softmax", dtype="float32", random_state=0)
    net.__dict__["_forward_blas"] = True  # a pass with BLAS products: shares over threads
    X = np.random.default_rng(0).standard_normal((1000, 16)).astype(np.float32)
    net.forward(X)
    assert submitted == []
