"""crash_core's benchmarks: asv suites (``bench_*.py``) and scripts (``compare.py``,
``step_time.py``).  Every module here is import-safe: asv imports them all to collect
benchmarks, so no module does work at import time."""
