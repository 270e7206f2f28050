"""The local-model run as a library: serve SmolLM2 + Gemma-3, collect, replay, write the result.

Runner layer (processes, HTTP, files). Starts both local servers
(:func:`slmmux_run.sampling.serve.local_server`), collects k samples per question per model into
a record store (the store is the cache: a rerun pays nothing twice), then replays the rules at
k = 1..K with the theory's plug-in prediction beside them (the replay engine computes; this
module only assembles and writes ``result.json`` and ``summary.md``). Used by the study script
``experiments/local_run/run.py`` and by ``slmmux reproduce`` (steps ``local-run`` and
``local-live``).

Prompts: SmolLM2 gets the package's short numeric chat prompt (``numeric-chat/1``), Gemma-3 (a
base model) the 2-shot arithmetic completion prompt (``arithmetic-completion/1``, stop at
newline).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "MODELS",
    "TARGET_SECONDS",
    "LocalRunResult",
    "LocalRunSettings",
    "LocalReplay",
    "collect_local_records",
    "local_tasks",
    "replay_records",
    "rewrite_summary",
    "run_local_study",
    "summary_markdown",
]

TARGET_SECONDS = 600
MODELS = ("smollm2", "gemma3")


@dataclasses.dataclass(frozen=True)
class LocalRunSettings:
    """Settings of one local run.

    Attributes:
      questions: generated arithmetic problems.
      k: samples per question per model.
      temperature: sampling temperature.
      seed: sampling seed.
      task_seed: seed of the problems.
      preset: arithmetic preset.
      max_tokens: completion limit per sample.
      validation_split: share of questions that rank the models for SLM-MUX ties.
      threads: llama.cpp threads per server.
    """

    questions: int = 80
    k: int = 5
    temperature: float = 0.7
    seed: int = 2026
    task_seed: int = 0
    preset: str = "easy"
    max_tokens: int = 16
    validation_split: float = 0.3
    threads: int = 1

    @classmethod
    def from_stored(cls, settings: dict) -> "LocalRunSettings":
        """Settings from a stored ``result.json`` (older results name k ``samples``)."""
        stored = dict(settings)
        if "samples" in stored:
            stored["k"] = stored.pop("samples")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in stored.items() if key in names})


class LocalReplay(NamedTuple):
    """Replay of a local record store.

    Attributes:
      rows: one ``ReplayRow`` per (rule, models, k).
      split: the validation/evaluation split description.
      record_set: the loaded records (sample set and failure masks).
    """

    rows: list
    split: dict
    record_set: object


class LocalRunResult(NamedTuple):
    """What a local run wrote.

    Attributes:
      result: the JSON-ready result (``result.json``).
      table: the fixed-width replay table (in ``summary.md``).
      out_dir: the folder holding ``records.jsonl``, ``result.json`` and ``summary.md``.
    """

    result: dict
    table: str
    out_dir: Path


def local_tasks(settings: LocalRunSettings) -> dict:
    """The arithmetic task of each model: SmolLM2 chat (numeric prompt), Gemma-3 completion."""
    from slmmux_run.sampling.collect import build_task
    from slmmux_run.sampling.tasks import NUMERIC_CHAT

    options = {"n_questions": settings.questions, "preset": settings.preset,
               "task_seed": settings.task_seed}
    chat = dataclasses.replace(build_task("arithmetic", "chat", options), prompt=NUMERIC_CHAT)
    return {"smollm2": chat, "gemma3": build_task("arithmetic", "completion", options)}


def collect_local_records(settings: LocalRunSettings, store, config_path, log=print) -> dict:
    """Serve both models, collect what is missing into ``store``; returns timings and counts.

    Args:
      settings: the run's settings.
      store: a ``RecordStore`` (the cache).
      config_path: runner config TOML of the two models (their URLs are replaced by the
        servers started here).
      log: where the spending estimate is printed.
    """
    from slmmux_run.sampling.client import Client
    from slmmux_run.progress import Progress
    from slmmux_run.sampling.collect import collect, estimate_plan, keys_of, plan_requests
    from slmmux_run.sampling.config import load_config
    from slmmux_run.sampling.serve import local_server
    from slmmux_run.sampling.spending import Budget, format_estimate

    started = time.perf_counter()
    with local_server("smollm2", timeout=180, threads=settings.threads) as smollm2_url, \
            local_server("gemma3", timeout=180, threads=settings.threads) as gemma3_url:
        servers_up = time.perf_counter() - started
        config = load_config(config_path)
        urls = {"smollm2": smollm2_url, "gemma3": gemma3_url}
        config = dataclasses.replace(config, models={
            name: dataclasses.replace(model, base_urls=(urls[name],))
            for name, model in config.models.items()
        })  # fmt: skip
        plan = plan_requests(local_tasks(settings), settings.k, settings.temperature,
                             settings.seed, settings.max_tokens)  # fmt: skip
        log(format_estimate(estimate_plan(config, plan, store), "to send (at most)"))
        budget = Budget()
        to_send = sum(len(store.missing(keys_of(question))) for question in plan)

        async def main(progress):
            async with Client(config, budget=budget, progress=progress) as client:
                return await collect(client, store, plan)

        sampling_started = time.perf_counter()
        with Progress("local run: sampling", to_send, unit="samples") as progress:
            summary = asyncio.run(main(progress))
        sampling = time.perf_counter() - sampling_started
    return {
        "servers_up_seconds": servers_up,
        "sampling_seconds": sampling,
        "serve_and_collect_seconds": time.perf_counter() - started,
        "http_requests": budget.requests,
        "collect": dataclasses.asdict(summary),
    }


def replay_records(record_path, ks, rules, *, models=None, validation_fraction=0.3,
                   seed=0) -> LocalReplay:
    """Replay ``rules`` at every k of ``ks`` on a record store, with the plug-in prediction.

    Args:
      record_path: the record store (JSONL, or JSONL.gz).
      ks: samples per model to replay.
      rules: rule names of the replay engine.
      models: models in order (default: all recorded).
      validation_fraction: share of questions ranking the models for SLM-MUX ties.
      seed: seed of the split and the ties.
    """
    from slmmux_run.data.record_samples import load_records
    from slmmux_run.data.records import RecordStore
    from slmmux_run.replay import replay_table

    latest = RecordStore(Path(record_path)).latest().values()
    record_set = load_records(latest) if models is None else load_records(latest, None, list(models))
    rows, split = replay_table(record_set, tuple(rules), list(ks),
                               validation_fraction=validation_fraction, seed=seed, predict=True)
    return LocalReplay(rows, split, record_set)


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def summary_markdown(settings: LocalRunSettings, result: dict, table: str) -> str:
    """The study's ``summary.md``: settings, wall times, per-sample accuracy, the replay table."""
    timing = result["timing"]
    lines = [
        "# Real run: SmolLM2-135M-Instruct + Gemma-3-270M on generated arithmetic",
        "",
        f"Task `{result['task']}` (preset `{settings.preset}`, {settings.questions} questions, "
        f"problem seed {settings.task_seed}); {settings.k} samples per question per model at "
        f"T = {settings.temperature}, sampling seed {settings.seed}, max_tokens "
        f"{settings.max_tokens}. "
        "SmolLM2: chat, prompt `numeric-chat/1`; Gemma-3 base: completions, 2-shot prompt "
        "`arithmetic-completion/1`. Both served by xllamacpp with one thread each.",
        "",
        f"Wall time: {timing['total_seconds']:.0f} s in all (servers up "
        f"{timing['servers_up_seconds']:.0f} s, sampling {timing['sampling_seconds']:.0f} s for "
        f"{result['timing']['collect']['stored']} new samples in {timing['http_requests']} HTTP "
        f"requests ({timing['collect']['cached']} were already stored), replay and theory "
        f"{timing['analysis_seconds']:.0f} s). Machine: {platform.machine()}, load average at "
        f"the start {result['load_average_start']} on {os.cpu_count()} CPUs (shared with "
        f"other work). Target under {TARGET_SECONDS} s: "
        f"{'met' if timing['total_seconds'] < TARGET_SECONDS else 'missed'}.",
        "",
        "Per-sample accuracy (all questions): "
        + ", ".join(f"{name} {info['per_sample_accuracy']:.3f} ({info['failed']} failed "
                    f"requests, {info['abstained']} without an answer)"
                    for name, info in result["failures"].items()) + ".",
        "",
        f"SLM-MUX ties go to the model with the better per-sample accuracy on "
        f"{result['split']['folds'][0]['validation_questions']} validation questions "
        f"({result['split']['folds'][0]['validation_accuracy']}); every rule is scored on the "
        f"other {result['split']['evaluated_questions']} questions. `literal`: the rule applied "
        "to the first k recorded samples (seeded ties), ± standard error over questions. "
        f"`exact`: expectation over drawing k of the {settings.k} recorded samples without "
        "replacement "
        "(hypergeometric replay through `slmmux_theory.engines.exact`), ± standard error over questions; "
        "`(nq)` marks a value over the n questions whose answers fit the enumeration limit. "
        "`predicted`: the theory's `exact_accuracy` with each (model, question)'s recorded answer "
        "frequencies plugged in as its answer distribution (multinomial, k i.i.d. samples). This "
        "prediction is IN-SAMPLE: it is fitted on the very samples it is compared with.",
        "",
        "```",
        table,
        "```",
        "",
        "Records: `records.jsonl` (one line per sample: prompt version, raw text, extracted "
        "answer and extractor rule, grade, usage, latency, seed). Reproduce the table with "
        "`slmmux mux --records experiments/local_run/records.jsonl --models smollm2,gemma3 "
        "--predict`.",
    ]
    return "\n".join(lines) + "\n"


def rewrite_summary(out_dir) -> Path:
    """Rewrite ``summary.md`` from a stored ``result.json`` (no sampling, no replay)."""
    from slmmux_run.replay import ReplayRow
    from slmmux_run.replay_report import format_table

    out = Path(out_dir)
    result = json.loads((out / "result.json").read_text())
    settings = LocalRunSettings.from_stored(result["settings"])
    rows = [ReplayRow(**{key: math.nan if value is None else value
                         for key, value in row.items()}) for row in result["rows"]]
    path = out / "summary.md"
    path.write_text(summary_markdown(settings, result, format_table(rows)))
    return path


def run_local_study(settings: LocalRunSettings, out_dir, config_path, *, rules=None,
                    log=print) -> LocalRunResult:
    """Collect (what is missing), replay every rule at k = 1..K, write result.json and summary.md.

    Args:
      settings: the run's settings.
      out_dir: folder of ``records.jsonl`` (the cache), ``result.json`` and ``summary.md``.
      config_path: runner config TOML of the two local models.
      rules: rule names to replay (default: every rule of the replay engine).
      log: where progress lines go.
    """
    from slmmux_run.data.records import RecordStore
    from slmmux_run.replay import REPLAY_RULES
    from slmmux_run.replay_report import failure_summary, format_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load = [round(x, 2) for x in os.getloadavg()]
    store = RecordStore(out / "records.jsonl")
    timing = collect_local_records(settings, store, config_path, log=log)
    analysis_started = time.perf_counter()
    replay = replay_records(out / "records.jsonl", range(1, settings.k + 1),
                            REPLAY_RULES if rules is None else rules, models=MODELS,
                            validation_fraction=settings.validation_split, seed=0)
    timing["analysis_seconds"] = time.perf_counter() - analysis_started
    timing["total_seconds"] = time.perf_counter() - started
    table = format_table(replay.rows)
    result = {
        "task": replay.record_set.sample_set.task,
        "settings": dataclasses.asdict(settings) | {"out_dir": None},
        "prompt_versions": dict(zip(MODELS, replay.record_set.prompt_versions)),
        "load_average_start": load,
        "timing": timing,
        "split": replay.split,
        "failures": failure_summary(replay.record_set),
        "rows": [dataclasses.asdict(row) for row in replay.rows],
    }
    (out / "result.json").write_text(json.dumps(_clean(result), indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(settings, result, table))
    return LocalRunResult(result, table, out)
