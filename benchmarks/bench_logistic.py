"""asv: cc.LogisticRegression by size, dtype and batch size (1 = the course's per-point
update, 32 = mini-batch, None = full batch)."""

from .common import accepted_kwargs, blobs, linear_data, log_loss, require_estimator

EPOCHS = 5


class LogisticSuite:
    params = ([1_000, 10_000], ["float32", "float64"], [1, 32, None])
    param_names = ["n_samples", "dtype", "batch_size"]
    timeout = 120

    def setup(self, n, dtype, batch_size):
        self.cls = require_estimator("LogisticRegression")
        self.X, self.y = linear_data(n, 20, seed=0, dtype=dtype, flip=0.1)
        self.kwargs = accepted_kwargs(
            self.cls,
            learning_rate=0.05,
            epochs=EPOCHS,
            batch_size=batch_size,
            tol=0.0,
            random_state=0,
            dtype=dtype,
        )
        self.model = self.cls(**self.kwargs).fit(self.X, self.y)

    def time_fit(self, n, dtype, batch_size):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def peakmem_fit(self, n, dtype, batch_size):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def time_predict(self, n, dtype, batch_size):
        self.model.predict_proba(self.X)

    def track_accuracy(self, n, dtype, batch_size):
        return float(self.model.score(self.X, self.y))

    track_accuracy.unit = "accuracy"

    def track_loss(self, n, dtype, batch_size):
        return log_loss(self.y, self.model.predict_proba(self.X), self.model.classes_)

    track_loss.unit = "log loss"


class LogisticMulticlassSuite:
    """Softmax regression on 5 blobs, mini-batch 32."""

    params = ([1_000, 10_000], ["float32", "float64"])
    param_names = ["n_samples", "dtype"]
    timeout = 120

    def setup(self, n, dtype):
        self.cls = require_estimator("LogisticRegression")
        self.X, self.y = blobs(n, 20, 5, seed=0, dtype=dtype, spread=2.0)
        self.kwargs = accepted_kwargs(
            self.cls,
            learning_rate=0.05,
            epochs=EPOCHS,
            batch_size=32,
            tol=0.0,
            random_state=0,
            dtype=dtype,
        )
        self.model = self.cls(**self.kwargs).fit(self.X, self.y)

    def time_fit(self, n, dtype):
        self.cls(**self.kwargs).fit(self.X, self.y)

    def time_predict(self, n, dtype):
        self.model.predict_proba(self.X)

    def track_accuracy(self, n, dtype):
        return float(self.model.score(self.X, self.y))

    track_accuracy.unit = "accuracy"
