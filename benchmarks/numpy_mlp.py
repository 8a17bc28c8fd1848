"""A plain-NumPy multi-layer perceptron trained by mini-batch SGD: the benchmarks' baseline.

This is what a careful NumPy user writes: gather the batch with ``X[idx]``, matrix
products with ``@``, ``np.maximum`` for ReLU, a stable sigmoid / softmax, the mean
cross-entropy of the batch (tracked, as crash_core's epoch kernel tracks it) and the
plain SGD update ``W -= lr * dW`` in place.  Nothing exotic (no preallocated buffers,
no ``out=`` everywhere, no numexpr), but no wasted work either.

The maths matches crash_core's ``Network`` with relu hidden layers: Z = A W + b with W
stored (n_in, n_out), a sigmoid output (one unit, binary) or a softmax output, the loss
the mean over the batch, so the gradient of the logits is (P - Y) / rows.

Importing this module does no work (asv imports every module in ``benchmarks/``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["NumpyMLP", "init_params", "gemm_flops"]


def init_params(layer_sizes, dtype=np.float32, seed=0):
    """He-uniform weights (relu hidden layers), zero biases: lists of (n_in, n_out), (n_out,)."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        limit = np.sqrt(6.0 / n_in)
        weights.append(rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype))
        biases.append(np.zeros(n_out, dtype=dtype))
    return weights, biases


def gemm_flops(layer_sizes, n_samples, epochs=1, backward=True):
    """FLOPs of the matrix products of training (or, with backward=False, of a forward pass).

    Per layer and sample: 2 n_in n_out for Z = A W, 2 n_in n_out for dW = A^T delta and,
    except for the first layer, 2 n_in n_out for delta W^T.
    """
    total = 0
    for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True)):
        products = 1 if not backward else (2 if i == 0 else 3)
        total += products * 2 * n_in * n_out
    return total * n_samples * epochs


class NumpyMLP:
    """relu hidden layers, sigmoid (one unit) or softmax output, trained by plain SGD."""

    def __init__(self, weights, biases, output="sigmoid"):
        if output not in ("sigmoid", "softmax"):
            raise ValueError("output must be 'sigmoid' or 'softmax'")
        self.weights = [np.array(w) for w in weights]
        self.biases = [np.array(b) for b in biases]
        self.output = output

    @classmethod
    def create(cls, layer_sizes, output="sigmoid", dtype=np.float32, seed=0):
        return cls(*init_params(layer_sizes, dtype, seed), output=output)

    def set_params(self, weights, biases):
        """Copy parameters in place (so a timed run can restart from the same point)."""
        for w, src in zip(self.weights, weights, strict=True):
            w[...] = src
        for b, src in zip(self.biases, biases, strict=True):
            b[...] = src

    def _out(self, z):
        if self.output == "sigmoid":
            return 1.0 / (1.0 + np.exp(-z))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def forward(self, X):
        """Output probabilities for X, (n, n_outputs)."""
        a = X
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            a = np.maximum(a @ w + b, 0)
        return self._out(a @ self.weights[-1] + self.biases[-1])

    def _batch_loss(self, z, y):
        """Summed cross-entropy of the batch, computed stably from the logits."""
        if self.output == "sigmoid":
            # -[y log s(z) + (1 - y) log(1 - s(z))] = log(1 + e^z) - y z
            return float(np.sum(np.logaddexp(0, z) - y * z))
        m = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
        return float(np.sum(lse - np.sum(y * z, axis=1)))

    def train_epoch(self, X, Y, order, batch_size, learning_rate):
        """One epoch of plain SGD over X[order]; Y is (n, 1) 0/1 or (n, k) one-hot.

        Returns the summed loss of the epoch.
        """
        ws, bs = self.weights, self.biases
        n_layers = len(ws)
        lr = learning_rate
        total = 0.0
        n = order.shape[0]
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb = X[idx]
            yb = Y[idx]
            rows = xb.shape[0]
            # forward, keeping every layer's input for the backward pass
            acts = [xb]
            a = xb
            for w, b in zip(ws[:-1], bs[:-1], strict=True):
                a = a @ w
                a += b
                np.maximum(a, 0, out=a)
                acts.append(a)
            z = a @ ws[-1]
            z += bs[-1]
            total += self._batch_loss(z, yb)
            # gradient of the mean loss with respect to the logits
            delta = self._out(z)
            delta -= yb
            delta *= 1.0 / rows
            # backward, updating each layer once its delta for the layer below is known
            for i in range(n_layers - 1, -1, -1):
                a_prev = acts[i]
                gw = a_prev.T @ delta
                gb = delta.sum(axis=0)
                if i > 0:
                    delta = delta @ ws[i].T
                    delta *= a_prev > 0
                gw *= lr
                gb *= lr
                ws[i] -= gw
                bs[i] -= gb
        return total
