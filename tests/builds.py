"""The builds of the network kernels this CPU runs, for tests that check each of them."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

import crash_core as cc
import crash_core.network as network_module


def kernel_builds() -> list[ModuleType]:
    """The portable build, and the AVX2 + FMA build when the CPU runs it."""
    builds = [importlib.import_module("crash_core._kernels.network")]
    if cc._kernels.cpu_has_avx2_fma():
        with contextlib.suppress(ImportError):
            builds.append(importlib.import_module("crash_core._kernels.network_avx2"))
    return builds


BUILDS = kernel_builds()
IDS = [b.__name__.rsplit(".", 1)[1] for b in BUILDS]


@contextlib.contextmanager
def using(build: ModuleType) -> Iterator[None]:
    """Make cc.Network call ``build``'s kernels inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(network_module, "kernels", build)
        yield
