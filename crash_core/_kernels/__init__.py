"""Compiled Cython kernels (built from ``src/``)."""
