"""``slmmux reproduce`` end to end: its cheapest step, its flag errors, the experiments folder,
steps in worker processes (``--jobs``: progress through the parent, a failing step, Ctrl-C),
and (slow) the fast steps' summary rows against the rows of the run before the refactor and
``--jobs 2`` against ``--jobs 1``."""

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slmmux_run.cli import main
from slmmux_run.data.paths import data_file
from slmmux_run.errors import UserError
from slmmux_run.reproduce import EXPERIMENTS_DIR_ENV, experiments_dir

BASELINE = Path(__file__).parent / "fixtures" / "reproduce_baseline_rows.json"
FAST_STEPS = ("theory", "replay", "model-switch", "search", "local-run")


def _has_data() -> bool:
    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
        return True
    except UserError:
        return False


@pytest.mark.skipif(not _has_data(), reason="shared data directory absent")
def test_search_step_writes_figure_table_and_summary(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--steps", "search", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"] and summary["rows"][0]["claim"].startswith("search score peaks")
    assert (tmp_path / "search" / "search_vs_paper.png").stat().st_size > 10_000
    table = json.loads((tmp_path / "search" / "search_real.json").read_text())
    assert [row["K"] for row in table] == [1, 2, 3]
    captured = capsys.readouterr()
    assert "claim" in captured.out
    # progress (step i/n, its name, elapsed, the step's time) on stderr, never on stdout
    assert "reproduce 0/1 steps (0 %) · search" in captured.err
    assert "reproduce: search took " in captured.err
    assert "reproduce 1/1 steps (100 %)" in captured.err
    assert "steps (" not in captured.out and "took" not in captured.out
    assert "search score peaks" not in captured.err


def test_quiet_silences_progress_and_summary_md_escapes_cells(tmp_path, capsys, monkeypatch):
    from slmmux_run.reproduce import STEPS, StepResult, SummaryRow

    def fake_step(context):
        return StepResult("fake", summary=[SummaryRow("a | b *c*", "x_1", "—", "1 | 2")])

    monkeypatch.setitem(STEPS, "fake", fake_step)
    assert main(["reproduce", "--quiet", "--steps", "fake", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "a | b *c*" in captured.out  # the console shows the text as it is
    markdown = (tmp_path / "summary.md").read_text().splitlines()
    assert markdown[2] == "| a \\| b \\*c\\* | x\\_1 | — | 1 \\| 2 |"


def test_unknown_step_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # an argument error: argparse's exit 2
        main(["reproduce", "--steps", "nope", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "unknown step" in capsys.readouterr().err.splitlines()[-1]


def test_a_missing_data_dir_is_a_one_line_error_before_any_step(tmp_path, capsys):
    missing = tmp_path / "no-data"
    out = tmp_path / "out"
    assert main(["reproduce", "--data-dir", str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"data directory {missing}" in err and "does not exist" in err
    assert not out.exists()  # nothing ran, nothing written


def test_experiments_folder_flag_then_environment_then_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(EXPERIMENTS_DIR_ENV, raising=False)
    folder, source = experiments_dir()
    assert folder is not None and (folder / "local_run").is_dir() and source == "the checkout"
    monkeypatch.setenv(EXPERIMENTS_DIR_ENV, str(tmp_path))
    assert experiments_dir() == (tmp_path, f"${EXPERIMENTS_DIR_ENV}")
    assert experiments_dir(tmp_path / "x")[0] is None
    monkeypatch.setenv(EXPERIMENTS_DIR_ENV, str(tmp_path / "missing"))
    folder, reason = experiments_dir()
    assert folder is None and "does not exist" in reason


def test_steps_without_the_experiments_folder_are_skipped_with_the_reason(tmp_path, capsys,
                                                                          monkeypatch):
    # A folder named by the environment (an installed package without the checkout) is skipped
    # with the reason; a missing folder given by --experiments-dir is a bad flag (exit 2, see
    # tests/run/test_bad_input.py).
    missing = tmp_path / "no-experiments"
    monkeypatch.setenv("SLMMUX_EXPERIMENTS_DIR", str(missing))
    assert main(["reproduce", "--steps", "local-run,groupthink",
                 "--out", str(tmp_path / "out")]) == 0
    steps = json.loads((tmp_path / "out" / "summary.json").read_text())["steps"]
    assert [s["name"] for s in steps] == ["local-run", "groupthink"]
    for step in steps:
        assert str(missing) in step["note"] and "does not exist" in step["note"]
        assert not step["tables"]
    assert "skipped local-run" in capsys.readouterr().out


def test_reproduce_calls_library_functions_never_the_command_line():
    package = Path(__file__).resolve().parents[2] / "slmmux_run" / "reproduce"
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("slmmux_run.cli", "slmmux_run.commands")), (
                    f"{module.name} imports {name}")
                assert "importlib" not in name, f"{module.name} loads code by path"


@pytest.mark.slow
@pytest.mark.skipif(not _has_data(), reason="shared data directory absent")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fast_steps_give_the_rows_of_the_run_before_the_refactor(tmp_path, jobs):
    baseline = json.loads(BASELINE.read_text())["steps"]
    assert main(["reproduce", "--steps", ",".join(FAST_STEPS), "--jobs", jobs,
                 "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert rows == [row for step in FAST_STEPS for row in baseline[step]]


@pytest.mark.slow
@pytest.mark.skipif(not _has_data(), reason="shared data directory absent")
def test_two_jobs_give_the_summary_of_one(tmp_path):
    # The quick fast steps in an order that is not the schedule's (search is started last):
    # the summary comes back in the order asked, row for row, file for file.
    steps = "search,theory,replay,model-switch"
    summaries = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert main(["reproduce", "-q", "--quick", "--steps", steps, "--jobs", jobs,
                     "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        summaries[jobs] = (summary["rows"],
                           [(s["name"], [Path(f).relative_to(out) for f in s["figures"]],
                             [Path(t).relative_to(out) for t in s["tables"]], s["note"])
                            for s in summary["steps"]],
                           (out / "summary.md").read_text())
    assert summaries["1"] == summaries["2"]
    assert [step[0] for step in summaries["2"][1]] == steps.split(",")
    assert len(summaries["2"][0]) == 6


@pytest.mark.slow
def test_frozen_groupthink_checks_give_the_rows_of_the_run_before_the_refactor(tmp_path):
    from dataclasses import asdict

    from slmmux_run.reproduce.groupthink import GROUPTHINK, frozen_check_rows

    folder, _ = experiments_dir()
    rows, tables = frozen_check_rows(folder / GROUPTHINK, tmp_path)
    baseline = json.loads(BASELINE.read_text())["steps"]["groupthink"]
    frozen = [row for row in baseline if "NEW questions" in row["claim"]]
    assert len(frozen) == 3 and [asdict(row) for row in rows] == frozen
    assert all(path.is_file() for path in tables)


def test_the_compilation_cache_folder_env_default_and_off(tmp_path, monkeypatch):
    from slmmux_run.jax_cache import CACHE_ENV as JAX_CACHE_ENV, cache_folder

    monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "jax"))
    assert cache_folder() == tmp_path / "jax"
    monkeypatch.setenv(JAX_CACHE_ENV, "off")
    assert cache_folder() is None
    monkeypatch.delenv(JAX_CACHE_ENV)
    monkeypatch.setenv("SLMMUX_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_folder() == tmp_path / "cache" / "jax"


def test_the_main_job_sets_its_cache_unless_jax_has_one(tmp_path, monkeypatch):
    import jax

    from slmmux_run.jax_cache import CACHE_ENV as JAX_CACHE_ENV, enable_compilation_cache

    before = (jax.config.jax_compilation_cache_dir,
              jax.config.jax_persistent_cache_min_compile_time_secs)
    try:
        jax.config.update("jax_compilation_cache_dir", str(tmp_path / "theirs"))
        monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "ours"))
        assert enable_compilation_cache(keep_existing=True) == tmp_path / "theirs"  # JAX's own setting is kept
        jax.config.update("jax_compilation_cache_dir", None)
        monkeypatch.setenv(JAX_CACHE_ENV, "off")
        assert enable_compilation_cache(keep_existing=True) is None and not jax.config.jax_compilation_cache_dir
        monkeypatch.setenv(JAX_CACHE_ENV, str(tmp_path / "ours"))
        assert enable_compilation_cache(keep_existing=True) == tmp_path / "ours"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "ours")
        assert (tmp_path / "ours").is_dir()
    finally:
        jax.config.update("jax_compilation_cache_dir", before[0])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])


# ---- steps in worker processes (--jobs) -------------------------------------------------------


def _worker_steps(monkeypatch, **steps):
    """Stand-in steps (module-level functions a spawned worker can import) under new names."""
    from slmmux_run.reproduce import STEPS

    from tests.run import _reproduce_steps

    for name, function in steps.items():
        monkeypatch.setitem(STEPS, name.replace("_", "-"), getattr(_reproduce_steps, function))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_workers_progress_and_prints_go_through_the_parent(tmp_path, capsys, monkeypatch):
    _worker_steps(monkeypatch, talk_a="talking_step", talk_b="talking_step")
    assert main(["reproduce", "--steps", "talk-a,talk-b", "--jobs", "2",
                 "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert [row["claim"] for row in rows] == ["talking", "talking"]
    assert all(int(row["real"]) != os.getpid() for row in rows)  # ran in workers
    # a worker's print: a note on stderr named by its step, never on stdout
    assert "talk-a: hello from the talking step" in captured.err
    assert "talk-b: hello from the talking step" in captured.err
    assert "hello" not in captured.out
    # the parent's line: steps done, the running steps with their elapsed time and their own
    # progress line (the worker's "inner" bar) in brackets
    lines = captured.err.splitlines()
    assert any(line.startswith("reproduce 0/2 steps (0 %) · talk-a ") and "[inner " in line
               for line in lines), captured.err
    assert "reproduce: talk-a took " in captured.err and "reproduce: talk-b took " in captured.err
    assert lines[-1].startswith("reproduce 2/2 steps (100 %)")


def test_quiet_silences_the_workers_too(tmp_path, capsys, monkeypatch):
    _worker_steps(monkeypatch, talk_a="talking_step", talk_b="talking_step")
    assert main(["reproduce", "-q", "--steps", "talk-a,talk-b", "--jobs", "2",
                 "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "hello" not in captured.out and "talking" in captured.out


def test_a_step_raising_in_a_worker_stops_the_others_and_is_raised(tmp_path, capsys,
                                                                     monkeypatch):
    _worker_steps(monkeypatch, boom="failing_step", slow="slow_step")
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="failed on purpose") as raised:
        main(["reproduce", "--steps", "slow,boom", "--jobs", "2", "--out", str(tmp_path)])
    assert time.monotonic() - start < 60  # the slow step (120 s) was not waited for
    # the worker's traceback is attached, naming the step's function
    assert "failing_step" in str(raised.value.__cause__)
    err = capsys.readouterr().err
    assert "reproduce: boom failed; stopping slow" in err
    assert not (tmp_path / "summary.json").exists()
    started = list(tmp_path.glob("started-*"))
    for marker in started:  # the slow step's worker was ended, not left running
        assert not _alive(int(marker.name.split("-")[1]))


def test_a_user_error_in_a_worker_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    _worker_steps(monkeypatch, bad="user_error_step", talk="talking_step")
    assert main(["reproduce", "--steps", "talk,bad", "--jobs", "2",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == ("slmmux reproduce: error: bad.jsonl line 3: field 'x' is "
                                    "not a number")
    assert "Traceback" not in err


def test_ctrl_c_ends_the_workers_and_exits_130(tmp_path):
    from tests.run._signals import default_sigint

    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys\n"
        "from slmmux_run.cli import main\n"
        "from slmmux_run.reproduce import STEPS\n"
        "from tests.run._reproduce_steps import slow_step\n"
        "STEPS['slow-a'] = STEPS['slow-b'] = slow_step\n"
        f"sys.exit(main(['reproduce', '--steps', 'slow-a,slow-b', '--jobs', '2', "
        f"'--out', {str(tmp_path)!r}]))\n")
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("started-*"))) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the workers never got going"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # the parent only, as `kill -INT` does
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "slmmux reproduce: interrupted"
    for marker in tmp_path.glob("started-*"):
        assert not _alive(int(marker.name.split("-")[1]))


def test_the_schedule_is_longest_first_and_results_keep_the_order_asked():
    from slmmux_run.cli_catalog import REPRODUCE_STEPS
    from slmmux_run.reproduce.parallel import LONGEST_FIRST, default_jobs, schedule

    assert sorted(LONGEST_FIRST) == sorted(REPRODUCE_STEPS)  # every step has its place
    assert schedule(REPRODUCE_STEPS)[:4] == ["groupthink", "local-live", "heldout", "plan"]
    assert schedule(["new", "search", "plan"]) == ["plan", "search", "new"]
    assert 1 <= default_jobs() <= min(3, os.cpu_count())
