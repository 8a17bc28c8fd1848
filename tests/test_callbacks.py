"""Callbacks driven by a fake model and scripted logs, the way the training loop drives them."""

import io
import json
import math
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import crash_core.callbacks as callbacks_module
from crash_core.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ProgressBar,
    ReduceLROnPlateau,
)
from crash_core.schedules import StepDecay


def make_model(lr=1.0, **extra):
    return SimpleNamespace(
        stop_training=False,
        learning_rate=lr,
        learning_rate_=lr,
        network_=SimpleNamespace(params=np.zeros(4)),
        **extra,
    )


def run(callbacks, model, logs_per_epoch, first_epoch=0, set_model=True):
    """A minimal training loop. Epoch e's "training" writes the value e into every weight, so the
    weights tell which epoch they come from. Returns the learning rate used in each epoch."""
    if set_model:
        for cb in callbacks:
            cb.set_model(model)
    model.stop_training = False
    for cb in callbacks:
        cb.on_train_begin({})
    used = []
    for i, logs in enumerate(logs_per_epoch):
        epoch = first_epoch + i
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        used.append(model.learning_rate_)
        model.network_.params[...] = epoch
        for cb in callbacks:
            cb.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})
    return used


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def weights_epoch(model):
    values = set(model.network_.params.tolist())
    assert len(values) == 1
    return int(values.pop())


# --- Callback base -------------------------------------------------------------------------


def test_base_callback_hooks_are_no_ops():
    cb = Callback()
    model = make_model()
    run([cb], model, val_losses(1.0, 0.5))
    assert cb.model is model


# --- EarlyStopping -------------------------------------------------------------------------


def test_early_stopping_patience():
    es = EarlyStopping(patience=3)
    model = make_model()
    run([es], model, val_losses(1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.4))
    assert es.stopped_epoch == 4  # epochs 2, 3, 4 without improvement
    assert es.best_epoch == 1 and es.best == 0.9
    assert model.stop_training is True
    assert weights_epoch(model) == 1  # best weights restored


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    es = EarlyStopping(patience=0)
    run([es], make_model(), val_losses(1.0, 0.9, 0.9, 0.1))
    assert es.stopped_epoch == 2


def test_early_stopping_restores_best_weights_when_epochs_run_out():
    es = EarlyStopping(patience=10)
    model = make_model()
    run([es], model, val_losses(5.0, 4.0, 3.0, 3.5, 3.6))
    assert es.stopped_epoch is None and model.stop_training is False
    assert es.best_epoch == 2
    assert weights_epoch(model) == 2


def test_early_stopping_restores_exact_snapshot():
    es = EarlyStopping(patience=10)
    model = make_model()
    es.set_model(model)
    es.on_train_begin({})
    model.network_.params[...] = [1.0, 2.0, 3.0, 4.0]
    es.on_epoch_end(0, {"val_loss": 0.5})
    model.network_.params[...] = [9.0, 9.0, 9.0, 9.0]
    es.on_epoch_end(1, {"val_loss": 0.7})
    params = model.network_.params
    es.on_train_end({})
    assert model.network_.params is params  # restored in place, same buffer
    np.testing.assert_array_equal(params, [1.0, 2.0, 3.0, 4.0])


def test_early_stopping_without_restore_keeps_last_weights():
    es = EarlyStopping(patience=2, restore_best_weights=False)
    model = make_model()
    run([es], model, val_losses(1.0, 2.0, 3.0, 4.0))
    assert es.stopped_epoch == 2
    assert weights_epoch(model) == 2
    assert es.best_weights is None


def test_early_stopping_min_delta_is_absolute():
    es = EarlyStopping(patience=2, min_delta=0.1)
    model = make_model()
    run([es], model, val_losses(1.0, 0.95, 0.91, 0.5))
    assert es.stopped_epoch == 2 and es.best_epoch == 0
    assert weights_epoch(model) == 0
    plain = EarlyStopping(patience=2)
    run([plain], make_model(), val_losses(1.0, 0.95, 0.91, 0.5))
    assert plain.stopped_epoch is None and plain.best_epoch == 3


def test_early_stopping_mode_auto_max_for_accuracy():
    es = EarlyStopping(monitor="val_accuracy", patience=2)
    assert es.resolved_mode == "max"
    model = make_model()
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.9, 0.8, 0.85, 0.95)]
    run([es], model, logs)
    assert es.best == 0.9 and es.best_epoch == 2 and es.stopped_epoch == 4
    assert weights_epoch(model) == 2


@pytest.mark.parametrize(
    ("monitor", "mode", "expected"),
    [
        ("val_loss", "auto", "min"),
        ("loss", "auto", "min"),
        ("accuracy", "auto", "max"),
        ("val_acc", "auto", "max"),
        ("val_loss", "max", "max"),
        ("val_accuracy", "min", "min"),
    ],
)
def test_resolved_mode(monitor, mode, expected):
    assert EarlyStopping(monitor=monitor, mode=mode).resolved_mode == expected
    assert ReduceLROnPlateau(monitor=monitor, mode=mode).resolved_mode == expected


def test_early_stopping_explicit_modes():
    scores = [{"score": s} for s in (1.0, 2.0, 3.0, 2.5, 2.0)]
    es_max = EarlyStopping(monitor="score", mode="max", patience=2)
    run([es_max], make_model(), scores)
    assert es_max.best_epoch == 2 and es_max.stopped_epoch == 4
    es_min = EarlyStopping(monitor="score", mode="min", patience=2)
    run([es_min], make_model(), scores)
    assert es_min.best_epoch == 0 and es_min.stopped_epoch == 2


def test_early_stopping_start_from_epoch():
    es = EarlyStopping(patience=2, start_from_epoch=1)
    model = make_model()
    # epoch 0 would be the best value, but it is not monitored
    run([es], model, val_losses(0.1, 5.0, 4.0, 3.0, 3.5, 3.6, 3.7))
    assert es.best_epoch == 3 and es.stopped_epoch == 5
    assert weights_epoch(model) == 3


def test_early_stopping_start_from_epoch_counts_global_epochs():
    es = EarlyStopping(patience=1, start_from_epoch=3)
    run([es], make_model(), val_losses(1.0, 2.0, 3.0), first_epoch=10)
    assert es.best_epoch == 10 and es.stopped_epoch == 11


def test_early_stopping_baseline():
    es = EarlyStopping(patience=2, baseline=0.5)
    model = make_model()
    run([es], model, val_losses(1.0, 0.9, 0.8, 0.7))
    assert es.stopped_epoch == 1  # never beat the baseline within patience
    assert es.best_epoch == 1 and weights_epoch(model) == 1
    es2 = EarlyStopping(patience=2, baseline=0.5)
    run([es2], make_model(), val_losses(1.0, 0.4, 0.45, 0.46, 0.3))
    assert es2.stopped_epoch == 3 and es2.best_epoch == 1


def test_early_stopping_nan_never_improves():
    es = EarlyStopping(patience=2)
    model = make_model()
    run([es], model, val_losses(1.0, math.nan, math.nan, 0.5))
    assert es.stopped_epoch == 2 and es.best == 1.0
    assert weights_epoch(model) == 0


def test_early_stopping_state_is_reset_on_train_begin_and_epochs_continue():
    es = EarlyStopping(patience=2)
    model = make_model()
    run([es], model, val_losses(1.0, 2.0, 3.0))
    assert es.stopped_epoch == 2
    run([es], model, val_losses(5.0, 4.0, 4.5), first_epoch=3)
    assert es.stopped_epoch is None and es.best == 4.0 and es.best_epoch == 4
    assert weights_epoch(model) == 4


def test_early_stopping_missing_key_raises_helpful_error():
    es = EarlyStopping()
    with pytest.raises(ValueError) as info:
        run([es], make_model(), [{"loss": 1.0, "accuracy": 0.5}])
    message = str(info.value)
    assert "'val_loss'" in message
    assert "accuracy" in message and "'loss'" in message  # the available keys
    assert "validation_data" in message and "validation_fraction" in message


def test_missing_key_raises_even_before_start_from_epoch():
    with pytest.raises(ValueError, match="val_loss"):
        run([EarlyStopping(start_from_epoch=5)], make_model(), [{"loss": 1.0}])


def test_early_stopping_verbose_prints(capsys):
    es = EarlyStopping(patience=1, verbose=1)
    run([es], make_model(), val_losses(1.0, 2.0))
    out = capsys.readouterr().out
    assert "stopping" in out and "restored" in out


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patience": -1}, ValueError, "patience"),
        ({"patience": 1.5}, TypeError, "patience"),
        ({"min_delta": -0.1}, ValueError, "min_delta"),
        ({"mode": "biggest"}, ValueError, "auto, min, max"),
        ({"start_from_epoch": -2}, ValueError, "start_from_epoch"),
        ({"baseline": "low"}, TypeError, "baseline"),
        ({"monitor": ""}, TypeError, "monitor"),
        ({"verbose": -1}, ValueError, "verbose"),
    ],
)
def test_early_stopping_validates_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


# --- ReduceLROnPlateau ---------------------------------------------------------------------


def test_reduce_lr_on_plateau_patience():
    cb = ReduceLROnPlateau(factor=0.5, patience=2)
    model = make_model(lr=1.0)
    used = run([cb], model, val_losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    assert used == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    assert model.learning_rate_ == 0.25


def test_reduce_lr_on_plateau_keeps_rate_while_improving():
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    model = make_model(lr=0.3)
    run([cb], model, val_losses(1.0, 0.9, 0.8, 0.7))
    assert model.learning_rate_ == 0.3


def test_reduce_lr_on_plateau_min_delta():
    cb = ReduceLROnPlateau(factor=0.5, patience=1)  # min_delta=1e-4
    model = make_model(lr=1.0)
    run([cb], model, val_losses(1.0, 1.0 - 1e-5))
    assert model.learning_rate_ == 0.5
    cb = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)
    model = make_model(lr=1.0)
    run([cb], model, val_losses(1.0, 1.0 - 1e-5))
    assert model.learning_rate_ == 1.0


def test_reduce_lr_on_plateau_cooldown():
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    model = make_model(lr=1.0)
    used = run([cb], model, val_losses(*[1.0] * 8))
    # reduced after epoch 1; epochs 2 and 3 are the cooldown; reduced again after epoch 4
    assert used == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert model.learning_rate_ == 0.125


def test_reduce_lr_on_plateau_min_lr():
    cb = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)
    model = make_model(lr=1.0)
    used = run([cb], model, val_losses(*[1.0] * 5))
    assert used == pytest.approx([1.0, 1.0, 0.1, 0.05, 0.05])
    assert model.learning_rate_ == 0.05


def test_reduce_lr_on_plateau_mode_max():
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    model = make_model(lr=1.0)
    run([cb], model, [{"val_accuracy": a} for a in (0.5, 0.6, 0.7)])
    assert model.learning_rate_ == 1.0
    run([cb], model, [{"val_accuracy": a} for a in (0.7, 0.6)])
    assert model.learning_rate_ == 0.5


def test_reduce_lr_on_plateau_missing_key():
    with pytest.raises(ValueError, match="val_loss.*validation_data"):
        run([ReduceLROnPlateau()], make_model(), [{"loss": 1.0}])
    with pytest.raises(ValueError, match="Regressors"):
        run([ReduceLROnPlateau(monitor="accuracy")], make_model(), [{"loss": 1.0}])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"factor": 1.0}, ValueError, "factor"),
        ({"factor": 2.0}, ValueError, "factor"),
        ({"factor": 0.0}, ValueError, "factor"),
        ({"patience": -1}, ValueError, "patience"),
        ({"cooldown": -1}, ValueError, "cooldown"),
        ({"min_lr": -1e-3}, ValueError, "min_lr"),
        ({"mode": "up"}, ValueError, "auto, min, max"),
        ({"min_delta": -1.0}, ValueError, "min_delta"),
    ],
)
def test_reduce_lr_on_plateau_validates_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ReduceLROnPlateau(**kwargs)


# --- LearningRateScheduler -----------------------------------------------------------------


def test_learning_rate_scheduler_gets_epoch_and_current_rate():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr * 0.5

    model = make_model(lr=1.0)
    used = run([LearningRateScheduler(schedule)], model, val_losses(1, 1, 1), first_epoch=5)
    assert seen == [(5, 1.0), (6, 0.5), (7, 0.25)]
    assert used == [0.5, 0.25, 0.125]


def test_learning_rate_scheduler_with_schedule_object_uses_initial_rate():
    model = make_model(lr=1.0)
    used = run([LearningRateScheduler(StepDecay(0.5, every=2))], model, val_losses(*[1] * 6))
    assert used == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]  # not compounded


@pytest.mark.parametrize("bad", [0.0, -0.1, math.nan, math.inf, "0.1", None, True])
def test_learning_rate_scheduler_rejects_bad_rates(bad):
    cb = LearningRateScheduler(lambda epoch, lr: bad)
    with pytest.raises(ValueError, match="finite positive"):
        run([cb], make_model(), val_losses(1.0))


def test_learning_rate_scheduler_accepts_numpy_floats():
    model = make_model(lr=1.0)
    run([LearningRateScheduler(lambda e, lr: np.float32(0.25))], model, val_losses(1.0))
    assert model.learning_rate_ == 0.25 and type(model.learning_rate_) is float


def test_learning_rate_scheduler_validates_schedule():
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(0.1)
    with pytest.raises(TypeError, match="callable"):
        LearningRateScheduler(StepDecay)


# --- History -------------------------------------------------------------------------------


def test_history_records_every_key_and_keeps_earlier_epochs():
    history = History()
    model = make_model()
    logs = [{"loss": 1.0, "val_loss": 1.5, "lr": 0.1}, {"loss": 0.5, "val_loss": 1.2, "lr": 0.1}]
    run([history], model, logs)
    run([history], model, [{"loss": 0.25, "val_loss": 1.1, "lr": 0.05}], first_epoch=2)
    assert len(history) == 3
    assert history.epoch == [0, 1, 2]
    assert history["loss"] == [1.0, 0.5, 0.25]
    assert history["lr"] == [0.1, 0.1, 0.05]
    assert set(history.keys()) == {"loss", "val_loss", "lr"}
    assert "val_loss" in history and "accuracy" not in history
    assert history.history == {
        "loss": [1.0, 0.5, 0.25],
        "val_loss": [1.5, 1.2, 1.1],
        "lr": [0.1, 0.1, 0.05],
    }
    assert dict(history) == history.history
    assert list(history) == ["loss", "val_loss", "lr"]
    assert repr(history) == "History(epochs=3, keys=['loss', 'val_loss', 'lr'])"


def test_history_values_are_floats():
    history = History()
    run([history], make_model(), [{"loss": np.float32(0.5)}])
    assert type(history["loss"][0]) is float


def test_history_aligns_keys_that_come_and_go():
    history = History()
    run([history], make_model(), [{"loss": 1.0}, {"loss": 0.5, "val_loss": 0.7}, {"loss": 0.2}])
    assert history["loss"] == [1.0, 0.5, 0.2]
    val = history["val_loss"]
    assert math.isnan(val[0]) and val[1] == 0.7 and math.isnan(val[2])


def test_history_missing_key_error_lists_keys():
    history = History()
    run([history], make_model(), [{"loss": 1.0}])
    with pytest.raises(KeyError, match="loss"):
        history["val_loss"]


def test_history_dict_round_trip_through_json():
    history = History()
    run([history], make_model(), [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75}])
    run([history], make_model(), [{"loss": 0.4, "accuracy": 0.8}], first_epoch=7)
    data = history.to_dict()
    assert data == {
        "epoch": [0, 1, 7],
        "history": {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.75, 0.8]},
    }
    data["history"]["loss"].append(99.0)  # a copy, not a view
    assert len(history["loss"]) == 3
    restored = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert restored.history == history.history and restored.epoch == history.epoch
    assert len(restored) == 3
    # a restored history keeps recording (warm start after loading)
    run([restored], make_model(), [{"loss": 0.3, "accuracy": 0.9}], first_epoch=8)
    assert restored["loss"] == [1.0, 0.5, 0.4, 0.3] and restored.epoch == [0, 1, 7, 8]


def test_history_from_dict_null_is_nan():
    restored = History.from_dict({"epoch": [0, 1], "history": {"val_loss": [None, 0.5]}})
    assert math.isnan(restored["val_loss"][0]) and restored["val_loss"][1] == 0.5


@pytest.mark.parametrize(
    "bad",
    [
        {"loss": [1.0]},
        {"epoch": [0, 1], "history": {"loss": [1.0]}},
        [1, 2],
    ],
)
def test_history_from_dict_rejects_bad_data(bad):
    with pytest.raises(ValueError, match="History"):
        History.from_dict(bad)


def test_empty_history():
    history = History()
    assert len(history) == 0 and history.to_dict() == {"epoch": [], "history": {}}
    assert repr(history) == "History(epochs=0, keys=[])"


# --- ProgressBar ---------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fake_clock(monkeypatch):
    ticks = iter([100.0, 101.25, 102.5, 104.0, 110.0, 111.0])
    monkeypatch.setattr(callbacks_module, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))


LOGS = [
    {"loss": 0.9, "accuracy": 0.5, "val_loss": 0.95, "val_accuracy": 0.45, "lr": 0.001},
    {"lr": 0.001, "val_accuracy": 0.86, "val_loss": 0.441, "accuracy": 0.881, "loss": 0.41234},
    {"loss": 0.3, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.88, "lr": 0.0005},
]


def test_progress_bar_not_a_terminal(fake_clock):
    stream = io.StringIO()
    run([ProgressBar(stream)], make_model(epochs=200), LOGS)
    out = stream.getvalue()
    assert "\r" not in out
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == 4
    assert lines[1] == (
        "epoch 2/200  loss 0.4123  accuracy 0.8810  val_loss 0.4410  val_accuracy 0.8600"
        "  lr 0.001  2.5s"
    )
    assert lines[0].startswith("epoch 1/200  loss 0.9000") and lines[0].endswith("  1.2s")
    assert lines[2].endswith("lr 0.0005  4.0s")


def test_progress_bar_on_a_terminal_overwrites_in_place(fake_clock):
    stream = FakeTTY()
    bar = ProgressBar(stream)
    model = make_model(epochs=3)
    bar.set_model(model)
    bar.on_train_begin({})
    bar.on_epoch_end(0, LOGS[0])
    assert stream.getvalue().startswith("\repoch 1/3  loss 0.9000")
    assert "\n" not in stream.getvalue()
    bar.on_epoch_end(1, LOGS[1])
    bar.on_epoch_end(2, LOGS[2])
    assert "\n" not in stream.getvalue()
    bar.on_train_end({})
    out = stream.getvalue()
    assert out.count("\r") == 3
    assert out.count("\n") == 1 and out.endswith("\n")
    assert out.split("\r")[-1].startswith("epoch 3/3  loss 0.3000")


def test_progress_bar_pads_shorter_line_on_a_terminal():
    stream = FakeTTY()
    run([ProgressBar(stream)], make_model(), [{"loss": 0.5, "val_loss": 0.5}, {"loss": 0.5}])
    first, second = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert len(second) == len(first)


def test_progress_bar_without_epochs_attribute_and_warm_start(fake_clock):
    stream = io.StringIO()
    run([ProgressBar(stream)], make_model(), [{"loss": 0.5}])
    assert stream.getvalue() == "epoch 1  loss 0.5000  1.2s\n"
    stream = io.StringIO()
    run([ProgressBar(stream)], make_model(epochs=2), [{"loss": 0.5}, {"loss": 0.4}], first_epoch=3)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 4/5  ") and lines[1].startswith("epoch 5/5  ")


def test_progress_bar_default_stream_is_looked_up_at_call_time(monkeypatch):
    bar = ProgressBar()
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    run([bar], make_model(epochs=1), [{"loss": 0.5}])
    assert stream.getvalue().startswith("epoch 1/1  loss 0.5000")
