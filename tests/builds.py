"""The builds of the network kernels this CPU runs, for tests that check each of them, and
the arguments of one epoch through a build's kernel."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest

import crash_core.network as network_module
from crash_core import _kernels
from crash_core._kernels import network


def kernel_builds() -> dict[str, network.Kernels]:
    """ISA level -> the network kernels built at it, for every level this CPU runs."""
    built = _kernels.built_levels("network_kernels")
    return {level: network.at_level(level) for level in _kernels.cpu_levels() if level in built}


BUILDS = list(kernel_builds().values())
IDS = list(kernel_builds())


@contextlib.contextmanager
def using(build: network.Kernels) -> Iterator[None]:
    """Make cc.Network call ``build``'s kernels inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network_module, "kernels", build)
        yield


def plain_sgd_epoch(trainer, X, Y, learning_rate: float, l1: float = 0.0, l2: float = 0.0) -> list:
    """``train_epoch_``'s arguments for one unweighted epoch of plain SGD over the rows of X
    in order, with ``trainer``'s buffers: the call ``EpochTrainer.run`` makes, without its
    thread policy."""
    from crash_core.optimizers import OPT_SGD

    net = trainer.network
    empty = np.zeros(0, dtype=net.dtype)
    return [
        net.params, net.layers, net.kinds, net.out_kind, X, Y, trainer.wb[:0], False,
        np.arange(X.shape[0]), trainer.capacity, OPT_SGD, learning_rate, 0.0, 0.9, 0.999,
        1e-8, l1, l2, 0, empty, empty, trainer.rates, False, trainer.rng, trainer.grad,
        trainer.xb, trainer.yb, trainer.wb, trainer.acts, trainer.delta, trainer.spare,
        trainer.dmask,
    ]  # fmt: skip
