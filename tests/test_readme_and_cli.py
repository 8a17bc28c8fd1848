"""The README's code runs as written, and the demo runs (the rest of the command line is
proven in tests/test_cli.py)."""

import re

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


def test_demo_runs(capsys):
    main(["demo", "--no-figures"])
    out = capsys.readouterr().out
    for step in ("Perceptron", "Logistic regression", "neural network", "early stopping"):
        assert step in out
