"""The README's "Python API" example runs as written (skipped without the shared data), and
the "First hour" walkthrough's commands parse and are the ones its study runs."""

import re
import shlex
from pathlib import Path

import pytest

from slmmux_run.data.paths import data_file
from slmmux_run.errors import UserError

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_api_example() -> str:
    text = README.read_text("utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section holds one python block"
    return blocks[0]


def test_readme_python_api_example_runs(capsys):
    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
    except UserError:
        pytest.skip("shared data directory not available")
    exec(compile(_python_api_example(), str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "SLM-MUX at k=3: exact 0.3373" in out  # the value the engine's doctest pins
    assert re.search(r"^slm-mux 0\.\d{4}$", out, flags=re.M)
    assert re.search(r"^self-consistency 0\.\d{4}$", out, flags=re.M)


def _first_hour_commands() -> list[str]:
    text = README.read_text("utf-8")
    section = text.split("## First hour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^    \$ (slmmux .*)$", section, flags=re.M)


def test_first_hour_commands_parse_with_the_cli():
    from slmmux_run.cli import build_parser

    commands = _first_hour_commands()
    assert [c.split()[1] for c in commands] == ["serve", "serve", "collect", "plan", "run",
                                                "check"]
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])  # exits 2 on a flag that is gone
        assert callable(args.handler)


def test_first_hour_is_what_experiments_local_plan_runs():
    # The committed study types the README's commands; its log is where the excerpts come from.
    from experiments.local_plan.run import _commands, parse_args

    typed = ["slmmux " + shlex.join(argv) for argv in _commands(parse_args([]))]
    assert typed == _first_hour_commands()[2:]


def test_first_hour_output_excerpts_are_from_the_committed_log():
    # No typed-in output: each line shown under collect/plan/run/check is in the study's log.
    log = (README.parent / "experiments" / "local_plan" / "log.txt").read_text("utf-8")
    logged = set(log.splitlines())
    text = README.read_text("utf-8").split("## First hour", 1)[1].split("\n## ", 1)[0]
    shown = 0
    for block in re.findall(r"((?:^    .*\n)+)", text, flags=re.M):
        lines = [line[4:] for line in block.splitlines()]
        if re.match(r"\$ slmmux (collect|plan|run|check) ", lines[0]):
            for line in lines:
                assert line in logged, line
                shown += 1
    assert shown >= 15
