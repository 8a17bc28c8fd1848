"""crash_core: the machine-learning crash course as a small, fast neural-network library.

Use it as ``import crash_core as cc``. Names are loaded on first use, so importing the
package is cheap and a sub-module is only imported when it is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# the kernels call scipy's OpenBLAS; loading that library now (not scipy, a few ms) lets
# a threadpoolctl limit entered before the first fit reach it (see _blas_threads)
from crash_core._blas_threads import load_blas as _load_blas  # noqa: E402

_load_blas()

# public name -> module that defines it (one place per name)
_NAMES = {
    "Network": "crash_core.network",
    "NotFittedError": "crash_core.exceptions",
    "DivergenceError": "crash_core.training",
    "Perceptron": "crash_core.models.perceptron",
    "LogisticRegression": "crash_core.models.logistic",
    "MLPClassifier": "crash_core.models.mlp",
    "MLPRegressor": "crash_core.models.mlp",
    "History": "crash_core.callbacks",
    "load": "crash_core.io",
    "gradcheck": "crash_core.gradcheck",
    "kernel_level": "crash_core._kernels",
}
_SUBMODULES = (
    "functional",
    "optimizers",
    "schedules",
    "callbacks",
    "datasets",
    "plot",
    "io",
    "models",
    "network",
    "onnx",
    "preprocessing",
    "tables",
)

__all__ = sorted([*_NAMES, *_SUBMODULES, "get_include", "__version__"])


def get_include() -> str:
    """Directory holding the kernels' ``.pxd`` files, for ``cimport`` from other projects.

    Add it to Cython's include path and cimport by the short name:
    ``from blas cimport gemm`` (the ``.pxd`` files cimport each other that way).
    """
    from pathlib import Path

    here = Path(__file__).parent / "_kernels"
    source = Path(__file__).parent.parent / "src"  # a development checkout
    if not any(here.glob("*.pxd")) and any(source.glob("*.pxd")):
        return str(source)
    return str(here)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"crash_core.{name}")
    else:
        raise AttributeError(f"module 'crash_core' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
