"""Content-keyed cache of compiled extension modules, for ``setup.py``.

A module is rebuilt only when something that determines its binary changed.  Its key is a
hash of

- the bytes of every source file it is made from: its ``.pyx`` and the ``.pxd``, ``.pxi``
  and C headers it reaches through ``cimport``, ``include``, ``cdef extern from`` and
  ``#include`` (followed transitively inside the source folder), each named by its path
  relative to that folder;
- the build settings ``setup.py`` passes in: compiler directives, compile and link flags,
  ISA level, Cython, NumPy and SciPy versions, the compiler and its version, the Python ABI.

Nothing else enters: not file times, not where NumPy's headers or a temporary build
environment live.  So the second of two ``pip install -e .`` runs, each in a fresh isolated
build environment, finds every module of the first under the same key and compiles nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

# what a Cython file reaches: cimported modules, included files, C headers
_CIMPORT_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+cimport\b", re.M)
_CIMPORT = re.compile(r"^\s*cimport\s+([\w., ]+?)\s*(?:#.*)?$", re.M)
_INCLUDE = re.compile(r"""^\s*include\s+["']([^"']+)["']""", re.M)
_EXTERN = re.compile(r"""^\s*cdef\s+extern\s+from\s+["']([^"'*]+)["']""", re.M)
# what a C file reaches
_C_INCLUDE = re.compile(r"""^\s*#\s*include\s+"([^"]+)\"""", re.M)


def _reached(path: Path, root: Path) -> list[Path]:
    """Files under ``root`` that ``path`` names directly."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found: list[Path] = []
    if path.suffix in (".pyx", ".pxd", ".pxi"):
        modules = _CIMPORT_FROM.findall(text)
        for group in _CIMPORT.findall(text):
            modules += [name.split(" as ")[0].strip() for name in group.split(",")]
        found += [root / (name.replace(".", "/") + ".pxd") for name in modules]
        found += [root / name for name in _INCLUDE.findall(text) + _EXTERN.findall(text)]
        if path.suffix == ".pyx":
            found.append(path.with_suffix(".pxd"))  # a module's own declarations
    else:
        for name in _C_INCLUDE.findall(text):
            found += [root / name, path.parent / name]
    return [p for p in found if p.is_file()]


def source_closure(sources: Iterable[Path], root: Path) -> list[Path]:
    """``sources`` and every file under ``root`` they reach, transitively, sorted."""
    seen: set[Path] = set()
    todo = [Path(s).resolve() for s in sources]
    root = root.resolve()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [p.resolve() for p in _reached(path, root)]
    return sorted(seen)


def cache_key(sources: Iterable[Path], root: Path, settings: Mapping[str, object]) -> str:
    """Hex digest of the sources reached from ``sources`` (bytes and paths relative to
    ``root``) and of ``settings`` (JSON-serialisable build settings)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    root = root.resolve()
    for path in source_closure(sources, root):
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:  # a source outside the folder: its name alone, not where it is
            name = path.name
        data = path.read_bytes()
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:24]
