"""The console script as a person meets it: a light start, ``--version``, help that says what
each command and flag is, choices read from their one source, exit codes as documented."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slmmux_run.cli import EXIT_CODES, build_parser, main, package_version
from slmmux_run.cli_args import LazyChoices

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("jax", "numpyro", "sympy")


def _python(script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)  # fmt: skip


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def test_building_the_parser_loads_no_numerical_library():
    result = _python("import sys; from slmmux_run.cli import build_parser; build_parser(); "
                     f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_a_wrong_rule_is_an_argument_error_without_loading_jax():
    result = _python(
        "import sys\nfrom slmmux_run.cli import main\n"
        "try:\n    main(['exact', '--input', 'd.json', '--rule', 'nope', '--k', '1'])\n"
        "except SystemExit as stop:\n    print(stop.code)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert result.stdout.split() == ["2", "[]"], result.stderr[-2000:]
    assert "argument --rule: invalid choice: 'nope' (choose from 'slm-mux'," in result.stderr


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"slmmux {package_version()}"
    assert re.fullmatch(r"\d+\.\d+.*", package_version())


def test_every_command_and_flag_says_what_it_is():
    for name, parser in _commands().items():
        assert parser.description, f"slmmux {name} has no description"
        text = parser.format_help()  # expands every lazy list and %(default)s
        assert "%(" not in text, name
        for action in parser._actions:
            if action.option_strings and action.help is not argparse.SUPPRESS:
                assert action.help, f"slmmux {name} {action.option_strings[0]} has no help"


def test_defaults_are_shown_and_required_flags_marked():
    commands = _commands()
    collect = commands["collect"].format_help()
    assert re.search(r"--task TASK\s+the task to sample: arithmetic, .*\(required\)",
                     collect, re.S)  # fmt: skip
    assert " --task TASK " in commands["collect"].format_usage().replace("\n", " ")
    assert "[--task TASK]" in commands["mux"].format_usage()  # required with --live only
    assert "(default: 0.7)" in collect
    assert "(default: paper)" in commands["exact"].format_help()
    assert "METHODS.md" not in commands["exact"].format_help()  # no section missing from the repo


def test_rule_choices_come_from_the_registry(monkeypatch):
    from slmmux_theory.rules.catalog import BUILT_IN, registered_rule_names
    from slmmux_theory.rules.registry import RULES, rule_names

    assert tuple(entry.name for entry in BUILT_IN) == tuple(RULES)[:len(BUILT_IN)]
    assert registered_rule_names() == tuple(RULES)
    monkeypatch.setitem(RULES, "toy-rule", RULES["slm-mux"])
    commands = _commands()
    (rule,) = [a for a in commands["exact"]._actions if a.dest == "rule"]
    assert "toy-rule" in rule.choices  # a rule registered at run time is accepted
    mux = " ".join(commands["mux"].format_help().split())
    assert f"with --live one rule: {', '.join(rule_names(live=True))}" in mux


def test_lazy_choices_load_once_on_first_use():
    calls = []
    choices = LazyChoices(lambda: calls.append(1) or ("a", "b"))
    assert calls == []
    assert "a" in choices and list(choices) == ["a", "b"] and len(choices) == 2
    assert calls == [1]


def test_the_readme_documents_every_exit_code():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = re.findall(r"^\| (\d+) \|", section, re.M)
    assert sorted(int(code) for code in codes) == sorted(EXIT_CODES)


def test_no_command_is_an_argument_error(capsys):
    assert main([]) == 2
    assert "usage: slmmux" in capsys.readouterr().out


@pytest.mark.parametrize("command", [
    ["check", "--records", "r.jsonl"],
    ["fit", "--records", "r.jsonl"],
    ["collect", "--config", "m.toml", "--models", "a", "--out", "r.jsonl", "--task", "arithmetic"],
    ["mux", "--live", "--records", "r.jsonl", "--task", "arithmetic"],
    ["debate", "run", "--config", "m.toml", "--agents", "a,b", "--transcripts", "t.jsonl",
     "--task", "arithmetic"],
])  # fmt: skip
def test_questions_zero_is_refused_everywhere(command, capsys):
    # One meaning of --questions: the first N >= 1 questions; 0 is neither "all" nor "none".
    with pytest.raises(SystemExit) as stop:
        main([*command, "--questions", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--questions: must be >= 1, got 0; omit the flag for all questions" in err
    assert len(err.strip().splitlines()[-1]) < 200 and "Traceback" not in err
    args = build_parser().parse_args([*command, "--questions", "3"])
    assert args.questions == 3
