"""``slmmux reproduce`` end to end: its cheapest step, its flag errors, the experiments folder,
and (slow) the fast steps' summary rows against the rows of the run before the refactor."""

import ast
import json
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
def test_fast_steps_give_the_rows_of_the_run_before_the_refactor(tmp_path):
    baseline = json.loads(BASELINE.read_text())["steps"]
    assert main(["reproduce", "--steps", ",".join(FAST_STEPS), "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert rows == [row for step in FAST_STEPS for row in baseline[step]]


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
