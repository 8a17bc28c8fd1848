"""The builds of the network kernels this CPU runs, for tests that check each of them."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

import crash_core.network as network_module
from crash_core import _kernels


def kernel_builds() -> dict[str, ModuleType]:
    """ISA level -> the network kernels built at it, for every level this CPU runs."""
    built = _kernels.built_levels("network")
    return {
        level: importlib.import_module(
            "crash_core._kernels.network" + ("" if level == "portable" else f"_{level}")
        )
        for level in _kernels.cpu_levels()
        if level in built
    }


BUILDS = list(kernel_builds().values())
IDS = list(kernel_builds())


@contextlib.contextmanager
def using(build: ModuleType) -> Iterator[None]:
    """Make cc.Network call ``build``'s kernels inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network_module, "kernels", build)
        yield
