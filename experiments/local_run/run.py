"""The package's first real run: SmolLM2-135M and Gemma-3-270M on generated arithmetic.

One command runs the whole study (:func:`slmmux_run.local_run.run_local_study`): starts both
local servers, collects k samples per question per model into ``records.jsonl`` (the store is
the cache: a rerun pays nothing twice), replays SLM-MUX, Agent Forest, self-consistency of each
model, ModelSwitch and the oracle at k = 1..K with the theory's plug-in prediction beside them,
and writes ``result.json`` and ``summary.md``. Wall times are measured and kept.

Prompts: SmolLM2 gets the package's short numeric chat prompt (``numeric-chat/1``: the question,
then "Answer with a number."), which keeps its answers to a few tokens so the run fits in ten
minutes on a loaded 2-core machine; Gemma-3 (a base model) gets the 2-shot arithmetic completion
prompt (``arithmetic-completion/1``, stop at newline).

Usage (from the checkout, after ``pip install -e .``)::

    python -m experiments.local_run.run                                   # 80 questions x 5 samples
    python -m experiments.local_run.run --questions 6 --k 3 --out-dir /tmp/x
    python -m experiments.local_run.run --summary-only                    # summary.md from result.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slmmux_run.cli_args import MAX_SAMPLES, int_in, number_in, question_count
from slmmux_run.local_run import LocalRunSettings, rewrite_summary, run_local_study
from slmmux_theory.precision import enable_x64

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def parse_args(argv=None) -> argparse.Namespace:
    defaults = LocalRunSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=question_count, default=defaults.questions)
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=defaults.k,
                        help="samples per question per model")
    parser.add_argument("--temperature", type=number_in(0), default=defaults.temperature)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="sampling seed")
    parser.add_argument("--task-seed", type=int_in(0), default=defaults.task_seed,
                        help="seed of the problems")
    parser.add_argument("--preset", default=defaults.preset, help="arithmetic preset")
    parser.add_argument("--max-tokens", type=int_in(1), default=defaults.max_tokens)
    parser.add_argument("--validation-split", type=number_in(0, 1, below=True),
                        default=defaults.validation_split)
    parser.add_argument("--threads", type=int_in(1, 1024), default=defaults.threads,
                        help="llama.cpp threads per server")
    parser.add_argument("--config", default=str(HERE / "models.toml"),
                        help="runner config of the two local models (URLs are replaced)")
    parser.add_argument("--out-dir", default=str(HERE))
    parser.add_argument("--summary-only", action="store_true",
                        help="rewrite summary.md from result.json (no sampling, no replay)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    enable_x64()  # the replay and the plug-in prediction compute in float64
    args = parse_args(argv)
    if args.summary_only:
        print(rewrite_summary(args.out_dir))
        return 0
    out = Path(args.out_dir)
    if (out / "records.jsonl.gz").is_file() and not (out / "records.jsonl").is_file():
        # The committed store is compressed (read-only); sampling into a new plain store would
        # pay again for every stored sample.
        raise SystemExit(f"{out / 'records.jsonl.gz'} is the committed store: gunzip -k it to "
                         "extend the run, or pass another --out-dir")
    settings = LocalRunSettings(
        questions=args.questions, k=args.k, temperature=args.temperature, seed=args.seed,
        task_seed=args.task_seed, preset=args.preset, max_tokens=args.max_tokens,
        validation_split=args.validation_split, threads=args.threads)
    written = run_local_study(settings, args.out_dir, args.config,
                              log=lambda line: print(line, flush=True))
    timing = written.result["timing"]
    print(written.table)
    print(f"total wall time {timing['total_seconds']:.1f} s (sampling "
          f"{timing['sampling_seconds']:.1f} s, analysis {timing['analysis_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
