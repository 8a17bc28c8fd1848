"""Build the Cython kernels in ``src/`` as ``crash_core._kernels.<name>``.

Every helper shared between kernels is a ``cdef inline`` function in a ``.pxd``, so each
extension is self-contained: a ``cimport`` never has to be resolved against another
compiled module at run time, and the ``.pxd`` files can live in ``src/`` while the
modules are named ``crash_core._kernels.*``.

``CRASH_CORE_DEBUG=1`` turns bounds, wrap-around and initialisation checks back on.
"""

import os
import platform
import shutil
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
SRC = HERE / "src"
KERNELS = ["blas", "activations", "losses", "optimizers", "random", "network", "linear"]
DEBUG = os.environ.get("CRASH_CORE_DEBUG", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "cpow": True,
    "embedsignature": True,
}

extra_compile_args = ["-O3"] if os.name != "nt" else ["/O2"]
if DEBUG:
    extra_compile_args = ["-O0", "-g"] if os.name != "nt" else ["/Od"]

# The network kernels are also built with AVX2 + FMA; the package picks that build at
# import time on CPUs that have them (the portable build stays the default).
X86_GCC_LIKE = platform.machine().lower() in ("x86_64", "amd64") and os.name != "nt"
WIDE = {"network_avx2": ["-mavx2", "-mfma"]} if X86_GCC_LIKE else {}


def extension(name: str, flags: list[str]) -> Extension:
    return Extension(
        f"crash_core._kernels.{name}",
        [f"src/{name}.pyx"],
        include_dirs=[np.get_include(), "src"],
        define_macros=[
            ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
            ("CRASH_CORE_DEBUG", "1" if DEBUG else "0"),
        ],
        extra_compile_args=extra_compile_args + flags,
    )


extensions = [extension(name, []) for name in KERNELS]
extensions += [extension(name, flags) for name, flags in WIDE.items()]
missing = [name for name in [*KERNELS, *WIDE] if not (SRC / f"{name}.pyx").exists()]
if missing:
    raise SystemExit(f"src/ lacks the kernel sources {missing}; crash_core cannot be built.")


class BuildPyWithPxd(build_py):
    """Ship the kernels' ``.pxd`` declarations inside ``crash_core/_kernels``."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "crash_core" / "_kernels"
        target.mkdir(parents=True, exist_ok=True)
        for pxd in SRC.glob("*.pxd"):
            shutil.copy2(pxd, target / pxd.name)


setup(
    ext_modules=cythonize(
        extensions,
        include_path=["src"],
        compiler_directives=directives,
        build_dir="build/cython-debug" if DEBUG else "build/cython",
        force=DEBUG,
    ),
    cmdclass={"build_py": BuildPyWithPxd},
)
