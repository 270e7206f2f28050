"""The console script as a person meets it: a light start, ``--version``, help that says what
each command and flag is, choices read from their one source, exit codes as documented."""

from __future__ import annotations

import argparse
import json
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
# What no --help and no argument error may import: the numerical libraries, and the ones a
# command needs only when it runs (each costs a visible share of a second on 2 cores).
NOT_FOR_HELP = (*HEAVY, "numpy", "scipy", "matplotlib", "httpx", "tenacity")


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


def _parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every parser under ``parser`` (actions of actions too), keyed by its command words."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*prefix, name), child
                yield from _parsers(child, (*prefix, name))


def test_every_commands_help_loads_no_numerical_library():
    # Not timed (a loaded machine would make it flaky): the cause of a slow --help, a heavy
    # import, is what is checked, in a fresh interpreter, after every help text is formatted.
    script = (
        "import sys\nfrom slmmux_run.cli import build_parser\n"
        "from tests.run.test_cli import _parsers\n"
        "names = []\n"
        "for words, parser in _parsers(build_parser()):\n"
        "    parser.format_help(); parser.format_usage(); names.append(' '.join(words))\n"
        "print(len(names), 'mux' in names, 'debate report' in names)\n"
        f"print(sorted(m for m in {NOT_FOR_HELP!r} if m in sys.modules))")
    result = _python(script)
    assert result.returncode == 0, result.stderr[-2000:]
    count, has_mux, has_action, loaded = result.stdout.split(maxsplit=3)
    assert int(count) >= 20 and has_mux == has_action == "True"
    assert loaded.strip() == "[]"


@pytest.mark.parametrize("argv, message", [
    (["mux", "--records", "r.jsonl", "--rule", "slm-mux,nope"],
     "argument --rule: unknown rule 'nope'; choose among slm-mux, agent-forest,"),
    (["plan", "--records", "r.jsonl", "--rules", "oracle"],
     "argument --rules: unknown rule 'oracle'; choose among slm-mux, agent-forest, "
     "self-consistency, model-switch (comma-separated)"),
    (["check", "--records", "r.jsonl", "--rules", "model-switch"],
     "argument --rules: unknown rule 'model-switch'; choose among slm-mux, agent-forest, "
     "self-consistency (comma-separated)"),
    (["check", "--records", "r.jsonl", "--predictor", "nope"],
     "argument --predictor: invalid choice: 'nope' (choose from 'hierarchical', 'dirichlet', "
     "'plug-in')"),
    (["plan", "--records", "r.jsonl", "--predictor", "dirichlet"],
     "argument --predictor: invalid choice: 'dirichlet'"),
    (["reproduce", "--steps", "theory,nope"], "argument --steps: unknown step 'nope'"),
    (["debate", "report", "--transcripts", "t", "--out", "o", "--variants", "nope"],
     "argument --variants: unknown variant 'nope'; choose among base, recognition,"),
    (["collect", "--config", "m", "--models", "a", "--out", "r", "--task", "nope"],
     "argument --task: invalid choice: 'nope' (choose from 'arithmetic',"),
])  # fmt: skip
def test_a_wrong_name_is_an_argument_error_before_any_import(argv, message):
    # Checked by argparse, so no file is read and JAX is never loaded: the error is instant.
    result = _python(
        "import sys\nfrom slmmux_run.cli import main\n"
        f"try:\n    main({argv!r})\n"
        "except SystemExit as stop:\n    print(stop.code)\n"
        f"print(sorted(m for m in {NOT_FOR_HELP!r} if m in sys.modules))")
    assert result.stdout.split() == ["2", "[]"], result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_rule_is_an_argument_error_without_loading_jax():
    result = _python(
        "import sys\nfrom slmmux_run.cli import main\n"
        "try:\n    main(['exact', '--input', 'd.json', '--rule', 'nope', '--k', '1'])\n"
        "except SystemExit as stop:\n    print(stop.code)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert result.stdout.split() == ["2", "[]"], result.stderr[-2000:]
    assert "argument --rule: invalid choice: 'nope' (choose from 'slm-mux'," in result.stderr


def test_a_command_loads_jax_only_to_compute_and_then_in_64_bit(tmp_path):
    # An error found before any computation costs no JAX import...
    early = _python(
        "import sys\nfrom slmmux_run.cli import main\n"
        "code = main(['exact', '--input', 'no-such-file.json', '--rule', 'slm-mux', '--k', '1'])\n"
        "print(code, 'jax' in sys.modules)")
    assert early.stdout.split() == ["2", "False"], early.stderr[-2000:]
    assert "no-such-file.json" in early.stderr
    # ...and a computation gets float64 (the exact engine raises Float64Required otherwise).
    # One model, one question, k = 1: the chosen answer is the one sample, correct w.p. 0.6.
    dist = tmp_path / "d.json"
    dist.write_text(json.dumps({"models": [{"name": "a", "validation_accuracy": 0.5,
                                            "probs": [[0.6, 0.4, 0.0]]}]}))
    done = _python(
        "import json, io, contextlib, jax\nfrom slmmux_run.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['exact', '--input', {str(dist)!r}, '--rule', 'slm-mux', '--k', '1'])\n"
        "print(code, bool(jax.config.jax_enable_x64), json.loads(out.getvalue())['accuracy'])")
    assert done.returncode == 0, done.stderr[-2000:]
    code, x64, accuracy = done.stdout.split()
    assert (code, x64) == ("0", "True") and abs(float(accuracy) - 0.6) < 1e-12


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"slmmux {package_version()}"
    assert re.fullmatch(r"\d+\.\d+.*", package_version())


def test_every_command_and_flag_says_what_it_is():
    parsers = dict(_parsers(build_parser()))
    assert ("debate", "report") in parsers and ("batch", "export") in parsers
    for words, parser in parsers.items():
        name = " ".join(words)
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
    for name in ("collect", "mux", "run"):  # an absent cap is no cap, and the help says so
        text = " ".join(commands[name].format_help().split())
        assert "records it already holds count (default: no cap)" in text, name
        assert "over their expected cost (default: no cap)" in text, name


@pytest.mark.parametrize("words, store, holds", [
    (("collect",), "record file (--out)", "records"),
    (("run",), "record file (--out)", "records"),
    (("mux",), "record file (--records)", "records"),
    (("debate", "run"), "transcript file (--transcripts)", "turns"),
])
def test_the_caps_name_the_file_they_are_for(words, store, holds):
    text = " ".join(dict(_parsers(build_parser()))[words].format_help().split())
    for cap in ("HTTP requests", "cost"):
        assert re.search(rf"cap on {cap} .*?for the {re.escape(store)}: the", text), (words, cap)
    assert f"of the {holds} it already holds count" in text
    other = "transcript file" if holds == "records" else "record file"
    assert other not in text, words


def test_choices_are_limited_to_what_the_mode_accepts():
    commands = _commands()
    plan = " ".join(commands["plan"].format_help().split())
    assert "--live" not in plan  # plan has no live mode: --task is not "required with --live"
    assert "--task TASK the task to sample: arithmetic," in plan
    assert "(optional, with --config: the full run's questions and prompts" in plan
    mux = " ".join(commands["mux"].format_help().split())
    assert "with --live one rule: slm-mux, model-switch" in mux
    assert "numeric (required with --live)" in mux
    check = " ".join(commands["check"].format_help().split())
    assert "--rules RULES comma-separated rules among slm-mux, agent-forest, self-consistency " in check
    assert "--predictor NAME predictor: hierarchical, dirichlet, plug-in " in check
    assert "--predictor NAME predictor: hierarchical, plug-in " in plan
    # The presets offered are the generator's (the help once listed one that does not exist).
    from slmmux_run.sampling.arithmetic import PRESETS

    collect = " ".join(commands["collect"].format_help().split())
    assert f"arithmetic preset: {', '.join(PRESETS)};" in collect


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
