"""Rules that learn options (weights, threshold, answer law) are never scored with untrained
defaults in silence: ``mux`` refuses them (``compare`` learns them on held-out questions), and
``exact``, which gets answer distributions and no samples to learn from, says in its JSON and
on stderr that the defaults were used."""

from __future__ import annotations

import json

import pytest

from slmmux_run.cli import main
from slmmux_run.data.records import RecordStore
from slmmux_theory.rules.registry import RULES
from tests.run.hand_records import hand_records

LEARNED = [name for name, rule in RULES.items() if rule.learn is not None]


def test_the_learned_rules_are_the_ones_the_brief_names():
    # Not computed from the code under test: the rules whose docs say they learn from data.
    assert set(LEARNED) == {"weighted-vote-milp", "weighted-vote-log-odds", "bayes-stop",
                            "bayes-stop-models", "posterior-optimal", "vote-stop"}


@pytest.mark.parametrize("rule", ["weighted-vote-milp", "vote-stop"])
def test_mux_refuses_a_learned_rule_and_points_to_compare(rule, tmp_path, capsys):
    path = tmp_path / "records.jsonl"
    RecordStore(path).append_many(hand_records())
    assert main(["mux", "--records", str(path), "--rule", f"slm-mux,{rule}", "--k", "2"]) == 2
    captured = capsys.readouterr()
    assert f"--rule {rule} learns its options" in captured.err
    assert "slmmux compare" in captured.err and captured.out == ""


def _dist(tmp_path):
    path = tmp_path / "dist.json"
    path.write_text(json.dumps({"models": [
        {"name": "a", "validation_accuracy": 0.7, "probs": [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]]},
        {"name": "b", "validation_accuracy": 0.5, "probs": [[0.5, 0.5, 0.0], [0.4, 0.4, 0.2]]},
    ]}))
    return path


def test_exact_says_a_learned_rule_ran_on_its_defaults(tmp_path, capsys):
    assert main(["exact", "--input", str(_dist(tmp_path)), "--rule", "weighted-vote-log-odds",
                 "--k", "2"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert "untrained defaults" in payload["options"]
    assert "untrained defaults" in captured.err
    assert 0.0 <= payload["accuracy"] <= 1.0


def test_exact_adds_no_note_for_a_rule_that_learns_nothing(tmp_path, capsys):
    assert main(["exact", "--input", str(_dist(tmp_path)), "--rule", "slm-mux", "--k", "2"]) == 0
    captured = capsys.readouterr()
    assert "options" not in json.loads(captured.out)
    assert "untrained" not in captured.err
