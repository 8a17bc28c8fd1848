"""The command line: ``python -m crash_core demo | train | predict``.

    python -m crash_core demo [--figures DIR | --no-figures]
    python -m crash_core train DATA.csv --target COLUMN [--model mlp] [options] -o MODEL
    python -m crash_core predict MODEL DATA.csv [-o OUT.csv]

CSV files have a header row.  ``train`` uses every column but the target as a numeric
feature; ``predict`` reads the feature columns the model was trained on, by name.
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

MODELS = {
    "mlp": "MLPClassifier",
    "mlp-regressor": "MLPRegressor",
    "logistic": "LogisticRegression",
    "perceptron": "Perceptron",
}


class CliError(Exception):
    """A problem with the command's input, reported as one line without a traceback."""


def read_csv(path: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows of strings) from a CSV file with a header row."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [row for row in reader if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    if not header:
        raise CliError(f"{path} is empty; it needs a header row and data rows.")
    header = [h.strip() for h in header]
    for i, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise CliError(
                f"{path}, line {i}: {len(row)} fields, but the header has {len(header)}."
            )
    if not rows:
        raise CliError(f"{path} has a header but no data rows.")
    return header, rows


def numeric_columns(
    path: str, header: list[str], rows: list[list[str]], columns: Sequence[str]
) -> np.ndarray:
    """The named columns as a float array; a non-number names its line and column."""
    index = {name: i for i, name in enumerate(header)}
    missing = [c for c in columns if c not in index]
    if missing:
        raise CliError(f"{path} has no column(s) {missing}; it has {header}.")
    X = np.empty((len(rows), len(columns)))
    for j, name in enumerate(columns):
        col = index[name]
        for i, row in enumerate(rows):
            try:
                X[i, j] = float(row[col])
            except ValueError:
                raise CliError(
                    f"{path}, line {i + 2}, column {name!r}: {row[col]!r} is not a number; "
                    "features must be numeric (encode categories as numbers first)."
                ) from None
    return X


def _labels(values: list[str]) -> np.ndarray:
    """Target strings as ints when they all are, else floats when they all are, else strings."""
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in values])
        except ValueError:
            continue
    return np.array(values)


def _build(args: argparse.Namespace) -> Any:
    import crash_core as cc

    cls = getattr(cc, MODELS[args.model])
    params: dict[str, Any] = {"random_state": args.random_state}
    for name in ("epochs", "learning_rate"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.model in ("mlp", "mlp-regressor"):
        params.update(
            hidden_layers=args.hidden,
            activation=args.activation,
            optimizer=args.optimizer,
            dropout=args.dropout,
            l1=args.l1,
            l2=args.l2,
            early_stopping=args.early_stopping,
            verbose=int(args.verbose),
        )
        if args.batch_size is not None:
            params["batch_size"] = args.batch_size
    elif args.model == "logistic":
        params.update(l1=args.l1, l2=args.l2, batch_size=args.batch_size)
    return cls(**params)


def cmd_train(args: argparse.Namespace) -> int:
    import crash_core as cc

    header, rows = read_csv(args.data)
    if args.target not in header:
        raise CliError(f"{args.data} has no column {args.target!r}; it has {header}.")
    features = [h for h in header if h != args.target]
    X = numeric_columns(args.data, header, rows, features)
    target = header.index(args.target)
    y = _labels([row[target] for row in rows])
    if args.model == "mlp-regressor":
        y = y.astype(np.float64)
    model = _build(args)
    X_test = y_test = None
    if args.test_size:
        stratify = y if args.model != "mlp-regressor" else None
        X, X_test, y, y_test = cc.datasets.train_test_split(
            X, y, test_size=args.test_size, stratify=stratify, random_state=args.random_state
        )
    model.fit(X, y)
    model.feature_names_in_ = np.array(features, dtype=object)
    metric = "R^2" if args.model == "mlp-regressor" else "accuracy"
    print(f"{type(model).__name__} on {X.shape[0]} rows x {X.shape[1]} features")
    print(f"training {metric}: {model.score(X, y):.4f}")
    if X_test is not None:
        print(f"test {metric}: {model.score(X_test, y_test):.4f} ({X_test.shape[0]} held-out rows)")
    model.save(args.output)
    print(f"saved {args.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import crash_core as cc

    model = cc.load(args.model)
    header, rows = read_csv(args.data)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        columns = [str(c) for c in names]
    else:
        columns = header[: model.n_features_in_]
    X = numeric_columns(args.data, header, rows, columns)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names.*")
        pred = model.predict(X)
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(["prediction"])
        for value in pred:
            writer.writerow([value.item() if hasattr(value, "item") else value])
    finally:
        if args.output:
            out.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crash_core import demo

    demo.run(None if args.no_figures else args.figures)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m crash_core", description="crash_core: the machine-learning crash course."
    )
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole crash course on built-in data")
    demo.add_argument(
        "--figures",
        default="crash_course_figures",
        help="folder for the pictures (needs matplotlib)",
    )
    demo.add_argument("--no-figures", action="store_true", help="save no pictures")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser("train", help="train a model on a CSV file and save it")
    train.add_argument("data", help="CSV file with a header row")
    train.add_argument("--target", required=True, help="the column to predict")
    train.add_argument("--model", choices=sorted(MODELS), default="mlp")
    train.add_argument("--hidden", type=_ints, default=(64,), help="hidden layer sizes, e.g. 64,32")
    train.add_argument("--activation", default="relu", choices=["relu", "sigmoid", "tanh"])
    train.add_argument(
        "--optimizer", default="adam", choices=["sgd", "momentum", "nesterov", "adam"]
    )
    train.add_argument("--epochs", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--l1", type=float, default=0.0)
    train.add_argument("--l2", type=float, default=0.0)
    train.add_argument("--early-stopping", action="store_true")
    train.add_argument(
        "--test-size",
        type=float,
        default=0.0,
        help="fraction held out to report a test score (default 0: none)",
    )
    train.add_argument("--random-state", type=int, default=0)
    train.add_argument("--verbose", action="store_true")
    train.add_argument("-o", "--output", required=True, help="where to save the model")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="a file written by train (or model.save)")
    predict.add_argument("data", help="CSV file with the training feature columns")
    predict.add_argument("-o", "--output", help="CSV file for the predictions (default stdout)")
    predict.set_defaults(func=cmd_predict)
    return p


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of ints like 64,32") from None
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ValueError, TypeError, FileNotFoundError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
