"""The demo is the course: one step per section, in the course's order, a picture for each."""

import re

import pytest

from crash_core import demo

SECTIONS = [
    "What are neural networks?",
    "Perceptrons",
    "Error functions",
    "Logistic regression",
    "Neural network architecture",
    "Feedforward and backpropagation",
    "Training optimisation",
]


def test_the_course_in_order_with_its_pictures_and_every_trick_helping(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    findings = demo.run(str(tmp_path))
    out = capsys.readouterr().out
    headings = re.findall(r"^== \d\. (.+)$", out, flags=re.M)
    assert len(headings) == len(SECTIONS)
    assert all(h.startswith(s) for h, s in zip(headings, SECTIONS, strict=True)), headings
    for trick in ("Regularisation", "Random restarts", "activation functions", "decay"):
        assert trick in out
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(pngs) >= 12
    # at least one picture per section, numbered in the course's order
    for prefix in ("01_", "02_", "04_", "07_", "08_", "10_", "11_"):
        assert any(name.startswith(prefix) for name in pngs), prefix
    assert {p.name for p in tmp_path.glob("*.gif")} == {
        "perceptron_training.gif",
        "network_training.gif",
    }
    claims = {claim: held for claim, _, held in findings}
    for claim in (
        "early stopping picks a better epoch than the last",
        "L1 = 0.002 narrows the gap and helps",
        "L2 = 0.01 narrows the gap and helps",
        "dropout 0.5 narrows the gap and helps",
        "restarts find a lower loss than the worst start",
        "decay beats a too-high constant rate",
    ):
        assert claims[claim], claim
    assert all(claims.values())
    assert "NO, not on this data" not in out
