"""The estimators: Perceptron, LogisticRegression, MLPClassifier, MLPRegressor."""
