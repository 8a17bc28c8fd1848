"""The command line as users run it: ``python -m crash_core ...`` in a subprocess, on files the
tests write (missing values, text columns, semicolons, a BOM with CRLF, no header)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import crash_core as cc

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[1]


def run(*args, expect=0, warnings_are_errors=True):
    """Run ``python -m crash_core *args``; returns (stdout, stderr) after checking the code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    flags = ["-W", "error"] if warnings_are_errors else []
    done = subprocess.run(
        [sys.executable, *flags, "-m", "crash_core", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
    if expect:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return done.stdout, done.stderr


def customers(n=400, seed=0):
    """A raw table: an id, numbers with gaps, a text column with gaps, a yes/no target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n)
    income = rng.normal(50_000, 15_000, n)
    city = rng.choice(["paris", "rome", "oslo"], n)
    score = (age - 40) / 12 + (income - 50_000) / 15_000 + np.where(city == "rome", 1.5, 0)
    bought = np.where(score + rng.normal(0, 0.5, n) > 0.5, "yes", "no")
    frame = pd.DataFrame(
        {"id": np.arange(1, n + 1), "age": age.round(1), "income": income.round(0),
         "city": city, "bought": bought}
    )
    frame.loc[::17, "age"] = np.nan
    frame.loc[::23, "city"] = None
    return frame


@pytest.fixture(scope="module")
def raw_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "customers.csv"
    customers().to_csv(path, index=False, na_rep="NA")
    return path


def sklearn_pipeline_accuracy(frame, target, test_size, seed):
    """The same split as the CLI's, through a scikit-learn Pipeline with the same steps."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    y = frame[target].to_numpy().astype(str)
    X = frame.drop(columns=[target, "id"])
    rows = np.arange(len(frame))
    train, test, _, _ = cc.datasets.train_test_split(
        rows, rows, test_size=test_size, stratify=y, random_state=seed
    )
    numeric = [c for c in X.columns if X[c].dtype.kind == "f"]
    text = [c for c in X.columns if c not in numeric]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), text),
    ])
    X = X.copy()
    X[text] = X[text].fillna("missing")
    model = make_pipeline(prep, MLPClassifier((64,), max_iter=200, random_state=seed))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X.iloc[train], y[train])
    return model.score(X.iloc[test], y[test])


def test_raw_csv_with_gaps_and_text_matches_a_sklearn_pipeline(raw_csv, tmp_path):
    model = tmp_path / "m.ccm"
    out, _ = run("train", raw_csv, "--target", "bought", "--drop", "id", "--test-size", "0.25",
                 "-o", model)
    assert "classification with MLPClassifier" in out
    assert "1 categorical (3 one-hot columns)" in out and "dropped ['id']" not in out
    accuracy = float(out.split("test accuracy:")[1].split()[0])
    reference = sklearn_pipeline_accuracy(pd.read_csv(raw_csv), "bought", 0.25, 0)
    assert accuracy >= reference - 0.03, (accuracy, reference)

    # predict replays the saved preprocessing, matching columns by name in any order
    frame = pd.read_csv(raw_csv).drop(columns=["bought"])
    shuffled = tmp_path / "new.csv"
    frame[["city", "income", "id", "age"]].to_csv(shuffled, index=False)
    pred, _ = run("predict", model, shuffled)
    lines = pred.splitlines()
    assert lines[0] == "prediction" and len(lines) == len(frame) + 1
    assert set(lines[1:]) <= {"yes", "no"}
    loaded = cc.load(model)
    direct = loaded.predict(loaded.preprocessor_.transform(frame))
    assert lines[1:] == list(direct)

    # --proba: one column per class, rows sum to 1
    pred, _ = run("predict", model, shuffled, "--proba")
    rows = list(csv.reader(pred.splitlines()))
    assert rows[0] == ["prediction", "P(no)", "P(yes)"]
    P = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert np.allclose(P.sum(axis=1), 1.0, atol=1e-12)


def test_an_identifier_column_is_an_error_naming_drop(raw_csv, tmp_path):
    _, err = run("train", raw_csv, "--target", "bought", "-o", tmp_path / "m", expect=65)
    assert "--drop id" in err


def test_semicolon_bom_crlf_and_headerless_files(tmp_path):
    frame = customers(n=120).drop(columns=["id"])
    frame["income"] = frame["income"] / 1000
    variants = {}
    semicolon = tmp_path / "semicolon.csv"
    frame.to_csv(semicolon, sep=";", index=False, decimal=",")
    variants["semicolon"] = (semicolon, [])
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode())
    variants["bom"] = (bom, [])
    headerless = tmp_path / "headerless.csv"
    frame.to_csv(headerless, index=False, header=False)
    variants["headerless"] = (headerless, ["--no-header"])

    for name, (path, flags) in variants.items():
        model = tmp_path / f"{name}.ccm"
        target = "-1" if flags else "bought"
        extra = ["--sep", ";", "--decimal", ","] if name == "semicolon" else []
        out, _ = run("train", path, "--target", target, *flags, *extra, "--epochs", "30",
                     "-o", model)
        assert "120 rows x 4 columns" in out, name
        prep = cc.load(model).preprocessor_
        names = list(prep.feature_names_in_)
        assert names == (["0", "1", "2"] if flags else ["age", "income", "city"]), name
        assert prep.kinds_ == ["numeric", "numeric", "categorical"], name
        pred, _ = run("predict", model, path, *flags, *extra)
        assert len(pred.splitlines()) == 121, name

    # the delimiter is sniffed: the semicolon file also trains without --sep
    out, _ = run("train", semicolon, "--target", "bought", "--decimal", ",", "--epochs", "5",
                 "-o", tmp_path / "sniffed.ccm")
    assert "120 rows x 4 columns" in out
    # without --decimal the comma numbers are text: an error that names the cure
    _, err = run("train", semicolon, "--target", "bought", "-o", tmp_path / "m", expect=2)
    assert "decimal comma" in err and "--decimal ," in err


def test_a_headerless_file_read_with_a_header_is_refused(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("1.5,2.0,0\n2.5,1.0,1\n0.5,3.0,0\n")
    _, err = run("train", path, "--target", "2", "-o", tmp_path / "m", expect=65)
    assert "--no-header" in err


def test_a_numeric_target_with_many_values_trains_a_regressor(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    price = (100 + 20 * X[:, 0] - 10 * X[:, 1] + rng.normal(0, 2, 300)).round(0).astype(int)
    path = tmp_path / "prices.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "price": price}).to_csv(
        path, index=False)
    model = tmp_path / "r.ccm"
    out, _ = run("train", path, "--target", "price", "--epochs", "20", "-o", model)
    distinct = len(np.unique(price))
    assert f"numeric with {distinct} distinct values -> regression with MLPRegressor" in out
    assert "training R^2" in out
    pred, _ = run("predict", model, path)
    values = pred.splitlines()[1:]
    # written at the model's precision: the shortest text that gives back the float32 value
    assert all(str(np.float32(v)) == v for v in values)
    _, err = run("predict", model, path, "--proba", expect=2)
    assert "--proba does not apply" in err


@pytest.mark.parametrize(
    "model, flag",
    [("perceptron", ["--dropout", "0.1"]), ("logistic", ["--hidden", "8"]),
     ("perceptron", ["--l2", "0.1"]), ("logistic", ["--early-stopping"])],
)
def test_a_flag_that_does_not_apply_is_an_error(raw_csv, tmp_path, model, flag):
    _, err = run("train", raw_csv, "--target", "bought", "--drop", "id", "--model", model,
                 *flag, "-o", tmp_path / "m", expect=2)
    assert flag[0] in err and "does not apply" in err


def test_version_and_help_show_every_default():
    out, _ = run("--version")
    assert out.strip() == f"crash_core {cc.__version__}"
    from crash_core.cli import parser

    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest in ("help",) or not action.option_strings or action.required:
                continue
            assert "default" in (action.help or ""), (name, action.dest)


def test_an_array_fitted_model_refuses_a_file_with_other_columns(tmp_path):
    X, y = cc.datasets.moons(n=100, noise=0.1, random_state=0)
    model = cc.LogisticRegression(random_state=0).fit(X, y)
    path = tmp_path / "array.ccm"
    model.save(path)
    data = tmp_path / "three.csv"
    pd.DataFrame({"label": y, "x1": X[:, 0], "x2": X[:, 1]}).to_csv(data, index=False)
    _, err = run("predict", path, data, expect=65)
    assert "2 unnamed columns" in err and "3" in err
    two = tmp_path / "two.csv"
    pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1]}).to_csv(two, index=False)
    out, _ = run("predict", path, two)
    assert [int(v) for v in out.splitlines()[1:]] == list(model.predict(X))


def test_write_errors_are_one_line_with_exit_code_73(raw_csv, tmp_path):
    model = tmp_path / "m.ccm"
    run("train", raw_csv, "--target", "bought", "--drop", "id", "--epochs", "3", "-o", model)
    _, err = run("predict", model, raw_csv, "-o", tmp_path, expect=73)
    assert "directory" in err
    _, err = run("train", raw_csv, "--target", "bought", "--drop", "id", "--epochs", "3",
                 "-o", tmp_path, expect=73)
    assert "directory" in err
    if Path("/dev/full").exists():
        _, err = run("predict", model, raw_csv, "-o", "/dev/full", expect=73)
        assert "No space left" in err
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [sys.executable, "-m", "crash_core", "predict", str(model), str(raw_csv)],
                stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
            )
        assert done.returncode == 73
        assert done.stderr.strip().splitlines() == ["error: cannot write the output: "
                                                    "No space left on device."]


def test_input_errors_have_their_exit_codes(raw_csv, tmp_path):
    _, err = run("train", tmp_path / "missing.csv", "--target", "y", "-o", tmp_path / "m",
                 expect=66)
    assert "missing.csv" in err
    _, err = run("train", raw_csv, "--target", "nope", "-o", tmp_path / "m", expect=2)
    assert "'nope' is not a column" in err
    bad = tmp_path / "bad.ccm"
    bad.write_bytes(b"not a model")
    _, err = run("predict", bad, raw_csv, expect=65)
    assert "not a crash_core model file" in err
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,y\n" + "".join(f"{i},{i % 2},{i}\n" for i in range(20)))
    _, err = run("train", ragged, "--target", "y", "-o", tmp_path / "m", expect=65)
    assert "more fields than the header" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _, err = run("train", empty, "--target", "y", "-o", tmp_path / "m", expect=65)
    assert "empty" in err


def test_divergence_is_exit_70_naming_the_cure(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) * 1e8
    path = tmp_path / "wild.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": (X[:, 0] > 0).astype(int)}).to_csv(
        path, index=False)
    _, err = run("train", path, "--target", "y", "--optimizer", "sgd", "--learning-rate",
                 "1e30", "-o", tmp_path / "m", expect=70)
    assert "lower" in err and "learning_rate" in err


def test_parquet_files_train_and_predict(tmp_path):
    pytest.importorskip("pyarrow", reason="reading Parquet needs pyarrow")
    frame = customers(n=120).drop(columns=["id"])
    path = tmp_path / "customers.parquet"
    frame.to_parquet(path)
    model = tmp_path / "p.ccm"
    out, _ = run("train", path, "--target", "bought", "--epochs", "5", "-o", model)
    assert "120 rows x 4 columns" in out
    pred, _ = run("predict", model, path)
    assert len(pred.splitlines()) == 121


def test_a_model_that_does_not_converge_says_so_in_one_line(raw_csv, tmp_path):
    out, err = run("train", raw_csv, "--target", "bought", "--drop", "id", "--model",
                   "logistic", "--epochs", "3", "-o", tmp_path / "m")
    assert "note: LogisticRegression did not converge in 3 epochs" in out
    assert err == ""


def test_a_regression_target_in_the_thousands_is_learned_and_written_in_its_units(tmp_path):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = X.assign(price=y * 1000)  # targets from 25,000 to 346,000
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "d.ccm"
    out, _ = run("train", path, "--target", "price", "--test-size", "0.25", "--epochs", "60",
                 "-o", model)
    assert "target standardised" in out
    assert float(out.split("test R^2:")[1].split()[0]) > 0.3
    pred, _ = run("predict", model, path)
    values = np.array([float(v) for v in pred.splitlines()[1:]])
    assert abs(values.mean() - frame["price"].mean()) < 0.1 * frame["price"].std()
