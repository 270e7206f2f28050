"""``slmmux compare``: the JSON contract on a small samples file (keys and types, every k, every
registered rule on all models, SLM-MUX on every pair), --records, and bad input."""

import itertools
import json

import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_theory.rules.catalog import registered_rule_names

MODELS = ["alpha", "beta", "gamma"]


@pytest.fixture
def samples_file(tmp_path):
    rng = np.random.default_rng(7)
    lines = []
    for model, accuracy in zip(MODELS, (0.7, 0.5, 0.35)):
        for q in range(8):
            answers = [str(q) if rng.random() < accuracy else str(100 + rng.integers(0, 3))
                       for _ in range(4)]
            answers[3] = None if rng.random() < 0.2 else answers[3]
            lines.append(json.dumps({
                "task": "toy", "question_id": str(q), "model": model, "gold": str(q),
                "answers": answers, "tokens": [int(t) for t in rng.integers(50, 500, size=4)]}))
    path = tmp_path / "toy.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow  # about 2 minutes on a shared machine: one compilation per rule
def test_compare_contract(samples_file, tmp_path, capsys):
    out = tmp_path / "compare.json"
    code = main(["compare", "--samples", str(samples_file), "--k", "2", "--seed", "3",
                 "--draws", "8", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    rows = data["rows"]
    for row in rows:
        assert set(row) == {"rule", "models", "k", "accuracy", "stderr", "mean_tokens"}
        assert isinstance(row["rule"], str) and isinstance(row["k"], int)
        assert isinstance(row["models"], list) and all(isinstance(m, str) for m in row["models"])
        for field in ("accuracy", "stderr", "mean_tokens"):
            assert isinstance(row[field], float), (row, field)
        assert 0.0 <= row["accuracy"] <= 1.0 and row["stderr"] >= 0.0 and row["mean_tokens"] > 0
    for k in (1, 2):
        at_k = [row for row in rows if row["k"] == k]
        everyone = {row["rule"] for row in at_k if row["models"] == MODELS}
        assert everyone == set(registered_rule_names())
        pairs = {tuple(row["models"]) for row in at_k
                 if row["rule"] == "slm-mux" and len(row["models"]) == 2}
        assert pairs == set(itertools.combinations(MODELS, 2))
    assert {row["k"] for row in rows} == {1, 2}
    assert data["rules"]["oracle"]["kind"] == "oracle"
    assert data["rules"]["slm-mux"] == {"kind": "deployable", "replay": "exact"}
    # A fixed-cost rule on all models pays k samples of every model: tokens grow with k.
    forest = {row["k"]: row["mean_tokens"] for row in rows
              if row["rule"] == "agent-forest" and row["models"] == MODELS}
    assert forest[2] == pytest.approx(2 * forest[1], rel=0.15)
    assert "k=2: best" in capsys.readouterr().out


def test_compare_accepts_records_and_rejects_a_k_beyond_the_samples(samples_file, tmp_path,
                                                                     capsys):
    code = main(["compare", "--records", str(samples_file), "--k", "5", "--json",
                 str(tmp_path / "x.json")])
    assert code == 2
    assert "--k must lie in 1..4" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
