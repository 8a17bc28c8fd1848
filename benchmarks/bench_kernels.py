"""asv: the compute kernels under cc.Network, by network shape and dtype.

``time_fit`` is one epoch of plain SGD through ``EpochTrainer.run`` (one kernel call, the
buffers allocated once in setup, as a fit does); ``time_predict`` is ``Network.forward``;
``time_loss_and_grad`` one full-batch gradient.
"""

import numpy as np

from .common import blobs, teacher_binary

SHAPES = {
    "2-64-64-1": ((2, 64, 64, 1), "sigmoid", 32),
    "64-128-10": ((64, 128, 10), "softmax", 64),
    "784-256-128-10": ((784, 256, 128, 10), "softmax", 128),
}
N_SAMPLES = 4_096


class NetworkSuite:
    params = (list(SHAPES), ["float32", "float64"])
    param_names = ["shape", "dtype"]
    timeout = 120

    def setup(self, shape, dtype):
        from crash_core.network import EpochTrainer, Network

        sizes, output, batch = SHAPES[shape]
        if output == "sigmoid":
            self.X, self.y = teacher_binary(N_SAMPLES, sizes[0], seed=0, dtype=dtype)
        else:
            self.X, self.y = blobs(N_SAMPLES, sizes[0], sizes[-1], seed=0, dtype=dtype, spread=2.0)
        self.sizes, self.batch = sizes, batch
        self.net = Network(sizes, activation="relu", output=output, dtype=dtype, random_state=0)
        self.p0 = self.net.params.copy()
        self.Y = self.net.targets(self.y, N_SAMPLES)
        self.trainer = EpochTrainer(self.net, batch, "sgd")
        self.order = np.random.default_rng(1).permutation(N_SAMPLES)
        self.make_trainer = lambda: EpochTrainer(self.net, batch, "sgd")

    def time_fit(self, shape, dtype):
        self.trainer.run(self.X, self.Y, self.order, 0.01)

    def peakmem_fit(self, shape, dtype):
        trainer = self.make_trainer()
        trainer.run(self.X, self.Y, self.order, 0.01)

    def time_predict(self, shape, dtype):
        self.net.forward(self.X)

    def time_loss_and_grad(self, shape, dtype):
        self.net.loss_and_grad(self.X, self.y)

    def track_epoch_loss(self, shape, dtype):
        """Mean loss of 3 epochs of SGD from the seeded start (a change means new maths)."""
        self.net.params[...] = self.p0
        for _ in range(3):
            total, _ = self.trainer.run(self.X, self.Y, self.order, 0.01)
        return total / N_SAMPLES

    track_epoch_loss.unit = "loss"

    def track_epoch_accuracy(self, shape, dtype):
        self.net.params[...] = self.p0
        for _ in range(3):
            _, correct = self.trainer.run(self.X, self.Y, self.order, 0.01)
        return correct / N_SAMPLES

    track_epoch_accuracy.unit = "accuracy"
