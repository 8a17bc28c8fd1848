"""asv: cc.Perceptron (the course's perceptron algorithm) by size and dtype."""

from .common import accepted_kwargs, linear_data, require_estimator

EPOCHS = 10


class PerceptronSuite:
    params = ([1_000, 10_000], ["float32", "float64"])
    param_names = ["n_samples", "dtype"]
    timeout = 120

    def setup(self, n, dtype):
        self.cls = require_estimator("Perceptron")
        # 10% of the labels flipped: not separable, so every fit runs all its epochs
        self.X, self.y = linear_data(n, 20, seed=0, dtype=dtype, flip=0.1)
        self.kwargs = accepted_kwargs(
            self.cls, learning_rate=0.01, epochs=EPOCHS, random_state=0, dtype=dtype
        )
        self.model = self.cls(**self.kwargs).fit(self.X, self.y)

    def time_fit(self, n, dtype):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def peakmem_fit(self, n, dtype):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def time_predict(self, n, dtype):
        self.model.predict(self.X)

    def track_accuracy(self, n, dtype):
        return float(self.model.score(self.X, self.y))

    track_accuracy.unit = "accuracy"
