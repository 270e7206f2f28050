"""The bad-input matrix of ``slmmux``: every subcommand, every flag that takes a file, a folder,
a number or a name, given what a person gets wrong.

Each case runs the CLI in-process (``slmmux_run.cli.main``) and expects what the README's "Exit
codes" section promises for bad input: exit code 2, the last line of stderr naming the file or
flag at fault (``token``), no traceback, no file already stored changed, and all of it before
any heavy computation or request (a case still running after :data:`FAST_SECONDS` fails as
"validate first"). A few cases run as a subprocess (a real console); Ctrl-C is tested in
tests/run/test_interrupt.py.

The cases are written out, not derived from the code under test; a new command gets its rows
here (``test_every_command_has_cases`` fails until it does).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import pytest

from slmmux_run.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STUDY = ROOT / "experiments" / "groupthink_real"
GOOD_SAMPLES = FIXTURES / "samples_good.jsonl"  # models m-a, m-b; 3 questions; 4 samples
WRONG_TYPES_SAMPLES = FIXTURES / "samples_wrong_types.jsonl"
TRANSCRIPTS = STUDY / "transcripts.jsonl.gz"
STUDY_SAMPLES = STUDY / "samples.jsonl.gz"
BLIND = STUDY / "blind_medium"
PREDICTION = BLIND / "prediction" / "prediction.json"
FOLDS = (STUDY / "report" / "result.json", STUDY / "report_swapped" / "result.json")
BATCH_CONFIG = FIXTURES / "imports" / "batch_models.toml"  # models tiny-chat, tiny-base
BATCH_OUTPUT = FIXTURES / "imports" / "openai_batch_output.jsonl"
BATCH_TASK = ("--task", "arithmetic", "--questions", "2")
FAST_SECONDS = 20.0
"""A bad-input case must end within this many seconds: inputs are checked before any work."""


def _permissions_apply() -> bool:
    """Whether a chmod 000 file is unreadable here (not for root with CAP_DAC_OVERRIDE; root
    without it, e.g. under ``setpriv --bounding-set -dac_override,-dac_read_search``, is
    stopped like anybody)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        return False


ROOT_USER = not _permissions_apply()
"""chmod 000 and read-only folders do not stop this process: those cases are skipped (the
"path under a regular file" cases stand in for an unusable path)."""


# ---- the files a person gets wrong -------------------------------------------------------------

GOOD_DIST = '{"models": [{"name": "a", "probs": [[0.5, 0.3, 0.2]]}, ' \
            '{"name": "b", "probs": [[0.4, 0.4, 0.2]]}]}\n'
GOOD_CONFIG = ('[runner]\nmax_attempts = 1\ntimeout_seconds = 2\n\n'
               '[models.a]\nbase_url = "http://127.0.0.1:9"\nmodel = "a"\napi = "chat"\n')
KINDS = ("missing", "directory", "under_a_file", "unreadable", "not_utf8", "empty", "truncated",
         "wrong_types")
"""Kinds of bad input file; each format says what "truncated" and "wrong types" mean for it."""
CONTENT = {
    "jsonl": {"not_utf8": b'{"task": "t\xff\xfe"}\n', "empty": b"",
              "truncated": GOOD_SAMPLES.read_bytes().splitlines(keepends=True)[0]
              + b'{"task": "toy", "question_id": "',
              "wrong_types": b"[1, 2, 3]\n"},
    "json": {"not_utf8": b'{"models": "\xff\xfe"}\n', "empty": b"", "truncated": b'{"models": [',
             "wrong_types": b'{"models": 3, "fold": [1]}\n'},
    "toml": {"not_utf8": b'[models.a]\nmodel = "\xff\xfe"\n', "empty": b"",
             "truncated": b'[models.a\nbase_url = "http://127.0.0.1:9"\n',
             "wrong_types": b'[models.a]\nbase_url = 3\nmodel = ["a"]\n'},
    "gguf": {"not_utf8": b"\xff\xfe\x00\x01", "empty": b"", "truncated": b"GGU",
             "wrong_types": b'{"not": "gguf"}\n'},
}  # fmt: skip


def bad_file(folder: Path, kind: str, fmt: str) -> Path:
    """A path of ``kind`` in ``folder`` (created afresh; the name says the kind)."""
    suffix = {"jsonl": ".jsonl", "json": ".json", "toml": ".toml", "gguf": ".gguf"}[fmt]
    path = folder / f"bad_{kind}_{fmt}{suffix}"
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir(exist_ok=True)
        return path
    if kind == "under_a_file":
        plain = folder / f"plain_{fmt}.txt"
        plain.write_text("not a folder\n")
        return plain / f"bad_under{suffix}"
    if kind == "unreadable":
        path.write_bytes(CONTENT[fmt]["empty"] + b"{}\n")
        path.chmod(0)
        return path
    path.write_bytes(CONTENT[fmt][kind])
    return path


class Case(NamedTuple):
    """One bad invocation: ``argv`` (``{tmp}``, ``{good_config}``, ``{bad}`` filled in), the
    text the error's line must contain, and files that must be left byte-for-byte unchanged."""

    name: str
    argv: tuple[str, ...]
    token: str
    keep: tuple[str, ...] = ()
    root_ok: bool = True


# (command prefix, flag, format, the rest of a valid invocation)
INPUT_FLAGS = [
    ("check", "--records", "jsonl", ("--fit-samples", "2")),
    ("fit", "--records", "jsonl", ()),
    ("plan", "--records", "jsonl", ()),
    ("mux", "--records", "jsonl", ()),
    ("exact", "--input", "json", ("--rule", "slm-mux", "--k", "1")),
    ("collect", "--config", "toml",
     ("--models", "a", "--out", "{tmp}/c.jsonl", "--task", "arithmetic", "--k", "1")),
    ("collect", "--file", "jsonl", ("--config", "{good_config}", "--models", "a",
                                    "--out", "{tmp}/c.jsonl", "--task", "numeric", "--k", "1")),
    ("mux", "--config", "toml", ("--live", "--rule", "model-switch", "--models", "a",
                                 "--records", "{tmp}/m.jsonl", "--task", "arithmetic")),
    ("debate run", "--config", "toml", ("--agents", "a,a", "--transcripts", "{tmp}/t.jsonl",
                                        "--task", "arithmetic")),
    ("debate report", "--transcripts", "jsonl", ("--samples", str(STUDY_SAMPLES),
                                                 "--out", "{tmp}/r")),
    ("debate report", "--samples", "jsonl", ("--transcripts", str(TRANSCRIPTS),
                                             "--out", "{tmp}/r")),
    ("debate report", "--config", "toml", ("--transcripts", str(TRANSCRIPTS),
                                           "--samples", str(STUDY_SAMPLES), "--out", "{tmp}/r")),
    ("debate crossfit", "--folds", "json", (str(FOLDS[1]), "--out", "{tmp}/x")),
    ("debate predict", "--transcripts", "jsonl", ("--samples", str(STUDY_SAMPLES),
                                                  "--target-samples", str(BLIND / "samples.jsonl.gz"),
                                                  "--out", "{tmp}/p")),
    ("debate predict", "--target-samples", "jsonl", ("--transcripts", str(TRANSCRIPTS),
                                                     "--samples", str(STUDY_SAMPLES),
                                                     "--out", "{tmp}/p")),
    ("debate check", "--prediction", "json", ("--transcripts", str(BLIND / "transcripts.jsonl.gz"),
                                              "--out", "{tmp}/k")),
    ("debate check", "--transcripts", "jsonl", ("--prediction", str(PREDICTION), "--out", "{tmp}/k")),
    ("debate check", "--samples", "jsonl", ("--prediction", str(PREDICTION), "--transcripts",
                                            str(BLIND / "transcripts.jsonl.gz"), "--out", "{tmp}/k")),
    ("serve start", "--model", "gguf", ()),
    ("compare", "--records", "jsonl", ("--k", "1", "--json", "{tmp}/c.json")),
    ("run", "--plan", "json", ("--config", "{good_config}", "--out", "{tmp}/r.jsonl")),
    ("batch export", "--config", "toml", ("--models", "a", "--out", "{tmp}/b.jsonl", "--k", "1",
                                          *BATCH_TASK)),
    ("batch export", "--question-ids", "jsonl", ("--config", "{good_config}", "--models", "a",
                                                 "--out", "{tmp}/b.jsonl", *BATCH_TASK)),
    ("batch export", "--records", "jsonl", ("--config", "{good_config}", "--models", "a",
                                            "--out", "{tmp}/b.jsonl", *BATCH_TASK)),
    ("batch import", "--config", "toml", ("--input", "{batch_input}", "--output",
                                          str(BATCH_OUTPUT), "--out", "{tmp}/r.jsonl",
                                          *BATCH_TASK)),
    ("batch import", "--input", "jsonl", ("--config", str(BATCH_CONFIG), "--output",
                                          str(BATCH_OUTPUT), "--out", "{tmp}/r.jsonl",
                                          *BATCH_TASK)),
    ("batch import", "--output", "jsonl", ("--config", str(BATCH_CONFIG), "--input",
                                           "{batch_input}", "--out", "{tmp}/r.jsonl",
                                           *BATCH_TASK)),
    ("regrade", "--records", "jsonl", ("--out", "{tmp}/rg")),
]  # fmt: skip


def _input_cases() -> list[Case]:
    cases = []
    for command, flag, fmt, rest in INPUT_FLAGS:
        for kind in KINDS:
            argv = (*command.split(), flag, "{bad:%s:%s}" % (kind, fmt), *rest)
            cases.append(Case(f"{command.replace(' ', '-')} {flag} {kind}", argv,
                              f"bad_{kind}_{fmt}" if kind != "under_a_file" else "bad_under",
                              root_ok=kind != "unreadable"))
    return cases


S = str(GOOD_SAMPLES)
COLLECT = ("collect", "--config", "{good_config}", "--models", "a", "--out", "{tmp}/c.jsonl",
           "--task", "arithmetic", "--questions", "2", "--k", "1")
LIVE = ("mux", "--live", "--rule", "model-switch", "--config", "{good_config}", "--models", "a", "--records",
        "{tmp}/m.jsonl", "--task", "arithmetic", "--questions", "2")
DEBATE_RUN = ("debate", "run", "--config", "{good_config}", "--agents", "a,a", "--transcripts",
              "{tmp}/t.jsonl", "--task", "arithmetic", "--questions", "2")
REPORT = ("debate", "report", "--transcripts", str(TRANSCRIPTS), "--samples", str(STUDY_SAMPLES),
          "--out", "{tmp}/r")
PREDICT = ("debate", "predict", "--transcripts", str(TRANSCRIPTS), "--samples", str(STUDY_SAMPLES),
           "--target-samples", str(BLIND / "samples.jsonl.gz"), "--out", "{tmp}/p")
CHECK = ("debate", "check", "--prediction", str(PREDICTION), "--transcripts",
         str(BLIND / "transcripts.jsonl.gz"), "--out", "{tmp}/k")
EXACT = ("exact", "--input", "{good_dist}", "--rule", "slm-mux")
EXPORT = ("batch", "export", "--config", "{good_config}", "--models", "a", "--out",
          "{tmp}/b.jsonl", *BATCH_TASK)
IMPORT = ("batch", "import", "--config", str(BATCH_CONFIG), "--input", "{batch_input}",
          "--output", str(BATCH_OUTPUT), "--out", "{tmp}/r.jsonl", *BATCH_TASK)

# (base invocation, flag, bad value); the error must name the flag
NUMBERS = [
    (("compare", "--records", S, "--json", "{tmp}/c.json"), "--k", "0"),
    (("compare", "--records", S, "--k", "1", "--json", "{tmp}/c.json"), "--draws", "0"),
    (("run", "--plan", "{tmp}/plan.json", "--config", "{good_config}", "--out",
      "{tmp}/r.jsonl"), "--max-cost", "nan"),
    (("check", "--records", S), "--fit-samples", "0"),
    (("check", "--records", S), "--fit-samples", "-1"),
    (("check", "--records", S, "--fit-samples", "2"), "--k", "0"),
    (("check", "--records", S, "--fit-samples", "2"), "--k", "1000000000"),
    (("check", "--records", S, "--fit-samples", "2"), "--draws", "0"),
    (("check", "--records", S, "--fit-samples", "2"), "--draws", "-5"),
    (("check", "--records", S, "--fit-samples", "2"), "--draws", "1000000000000"),
    (("fit", "--records", S), "--svi-steps", "0"),
    (("fit", "--records", S), "--svi-steps", "-3"),
    (("fit", "--records", S), "--rank", "-1"),
    (("fit", "--records", S, "--method", "nuts"), "--nuts-warmup", "-1"),
    (("fit", "--records", S), "--draws", "0"),
    (("fit", "--records", S), "--draws", "1000000000000"),
    (("fit", "--records", S, "--check"), "--replicates", "0"),
    (("plan", "--records", S), "--pilot-questions", "0"),
    (("plan", "--records", S), "--pilot-samples", "0"),
    (("plan", "--records", S), "--k", "0"),
    (("plan", "--records", S), "--k", "1000000000"),
    (("plan", "--records", S), "--draws", "0"),
    (("plan", "--records", S), "--svi-steps", "0"),
    (("plan", "--records", S, "--unseen", "dirichlet-process"), "--concentration", "nan"),
    (("plan", "--records", S, "--unseen", "dirichlet-process"), "--concentration", "-1"),
    (("plan", "--records", S), "--max-budget-size", "0"),
    (("plan", "--records", S), "--subset-sizes", "0"),
    (("plan", "--records", S), "--subset-sizes", "1000000000"),
    (("plan", "--records", S), "--budget", "-1"),
    (("plan", "--records", S), "--cost-per-sample", "nan"),
    (("plan", "--records", S), "--cost-per-sample", "inf"),
    ((*EXACT,), "--k", "0"),
    ((*EXACT,), "--k", "-2"),
    ((*EXACT,), "--k", "1e9"),
    ((*EXACT,), "--k", "1000000000"),
    ((*EXACT, "--k", "1"), "--monte-carlo", "-1"),
    ((*EXACT, "--k", "1"), "--monte-carlo", "1"),
    ((*EXACT, "--k", "1"), "--monte-carlo", "1000000000"),
    ((*EXACT, "--k", "1"), "--monte-carlo", "1e9"),
    ((*COLLECT,), "--k", "0"),
    ((*COLLECT,), "--k", "1000000000"),
    ((*COLLECT,), "--temperature", "nan"),
    ((*COLLECT,), "--temperature", "-1"),
    ((*COLLECT,), "--temperature", "inf"),
    ((*COLLECT,), "--max-tokens", "0"),
    ((*COLLECT,), "--max-tokens", "-5"),
    ((*COLLECT,), "--max-requests", "-1"),
    ((*COLLECT,), "--max-cost", "nan"),
    ((*COLLECT,), "--max-cost", "-1"),
    ((*COLLECT,), "--max-cost", "inf"),
    ((*COLLECT,), "--questions", "-3"),
    ((*COLLECT,), "--questions", "1000000000"),
    ((*COLLECT,), "--digits", "0"),
    ((*COLLECT,), "--digits", "1000000"),
    ((*COLLECT,), "--steps", "0"),
    ((*COLLECT,), "--steps", "1000000"),
    ((*COLLECT,), "--distractors", "-1"),
    ((*COLLECT,), "--distractors", "1000000"),
    (("mux", "--records", S), "--k", "0"),
    (("mux", "--records", S), "--k", "1000000000"),
    (("mux", "--records", S), "--validation-split", "nan"),
    (("mux", "--records", S), "--validation-split", "-0.1"),
    (("mux", "--records", S), "--validation-split", "1.5"),
    ((*LIVE,), "--k", "0"),
    ((*LIVE,), "--k", "1000000000"),
    ((*LIVE,), "--temperature", "nan"),
    ((*LIVE,), "--max-tokens", "0"),
    ((*LIVE,), "--max-cost", "nan"),
    ((*LIVE,), "--max-requests", "-1"),
    ((*REPORT,), "--fit-steps", "0"),
    ((*REPORT,), "--draws", "0"),
    ((*REPORT,), "--draws", "-1"),
    ((*PREDICT,), "--debates-per-question", "0"),
    ((*PREDICT,), "--fit-steps", "-1"),
    ((*PREDICT,), "--draws", "0"),
    ((*CHECK,), "--tolerance", "nan"),
    ((*CHECK,), "--tolerance", "-1"),
    ((*DEBATE_RUN,), "--rounds", "0"),
    ((*DEBATE_RUN,), "--rounds", "1000000000"),
    ((*DEBATE_RUN,), "--temperature", "nan"),
    ((*DEBATE_RUN,), "--max-tokens", "0"),
    (("serve", "start"), "--port", "70000"),
    (("serve", "start"), "--port", "0"),
    (("serve", "start"), "--threads", "0"),
    (("serve", "start"), "--threads", "-2"),
    (("serve", "start"), "--timeout", "nan"),
    (("serve", "start"), "--timeout", "-1"),
    (("serve", "start"), "--timeout", "inf"),
    (("reproduce", "--out", "{tmp}/rep"), "--jobs", "0"),
    (("reproduce", "--out", "{tmp}/rep"), "--jobs", "-1"),
    (("reproduce", "--out", "{tmp}/rep"), "--jobs", "nan"),
    (("reproduce", "--out", "{tmp}/rep"), "--jobs", "1000000000"),
    ((*EXPORT,), "--k", "0"),
    ((*EXPORT,), "--k", "1000000000"),
    ((*EXPORT,), "--temperature", "nan"),
    ((*EXPORT,), "--max-tokens", "-5"),
    ((*EXPORT,), "--questions", "0"),
    ((*IMPORT,), "--digits", "0"),
]  # fmt: skip

# (invocation, text the error must contain)
NAMES = [
    (("exact", "--input", "{good_dist}", "--rule", "nope", "--k", "1"), "--rule"),
    (("check", "--records", S, "--fit-samples", "2", "--predictor", "nope"), "--predictor"),
    (("check", "--records", S, "--fit-samples", "2", "--rules", "nope"), "--rules"),
    (("check", "--records", S, "--fit-samples", "2", "--models", "m-a,nope"), "nope"),
    (("fit", "--records", S, "--task-name", "nope"), "nope"),
    (("plan", "--records", S, "--rules", "nope"), "nope"),
    (("plan", "--records", S, "--models", "nope"), "nope"),
    (("plan", "--records", S, "--predictor", "nope"), "--predictor"),
    (("plan", "--records", S, "--cost-per-sample", "nope=2"), "nope"),
    (("mux", "--records", S, "--rule", "nope"), "nope"),
    (("mux", "--records", S, "--models", "nope"), "nope"),
    (("mux", "--records", S, "--task-name", "nope"), "nope"),
    (("collect", "--config", "{good_config}", "--models", "nope", "--out", "{tmp}/c.jsonl",
      "--task", "arithmetic"), "nope"),
    (("collect", "--config", "{good_config}", "--models", "a", "--out", "{tmp}/c.jsonl",
      "--task", "nope"), "--task"),
    (("collect", "--config", "{good_config}", "--models", "a", "--out", "{tmp}/c.jsonl",
      "--task", "arithmetic", "--preset", "nope"), "nope"),
    (("collect", "--config", "{good_config}", "--models", "a", "--out", "{tmp}/c.jsonl",
      "--task", "arithmetic", "--ops", "^"), "^"),
    (("mux", "--live", "--config", "{good_config}", "--models", "a", "--records",
      "{tmp}/m.jsonl", "--task", "arithmetic", "--rule", "nope"), "nope"),
    (("debate", "run", "--config", "{good_config}", "--agents", "a,nope", "--transcripts",
      "{tmp}/t.jsonl", "--task", "arithmetic"), "nope"),
    ((*REPORT, "--models", "nope,other"), "nope"),
    ((*REPORT, "--variants", "nope"), "nope"),
    ((*PREDICT, "--variants", "nope"), "nope"),
    (("serve", "start", "--model", "nope"), "nope"),
    (("serve", "status", "--model", "nope"), "nope"),
    (("reproduce", "--out", "{tmp}/rep", "--steps", "nope"), "nope"),
    (("batch", "export", "--config", "{good_config}", "--models", "nope", "--out",
      "{tmp}/b.jsonl", *BATCH_TASK), "nope"),
    (("batch", "nope"), "nope"),
]  # fmt: skip


def _output_cases() -> list[Case]:
    """Outputs: a folder where a file goes, a file where a folder goes, a path under a regular
    file, a read-only folder; and an existing file that is not ours, left as it was."""
    with_json = [
        ("check", ("check", "--records", S, "--fit-samples", "2"), "--json"),
        ("fit", ("fit", "--records", S), "--json"),
        ("plan", ("plan", "--records", S), "--json"),
        ("plan", ("plan", "--records", S, "--budget", "4"), "--figure"),
        ("mux", ("mux", "--records", S), "--json"),
        ("mux-live", LIVE, "--json"),
    ]
    cases = []
    for name, base, flag in with_json:
        cases += [
            Case(f"{name} {flag} directory", (*base, flag, "{tmp}/a_folder"), flag),
            Case(f"{name} {flag} under_a_file", (*base, flag, "{tmp}/plain.txt/out.json"), flag),
            Case(f"{name} {flag} read_only", (*base, flag, "{tmp}/read_only/out.json"), flag,
                 root_ok=False),
        ]
    files = [("collect", COLLECT, "--out"), ("mux-live", LIVE, "--records"),
             ("debate-run", DEBATE_RUN, "--transcripts"), ("batch-export", EXPORT, "--out"),
             ("batch-import", IMPORT, "--out")]
    for name, base, flag in files:
        at = base.index(flag)
        base = base[:at] + base[at + 2:]  # drop "FLAG PATH"
        cases += [
            Case(f"{name} {flag} directory", (*base, flag, "{tmp}/a_folder"), "a_folder"),
            Case(f"{name} {flag} under_a_file", (*base, flag, "{tmp}/plain.txt/out.jsonl"),
                 "out.jsonl"),
            Case(f"{name} {flag} read_only", (*base, flag, "{tmp}/read_only/out.jsonl"),
                 "out.jsonl", root_ok=False),
            Case(f"{name} {flag} not_ours", (*base, flag, "{tmp}/results.json"), "results.json",
                 keep=("{tmp}/results.json",)),
        ]
    folders = [("debate-report", REPORT), ("debate-predict", PREDICT), ("debate-check", CHECK),
               ("debate-crossfit", ("debate", "crossfit", "--folds", *map(str, FOLDS),
                                    "--out", "{tmp}/x")),
               ("reproduce", ("reproduce", "--steps", "theory", "--quick", "--out", "{tmp}/rep")),
               ("theory", ("theory", "--out", "{tmp}/th")),
               ("regrade", ("regrade", "--records", S, "--out", "{tmp}/rg"))]
    for name, base in folders:
        base = base[:-2]  # drop "--out PATH"
        cases += [
            Case(f"{name} --out a_file", (*base, "--out", "{tmp}/plain.txt"), "plain.txt",
                 keep=("{tmp}/plain.txt",)),
            Case(f"{name} --out under_a_file", (*base, "--out", "{tmp}/plain.txt/o"), "plain.txt"),
            Case(f"{name} --out read_only", (*base, "--out", "{tmp}/read_only/o"), "read_only",
                 root_ok=False),
        ]
    cases += [
        Case("reproduce --data-dir missing", ("reproduce", "--out", "{tmp}/rep", "--data-dir",
                                              "{tmp}/no_data"), "no_data"),
        Case("reproduce --data-dir a_file", ("reproduce", "--out", "{tmp}/rep", "--data-dir",
                                             "{tmp}/plain.txt"), "plain.txt"),
        Case("reproduce --experiments-dir missing",
             ("reproduce", "--out", "{tmp}/rep", "--experiments-dir", "{tmp}/no_exp"), "no_exp"),
        Case("reproduce --experiments-dir a_file",
             ("reproduce", "--out", "{tmp}/rep", "--experiments-dir", "{tmp}/plain.txt"),
             "plain.txt"),
    ]
    return cases


def _empty_input_cases() -> list[Case]:
    """Inputs that parse but hold nothing: errors naming the file, never empty tables."""
    return [
        Case(f"{command} --records header_only", (command, "--records", "{tmp}/header.jsonl",
                                                  *rest), "header.jsonl")
        for command, rest in (("check", ("--fit-samples", "2")), ("fit", ()), ("plan", ()),
                              ("mux", ()))
    ] + [
        Case(f"{command} --records wrong_types", (command, "--records", str(WRONG_TYPES_SAMPLES),
                                                  *rest), WRONG_TYPES_SAMPLES.name)
        for command, rest in (("check", ("--fit-samples", "1")), ("fit", ()), ("plan", ()),
                              ("mux", ()))
    ] + [
        Case("collect --file no_questions", (*COLLECT[:8], "numeric", "--file",
                                             "{tmp}/no_questions.json", "--k", "1"),
             "no_questions.json"),
        Case("collect --file blank_lines", (*COLLECT[:8], "numeric", "--file",
                                            "{tmp}/blank.jsonl", "--k", "1"), "blank.jsonl"),
        Case("exact --input no_models", ("exact", "--input", "{tmp}/no_models.json", "--rule",
                                         "slm-mux", "--k", "1"), "no_models.json"),
        Case("exact --input nan_prob", ("exact", "--input", "{tmp}/nan.json", "--rule",
                                        "slm-mux", "--k", "1"), "nan.json"),
        Case("debate crossfit --folds wrong_fold", ("debate", "crossfit", "--folds",
                                                    "{tmp}/fold.json", str(FOLDS[1]), "--out",
                                                    "{tmp}/x"), "fold.json"),
    ]


CASES = (_input_cases()
         + [Case(f"{' '.join(base[:2])} {flag} {value}", (*base, flag, value), flag)
            for base, flag, value in NUMBERS]
         + [Case(f"{' '.join(argv[:2])} name {token}", argv, token) for argv, token in NAMES]
         + _output_cases() + _empty_input_cases())  # fmt: skip


def make_files(tmp_path: Path) -> None:
    """The good files and the fixed bad ones of the cases, in ``tmp_path``."""
    (tmp_path / "good.toml").write_text(GOOD_CONFIG)
    (tmp_path / "good.json").write_text(GOOD_DIST)
    (tmp_path / "plain.txt").write_text("a user's file\n")
    (tmp_path / "results.json").write_text('{"accuracy": 0.5}')  # json.dump's one line, no \n
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "read_only").mkdir()
    (tmp_path / "read_only").chmod(0o555)
    (tmp_path / "header.jsonl").write_text('{"format": "slmmux-records/1"}\n')
    (tmp_path / "no_questions.json").write_text("[]\n")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    (tmp_path / "no_models.json").write_text('{"models": []}\n')
    (tmp_path / "nan.json").write_text('{"models": [{"name": "a", "probs": [[NaN, 0.5, 0.5]]}]}\n')
    (tmp_path / "fold.json").write_text('{"held_out_question_ids": "q1"}\n')


@pytest.fixture
def files(tmp_path, monkeypatch):
    """:func:`make_files` in a fresh folder, the working directory during the case."""
    monkeypatch.setenv("SLMMUX_STATE_DIR", str(tmp_path / "state"))
    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    (tmp_path / "read_only").chmod(0o755)


def _fill(argv, folder: Path) -> list[str]:
    out = []
    for arg in argv:
        if arg.startswith("{bad:"):
            kind, fmt = arg[5:-1].split(":")
            out.append(str(bad_file(folder, kind, fmt)))
        else:
            if arg == "{batch_input}":
                _batch_input(folder)
            out.append(arg.format(tmp=folder, good_config=folder / "good.toml",
                                  good_dist=folder / "good.json",
                                  batch_input=folder / "batch.jsonl"))
    return out


def _batch_input(folder: Path) -> None:
    """A batch input file of tiny-chat on the first two arithmetic questions (``batch export``
    of the fixture config), for the cases of ``batch import``."""
    if not (folder / "batch.jsonl").exists():
        assert main(["batch", "export", "--config", str(BATCH_CONFIG), "--models", "tiny-chat",
                     "--k", "1", "--out", str(folder / "batch.jsonl"), *BATCH_TASK]) == 0


class Slow(BaseException):
    """Raised in the test when a bad-input case is still running after FAST_SECONDS."""


def run_cli(argv: list[str], seconds: float = FAST_SECONDS) -> int:
    """``main(argv)``'s exit code (argparse's SystemExit included), stopped after ``seconds``."""

    def alarm(signum, frame):
        raise Slow(f"still running after {seconds} s: inputs must be checked before any work")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_exit_2(case, files, capsys):
    if ROOT_USER and not case.root_ok:
        pytest.skip("permissions do not apply to this process (root)")
    argv = _fill(case.argv, files)
    kept = {path: Path(path).read_bytes() for path in _fill(case.keep, files)}
    code = run_cli(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert code == 2, f"exit {code}; stderr: {err[-1500:]}"
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert "error:" in last and case.token in last, f"the error line {last!r} should name {case.token!r}"
    assert len(last) < 400, last
    message = [line for line in err.strip().splitlines() if not line.startswith(("usage:", " "))]
    assert len(message) == 1, f"one line on stderr, got: {message}"
    for path, content in kept.items():
        assert Path(path).read_bytes() == content, f"{path} changed"


def test_every_command_has_cases():
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    covered = {case.argv[0] for case in CASES}
    assert set(subparsers.choices) <= covered, set(subparsers.choices) - covered


def test_a_corrupt_pid_file_does_not_block_serve_stop(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("SLMMUX_STATE_DIR", str(state))
    (state / "smollm2.json").write_text('{"pid": "x", "port": ')
    (state / "gemma3.json").write_bytes(b"\xff\xfe")
    (state / "other.json").write_text('{"model": "other", "pid": 2147483000, "port": 8005, '
                                      '"base_url": "http://127.0.0.1:8005", "path": "", "log": ""}')
    assert run_cli(["serve", "stop"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.count("removed the unreadable pid file") == 2
    assert "no server was running" in captured.out
    assert sorted(p.name for p in state.iterdir()) == []  # stale and unreadable both removed


# ---- subprocess: a real console -----------------------------------------------------------------

def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.mark.parametrize("argv, token", [
    (["exact", "--input", "{tmp}", "--rule", "slm-mux", "--k", "1"], "{tmp}"),
    (["exact", "--input", "{tmp}/d.json", "--rule", "slm-mux", "--k", "1",
      "--monte-carlo", "1000000000"], "--monte-carlo"),
    (["serve", "start", "--port", "70000"], "--port"),
])  # fmt: skip
def test_as_a_console_script(argv, token, tmp_path):
    (tmp_path / "d.json").write_text(GOOD_DIST)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    result = subprocess.run([sys.executable, "-m", "slmmux_run.cli", *argv], env=_env(),
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert token.replace("{tmp}", str(tmp_path)) in result.stderr.strip().splitlines()[-1]


# ---- the studies' own flags: typed like the CLI's (one meaning, refused at parse time) ---------

STUDY_FLAGS = [
    ("local_run", "--questions", "0"), ("local_run", "--k", "-1"),
    ("local_run", "--temperature", "nan"), ("local_run", "--validation-split", "1"),
    ("local_run", "--threads", "0"), ("local_run", "--max-tokens", "0"),
    ("groupthink_real", "--questions", "0"), ("groupthink_real", "--k", "0"),
    ("groupthink_real", "--rounds", "0"), ("groupthink_real", "--draws", "-1"),
    ("groupthink_real", "--temperature", "inf"), ("groupthink_real", "--moa-questions", "-2"),
    ("fit_answer_model", "--svi-steps", "0"), ("fit_answer_model", "--max-questions", "0"),
    ("fit_answer_model", "--replicates", "1000000000"),
    ("pilot_eval", "--seeds", "0"), ("pilot_eval", "--draws", "1"),
    ("pilot_eval", "--concentration", "nan"),
    ("groupthink_phase", "--grid-size", "0"), ("groupthink_phase", "--majority-weight", "nan"),
    ("groupthink_phase", "--num-agents", "0"),
    ("data_summary", "--repeats", "0"),
]  # fmt: skip


@pytest.mark.parametrize("study, flag, value", STUDY_FLAGS)
def test_study_flags_are_checked_like_the_cli(study, flag, value, tmp_path, capsys):
    import importlib

    module = importlib.import_module(f"experiments.{study}.run")
    argv = [flag, value, *(["--out-dir", str(tmp_path)] if study == "local_run" else [])]
    with pytest.raises(SystemExit) as stop:
        module.main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert f"argument {flag}: must be" in err.strip().splitlines()[-1]
