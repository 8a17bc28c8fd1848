"""The README's code runs as written, and the command line trains, saves and predicts."""

import csv
import re

import numpy as np
import pytest

import crash_core as cc
from crash_core.cli import main


def test_readme_python_blocks_run(tmp_path, monkeypatch, source_tree):
    blocks = re.findall(r"```python\n(.*?)```", (source_tree / "README.md").read_text(), re.S)
    assert blocks, "the README shows no Python code"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "moons.crash").exists()


def test_readme_names_the_two_setup_commands(source_tree):
    text = (source_tree / "README.md").read_text()
    assert "python -m crash_core demo" in text
    assert 'pip install -e ".[test]" && python -m pytest' in text


def _write_csv(path, X, y, names):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*names, "label"])
        for row, label in zip(X, y, strict=True):
            writer.writerow([*row, label])


def test_train_then_predict(tmp_path, capsys):
    X, y = cc.datasets.moons(n=300, noise=0.1, random_state=0)
    labels = np.where(y == 1, "blue", "red")
    data = tmp_path / "moons.csv"
    _write_csv(data, X, labels, ["x1", "x2"])
    model_path = tmp_path / "model.crash"
    code = main(["train", str(data), "--target", "label", "--hidden", "16,16",
                 "--epochs", "100", "--learning-rate", "0.01", "--test-size", "0.25",
                 "-o", str(model_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and model_path.exists()
    model = cc.load(model_path)
    assert list(model.feature_names_in_) == ["x1", "x2"]

    # the feature columns are found by name, in any order
    shuffled = tmp_path / "new.csv"
    with open(shuffled, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x2", "x1"])
        writer.writerows(X[:, ::-1])
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model_path), str(shuffled), "-o", str(preds)]) == 0
    rows = list(csv.reader(open(preds)))
    assert rows[0] == ["prediction"] and len(rows) == 301
    accuracy = np.mean(np.array([r[0] for r in rows[1:]]) == labels)
    assert accuracy > 0.95


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b,label\n1,x,0\n2,3,1\n", "not a number"),
        ("a,b,label\n1,2\n", "fields"),
        ("", "empty"),
    ],
)
def test_train_reports_bad_csv(tmp_path, capsys, content, message):
    data = tmp_path / "bad.csv"
    data.write_text(content)
    code = main(["train", str(data), "--target", "label", "-o", str(tmp_path / "m")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_predict_reports_a_corrupt_model(tmp_path, capsys):
    bad = tmp_path / "model.crash"
    bad.write_bytes(b"not a model")
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    assert main(["predict", str(bad), str(data)]) == 2
    assert "error:" in capsys.readouterr().err


def test_demo_runs(capsys):
    main(["demo", "--no-figures"])
    out = capsys.readouterr().out
    for step in ("Perceptron", "Logistic regression", "neural network", "early stopping"):
        assert step in out
