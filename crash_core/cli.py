"""The command line: ``python -m crash_core demo | train | predict`` (also ``crash-core ...``).

    python -m crash_core train DATA --target COLUMN [--model auto] [options] -o MODEL
    python -m crash_core predict MODEL DATA [--proba] [-o OUT.csv]
    python -m crash_core demo [--figures DIR | --no-figures]
    python -m crash_core --version

``train`` reads a CSV (delimiter sniffed, or ``--sep``) or Parquet file, learns a
:class:`~crash_core.preprocessing.TabularPreprocessor` on the training rows (numeric columns
imputed and standardised, string columns one-hot encoded, ``--drop`` columns left out), trains
the model on its output and saves both in one model file. ``predict`` reads the columns the
model was trained on BY NAME and replays the preprocessing. Nothing is guessed silently: the
target's kind and the chosen model are printed, and a flag that does not apply to the chosen
model is an error.

Every failure is one line on stderr, ``error: ...``, and an exit code:

====  ==========================================================
0     success
2     wrong usage: an unknown or inapplicable flag, a bad value
65    the data or the model file is not usable (names the problem)
66    an input file cannot be opened (missing, a directory, no access)
70    training failed (diverged); the message names the cure
73    the output cannot be written (disk full, a directory, no access)
====  ==========================================================
"""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

EXIT_OK, EXIT_USAGE, EXIT_DATA, EXIT_NOINPUT, EXIT_SOFTWARE, EXIT_CANTCREAT = 0, 2, 65, 66, 70, 73

MODELS = {
    "mlp": "MLPClassifier",
    "mlp-regressor": "MLPRegressor",
    "logistic": "LogisticRegression",
    "perceptron": "Perceptron",
}
REGRESSORS = {"mlp-regressor"}
# command-line flag -> (estimator parameter, the --model values it applies to)
MODEL_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hidden": ("hidden_layers", ("mlp", "mlp-regressor")),
    "activation": ("activation", ("mlp", "mlp-regressor")),
    "optimizer": ("optimizer", ("mlp", "mlp-regressor", "logistic")),
    "epochs": ("epochs", ("mlp", "mlp-regressor", "logistic", "perceptron")),
    "learning_rate": ("learning_rate", ("mlp", "mlp-regressor", "logistic", "perceptron")),
    "batch_size": ("batch_size", ("mlp", "mlp-regressor", "logistic")),
    "dropout": ("dropout", ("mlp", "mlp-regressor")),
    "l1": ("l1", ("mlp", "mlp-regressor", "logistic")),
    "l2": ("l2", ("mlp", "mlp-regressor", "logistic")),
    "early_stopping": ("early_stopping", ("mlp", "mlp-regressor")),
    "verbose": ("verbose", ("mlp", "mlp-regressor", "logistic", "perceptron")),
}


class CliError(Exception):
    """A problem reported as one line without a traceback, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_DATA) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------- reading
def _read(args: argparse.Namespace) -> Any:
    from crash_core.tables import read_table

    try:
        return read_table(
            args.data,
            sep=args.sep,
            header=not args.no_header,
            na_values=args.na or (),
            decimal=args.decimal,
            encoding=args.encoding,
        )
    except ImportError as exc:
        raise CliError(str(exc), EXIT_SOFTWARE) from None


def _column(frame: Any, spec: str, no_header: bool, what: str) -> str:
    """The column named ``spec``; without a header also a position (negative from the end)."""
    columns = list(frame.columns)
    if spec in columns:
        return spec
    if no_header:
        try:
            position = int(spec)
        except ValueError:
            position = None
        if position is not None and -len(columns) <= position < len(columns):
            return columns[position]
        raise CliError(
            f"{what} {spec!r}: without a header, columns are named by position 0..."
            f"{len(columns) - 1} (or -1 for the last).",
            EXIT_USAGE,
        )
    raise CliError(f"{what} {spec!r} is not a column; the file has {columns}.", EXIT_USAGE)


def _identifier_columns(frame: Any, features: list[str]) -> list[str]:
    """Columns that name rows rather than describe them: every value different and either
    text, or whole numbers in a column called like an id."""
    n = frame.shape[0]
    found = []
    for name in features:
        column = frame[name]
        if n < 10 or column.isna().any() or column.nunique() != n:
            continue
        if column.dtype.kind in "OSU" or str(column.dtype) in ("string", "category"):
            found.append(name)
        elif column.dtype.kind in "iu":
            lowered = name.lower().replace(" ", "_")
            if lowered in ("id", "index", "row", "key") or lowered.endswith("_id"):
                found.append(name)
    return found


def _decimal_comma_columns(frame: Any, features: list[str]) -> list[str]:
    """Text columns whose every value reads as a number with a decimal comma, like 3,14."""
    found = []
    for name in features:
        column = frame[name].dropna()
        if column.dtype.kind == "O" and len(column):
            text = column.astype(str)
            if text.str.fullmatch(r"[-+]?\d+(,\d+)?").all() and text.str.contains(",").any():
                found.append(name)
    return found


# ---------------------------------------------------------------------- train
def _flags_given(args: argparse.Namespace) -> dict[str, Any]:
    return {flag: getattr(args, flag) for flag in MODEL_FLAGS if getattr(args, flag) is not None}


def _check_flags(args: argparse.Namespace, model: str) -> None:
    for flag, (_, applies) in MODEL_FLAGS.items():
        if getattr(args, flag) is not None and model not in applies:
            raise CliError(
                f"--{flag.replace('_', '-')} does not apply to --model {model} "
                f"(it applies to {', '.join(applies)}); remove it.",
                EXIT_USAGE,
            )


def _build(args: argparse.Namespace, model: str) -> Any:
    import crash_core as cc

    params: dict[str, Any] = {"random_state": args.random_state}
    for flag, value in _flags_given(args).items():
        params[MODEL_FLAGS[flag][0]] = int(value) if flag == "verbose" else value
    return getattr(cc, MODELS[model])(**params)


def _choose_model(args: argparse.Namespace, kind: str, reason: str) -> tuple[str, str]:
    """(the --model value, a sentence for the output saying what was chosen and why)."""
    if args.model == "auto":
        model = "mlp-regressor" if kind == "regression" else "mlp"
        note = "pass --model to choose another" if kind == "classification" else (
            "pass --model mlp, logistic or perceptron to classify instead"
        )
        return model, f"{kind} with {MODELS[model]} ({note})"
    chosen_kind = "regression" if args.model in REGRESSORS else "classification"
    if chosen_kind == "regression" and kind == "classification" and "labels" in reason:
        raise CliError(
            f"--model {args.model} needs a numeric target, but the target has {reason}; "
            "use --model mlp, logistic or perceptron.",
            EXIT_USAGE,
        )
    if chosen_kind == "classification" and "fractional" in reason:
        raise CliError(
            f"--model {args.model} is a classifier, but the target is {reason}; use "
            "--model mlp-regressor (or --model auto).",
            EXIT_USAGE,
        )
    return args.model, f"{chosen_kind} with {MODELS[args.model]} (--model {args.model})"


def cmd_train(args: argparse.Namespace) -> int:
    import crash_core as cc
    from crash_core.exceptions import ConvergenceWarning
    from crash_core.preprocessing import TabularPreprocessor, target_kind

    if args.model != "auto":
        _check_flags(args, args.model)
    if not 0.0 <= args.test_size < 1.0:
        raise CliError(f"--test-size must be in [0, 1), got {args.test_size}.", EXIT_USAGE)
    frame = _read(args)
    print(f"read {args.data}: {frame.shape[0]} rows x {frame.shape[1]} columns")
    target = _column(frame, args.target, args.no_header, "--target")
    drop = [_column(frame, d, args.no_header, "--drop") for d in _split_names(args.drop)]
    if target in drop:
        raise CliError(f"--drop names the target {target!r}; the target is never a feature.",
                       EXIT_USAGE)
    missing_target = frame[target].isna()
    if missing_target.all():
        raise CliError(f"the target {target!r} has no values.")
    if missing_target.any():
        frame = frame[~missing_target]
        print(f"left out {int(missing_target.sum())} rows whose target {target!r} is missing")
    features = [c for c in frame.columns if c != target and c not in drop]
    if not features:
        raise CliError("no feature columns are left (all are the target or dropped).", EXIT_USAGE)
    comma = _decimal_comma_columns(frame, features) if args.decimal == "." else []
    if comma:
        raise CliError(
            f"column(s) {comma} hold numbers written with a decimal comma (e.g. "
            f"{frame[comma[0]].dropna().iloc[0]!r}); pass --decimal ,",
            EXIT_USAGE,
        )
    ids = _identifier_columns(frame, features)
    if ids:
        raise CliError(
            f"column(s) {ids} hold a different value in every row, so they identify rows "
            f"rather than describe them; leave them out with --drop {','.join(ids)}.",
        )
    y_raw = frame[target]
    kind, reason = target_kind(y_raw)
    model_name, sentence = _choose_model(args, kind, reason)
    if args.model == "auto":
        _check_flags(args, model_name)
    print(f"target {target!r}: {reason} -> {sentence}")
    y = y_raw.to_numpy()
    if model_name in REGRESSORS:
        y = y.astype(np.float64)
    elif y.dtype.kind == "f":  # whole numbers read as floats (a missing value was dropped)
        y = y.astype(np.int64)
    elif y.dtype.kind == "O":
        y = y.astype(str)
    X_raw = frame[features]
    rows = np.arange(frame.shape[0])
    test_rows = None
    if args.test_size:
        stratify = None if model_name in REGRESSORS else y
        try:
            rows, test_rows, _, _ = cc.datasets.train_test_split(
                rows, rows, test_size=args.test_size, stratify=stratify,
                random_state=args.random_state,
            )
        except ValueError:  # a class too small to be on both sides
            rows, test_rows, _, _ = cc.datasets.train_test_split(
                rows, rows, test_size=args.test_size, random_state=args.random_state
            )
    regression = model_name in REGRESSORS
    prep = TabularPreprocessor(standardize_target=regression).fit(X_raw.iloc[rows], y[rows])
    print(f"features: {prep.describe()}")
    if regression:  # R^2 is the same on either scale; predict maps back to the target's units
        y = prep.transform_target(y)
        print(f"target standardised: mean {prep.target_mean_:.6g}, std {prep.target_scale_:.6g}")
    model = _build(args, model_name)
    X = prep.transform(X_raw.iloc[rows])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y[rows])
    for warning in caught:  # one line each, after the fit, not a Python warning report
        if issubclass(warning.category, ConvergenceWarning):
            print("note: " + " ".join(str(warning.message).split()))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    metric = "R^2" if model_name in REGRESSORS else "accuracy"
    print(f"{type(model).__name__} on {X.shape[0]} rows x {X.shape[1]} features, "
          f"{model.n_epochs_} epochs")
    print(f"training {metric}: {model.score(X, y[rows]):.4f}")
    if test_rows is not None:
        score = model.score(prep.transform(X_raw.iloc[test_rows]), y[test_rows])
        print(f"test {metric}: {score:.4f} ({len(test_rows)} held-out rows)")
    model.preprocessor_ = prep
    _write_model(model, args.output)
    print(f"saved {args.output}")
    return EXIT_OK


def _split_names(values: Sequence[str] | None) -> list[str]:
    """--drop a,b --drop c -> [a, b, c]."""
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


def _write_model(model: Any, path: str) -> None:
    if os.path.isdir(path):
        raise CliError(f"cannot write the model to {path}: it is a directory.", EXIT_CANTCREAT)
    try:
        model.save(path)
    except OSError as exc:
        _remove_partial(path)
        raise CliError(f"cannot write the model to {path}: {exc.strerror or exc}.",
                       EXIT_CANTCREAT) from None


def _remove_partial(path: str) -> None:
    try:
        if os.path.isfile(path):
            os.remove(path)
    except OSError:
        pass


# ---------------------------------------------------------------------- predict
def _features_for(model: Any, frame: Any, path: str) -> np.ndarray:
    """The model's input matrix from ``frame``: the saved preprocessing, or the named
    numeric columns, or (a model fitted on unnamed arrays) exactly its number of columns."""
    prep = getattr(model, "preprocessor_", None)
    if prep is not None:
        return prep.transform(frame)
    names = getattr(model, "feature_names_in_", None)
    columns = list(frame.columns)
    if names is not None:
        missing = [str(n) for n in names if str(n) not in columns]
        if missing:
            raise CliError(f"{path} has no column(s) {missing}, which the model was "
                           f"trained on; it has {columns}.")
        frame = frame[[str(n) for n in names]]
    elif len(columns) != model.n_features_in_:
        raise CliError(
            f"the model was fitted on an array of {model.n_features_in_} unnamed columns, but "
            f"{path} has {len(columns)} ({columns[:8]}); give a file with exactly the feature "
            "columns, in training order (no target column)."
        )
    non_numeric = [c for c in frame.columns if frame[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise CliError(f"column(s) {non_numeric} of {path} are not numeric; this model was "
                       "fitted on numbers only (train with the CLI to encode categories).")
    X = frame.to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        raise CliError(f"{path} has missing values; this model was fitted on arrays without "
                       "a preprocessing step, so it cannot impute them.")
    return X


def _text(value: Any, dtype: Any) -> Any:
    """A prediction as written: floats at the model's precision (shortest round-trip)."""
    if isinstance(value, (float, np.floating)):
        return str(np.dtype(dtype).type(value))
    return value.item() if hasattr(value, "item") else value


def cmd_predict(args: argparse.Namespace) -> int:
    import crash_core as cc

    try:
        model = cc.load(args.model)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise CliError(f"cannot open the model {args.model}: {exc.strerror or exc}.",
                       EXIT_NOINPUT) from None
    if args.proba and not hasattr(model, "predict_proba"):
        kind = "a regressor" if getattr(model, "_estimator_type", "") == "regressor" else (
            "a perceptron (a step function, no probabilities)")
        raise CliError(f"--proba does not apply: the model is {kind}; remove --proba.",
                       EXIT_USAGE)
    frame = _read(args)
    X = _features_for(model, frame, args.data)
    prep = getattr(model, "preprocessor_", None)
    network = getattr(model, "network_", None)
    dtype = network.dtype if network is not None else np.float64
    pred = model.predict(X)
    if prep is not None and getattr(model, "_estimator_type", "") == "regressor":
        pred = prep.inverse_transform_target(pred)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    if args.proba:
        proba = model.predict_proba(X)
        writer.writerow(["prediction", *(f"P({c})" for c in model.classes_)])
        for value, row in zip(pred, proba, strict=True):
            writer.writerow([_text(value, dtype), *(repr(float(p)) for p in row)])
    else:
        writer.writerow(["prediction"])
        writer.writerows([_text(v, dtype)] for v in pred)
    _write_text(out.getvalue(), args.output)
    return EXIT_OK


def _write_text(text: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if os.path.isdir(path):
        raise CliError(f"cannot write the predictions to {path}: it is a directory.",
                       EXIT_CANTCREAT)
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        if path not in ("/dev/full", "/dev/stdout"):
            _remove_partial(path)
        raise CliError(f"cannot write the predictions to {path}: {exc.strerror or exc}.",
                       EXIT_CANTCREAT) from None


def cmd_demo(args: argparse.Namespace) -> int:
    from crash_core import demo

    demo.run(None if args.no_figures else args.figures)
    return EXIT_OK


# ---------------------------------------------------------------------- parser
def _defaults(param: str, models: Sequence[str]) -> str:
    """The models' own defaults of ``param``, for the help text."""
    import crash_core as cc

    seen: dict[str, list[str]] = {}
    for m in models:
        default = inspect.signature(getattr(cc, MODELS[m]).__init__).parameters[param].default
        text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        seen.setdefault(text, []).append(m)
    if len(seen) == 1:
        return next(iter(seen))
    return "; ".join(f"{v} for {', '.join(ms)}" for v, ms in seen.items())


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sep", help="the delimiter, e.g. ';' or '\\t' (default: sniffed among "
                   ", ; tab |)")
    p.add_argument("--no-header", action="store_true",
                   help="the file has no header row; columns are then named 0, 1, ... by "
                   "position (default: the first row holds the names)")
    p.add_argument("--na", action="append", metavar="TOKEN",
                   help="a token meaning 'missing' besides the usual ones (empty, NA, NaN, "
                   "null, ?, ...); repeatable (default: none)")
    p.add_argument("--decimal", default=".",
                   help="the decimal mark of numbers, e.g. ',' (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of a CSV file (default: utf-8; a BOM is removed)")


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m crash_core``."""
    import crash_core

    p = argparse.ArgumentParser(
        prog="python -m crash_core",
        description="crash_core: the machine-learning crash course, and models for your "
        "own tables.",
        epilog="Exit codes: 0 ok, 2 usage, 65 bad data or model file, 66 cannot open an "
        "input, 70 training failed, 73 cannot write the output.",
    )
    p.add_argument("--version", action="version", version=f"crash_core {crash_core.__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{demo,train,predict}")

    demo = sub.add_parser("demo", help="run the whole crash course on built-in data")
    demo.add_argument("--figures", default="crash_course_figures",
                      help="folder for the pictures, needs matplotlib (default: %(default)s)")
    demo.add_argument("--no-figures", action="store_true",
                      help="save no pictures (default: save them)")
    demo.set_defaults(func=cmd_demo)

    every = tuple(MODELS)
    train = sub.add_parser(
        "train",
        help="train a model on a CSV or Parquet file and save it",
        description="Train on a table: numeric columns are imputed and standardised, text "
        "columns one-hot encoded; the model file keeps that preprocessing.",
    )
    train.add_argument("data", help="a CSV file (header row unless --no-header) or .parquet")
    train.add_argument("--target", required=True,
                       help="the column to predict (a position with --no-header)")
    train.add_argument("--drop", action="append", metavar="COL[,COL]",
                       help="columns to leave out, e.g. an id; repeatable (default: none)")
    train.add_argument(
        "--model", choices=["auto", *MODELS], default="auto",
        help="auto: mlp for a class target, mlp-regressor for a numeric target with "
        "fractional values or more than 20 distinct values (default: auto)")
    _add_reading_options(train)
    g = train.add_argument_group(
        "model options (each applies only to some models; giving one that does not is an error)")
    g.add_argument("--hidden", type=_ints, metavar="N[,N]",
                   help=f"hidden layer sizes, e.g. 64,32 (mlp; default: "
                   f"{_defaults('hidden_layers', ['mlp'])})")
    g.add_argument("--activation", choices=["relu", "sigmoid", "tanh"],
                   help=f"hidden activation (mlp; default: {_defaults('activation', ['mlp'])})")
    g.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam"],
                   help="default: " + _defaults("optimizer", MODEL_FLAGS["optimizer"][1]))
    g.add_argument("--epochs", type=int,
                   help="most passes over the data; default: " + _defaults("epochs", every))
    g.add_argument("--learning-rate", type=float,
                   help="step size; default: " + _defaults("learning_rate", every))
    g.add_argument("--batch-size", type=int,
                   help="rows per step; default: "
                   + _defaults("batch_size", MODEL_FLAGS["batch_size"][1])
                   + " (None: the whole data)")
    g.add_argument("--dropout", type=float,
                   help=f"fraction of hidden units dropped (mlp; default: "
                   f"{_defaults('dropout', ['mlp'])})")
    g.add_argument("--l1", type=float, help="L1 penalty (default: 0.0)")
    g.add_argument("--l2", type=float, help="L2 penalty (default: 0.0)")
    g.add_argument("--early-stopping", action="store_const", const=True,
                   help="hold out 10%% and stop when its loss stops improving (mlp; default: off)")
    g.add_argument("--verbose", action="store_const", const=True,
                   help="show progress per epoch (default: off)")
    train.add_argument("--test-size", type=float, default=0.0,
                       help="fraction held out to report a test score (default: 0, none)")
    train.add_argument("--random-state", type=int, default=0,
                       help="seed of the split and the model (default: %(default)s)")
    train.add_argument("-o", "--output", required=True, help="where to save the model file")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict for every row of a table; columns are matched by name and the "
        "saved preprocessing is replayed. Writes CSV with a 'prediction' column.",
    )
    predict.add_argument("model", help="a file written by train (or model.save)")
    predict.add_argument("data", help="a CSV or Parquet file with the training feature columns")
    predict.add_argument("--proba", action="store_true",
                         help="also write one probability column per class, for classifiers "
                         "(default: the predictions only)")
    _add_reading_options(predict)
    predict.add_argument("-o", "--output",
                         help="CSV file for the predictions (default: standard output)")
    predict.set_defaults(func=cmd_predict)
    return p


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of ints like 64,32") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one layer size, e.g. 64")
    return values


def _silence_stdout() -> None:
    """After a failed write to stdout, point it at /dev/null so the interpreter's own
    flush at exit cannot fail a second time with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    from crash_core.training import DivergenceError

    args = parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except CliError as exc:
        message, code = str(exc), exc.code
    except DivergenceError as exc:
        message, code = str(exc), EXIT_SOFTWARE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        message, code = f"cannot open {exc.filename or args.data}: {exc.strerror or exc}.", \
            EXIT_NOINPUT
    except (ValueError, TypeError) as exc:
        message, code = str(exc), EXIT_DATA
    except OSError as exc:  # writing to stdout failed (disk full, closed pipe)
        _silence_stdout()
        message, code = f"cannot write the output: {exc.strerror or exc}.", EXIT_CANTCREAT
    except KeyboardInterrupt:
        message, code = "interrupted.", 130
    message = " ".join(message.split())
    try:
        print(f"error: {message}", file=sys.stderr)
    except OSError:
        pass
    return code
