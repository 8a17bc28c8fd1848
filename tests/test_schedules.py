"""Learning-rate schedules: each produces its documented sequence, validates, round-trips."""

import json
import math

import numpy as np
import pytest

from crash_core.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    Schedule,
    StepDecay,
    from_config,
    resolve_schedule,
)

EPOCHS = range(25)


def sequence(schedule, lr0):
    return [schedule(epoch, lr0) for epoch in EPOCHS]


def test_step_decay_halves_every_ten_epochs():
    expected = [0.8] * 10 + [0.4] * 10 + [0.2] * 5
    assert sequence(StepDecay(factor=0.5, every=10), 0.8) == pytest.approx(expected)


def test_step_decay_every_epoch_and_factor_one():
    assert sequence(StepDecay(factor=0.5, every=1), 1.0)[:5] == [1.0, 0.5, 0.25, 0.125, 0.0625]
    assert sequence(StepDecay(factor=1.0, every=3), 0.3) == [0.3] * 25


def test_exponential_decay_smooth():
    expected = [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125] + [2.0**-e for e in range(6, 25)]
    assert sequence(ExponentialDecay(rate=0.5), 1.0) == pytest.approx(expected)
    # staircase changes nothing when decay_epochs=1
    assert sequence(ExponentialDecay(rate=0.5, staircase=True), 1.0) == pytest.approx(expected)


def test_exponential_decay_default_rate():
    lr = 0.1
    expected = []
    for _ in EPOCHS:
        expected.append(lr)
        lr *= 0.96
    assert sequence(ExponentialDecay(), 0.1) == pytest.approx(expected)


def test_exponential_decay_with_decay_epochs():
    staircase = ExponentialDecay(rate=0.5, staircase=True, decay_epochs=5)
    assert sequence(staircase, 2.0) == pytest.approx(
        [2.0] * 5 + [1.0] * 5 + [0.5] * 5 + [0.25] * 5 + [0.125] * 5
    )
    smooth = sequence(ExponentialDecay(rate=0.5, decay_epochs=5), 2.0)
    assert smooth[0] == 2.0 and smooth[5] == pytest.approx(1.0) and smooth[10] == pytest.approx(0.5)
    assert smooth[1] == pytest.approx(2.0 * 0.5**0.2)
    assert np.all(np.diff(smooth) < 0)


def test_inverse_time_decay():
    # lr0 / (1 + 0.25 e) = 4 / (4 + e)
    expected = [4.0 / (4 + e) for e in EPOCHS]
    assert expected[:5] == pytest.approx([1.0, 0.8, 2 / 3, 4 / 7, 0.5])
    assert sequence(InverseTimeDecay(decay=0.25), 1.0) == pytest.approx(expected)
    assert sequence(InverseTimeDecay(decay=0.0), 0.01) == [0.01] * 25


def test_cosine_decay():
    schedule = CosineDecay(epochs=20, min_lr=0.1)
    lrs = sequence(schedule, 1.1)
    assert lrs[0] == pytest.approx(1.1)
    assert lrs[5] == pytest.approx(0.1 + 0.5 * (1 + math.sqrt(0.5)))  # cos(pi/4)
    assert lrs[10] == pytest.approx(0.6)  # half-way
    assert lrs[15] == pytest.approx(0.1 + 0.5 * (1 - math.sqrt(0.5)))
    assert lrs[20:] == pytest.approx([0.1] * 5)  # flat after `epochs`
    oracle = 0.1 + 1.0 * 0.5 * (1 + np.cos(np.pi * np.minimum(np.arange(25), 20) / 20))
    assert lrs == pytest.approx(oracle.tolist())
    assert np.all(np.diff(lrs) <= 0)


def test_cosine_decay_to_zero():
    lrs = sequence(CosineDecay(epochs=4), 1.0)
    assert lrs[:5] == pytest.approx(
        [1.0, 0.5 + 0.5 * math.sqrt(0.5), 0.5, 0.5 - 0.5 * math.sqrt(0.5), 0]
    )


def test_cosine_decay_min_lr_above_initial_rate():
    with pytest.raises(ValueError, match="min_lr"):
        CosineDecay(epochs=10, min_lr=0.5)(0, 0.1)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: StepDecay(factor=0.0), "factor"),
        (lambda: StepDecay(factor=1.5), "factor"),
        (lambda: StepDecay(every=0), "every"),
        (lambda: ExponentialDecay(rate=0.0), "rate"),
        (lambda: ExponentialDecay(rate=1.01), "rate"),
        (lambda: ExponentialDecay(decay_epochs=0), "decay_epochs"),
        (lambda: InverseTimeDecay(decay=-0.1), "decay"),
        (lambda: CosineDecay(epochs=0), "epochs"),
        (lambda: CosineDecay(epochs=10, min_lr=-1e-3), "min_lr"),
        (lambda: StepDecay(factor=math.nan), "factor"),
    ],
)
def test_bad_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: StepDecay(every=2.5),
        lambda: StepDecay(every=True),
        lambda: StepDecay(factor="0.5"),
        lambda: CosineDecay(epochs=None),
        lambda: ExponentialDecay(staircase="yes"),
    ],
)
def test_bad_parameter_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


ALL = [
    StepDecay(factor=0.25, every=3),
    ExponentialDecay(rate=0.9, staircase=True, decay_epochs=4),
    InverseTimeDecay(decay=0.05),
    CosineDecay(epochs=12, min_lr=1e-4),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_round_trip_through_json(schedule):
    config = schedule.get_config()
    assert config["name"] == type(schedule).__name__
    rebuilt = from_config(json.loads(json.dumps(config)))
    assert type(rebuilt) is type(schedule)
    assert rebuilt == schedule
    assert sequence(rebuilt, 0.3) == sequence(schedule, 0.3)


def test_repr_shows_parameters():
    assert repr(StepDecay(factor=0.25, every=3)) == "StepDecay(factor=0.25, every=3)"
    assert repr(CosineDecay(12)) == "CosineDecay(epochs=12, min_lr=0.0)"
    assert "staircase=True" in repr(ExponentialDecay(staircase=True))


def test_equality_and_hash():
    assert StepDecay() == StepDecay(0.5, 10)
    assert StepDecay() != StepDecay(every=5)
    assert StepDecay() != InverseTimeDecay()
    assert len({StepDecay(), StepDecay(0.5, 10)}) == 1


def test_from_config_rejects_bad_input():
    with pytest.raises(ValueError, match="StepDecay"):  # lists the valid names
        from_config({"name": "Bogus"})
    with pytest.raises(ValueError, match="name"):
        from_config({"factor": 0.5})
    with pytest.raises(ValueError, match="wrong"):
        from_config({"name": "StepDecay", "wrong": 1})
    with pytest.raises(ValueError, match="factor"):
        from_config({"name": "StepDecay", "factor": 2.0})


def test_schedule_is_abstract():
    with pytest.raises(TypeError):
        Schedule()


def test_resolve_schedule():
    assert resolve_schedule(None) is None
    step = StepDecay()
    assert resolve_schedule(step) is step

    def halve(epoch, lr):
        return lr / 2

    assert resolve_schedule(halve) is halve
    for bad in (0.5, "step", [StepDecay()]):
        with pytest.raises(TypeError, match="lr_schedule"):
            resolve_schedule(bad)
    with pytest.raises(TypeError, match="StepDecay"):
        resolve_schedule(StepDecay)  # the class, not an instance
