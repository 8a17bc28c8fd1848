"""Compiled Cython kernels (built from ``src/``).

``network`` is built twice: portable, and with AVX2 + FMA (``network_avx2``, x86-64 only).
``select("network")`` returns the fastest build this CPU runs; ``CRASH_CORE_KERNELS=portable``
forces the portable one.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["select", "cpu_has_avx2_fma"]


def cpu_has_avx2_fma() -> bool:
    """Whether the CPU runs AVX2 and FMA instructions (as NumPy's CPU detection reports)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
    return bool(features.get("AVX2") and features.get("FMA3"))


def select(name: str) -> ModuleType:
    """The build of kernel module ``name`` to use on this machine."""
    if os.environ.get("CRASH_CORE_KERNELS", "auto") != "portable" and cpu_has_avx2_fma():
        try:
            return importlib.import_module(f"crash_core._kernels.{name}_avx2")
        except ImportError:  # not built for this platform
            pass
    return importlib.import_module(f"crash_core._kernels.{name}")
