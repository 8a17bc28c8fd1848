"""The peer harness's report of what each target asks of one core (benchmarks/compare.py).

The harness ships with the source tree, not the wheel: outside the tree this module skips.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

COMPARE = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"


@pytest.fixture(scope="module")
def compare():
    if not COMPARE.exists():
        pytest.skip("benchmarks/compare.py is in the source tree only")
    # run as a script, the harness puts benchmarks/ on sys.path for its helper modules:
    # both are put back as they were once it is loaded
    path = list(sys.path)
    spec = importlib.util.spec_from_file_location("compare_under_test", COMPARE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path
        for name in ("common", "numpy_mlp"):
            sys.modules.pop(name, None)
    return module


def _row(**times):
    return {
        "name": "w (n=10)",
        "flops": 2.0e9,
        "dtype": "float32",
        "times": {k: (v, 1) for k, v in times.items()},
        "targets": {"jax": 0.5, "sklearn": 0.1, "floor": 1.3},
    }


def test_shares_are_the_flops_at_the_peak_over_the_allowed_time(compare):
    # 2 GFLOP at 100 GFLOP/s take 20 ms.  crash_core took 40 ms: 50%.  JAX took 50 ms and
    # its target allows 0.5 x 50 = 25 ms: 80%.  scikit-learn took 100 ms, 0.1 of it is
    # 10 ms: 200%, beyond one core.
    table = compare.demand_table([_row(crash_core=0.040, jax=0.050, sklearn=0.100)], 100e9)
    lines = table.splitlines()
    assert lines[0].split(" | ")[:2] == ["| workload", "crash_core reached"]
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    by_column = dict(zip([c.strip() for c in lines[0].strip("|").split("|")], cells, strict=True))
    assert by_column["crash_core reached"] == "50%"
    assert by_column["vs JAX asks"] == "80%"
    assert by_column["vs scikit-learn asks"] == "200%"
    # a peer without a target or without a time shows a dash
    assert by_column["vs NumPy asks"] == "—"
    assert by_column["vs PyTorch asks"] == "—"


def test_rows_without_flops_or_in_float64_are_left_out(compare):
    linear = {"name": "logistic", "times": {"crash_core": (0.01, 1)}, "targets": {}}
    f64 = dict(_row(crash_core=0.04), dtype="float64")
    assert compare.demand_table([linear, f64], 100e9) == ""
    timed_out = _row(jax=0.05)
    timed_out["times"]["crash_core"] = "error"  # as the harness marks a run that failed
    lines = compare.demand_table([timed_out], 100e9).splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = dict(zip(head, [c.strip() for c in lines[2].strip("|").split("|")], strict=True))
    assert cells["crash_core reached"] == "—"
    assert cells["vs JAX asks"] == "80%"  # what a target asks does not need crash_core's run
