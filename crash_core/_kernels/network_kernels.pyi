"""One ISA level's network kernels (``src/network_kernels.pyx``), for ``network`` only."""

table: object
"""PyCapsule holding the level's table of C function pointers (``src/network_table.pxd``)."""
