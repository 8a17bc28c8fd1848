"""Deployment and scale-out: ONNX Runtime inference, and a grid search on a Dask cluster.

1. Inference: the mnist-like network (784-256-128-10, relu, softmax, float32) predicting
   200,000 rows: ``model.predict_proba`` against an ONNX Runtime session on the file
   ``model.to_onnx()`` wrote, at 1 thread and at every core (ORT's intra-op threads,
   crash_core's BLAS threads).  The two outputs are checked to agree first (within 1e-4:
   each float32 sum of 784 products is some 1e-5 away from the float64 result, on both
   sides; the largest difference is printed).
2. Grid search: ``GridSearchCV`` over an ``MLPClassifier`` on the digits-like data
   (20,000 x 64, 10 classes), run locally (``n_jobs=1``), with joblib's loky processes
   (``n_jobs=-1``), and through joblib's Dask backend on a ``LocalCluster`` of one worker
   process per core (the cluster's start-up is timed apart); the three ``cv_results_`` must
   be equal.

Usage::

    python benchmarks/deploy.py                 # both parts, 5 repeats of the inference
    python benchmarks/deploy.py --quick         # 20,000 rows, a smaller grid, 1 repeat
    python benchmarks/deploy.py --part onnx     # or --part dask

Needs the ``onnx`` and ``dask`` extras (``pip install -e ".[onnx,dask]"``) and threadpoolctl.
Inference times are the best of the repeats (the two taking turns), in seconds; the grid
searches run once each.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import blobs  # noqa: E402

import crash_core as cc  # noqa: E402


def best_of(fns: list, repeats: int) -> list[float]:
    """Best time of each function over ``repeats`` rounds, the functions taking turns within
    a round, so that a burst of load from other processes hits them alike."""
    for fn in fns:
        fn()  # warm-up: first-call allocations, thread pools
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def inference(n_rows: int, repeats: int) -> list[tuple[str, float, float]]:
    import onnxruntime as ort
    from threadpoolctl import threadpool_limits

    X_fit, y_fit = blobs(2_000, 784, 10, seed=0)
    model = cc.MLPClassifier(
        hidden_layers=(256, 128), epochs=1, batch_size=128, learning_rate=0.05, random_state=0
    ).fit(X_fit, y_fit)
    X, _ = blobs(n_rows, 784, 10, seed=1)
    data = model.to_onnx()
    cores = os.cpu_count() or 1
    rows = []
    for threads in sorted({1, cores}):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        with threadpool_limits(limits=threads):
            P = model.predict_proba(X)
            onnx_P = session.run(["probabilities"], {"X": X})[0]
            gap = float(np.abs(P - onnx_P).max())
            # float32 sums of 784 products: each side is ~1e-5 from the float64 result
            assert gap < 1e-4, f"the ONNX model disagrees with the model by {gap:.2e}"
            ours, theirs = best_of(
                [
                    lambda: model.predict_proba(X),
                    lambda s=session: s.run(["probabilities"], {"X": X}),
                ],
                repeats,
            )
        rows.append((f"{threads}", ours, theirs, gap))
    return rows


def grid_search(quick: bool) -> tuple[list[tuple[str, float]], float]:
    import distributed
    import joblib
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X, y = blobs(5_000 if quick else 20_000, 64, 10, seed=0)
    grid = {"hidden_layers": [(32,), (128,)], "learning_rate": [0.01, 0.05]}
    if not quick:
        grid["l2"] = [0.0, 1e-4]
    search = GridSearchCV(
        cc.MLPClassifier(epochs=5, batch_size=64, optimizer="sgd", random_state=0), grid, cv=3
    )
    cores = os.cpu_count() or 1
    results, rows = [], []
    start = time.perf_counter()
    results.append(clone(search).fit(X, y).cv_results_)
    rows.append(("local, n_jobs=1", time.perf_counter() - start))
    start = time.perf_counter()
    results.append(clone(search).set_params(n_jobs=-1).fit(X, y).cv_results_)
    rows.append((f"local, loky n_jobs=-1 ({cores} processes)", time.perf_counter() - start))
    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=cores,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    client.wait_for_workers(cores)
    startup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            results.append(clone(search).set_params(n_jobs=-1).fit(X, y).cv_results_)
        seconds = time.perf_counter() - start
        rows.append((f"Dask LocalCluster ({cores} workers x 1 thread)", seconds))
    finally:
        client.close()
        cluster.close()
    for other in results[1:]:
        np.testing.assert_array_equal(other["mean_test_score"], results[0]["mean_test_score"])
    return rows, startup


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["onnx", "dask", "all"], default="all")
    parser.add_argument("--rows", type=int, default=None, help="rows to predict (200,000)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows = args.rows or (20_000 if args.quick else 200_000)
    repeats = args.repeats or (1 if args.quick else 5)
    if args.part in ("onnx", "all"):
        title = f"Inference, mnist-like 784-256-128-10 float32, {rows:,} rows"
        print(f"\n{title} (best of {repeats}, s)\n")
        print("| threads | model.predict_proba | onnxruntime | ratio | max abs difference |")
        print("|---|---|---|---|---|")
        for threads, ours, theirs, gap in inference(rows, repeats):
            print(f"| {threads} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} | {gap:.1e} |")
    if args.part in ("dask", "all"):
        results, startup = grid_search(args.quick)
        print("\nGridSearchCV over MLPClassifier, digits-like data (s, one run each)\n")
        print("| where | fit |")
        print("|---|---|")
        for name, seconds in results:
            print(f"| {name} | {seconds:.2f} |")
        print(f"\nLocalCluster start-up (not included above): {startup:.2f} s")


if __name__ == "__main__":
    main()
