"""asv: cc.MLPClassifier by size, dtype and optimizer (a 20-64-5 relu network on blobs)."""

from .common import accepted_kwargs, blobs, log_loss, require_estimator

EPOCHS = 5


class MLPSuite:
    params = ([1_000, 5_000], ["float32", "float64"], ["sgd", "adam"])
    param_names = ["n_samples", "dtype", "optimizer"]
    timeout = 180

    def setup(self, n, dtype, optimizer):
        self.cls = require_estimator("MLPClassifier")
        self.X, self.y = blobs(n, 20, 5, seed=0, dtype=dtype, spread=2.0)
        self.kwargs = accepted_kwargs(
            self.cls,
            hidden_layers=(64,),
            activation="relu",
            optimizer=optimizer,
            learning_rate=0.05 if optimizer == "sgd" else 0.005,
            batch_size=32,
            epochs=EPOCHS,
            random_state=0,
            dtype=dtype,
        )
        self.model = self.cls(**self.kwargs).fit(self.X, self.y)

    def time_fit(self, n, dtype, optimizer):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def peakmem_fit(self, n, dtype, optimizer):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def time_predict(self, n, dtype, optimizer):
        self.model.predict_proba(self.X)

    def track_accuracy(self, n, dtype, optimizer):
        return float(self.model.score(self.X, self.y))

    track_accuracy.unit = "accuracy"

    def track_loss(self, n, dtype, optimizer):
        return log_loss(self.y, self.model.predict_proba(self.X), self.model.classes_)

    track_loss.unit = "log loss"


class MLPFeaturesSuite:
    """Training cost in the number of inputs: an mnist-shaped 784-128-10 network."""

    params = ([2_000], ["float32", "float64"])
    param_names = ["n_samples", "dtype"]
    timeout = 180

    def setup(self, n, dtype):
        self.cls = require_estimator("MLPClassifier")
        self.X, self.y = blobs(n, 784, 10, seed=0, dtype=dtype, spread=3.0)
        self.kwargs = accepted_kwargs(
            self.cls,
            hidden_layers=(128,),
            optimizer="sgd",
            learning_rate=0.01,
            batch_size=128,
            epochs=2,
            random_state=0,
            dtype=dtype,
        )
        self.model = self.cls(**self.kwargs).fit(self.X, self.y)

    def time_fit(self, n, dtype):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def peakmem_fit(self, n, dtype):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def time_predict(self, n, dtype):
        self.model.predict_proba(self.X)

    def track_accuracy(self, n, dtype):
        return float(self.model.score(self.X, self.y))

    track_accuracy.unit = "accuracy"
