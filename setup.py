"""Build the Cython kernels in ``src/`` as ``crash_core._kernels.<name>``.

Every helper shared between kernels is a ``cdef inline`` function in a ``.pxd``, so each
extension is self-contained: a ``cimport`` never has to be resolved against another
compiled module at run time, and the ``.pxd`` files can live in ``src/`` while the
modules are named ``crash_core._kernels.*``.  Cython's own run-time code (the memoryview
type and its helpers) is compiled once, into ``crash_core._kernels._cyutility``, which every
kernel module imports instead of carrying a copy.

ISA levels
----------
A module named in ``DISPATCHED`` is built once per instruction-set level in ``LEVELS``:
``network_kernels`` (portable, default flags), ``network_kernels_avx2`` (AVX2 + FMA) and
``network_kernels_avx512`` (AVX-512 F/VL/BW/DQ + AVX2 + FMA): the same sources, translated
by Cython under each level's module name and compiled with the level's flags.  A level is
left out when the compiler rejects its flags (ARM, or an old compiler): the portable build
then serves, and on arm64 it already uses NEON, which is baseline there.  No build uses
``-march=native``.  ``crash_core._kernels.select`` picks the best level the CPU runs.

Where code goes: a level build holds only the nogil kernels that gain from the level's
vector width (``src/network_kernels.pyx`` and what it inlines: ``src/layers.pxd``, the
loss / activation / optimizer ``.pxd`` helpers, ``src/simd/*.h``), taking raw pointers and
exported as a table of C function pointers (``src/network_table.pxd``).  Everything that
talks to Python -- ``def`` functions, memoryview arguments, argument checks -- goes in
``src/network.pyx``, compiled once, which calls the selected level's table.  A new kernel
is a ``cdef ... noexcept nogil`` function in ``network_kernels.pyx``, a float and a double
entry in ``NetworkTable``, and a checked ``def`` method of ``Kernels`` in ``network.pyx``.

Plain C kernels join a level build by listing them next to the ``.pyx``; for example

    DISPATCHED = {"network_kernels": ["src/network_kernels.pyx", "src/simd/gemm.c"]}

compiles ``gemm.c`` with each level's flags into that level's module, where its
intrinsics sit behind ``#ifdef __AVX512F__`` / ``#ifdef __AVX2__`` with a portable
``#else``.  Headers in ``src/simd/`` are dependencies of every level build.

Switches
--------
``CRASH_CORE_DEBUG=1`` turns bounds, wrap-around and initialisation checks back on (and
builds with ``-O0 -g``); ``crash_core._kernels.blas.BOUNDS_CHECKED`` says which build
is installed.

Incremental builds
------------------
Compiled modules are cached in ``build/ext-<platform>-<python>[-debug]/`` (objects
included) and reused while newer than their sources, so a second ``pip install -e .``
(a fresh temporary build directory each time) links nothing it built before.
"""

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import CompileError

HERE = Path(__file__).parent.resolve()
SRC = HERE / "src"
PACKAGE = "crash_core._kernels"
KERNELS = [
    "blas", "activations", "losses", "optimizers", "random", "network", "network_kernels", "linear"
]
# module -> sources compiled once per ISA level (the .pyx first)
DISPATCHED = {"network_kernels": ["src/network_kernels.pyx"]}
SHARED_UTILITY = f"{PACKAGE}._cyutility"
DEBUG = os.environ.get("CRASH_CORE_DEBUG", "0") not in ("", "0")

# level -> (flags for GCC/Clang, flags for MSVC, code the compiler must accept with them);
# the portable level is the plain module name, the others are "<module>_<level>"
LEVELS = {
    "avx512": (
        ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"],
        ["/arch:AVX512"],
        "__m512 one = _mm512_set1_ps(1.0f), f = _mm512_fmadd_ps(one, one, one);"
        "__m512 dq = _mm512_and_ps(f, f);"
        "__m512i bw = _mm512_add_epi16(_mm512_set1_epi16(1), _mm512_set1_epi16(2));"
        "__m256 vl = _mm256_mask_add_ps(_mm256_set1_ps(1.0f), 15, _mm256_set1_ps(1.0f),"
        " _mm256_set1_ps(2.0f));"
        "return _mm_cvtsi128_si32(_mm512_castsi512_si128(bw))"
        " + (int) _mm_cvtss_f32(_mm256_castps256_ps128(vl))"
        " + (int) _mm_cvtss_f32(_mm512_castps512_ps128(dq));",
    ),
    "avx2": (
        ["-mavx2", "-mfma"],
        ["/arch:AVX2"],
        "__m256 one = _mm256_set1_ps(1.0f), f = _mm256_fmadd_ps(one, one, one);"
        "__m256i i = _mm256_add_epi32(_mm256_set1_epi32(1), _mm256_set1_epi32(2));"
        "return _mm_cvtsi128_si32(_mm256_castsi256_si128(i))"
        " + (int) _mm_cvtss_f32(_mm256_castps256_ps128(f));",
    ),
    "portable": ([], [], "return 0;"),
}

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "cpow": True,
    "embedsignature": True,
}

# The modules the library trains and predicts with get -O3: at -O2 GCC vectorises only the
# cheapest loops, and the batch loops of the activations, losses and optimizers lose (the
# small-network epoch measured up to 1.5x slower); the test wrappers and Cython's run-time
# get -O2.
HOT = {"network_kernels", "linear"}
if os.name == "nt":
    extra_compile_args = ["/Od"] if DEBUG else ["/O2"]
    hot_compile_args = extra_compile_args
    extra_link_args = []
else:
    extra_compile_args = ["-O0", "-g"] if DEBUG else ["-O2", "-g0"]
    hot_compile_args = ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]
    if DEBUG:
        extra_link_args = []
    elif sys.platform == "darwin":
        extra_link_args = ["-Wl,-S", "-Wl,-x"]  # no debug symbols, no local symbols
    else:
        extra_link_args = ["-Wl,--strip-all"]


def extension(name: str, sources: list[str], hot: bool = False) -> Extension:
    return Extension(
        f"{PACKAGE}.{name}",
        sources,
        include_dirs=[np.get_include(), "src"],
        define_macros=[
            ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
            ("CRASH_CORE_DEBUG", "1" if DEBUG else "0"),
        ],
        extra_compile_args=hot_compile_args if hot else extra_compile_args,
        extra_link_args=extra_link_args,
    )


missing = [name for name in KERNELS if not (SRC / f"{name}.pyx").exists()]
missing += [s for sources in DISPATCHED.values() for s in sources if not (HERE / s).exists()]
if missing:
    raise SystemExit(f"src/ lacks the kernel sources {missing}; crash_core cannot be built.")

CYTHON_BUILD = Path("build") / ("cython-debug" if DEBUG else "cython")
SIMD_HEADERS = [str(p.relative_to(HERE)) for p in (SRC / "simd").glob("*.h")]


def cythonized(exts: list[Extension], build_dir: Path) -> list[Extension]:
    """``exts`` with their ``.pyx`` translated to C in ``build_dir`` (when out of date)."""
    exts = cythonize(
        exts,
        include_path=["src"],
        compiler_directives=directives,
        build_dir=str(build_dir),
        shared_utility_qualified_name=SHARED_UTILITY,
        quiet=True,
    )
    for ext in exts:
        ext.depends += ["setup.py", *SIMD_HEADERS]
    return exts


def level_extension(name: str, level: str) -> Extension:
    """Module ``name`` built at ISA ``level``, as ``<name>_<level>``; Cython translates the
    same sources under that module name, into the level's own build directory."""
    (ext,) = cythonized(
        [extension(f"{name}_{level}", DISPATCHED[name], name in HOT)], CYTHON_BUILD / level
    )
    ext.isa_level = level
    return ext


extensions = cythonized(
    [
        *[
            extension(name, DISPATCHED.get(name, [f"src/{name}.pyx"]), name in HOT)
            for name in KERNELS
        ],
        Extension(
            SHARED_UTILITY,
            sources=[],
            extra_compile_args=extra_compile_args,
            extra_link_args=extra_link_args,
        ),
    ],
    CYTHON_BUILD,
)
extensions += [
    level_extension(name, level) for name in DISPATCHED for level in LEVELS if level != "portable"
]


class BuildExt(build_ext):
    """Probe each ISA level's flags, and reuse up-to-date modules from the build cache."""

    cache = HERE / "build" / f"ext-{sysconfig.get_platform()}-{sys.implementation.cache_tag}"
    if DEBUG:
        cache = cache.with_name(cache.name + "-debug")

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        accepted = {level: self._accepts(level, msvc) for level in LEVELS}
        for level, ok in accepted.items():
            if not ok:
                print(f"crash_core: the compiler rejects the {level} flags; leaving that level out")
        self.extensions = [
            ext for ext in self.extensions if accepted.get(getattr(ext, "isa_level", "portable"))
        ]
        for ext in self.extensions:
            level = getattr(ext, "isa_level", None)
            if level:
                ext.extra_compile_args = ext.extra_compile_args + LEVELS[level][msvc]
        super().build_extensions()

    def _accepts(self, level: str, msvc: bool) -> bool:
        """Whether the compiler builds a level's intrinsics with the level's flags."""
        flags, msvc_flags, body = LEVELS[level]
        if level == "portable":
            return True
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / f"probe_{level}.c"
            probe.write_text(f"#include <immintrin.h>\nint probe(void) {{ {body} }}\n")
            try:
                self.compiler.compile(
                    [str(probe)], output_dir=tmp, extra_postargs=msvc_flags if msvc else flags
                )
            except CompileError:
                return False
        return True

    def build_extension(self, ext):
        """Build into the persistent cache (a no-op when up to date), then copy out."""
        target = self.get_ext_fullpath(ext.name)
        build_lib, build_temp = self.build_lib, self.build_temp
        self.build_lib = str(self.cache / "lib")
        self.build_temp = str(self.cache / "temp" / ext.name)
        try:
            super().build_extension(ext)
            built = self.get_ext_fullpath(ext.name)
        finally:
            self.build_lib, self.build_temp = build_lib, build_temp
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


class BuildPyWithPxd(build_py):
    """Ship the kernels' ``.pxd`` declarations inside ``crash_core/_kernels``."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "crash_core" / "_kernels"
        target.mkdir(parents=True, exist_ok=True)
        for pxd in SRC.glob("*.pxd"):
            shutil.copy2(pxd, target / pxd.name)


setup(ext_modules=extensions, cmdclass={"build_py": BuildPyWithPxd, "build_ext": BuildExt})
