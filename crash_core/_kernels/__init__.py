"""Compiled Cython kernels (built from ``src/``), and the one place that picks their ISA level.

A dispatched kernel module (``network_kernels``, the nogil kernels behind ``network``, and
``linear``, the linear models' per-point loops) is built once per instruction-set level
(see ``setup.py``): ``<name>`` is the portable build, ``<name>_avx2`` uses AVX2 + FMA and
``<name>_avx512`` AVX-512 F/VL/BW/DQ as well.  A level is only built where the compiler
supports it.  ``select(name)`` returns the build of the active level, which is

- the best level that is both built and run by this CPU (``CRASH_CORE_KERNELS=auto``, the
  default), or
- the level named by ``CRASH_CORE_KERNELS`` (``portable``, ``avx2`` or ``avx512``); a ValueError
  says so when the CPU or the build lacks it.

The CPU's features are read once, from NumPy's own run-time detection.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from types import ModuleType

__all__ = ["LEVELS", "select", "kernel_level", "cpu_levels", "built_levels", "cpu_has_avx2_fma"]

# best first; each level's CPU features as NumPy names them
LEVELS = ("avx512", "avx2", "portable")
REQUIRES = {
    "avx512": ("AVX512F", "AVX512VL", "AVX512BW", "AVX512DQ", "AVX2", "FMA3"),
    "avx2": ("AVX2", "FMA3"),
    "portable": (),
}
ENV = "CRASH_CORE_KERNELS"


@functools.cache
def _cpu_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return {}
    return dict(features)


def cpu_levels() -> tuple[str, ...]:
    """The levels this CPU runs, best first (``portable`` always)."""
    features = _cpu_features()
    return tuple(lv for lv in LEVELS if all(features.get(f) for f in REQUIRES[lv]))


def cpu_has_avx2_fma() -> bool:
    """Whether the CPU runs AVX2 and FMA instructions (as NumPy's CPU detection reports)."""
    return "avx2" in cpu_levels()


def _module_name(name: str, level: str) -> str:
    return f"{__name__}.{name}" if level == "portable" else f"{__name__}.{name}_{level}"


@functools.cache
def built_levels(name: str = "network_kernels") -> tuple[str, ...]:
    """The levels kernel module ``name`` was built at, best first."""
    return tuple(lv for lv in LEVELS if importlib.util.find_spec(_module_name(name, lv)))


@functools.cache
def _choose(name: str, wanted: str) -> str:
    built = built_levels(name)
    if wanted == "auto":
        return next(lv for lv in cpu_levels() if lv in built)
    if wanted not in LEVELS:
        raise ValueError(
            f"{ENV}={wanted!r} is not a kernel level; use one of auto, {', '.join(LEVELS)}."
        )
    if wanted not in cpu_levels():
        lacking = [f for f in REQUIRES[wanted] if not _cpu_features().get(f)]
        raise ValueError(
            f"{ENV}={wanted} asks for kernels this CPU cannot run (it lacks {', '.join(lacking)}); "
            f"use {ENV}=auto or one of {', '.join(cpu_levels())}."
        )
    if wanted not in built:
        raise ValueError(
            f"{ENV}={wanted} asks for kernels this build of crash_core lacks (the compiler did "
            f"not support that level); use {ENV}=auto or one of {', '.join(built)}."
        )
    return wanted


def kernel_level(name: str = "network_kernels") -> str:
    """The ISA level whose build of kernel module ``name`` is in use: avx512, avx2 or portable."""
    return _choose(name, os.environ.get(ENV, "auto").strip().lower() or "auto")


def select(name: str) -> ModuleType:
    """The build of kernel module ``name`` at the active level (see the module docstring)."""
    return importlib.import_module(_module_name(name, kernel_level(name)))


def __getattr__(attr: str) -> str:
    if attr == "LEVEL":  # resolved on first use, so a bad CRASH_CORE_KERNELS fails there
        return kernel_level()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
