"""A plain-NumPy reference of the network maths: the oracle the compiled kernels are tested against.

Written from the formulas, not from the kernels: it works on lists of weight matrices
W_l (n_in x n_out) and bias vectors b_l, computes activation derivatives from the
pre-activations z (the kernels take them from the outputs), the losses from the logits
with NumPy's ``logaddexp``, and never looks at the flat parameter layout.  Everything runs
in float64.

Forward:   A_0 = X,  Z_l = A_{l-1} W_l + b_l,  A_l = f_l(Z_l);  the output layer's Z is the logits.
Loss:      sum_i w_i L_i / sum_i w_i + l1 sum|W| + l2 sum W^2 (weights only, never biases), with
           L_i = -[y ln p + (1 - y) ln(1 - p)] (sigmoid), -sum_j y_j ln p_j (softmax),
           0.5 sum_j (z_j - y_j)^2 (identity).
Backprop:  dL/dZ_out = w_i / sum w * (p - y);  dW_l = A_{l-1}^T dZ_l;  db_l = sum_rows dZ_l;
           dZ_{l-1} = (dZ_l W_l^T) * f'_{l-1}(Z_{l-1});  plus l1 sign(W) + 2 l2 W on the weights.
Updates (g includes the penalty gradient on weights):
    sgd:       w <- w - lr g
    momentum:  v <- mu v - lr g;  w <- w + v
    nesterov:  v <- mu v - lr g;  w <- w + mu v - lr g
    adam:      m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t <- t + 1
               w <- w - lr m_hat / (sqrt(s_hat) + eps),
               m_hat = m / (1 - b1^t),  s_hat = s / (1 - b2^t)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax", "identity")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")


# ---------------------------------------------------------------- elementwise functions
def sigmoid(z):
    """1 / (1 + e^-z), written as (1 + tanh(z / 2)) / 2 so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def activate(z, kind: str):
    if kind == "sigmoid":
        return sigmoid(z)
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "identity":
        return np.array(z, dtype=float, copy=True)
    raise ValueError(kind)


def derivative(z, kind: str):
    """f'(z) from the pre-activation z."""
    if kind == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if kind == "tanh":
        return 1.0 / np.cosh(z) ** 2
    if kind == "relu":
        return (z > 0).astype(float)
    if kind == "identity":
        return np.ones_like(z, dtype=float)
    raise ValueError(kind)


def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def output(Z, kind: str):
    """Logits -> outputs (probabilities for sigmoid / softmax)."""
    if kind == "sigmoid":
        return sigmoid(Z)
    if kind == "softmax":
        return softmax(Z)
    if kind == "identity":
        return np.array(Z, dtype=float, copy=True)
    raise ValueError(kind)


def row_losses(Z, Y, kind: str):
    """Per-sample loss L_i from the logits Z (n x k) and targets Y (n x k)."""
    if kind == "sigmoid":
        # -[y ln s(z) + (1 - y) ln s(-z)] = ln(1 + e^z) - y z
        return (np.logaddexp(0.0, Z) - Y * Z).sum(axis=1)
    if kind == "softmax":
        lse = np.logaddexp.reduce(Z, axis=1)
        return -(Y * (Z - lse[:, None])).sum(axis=1)
    if kind == "identity":
        return 0.5 * ((Z - Y) ** 2).sum(axis=1)
    raise ValueError(kind)


def correct(P, Y, kind: str) -> int:
    """Rows predicted right: p >= 0.5 vs y >= 0.5 (sigmoid), argmax (softmax), 0 (identity)."""
    if kind == "sigmoid":
        return int(np.all((P >= 0.5) == (Y >= 0.5), axis=1).sum())
    if kind == "softmax":
        return int((P.argmax(axis=1) == Y.argmax(axis=1)).sum())
    return 0


def one_hot(labels, k: int):
    Y = np.zeros((len(labels), k))
    Y[np.arange(len(labels)), np.asarray(labels, dtype=int)] = 1.0
    return Y


def targets(y, kind: str, k: int):
    """y as an (n, k) float64 matrix: 0/1 column, one-hot rows from class indices, or targets."""
    y = np.asarray(y)
    if kind == "softmax" and y.ndim == 1:
        return one_hot(y, k)
    return np.asarray(y, dtype=float).reshape(len(y), k)


# ---------------------------------------------------------------- the network
@dataclass
class Net:
    """Weights W_l (n_in x n_out), biases b_l, hidden activations and the output kind."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    hidden: list[str]
    out: str

    @classmethod
    def like(cls, network) -> Net:
        """Copy a crash_core Network's parameters (as float64) and structure."""
        return cls(
            [np.array(w, dtype=float) for w in network.weights],
            [np.array(b, dtype=float) for b in network.biases],
            list(network.activations),
            network.output,
        )

    def arrays(self) -> list[np.ndarray]:
        """Every parameter array, weights first then biases (the oracle's own order)."""
        return [*self.weights, *self.biases]

    def copy(self) -> Net:
        return Net(
            [w.copy() for w in self.weights],
            [b.copy() for b in self.biases],
            list(self.hidden),
            self.out,
        )


def forward_all(net: Net, X):
    """Pre-activations Z_l and activations A_l of every layer (A_0 = X); Z[-1] are the logits."""
    A = [np.asarray(X, dtype=float)]
    Zs = []
    n_layers = len(net.weights)
    for layer, (W, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        Z = A[-1] @ W + b
        Zs.append(Z)
        if layer < n_layers - 1:
            A.append(activate(Z, net.hidden[layer]))
    return Zs, A


def forward(net: Net, X):
    """Outputs of the network: probabilities for sigmoid / softmax, values for identity."""
    Zs, _ = forward_all(net, X)
    return output(Zs[-1], net.out)


def penalty(net: Net, l1: float = 0.0, l2: float = 0.0) -> float:
    return float(sum(l1 * np.abs(W).sum() + l2 * (W**2).sum() for W in net.weights))


def penalty_grad(w, l1: float, l2: float):
    return l1 * np.sign(w) + 2.0 * l2 * w


def loss_and_grad(net: Net, X, Y, l1=0.0, l2=0.0, sample_weight=None):
    """(loss, weight grads, bias grads, correct count) at the net's parameters."""
    Zs, A = forward_all(net, X)
    n = len(Y)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    P = output(Zs[-1], net.out)
    loss = float(w @ row_losses(Zs[-1], Y, net.out) / w.sum()) + penalty(net, l1, l2)
    dZ = (w / w.sum())[:, None] * (P - Y)
    gW = [None] * len(net.weights)
    gb = [None] * len(net.weights)
    for layer in range(len(net.weights) - 1, -1, -1):
        gW[layer] = A[layer].T @ dZ + penalty_grad(net.weights[layer], l1, l2)
        gb[layer] = dZ.sum(axis=0)
        if layer > 0:
            dZ = (dZ @ net.weights[layer].T) * derivative(Zs[layer - 1], net.hidden[layer - 1])
    return loss, gW, gb, correct(P, Y, net.out)


# ---------------------------------------------------------------- optimizers
@dataclass
class Optimizer:
    """One update rule with its hyper-parameters and state (kept per parameter array)."""

    kind: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    state: dict = field(default_factory=dict)

    def step(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        penalised: Sequence[bool],
        lr: float,
        l1: float = 0.0,
        l2: float = 0.0,
    ) -> None:
        """Update each array of ``params`` in place; ``penalised[i]`` marks weights."""
        self.t += 1
        for i, (p, g, pen) in enumerate(zip(params, grads, penalised, strict=True)):
            g = np.asarray(g, dtype=float)
            if pen:
                g = g + penalty_grad(p, l1, l2)
            if self.kind == "sgd":
                p -= lr * g
            elif self.kind in ("momentum", "nesterov"):
                v = self.state.setdefault(("v", i), np.zeros_like(p))
                v *= self.momentum
                v -= lr * g
                p += v if self.kind == "momentum" else self.momentum * v - lr * g
            elif self.kind == "adam":
                m = self.state.setdefault(("m", i), np.zeros_like(p))
                s = self.state.setdefault(("s", i), np.zeros_like(p))
                m[...] = self.beta1 * m + (1 - self.beta1) * g
                s[...] = self.beta2 * s + (1 - self.beta2) * g * g
                m_hat = m / (1 - self.beta1**self.t)
                s_hat = s / (1 - self.beta2**self.t)
                p -= lr * m_hat / (np.sqrt(s_hat) + self.eps)
            else:
                raise ValueError(self.kind)


# ---------------------------------------------------------------- one epoch
def train_epoch(
    net: Net,
    X,
    Y,
    order,
    batch_size: int,
    lr: float,
    l1=0.0,
    l2=0.0,
    optimizer: Optimizer | None = None,
    sample_weight=None,
):
    """One epoch of mini-batch training of ``net`` in place over X[order].

    Batches are consecutive slices of ``order`` of ``batch_size`` rows (the last one
    smaller); each takes the gradient at the current parameters, then one update.
    Returns (sum over batches of sum_i w_i L_i + W_batch * penalty, correct count), both
    at the parameters before each batch's update.
    """
    optimizer = optimizer if optimizer is not None else Optimizer("sgd")
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    order = np.asarray(order)
    total, right = 0.0, 0
    penalised = [True] * len(net.weights) + [False] * len(net.biases)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[idx]
        wsum = len(idx) if w is None else w.sum()
        loss, gW, gb, c = loss_and_grad(net, X[idx], Y[idx], 0.0, 0.0, w)
        total += wsum * (loss + penalty(net, l1, l2))
        right += c
        optimizer.step(net.arrays(), [*gW, *gb], penalised, lr, l1, l2)
    return total, right


def per_point_epoch(W, b, X, Y, order, lr: float, l1=0.0, l2=0.0, sample_weight=None):
    """One epoch of the per-point logistic step (the course's update_weights, k outputs).

    For each row r of X in ``order``: z = x W + b (W is n_features x k), p = sigmoid(z)
    (k = 1) or softmax(z); the loss w_r L_r and the correct count are taken at p; then
    W <- W + lr (w_r x^T (y - p) - l1 sign(W) - 2 l2 W) and b <- b + lr w_r (y - p).
    Returns (W, b, sum of w_r L_r, correct count).
    """
    W = np.array(W, dtype=float).reshape(np.shape(X)[1], -1)
    b = np.array(b, dtype=float).ravel()
    kind = "sigmoid" if b.size == 1 else "softmax"
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), b.size)
    total, right = 0.0, 0
    for r in np.asarray(order):
        w_r = 1.0 if sample_weight is None else float(sample_weight[r])
        z = (X[r] @ W + b)[None, :]
        p = output(z, kind)
        total += w_r * float(row_losses(z, Y[r : r + 1], kind)[0])
        right += correct(p, Y[r : r + 1], kind)
        err = lr * w_r * (Y[r] - p[0])
        W = W + np.outer(X[r], err) - lr * penalty_grad(W, l1, l2)
        b = b + err
    return W, b, total, right


def perceptron_epoch(W, b, X, Y, order, lr: float):
    """One pass of the perceptron algorithm for k one-vs-rest perceptrons.

    For each row r of X in ``order`` and each perceptron j: y_hat = 1 if x . W[:, j] + b[j]
    >= 0 else 0; where Y[r, j] - y_hat = d != 0, W[:, j] += lr d x and b[j] += lr d.
    Returns (W, b, mistakes).
    """
    W = np.array(W, dtype=float).reshape(np.shape(X)[1], -1)
    b = np.array(b, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    mistakes = 0
    for r in np.asarray(order):
        for j in range(b.size):
            d = int(Y[r][j]) - int(X[r] @ W[:, j] + b[j] >= 0)
            if d:
                W[:, j] += lr * d * X[r]
                b[j] += lr * d
                mistakes += 1
    return W, b, mistakes


# ---------------------------------------------------------------- the epochs' shuffle
_WORD = (1 << 64) - 1


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _WORD


def xoshiro_next(s: list[int]) -> int:
    """xoshiro256** on the four state words ``s`` (advanced in place): result
    rotl(5 s1, 7) 9, then the xor-shift of the state."""
    result = (_rotl((s[1] * 5) & _WORD, 7) * 9) & _WORD
    t = (s[1] << 17) & _WORD
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


def draw_below(s: list[int], n: int) -> int:
    """Uniform in [0, n): the high word of draw * n, redrawn while the low word is below
    2^64 mod n (Lemire's multiply-shift)."""
    product = xoshiro_next(s) * n
    if product & _WORD < n:
        threshold = (1 << 64) % n
        while product & _WORD < threshold:
            product = xoshiro_next(s) * n
    return product >> 64


def fisher_yates(order, state):
    """The shuffle of an epoch's order: for i = len - 1 down to 1, swap order[i] with
    order[j], j = draw_below(i + 1).  Returns (shuffled copy, state words after)."""
    out = list(np.asarray(order))
    s = [int(word) for word in state]
    for i in range(len(out) - 1, 0, -1):
        j = draw_below(s, i + 1)
        out[i], out[j] = out[j], out[i]
    return np.array(out, dtype=np.intp), np.array(s, dtype=np.uint64)
