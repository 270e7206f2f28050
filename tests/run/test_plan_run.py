"""The whole flow of planning before spending, against the local fault-injecting server.

collect a pilot (20 questions x 2 samples x 2 models) -> ``slmmux plan`` for 60 questions ->
``slmmux run --plan`` on the 40 more (pilot samples reused, stopped once by a request cap, then
resumed) -> ``slmmux check --plan``. The server (tests/run/faultserver.py) answers with texts
that depend only on (prompt, seed, choice), and injects 429s and 500s on a seeded schedule.
The same flow on the two real local models is in tests/run/test_plan_local.py (slow).
"""

from __future__ import annotations

import json

import pytest

from slmmux_run.cli import main
from slmmux_run.data.records import RecordStore
from tests.run.faultserver import FaultPlan, running_server

CONFIG = """
[runner]
max_attempts = 8
timeout_seconds = 5
backoff_initial_seconds = 0.001
backoff_max_seconds = 0.01

[models.alpha]
base_url = "{url}"
model = "alpha-1"
price = {{ completion_per_1k = 0.5 }}

[models.beta]
base_url = "{url}"
model = "beta-1"
api = "completions"
price = {{ completion_per_1k = 0.1, per_call = 0.0001 }}
"""


@pytest.fixture()
def server():
    with running_server(FaultPlan(seed=3, rate_limit=0.1, server_error=0.1)) as running:
        yield running


def test_pilot_plan_run_check_on_the_fault_server(server, tmp_path, capsys):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG.format(url=server.base_url))
    pilot, full, plan = tmp_path / "pilot.jsonl", tmp_path / "full.jsonl", tmp_path / "plan.json"
    task = ["--task", "arithmetic", "--task-seed", "0"]
    assert main(["collect", "--config", str(config), "--models", "alpha,beta", *task,
                 "--questions", "20", "--k", "2", "--out", str(pilot)]) == 0
    assert main(["plan", "--records", str(pilot), *task, "--questions", "60",
                 "--config", str(config), "--k", "3", "--subset-sizes", "1,2",
                 "--rules", "slm-mux", "--predictor", "plug-in", "--json", str(plan)]) == 0
    frozen = json.loads(plan.read_text())
    chosen = frozen["chosen"]
    assert frozen["population"]["questions"] == 60 and frozen["pilot"]["questions"] == 20
    assert frozen["models"]["alpha"] == {"model_id": "alpha-1", "base_urls": [server.base_url],
                                         "api": "chat"}
    assert "api_key" not in plan.read_text()
    assert chosen["expected_cost"] is not None and chosen["expected_tokens"] > 0
    capsys.readouterr()

    # A request cap stops the run part way (exit 3); the rerun pays only for what is missing.
    assert main(["run", "--plan", str(plan), "--config", str(config), "--out", str(full),
                 "--max-requests", "5"]) == 3
    first = capsys.readouterr().out
    assert "pilot records copied" in first
    assert main(["run", "--plan", str(plan), "--config", str(config), "--out", str(full)]) == 0
    second = capsys.readouterr()
    assert "0 failed, 0 not sent" in second.out
    # Progress goes to stderr also when it is not a terminal (a log): at least its final line,
    # counting only the samples this run still had to send.
    assert "samples (100 %)" in second.err and "run --plan slm-mux k=3" in second.err
    assert main(["run", "--plan", str(plan), "--config", str(config), "--out", str(full)]) == 0
    assert "0 new" in capsys.readouterr().out and "0 requests" not in first

    latest = RecordStore(full).latest()
    members = chosen["models"]
    for model in members:
        keys = [key for key in latest if key.model == model]
        # k = 3 samples on each of the 60 questions; the pilot's 2 per question reused.
        assert len({key.question_id for key in keys}) == 60
        assert all(latest[key].error is None for key in keys)
    pilot_latest = RecordStore(pilot).latest()
    reused = [key for key in pilot_latest if key.model in members]
    assert reused and all(latest[key].text == pilot_latest[key].text for key in reused)

    check = tmp_path / "check.json"
    assert main(["check", "--plan", str(plan), "--records", str(full), "--json",
                 str(check)]) == 0
    out = capsys.readouterr().out
    result = json.loads(check.read_text())
    assert result["questions"] == 60
    low, high = result["interval"]
    assert result["inside_interval"] == (low <= result["realised_accuracy"] <= high)
    assert ("inside the frozen 90% interval" in out) == result["inside_interval"]
    assert result["regret_points"] >= 0
    assert result["realised_tokens"] > 0 and result["realised_cost"] > 0
    # The run samples only the chosen models: the check says which candidates it could replay.
    replayable = [c for c in frozen["candidates"] if set(c["models"]) <= set(members)]
    assert result["replayed_candidates"] == len(replayable)
    assert (len(replayable) < len(frozen["candidates"])) == any(
        "could be replayed" in note for note in result["notes"])


def test_a_plan_without_task_flags_says_at_once_that_it_cannot_be_run(server, tmp_path, capsys):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG.format(url=server.base_url))
    pilot, plan = tmp_path / "pilot.jsonl", tmp_path / "plan.json"
    assert main(["collect", "--config", str(config), "--models", "alpha,beta", "--task",
                 "arithmetic", "--questions", "5", "--k", "1", "--out", str(pilot)]) == 0
    capsys.readouterr()
    # As a new user types it: no --task, no --subset-sizes (2,3 would not fit two models).
    assert main(["plan", "--records", str(pilot), "--population", "8", "--predictor",
                 "plug-in", "--json", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "WARNING: no --task: this plan can be checked" in out
    subsets = sorted(tuple(c["models"]) for c in json.loads(plan.read_text())["candidates"])
    assert subsets == [("alpha",), ("alpha", "beta"), ("beta",)]
    assert main(["run", "--plan", str(plan), "--config", str(config),
                 "--out", str(tmp_path / "full.jsonl")]) == 2
    assert "the plan names no task to run" in capsys.readouterr().err


def test_a_plan_runs_from_another_folder_its_pilot_found_beside_it(server, tmp_path, capsys,
                                                                    monkeypatch):
    work, elsewhere = tmp_path / "job", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    (work / "models.toml").write_text(CONFIG.format(url=server.base_url))
    monkeypatch.chdir(work)  # the user plans with relative names ...
    task = ["--task", "arithmetic"]
    assert main(["collect", "--config", "models.toml", "--models", "alpha", *task,
                 "--questions", "4", "--k", "1", "--out", "pilot.jsonl"]) == 0
    assert main(["plan", "--records", "pilot.jsonl", *task, "--questions", "6", "--config",
                 "models.toml", "--k", "1", "--predictor", "plug-in", "--json", "plan.json"]) == 0
    assert json.loads((work / "plan.json").read_text())["pilot"]["file"] == "pilot.jsonl"
    monkeypatch.chdir(elsewhere)  # ... and runs the plan from another folder
    capsys.readouterr()
    assert main(["run", "--plan", "../job/plan.json", "--config", "../job/models.toml",
                 "--out", "full.jsonl"]) == 0
    assert "4 pilot records copied" in capsys.readouterr().out
    (work / "pilot.jsonl").rename(work / "moved.jsonl")
    assert main(["run", "--plan", "../job/plan.json", "--config", "../job/models.toml",
                 "--out", "full2.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "pilot file pilot.jsonl or ../job/pilot.jsonl does not exist; give --pilot" in err


def test_run_refuses_a_pilot_that_changed_since_the_plan(server, tmp_path, capsys):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG.format(url=server.base_url))
    pilot, plan = tmp_path / "pilot.jsonl", tmp_path / "plan.json"
    task = ["--task", "arithmetic"]
    assert main(["collect", "--config", str(config), "--models", "alpha", *task,
                 "--questions", "5", "--k", "1", "--out", str(pilot)]) == 0
    assert main(["plan", "--records", str(pilot), *task, "--questions", "8", "--config",
                 str(config), "--subset-sizes", "1", "--predictor", "plug-in",
                 "--json", str(plan)]) == 0
    assert main(["collect", "--config", str(config), "--models", "alpha", *task,
                 "--questions", "6", "--k", "1", "--out", str(pilot)]) == 0
    capsys.readouterr()
    code = main(["run", "--plan", str(plan), "--config", str(config),
                 "--out", str(tmp_path / "full.jsonl")])
    assert code == 2
    assert "sha256 differs from the plan's" in capsys.readouterr().err


def test_run_and_check_refuse_a_file_that_is_not_a_plan(tmp_path, capsys):
    bogus = tmp_path / "plan.json"
    bogus.write_text(json.dumps({"candidates": []}))
    assert main(["run", "--plan", str(bogus), "--config", "x.toml", "--out", "y"]) == 2
    assert main(["check", "--plan", str(bogus), "--records", "y"]) == 2
    err = capsys.readouterr().err
    assert err.count("field schema is not 'slmmux-plan/1'") == 2


def test_a_model_switch_plan_runs_live_and_checks(server, tmp_path, capsys):
    config = tmp_path / "models.toml"
    config.write_text(CONFIG.format(url=server.base_url))
    pilot, full, plan = tmp_path / "pilot.jsonl", tmp_path / "full.jsonl", tmp_path / "plan.json"
    task = ["--task", "arithmetic"]
    assert main(["collect", "--config", str(config), "--models", "alpha,beta", *task,
                 "--questions", "10", "--k", "2", "--out", str(pilot)]) == 0
    assert main(["plan", "--records", str(pilot), *task, "--questions", "24", "--config",
                 str(config), "--k", "2", "--subset-sizes", "2", "--rules", "model-switch",
                 "--predictor", "plug-in", "--json", str(plan)]) == 0
    chosen = json.loads(plan.read_text())["chosen"]
    assert chosen["rule"] == "model-switch"
    first, second = chosen["models"]
    capsys.readouterr()
    assert main(["run", "--plan", str(plan), "--config", str(config), "--out", str(full)]) == 0
    latest = RecordStore(full).latest()
    asked = {}
    for key, record in latest.items():
        asked.setdefault((key.model, key.question_id), []).append(record.answer)
    # Live: the second model is sampled only where the first was not unanimous.
    for question in {q for _, q in asked}:
        unanimous = len(set(asked[(first, question)])) == 1 and None not in asked[
            (first, question)]
        if (second, question) in asked and question not in _pilot_ids(pilot):
            assert not unanimous
    assert main(["check", "--plan", str(plan), "--records", str(full), "--json",
                 str(tmp_path / "check.json")]) == 0
    result = json.loads((tmp_path / "check.json").read_text())
    assert result["chosen"]["rule"] == "model-switch" and result["questions"] == 24
    assert 0.0 <= result["realised_accuracy"] <= 1.0


def _pilot_ids(path):
    return {key.question_id for key in RecordStore(path).latest()}
