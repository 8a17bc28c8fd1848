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
``linear`` (the linear models' per-point loops, whole ``def`` functions) is dispatched the
same way, as a module of its own; ``LEVEL_FLAGS`` adds flags to one module's level build.

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
Compiled modules are cached in ``build/ext-cache/`` under a key of what determines them
(``tools/build_cache.py``: the bytes of the sources each module reaches, the flags and
directives, the level, the Cython / NumPy / SciPy versions, the compiler, the Python ABI).
A module whose key is cached is copied out, neither translated by Cython nor compiled, so
the README's second ``pip install -e`` -- in a fresh isolated build environment whose NumPy
and SciPy files are newer than anything built before -- compiles nothing.
"""

import importlib.util
import os
import shutil
import subprocess
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
# the modules compiled once (``wrappers`` includes the families' Python-facing functions:
# src/blas.pyx, activations.pyx, losses.pyx, optimizers.pyx, random.pyx)
KERNELS = ["wrappers", "network", "network_kernels", "linear"]
# module -> sources compiled once per ISA level (the .pyx first)
DISPATCHED = {"network_kernels": ["src/network_kernels.pyx"], "linear": ["src/linear.pyx"]}
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
# small-network epoch measured up to 1.5x slower; -O2 on network_kernels still cost 9% on
# the tiny fit); the argument checks (network) and Cython's run-time get -O2 (-O1 cost 4%
# per small call); the building blocks exposed for the tests (wrappers) get -O1, which
# compiles them in 3.1 s instead of 4.9 (BENCHMARKS.md, "Build and wheel").
# The argument checks (network) and Cython's run-time (_cyutility) run once per call, not
# per batch: at -O1 they compile in 3.7 s and 3.3 s instead of 6.5 s and 5.7 s, and an
# epoch does not move; a one-row predict may pay a few per cent.
# Where a faster ISA level is built beside it, the portable kernel module only serves CPUs
# without AVX2 + FMA (x86 before 2013): it gets -O2 with the full vectoriser, which
# compiles in 6.8 s instead of 9.3 s and measured 0-3% slower per step than -O3.
HOT = {"network_kernels", "linear"}
# the dispatched modules whose portable build gets the fallback flags; ``linear``'s keeps
# -O3: Perceptron takes it on every CPU, and its per-point loop took 1.12 of the -O3 time
# at 5 features with the fallback flags (BENCHMARKS.md, round 18)
FALLBACK = {"network_kernels"}
COLD = {"wrappers", "network"}
if os.name == "nt":
    extra_compile_args = ["/Od"] if DEBUG else ["/O2"]
    hot_compile_args = cold_compile_args = fallback_compile_args = extra_compile_args
    extra_link_args = []
else:
    extra_compile_args = ["-O0", "-g"] if DEBUG else ["-O2", "-g0"]
    # nothing in these modules reads errno; without it GCC vectorises the loops that call
    # sqrt: a training step with Adam took 0.47-0.71 of its time before (BENCHMARKS.md,
    # round 13)
    hot_compile_args = ["-O0", "-g"] if DEBUG else ["-O3", "-g0", "-fno-math-errno"]
    cold_compile_args = ["-O0", "-g"] if DEBUG else ["-O1", "-g0"]
    # an explicit -ftree-vectorize makes GCC's cost model "dynamic", as at -O3
    fallback_compile_args = (
        hot_compile_args if DEBUG else ["-O2", "-ftree-vectorize", "-g0", "-fno-math-errno"]
    )
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
        extra_compile_args=(
            hot_compile_args if hot else cold_compile_args if name in COLD else extra_compile_args
        ),
        extra_link_args=extra_link_args,
    )


missing = [name for name in KERNELS if not (SRC / f"{name}.pyx").exists()]
missing += [s for sources in DISPATCHED.values() for s in sources if not (HERE / s).exists()]
if missing:
    raise SystemExit(f"src/ lacks the kernel sources {missing}; crash_core cannot be built.")

CYTHON_BUILD = Path("build") / ("cython-debug" if DEBUG else "cython")


def _load_build_cache():
    spec = importlib.util.spec_from_file_location("build_cache", HERE / "tools" / "build_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_cache = _load_build_cache()


# (module, level) -> flags of that build alone (GCC / Clang).  The per-point loops of
# ``linear`` store a point's step into w and read w back for the next point's score, and
# wider vectors made them wait on it: a 20-feature logistic step took 26 ns a point in
# 512-bit vectors, 17 in 256-bit and 16 in 128-bit ones (AVX-512 build), a 100-feature one
# 82 ns in 256-bit and 49 in 128-bit vectors (AVX2 build); a Zen 5, one process,
# alternating (BENCHMARKS.md, round 18).
LEVEL_FLAGS = {
    ("linear", "avx512"): ["-mprefer-vector-width=128"],
    ("linear", "avx2"): ["-mprefer-vector-width=128"],
}


def level_extension(name: str, level: str) -> Extension:
    """Module ``name`` built at ISA ``level``, as ``<name>_<level>``: the C that Cython
    translated for ``name``, compiled with the level's flags, its init function renamed."""
    ext = extension(f"{name}_{level}", DISPATCHED[name], name in HOT)
    if os.name != "nt":
        ext.extra_compile_args = ext.extra_compile_args + LEVEL_FLAGS.get((name, level), [])
    ext.define_macros.append((f"PyInit_{name}", f"PyInit_{name}_{level}"))
    ext.isa_level = level
    ext.translated_as = f"{PACKAGE}.{name}"
    return ext


extensions = [
    *[extension(name, DISPATCHED.get(name, [f"src/{name}.pyx"]), name in HOT) for name in KERNELS],
    Extension(
        SHARED_UTILITY,
        sources=[],
        extra_compile_args=cold_compile_args,
        extra_link_args=extra_link_args,
    ),
    *[level_extension(name, lv) for name in DISPATCHED for lv in LEVELS if lv != "portable"],
]


class BuildExt(build_ext):
    """Build each module once per content: a module whose key (``tools/build_cache.py``:
    its sources' bytes and the build settings) is in the cache is copied from there --
    neither translated by Cython nor compiled; any other is translated, compiled (an ISA
    level only when the compiler accepts its flags) and stored under its key."""

    cache = HERE / "build" / "ext-cache"

    def build_extensions(self):
        self._msvc = self.compiler.compiler_type == "msvc"
        self._accepted = {}
        self._translated = {}  # module name -> its C sources, translated in this run
        self._toolchain = self._describe_toolchain()
        super().build_extensions()

    def run(self):
        if self.inplace or getattr(self, "editable_mode", False):
            self._remove_stale_modules()
        super().run()

    def _remove_stale_modules(self):
        """Delete compiled modules of an earlier layout from the source tree: one left
        there (``blas`` when it was its own module) would shadow its Python successor."""
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        current = {ext.name.rsplit(".", 1)[1] for ext in self.extensions}
        for path in (HERE / "crash_core" / "_kernels").glob(f"*{suffix}"):
            if path.name[: -len(suffix)] not in current:
                print(f"crash_core: removing {path.name}, a module this build no longer makes")
                path.unlink()

    def _describe_toolchain(self) -> dict:
        """What else determines the binaries: tools, their versions, the Python ABI."""
        import Cython
        import scipy

        command = getattr(self.compiler, "compiler_so", None) or [self.compiler.compiler_type]
        linker = getattr(self.compiler, "linker_so", None) or []
        try:
            version = subprocess.run(
                [command[0], "--version"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            version = ""
        return {
            "compiler": [command, linker, version],
            "cython": Cython.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": [
                sys.version,
                sysconfig.get_config_var("EXT_SUFFIX"),
                sysconfig.get_platform(),
            ],
            "directives": directives,
            "shared utility": SHARED_UTILITY,
        }

    def _accepts(self, level: str) -> bool:
        """Whether the compiler builds a level's intrinsics with the level's flags."""
        if level not in self._accepted:
            flags, msvc_flags, body = LEVELS[level]
            self._accepted[level] = True
            if level != "portable":
                with tempfile.TemporaryDirectory() as tmp:
                    probe = Path(tmp) / f"probe_{level}.c"
                    probe.write_text(f"#include <immintrin.h>\nint probe(void) {{ {body} }}\n")
                    try:
                        self.compiler.compile(
                            [str(probe)],
                            output_dir=tmp,
                            extra_postargs=msvc_flags if self._msvc else flags,
                        )
                    except CompileError:
                        print(f"crash_core: the compiler rejects the {level} flags; left out")
                        self._accepted[level] = False
        return self._accepted[level]

    def _key(self, ext) -> str:
        level = getattr(ext, "isa_level", None)
        settings = {
            **self._toolchain,
            "module": ext.name,
            "debug": DEBUG,
            "level": [level, LEVELS[level][self._msvc] if level else []],
            "compile": ext.extra_compile_args,
            "link": ext.extra_link_args,
            "macros": ext.define_macros,
        }
        return build_cache.cache_key([HERE / s for s in ext.sources], SRC, settings)

    def build_extension(self, ext):
        """Copy the module from the cache, building it there first when it is not in it."""
        level = getattr(ext, "isa_level", None)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        stem = ext.name + ("-debug" if DEBUG else "")
        if ext.name.rsplit(".", 1)[1] in FALLBACK and any(
            self._accepts(other) for other in LEVELS if other != "portable"
        ):
            ext.extra_compile_args = fallback_compile_args
        cached = self.cache / f"{stem}.{self._key(ext)}{suffix}"
        if cached.exists():
            print(f"crash_core: {ext.name} unchanged, from the build cache")
        else:
            if level and not self._accepts(level):
                return
            self._build_into(ext, level, cached)
            for old in self.cache.glob(f"{stem}.*{suffix}"):
                if old != cached:
                    old.unlink()
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, target)

    def _translate(self, name: str, sources: list[str]) -> list[str]:
        """The C sources of module ``name`` (its ``.pyx`` translated by Cython once per run)."""
        if name not in self._translated:
            (translated,) = cythonize(
                [Extension(name, list(sources))],
                include_path=["src"],
                compiler_directives=directives,
                build_dir=str(CYTHON_BUILD),
                shared_utility_qualified_name=SHARED_UTILITY,
                force=True,
                quiet=True,
            )
            self._translated[name] = translated.sources
        return self._translated[name]

    @staticmethod
    def _renamed(name: str, portable: str, sources: list[str]) -> list[str] | None:
        """``sources`` with the C Cython wrote for module ``portable`` renamed ``name``: the
        quoted module name replaced (Cython files the module under it in ``sys.modules``),
        ``PyInit_<module>`` renamed by a macro (``level_extension``).  None when the quoted
        name is not there (another Cython): the caller translates ``name`` itself."""
        c_file = Path(sources[0])
        text = c_file.read_text(encoding="utf-8")
        if f'"{portable}"' not in text:
            return None
        renamed = c_file.with_name(name.rsplit(".", 1)[1] + c_file.suffix)
        renamed.write_text(text.replace(f'"{portable}"', f'"{name}"'), encoding="utf-8")
        return [str(renamed), *sources[1:]]

    def _build_into(self, ext, level, cached: Path):
        """Translate (once per run for all levels) and compile ``ext`` in a scratch
        directory, then store it as ``cached``."""
        base = getattr(ext, "translated_as", None)
        translated = None
        if base:
            translated = self._renamed(ext.name, base, self._translate(base, ext.sources))
        sources, flags = ext.sources, ext.extra_compile_args
        ext.sources = translated or self._translate(ext.name, ext.sources)
        if level:
            ext.extra_compile_args = flags + LEVELS[level][self._msvc]
        self.cache.mkdir(parents=True, exist_ok=True)
        build_lib, build_temp = self.build_lib, self.build_temp
        with tempfile.TemporaryDirectory(dir=self.cache) as scratch:
            self.build_lib = str(Path(scratch) / "lib")
            self.build_temp = str(Path(scratch) / "temp")
            try:
                super().build_extension(ext)
                built = Path(self.get_ext_fullpath(ext.name))
            finally:
                self.build_lib, self.build_temp = build_lib, build_temp
                ext.sources, ext.extra_compile_args = sources, flags
            os.replace(built, cached)


class BuildPyWithPxd(build_py):
    """Ship the kernels' ``.pxd`` declarations inside ``crash_core/_kernels``."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "crash_core" / "_kernels"
        target.mkdir(parents=True, exist_ok=True)
        for pxd in SRC.glob("*.pxd"):
            shutil.copy2(pxd, target / pxd.name)


setup(ext_modules=extensions, cmdclass={"build_py": BuildPyWithPxd, "build_ext": BuildExt})
