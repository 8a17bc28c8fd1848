"""The estimators: Perceptron, LogisticRegression, MLPClassifier, MLPRegressor.

Importing this package registers each one's model file format with ``crash_core.io``.
"""

from crash_core.models import logistic, mlp, perceptron  # noqa: F401
