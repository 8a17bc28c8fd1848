"""The builds of the network kernels this CPU runs, for tests that check each of them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
