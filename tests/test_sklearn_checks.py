"""scikit-learn's estimator checks on every model (scikit-learn is a test dependency only)."""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import crash_core as cc  # noqa: E402

# Mini-batch training visits samples in batches, so integer weights are not the same as
# repeated rows (the batches differ); the full-batch test in test_training proves the
# weighting itself is exact.
STOCHASTIC_WEIGHTS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch SGD: weighting a row is not the same as repeating it, since repeated "
        "rows land in other batches"
    ),
}

ESTIMATORS = [
    cc.Perceptron(random_state=0),
    cc.LogisticRegression(random_state=0),
    cc.MLPClassifier(random_state=0),
    cc.MLPRegressor(random_state=0),
]


def _expected_failed_checks(estimator):
    if isinstance(estimator, (cc.MLPClassifier, cc.MLPRegressor)):
        return STOCHASTIC_WEIGHTS
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
