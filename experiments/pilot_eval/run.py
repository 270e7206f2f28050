"""Evaluation protocol of ``slmmux plan`` on real data (issue "Plan before spending", item 4).

Truth: the exact replay (k of the 10 recorded samples drawn without replacement) of SLM-MUX on
the full file, for every subset of 1..4 models and every k = 1..9. Pilots cost 5 %, 10 %, 20 %
and 50 % of the full sampling (fewer questions and/or fewer samples per model). For every pilot
and both predictors (hierarchical answer model; plug-in baseline) we report

(a) MAE, 90 % coverage and Spearman correlation of predicted vs true accuracy of every 2-, 3-
    and 4-model subset at k = 3;
(b) regret (true best minus true accuracy of the chosen subset, mean over K = 2, 3, 4) of our
    choice, of the paper's union/contradiction search on the same pilot and on the full data;
(c) regret of the chosen (subset, k) under budgets of 3, 6 and 9 samples per question against
    the replayed optimum over subsets of up to 4 models and k <= 9.

Datasets: the 13-model GSM8K samples and the 7-model RouterDC correctness counts (binary: one
shared wrong slot). RouterDC keeps only counts, so a pilot's "first S samples" are S of the 10
drawn without replacement with the pilot's seed.

Then (step ``floor``, :mod:`experiments.pilot_eval.floor`) the error floor that question
sampling alone sets on any pilot predictor, into ``floor.txt``. Both steps take k and the
datasets' counts from :mod:`experiments.pilot_eval.common`; neither imports the other.

    python -m experiments.pilot_eval.run --seeds 20          # the full protocol, then the floor
    python -m experiments.pilot_eval.run --quick             # 1 seed, few designs, small fits
    python -m experiments.pilot_eval.run --steps floor       # only floor.txt

Writes ``results.json`` (one row per pilot), ``table.md``, ``log.txt`` and ``floor.txt`` next to
this script (or --out).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np
from scipy.stats import spearmanr

from experiments.pilot_eval.common import BUDGETS, K, MAX_SIZE, RECORDED, load
from experiments.pilot_eval.floor import floor_lines
from experiments.pilot_eval.hard import HARD_DESIGNS, hard_floor, hard_rows, hard_table
from slmmux_run.cli_args import MAX_POSTERIOR_DRAWS, MAX_STEPS, int_in, number_in
from slmmux_run.data.datasets import load_samples
from slmmux_run.data.paths import data_file
from slmmux_theory.engines.replay import replay_levels, subset_accuracy_draws
from slmmux_theory.planning import plan as planning
from slmmux_theory.planning.search import SearchConfig, all_subsets, search_subsets
from slmmux_theory.precision import enable_x64
# (name, questions: fraction of N or an absolute count, samples per model); cost = q/N * S/10.
DESIGNS = (
    ("5%: N/2 q x 1", 0.5, 1),
    ("5%: N/20 q x 10", 0.05, 10),
    ("10%: all q x 1", 1.0, 1),
    ("10%: N/3 q x 3", 1 / 3, 3),
    ("10%: 25 q x 10", 25, 10),
    ("20%: all q x 2", 1.0, 2),
    ("20%: N/5 q x 10", 0.2, 10),
    ("50%: all q x 5", 1.0, 5),
    ("50%: N/2 q x 10", 0.5, 10),
)
QUICK_DESIGNS = ("10%: all q x 1", "10%: N/3 q x 3", "10%: 25 q x 10")


def pilot_counts(full, kind, questions, samples, ordered_samples, seed):
    """Counts of the pilot: the chosen questions, the first S samples (or S of 10 at random)."""
    if kind == "ordered":
        return ordered_samples[:, questions, :samples]
    rng = np.random.default_rng(10_000 + seed)
    rows = full[:, questions]
    out = np.zeros_like(rows)
    for index in np.ndindex(rows.shape[:2]):
        out[index] = rng.multivariate_hypergeometric(rows[index], samples)
    return out


def counts_of(samples, num_answers):
    """Counts [M, Q, A] from slot indices [M, Q, S]."""
    m, q, _ = samples.shape
    out = np.zeros((m, q, num_answers), dtype=np.int64)
    for s in range(samples.shape[2]):
        np.add.at(out, (np.arange(m)[:, None], np.arange(q)[None], samples[:, :, s]), 1)
    return out


def regret(truth, chosen_rows, pool_index):
    values = []
    for size, subset in chosen_rows.items():
        rows = [i for t, i in pool_index.items() if len(t) == size]
        values.append(truth[rows].max() - truth[pool_index[tuple(subset)]])
    return float(np.mean(values))


def evaluate(dataset, designs, seeds, predictors, draws, svi_steps, log, save=lambda rows: None,
             unseen="stratified", concentration=1.0):
    """Rows of every (design, seed, predictor) pilot on one dataset; ``save(rows)`` after each."""
    full, model_names, kind = load(dataset)
    models, num_questions, num_answers = full.shape
    ordered = None
    if kind == "ordered":
        sample_set = load_samples(data_file("samples/gsm8k_train_250x10_13models.jsonl"))
        ordered = np.asarray(sample_set.samples)
    full_levels = {k: replay_levels(full, k) for k in range(1, 10)}
    pool = all_subsets(models, 1, MAX_SIZE)
    pool_index = {tuple(int(m) for m in row if m >= 0): i for i, row in enumerate(pool)}
    rows = []
    for name, q_spec, samples in designs:
        q = int(round(q_spec * num_questions)) if isinstance(q_spec, float) else int(q_spec)
        for seed in seeds:
            questions = planning.draw_pilot(num_questions, q, seed)
            if kind == "ordered":
                pilot = counts_of(ordered[:, questions, :samples], num_answers)
            else:
                pilot = pilot_counts(full, kind, questions, samples, None, seed)
            priority = planning.pilot_priority(pilot)
            truth = {k: subset_accuracy_draws(full_levels[k], pool, priority, 1)[:, 0]
                     for k in range(1, 10)}
            config = SearchConfig(robust_level=min(2, samples))
            paper_pilot = search_subsets(pilot, min_size=2, max_size=MAX_SIZE, config=config)
            paper_full = search_subsets(full, min_size=2, max_size=MAX_SIZE)
            paper = {
                name: regret(truth[K], {c.size: c.subset for c in found.best}, pool_index)
                for name, found in (("paper_pilot", paper_pilot), ("paper_full", paper_full))
            }
            for predictor in predictors:
                start = time.perf_counter()
                result = planning.plan(
                    jax.random.PRNGKey(seed), pilot, num_questions, replay_samples=RECORDED, k=K,
                    subset_sizes=(2, 3, 4), predictor=predictor, budgets=BUDGETS,
                    max_budget_size=MAX_SIZE, num_draws=draws, svi_steps=svi_steps,
                    priority=priority, unseen=unseen, concentration=concentration,
                )
                seconds = time.perf_counter() - start
                predicted = np.array([c.predicted_accuracy for c in result.candidates])
                true = np.array([truth[K][pool_index[c.models]] for c in result.candidates])
                low = np.array([c.interval[0] for c in result.candidates])
                high = np.array([c.interval[1] for c in result.candidates])
                chosen = {}
                for c in result.candidates:  # ranked: the first of each size is the choice
                    chosen.setdefault(len(c.models), c.models)
                optimum = {
                    b: max(truth[k][i] for i, t in enumerate(pool) for k in range(1, 10)
                           if k * (t >= 0).sum() <= b)
                    for b in BUDGETS
                }
                budget_regret = {
                    str(choice.budget): float(optimum[int(choice.budget)]
                                              - truth[choice.k][pool_index[choice.models]])
                    for choice in result.budget
                }
                row = {
                    "dataset": dataset, "design": name, "questions": q, "samples": samples,
                    "seed": seed, "seconds": seconds,
                    "predictor": predictor if predictor == "plug-in" else (
                        f"{predictor}/{unseen}" + (f"(a={concentration:g})"
                                                   if unseen == "dirichlet-process" else "")),
                    "mae": float(np.abs(predicted - true).mean()),
                    "coverage": float(((low <= true) & (true <= high)).mean()),
                    "spearman": float(spearmanr(predicted, true).statistic),
                    "regret": regret(truth[K], chosen, pool_index),
                    **paper,
                    "budget_regret": budget_regret,
                    "budget_choice": {str(c.budget): [list(c.models), c.k] for c in result.budget},
                    "indistinct": result.indistinct,
                }
                rows.append(row)
                save(rows)
                log(f"{dataset:10} {name:18} seed {seed} {predictor:12} MAE {100 * row['mae']:.2f} "
                    f"cov {row['coverage']:.2f} rho {row['spearman']:.2f} regret "
                    f"{100 * row['regret']:.2f} (paper {100 * paper['paper_pilot']:.2f}) "
                    f"budget {({b: round(100 * v, 2) for b, v in budget_regret.items()})} "
                    f"{seconds:.0f}s")
    return rows


def table(rows) -> str:
    lines = [
        "| dataset | pilot | predictor | seeds | MAE (pt) | 90% cov | Spearman | regret (pt) | "
        "paper regret, same pilot | paper regret, full data | (K,k) regret B=3/6/9 (pt) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["dataset"], r["design"], r["predictor"]) for r in rows},
                  key=lambda t: (t[0], [d[0] for d in DESIGNS].index(t[1]), t[2]))
    for dataset, design, predictor in keys:
        cell = (dataset, design, predictor)
        group = [r for r in rows if (r["dataset"], r["design"], r["predictor"]) == cell]

        def mean(field):
            return float(np.mean([r[field] for r in group]))

        budgets = "/".join(
            f"{100 * np.mean([r['budget_regret'][str(float(b))] for r in group]):.2f}"
            for b in BUDGETS
        )
        lines.append(
            f"| {dataset} | {design} | {predictor} | {len(group)} | {100 * mean('mae'):.2f} | "
            f"{mean('coverage'):.2f} | {mean('spearman'):.2f} | {100 * mean('regret'):.2f} | "
            f"{100 * mean('paper_pilot'):.2f} | {100 * mean('paper_full'):.2f} | {budgets} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    enable_x64()  # the theory computes in float64
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int_in(1, 10_000), default=20)
    parser.add_argument("--first-seed", type=int_in(0), default=0,
                        help="seeds first-seed .. first-seed + seeds - 1 (to split runs)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 3 designs, small fits")
    parser.add_argument("--datasets", default="samples13,routerdc7")
    parser.add_argument("--designs", default=None,
                        help="semicolon-separated design names (default all)")
    parser.add_argument("--predictors", default="hierarchical,plug-in")
    parser.add_argument("--draws", type=int_in(2, MAX_POSTERIOR_DRAWS), default=100)
    parser.add_argument("--svi-steps", type=int_in(1, MAX_STEPS), default=1000)
    parser.add_argument("--unseen", default="stratified",
                        choices=("population", *planning.UNSEEN_LAWS),
                        help="hierarchical predictor: how unseen questions are drawn")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--merge", nargs="+", default=None, metavar="RESULTS_JSON",
                        help="only join results.json files of earlier (parallel) runs into --out "
                             "(a row of a later file replaces the same row of an earlier one)")
    parser.add_argument("--concentration", type=number_in(0, above=True), default=1.0,
                        help="Dirichlet-process concentration (--unseen dirichlet-process)")
    parser.add_argument("--compilation-cache", default=None, metavar="DIR",
                        help="persistent JAX compilation cache (reused by later runs)")
    parser.add_argument("--steps", default="table,floor",
                        help="comma-separated, in order: table (the pilots), floor (floor.txt), "
                             "hard (the 80-sample files: hard_results.json, hard_table.md)")
    parser.add_argument("--hard-datasets", default="aime,math500", help="aime, math500")
    parser.add_argument("--hard-designs", default=";".join(d[0] for d in HARD_DESIGNS),
                        help=f"semicolon-separated, of {[d[0] for d in HARD_DESIGNS]}")
    parser.add_argument("--hard-k", default="3,5,9", help="comma-separated k values")
    parser.add_argument("--hard-predictors",
                        default="plug-in,hierarchical/stratified,hierarchical/bootstrap,eb/bootstrap,"
                                "eb-local/bootstrap",
                        help="comma-separated predictors of the hard step (experiments/pilot_eval/"
                             "hard_laws.py); hierarchical/<law> is one fit when nothing is unseen")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="hard step: folder of cached predicted laws (default OUT/.hard_cache)")
    parser.add_argument("--floor-seeds", type=int_in(1, 10_000), default=20,
                        help="pilot seeds of the oracle floor")
    parser.add_argument("--floor-datasets", default="samples13,routerdc7",
                        help="datasets of the oracle floor (floor.txt holds these lines)")
    args = parser.parse_args(argv)
    if args.compilation_cache:
        jax.config.update("jax_compilation_cache_dir", args.compilation_cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if args.merge and "hard" in args.steps:
        merge_hard(args.merge, Path(args.out))
        return 0
    if args.merge:
        # A (dataset, design, predictor, seed) row of a later file replaces an earlier one, so
        # a rerun of some seeds merges without counting them twice.
        merged = {}
        for name in args.merge:
            for row in json.loads(Path(name).read_text()):
                merged[(row["dataset"], row["design"], row["predictor"], row["seed"])] = row
        rows = list(merged.values())
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(rows, indent=1))
        (out / "table.md").write_text(table(rows))
        print(table(rows))
        return 0
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in ("table", "floor", "hard")]
    if unknown:
        parser.error(f"--steps: unknown step(s) {unknown}; choose from table, floor, hard")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if "table" in steps:
        run_table(args)
    if "floor" in steps:
        lines = floor_lines(args.floor_datasets.split(","), seeds=args.floor_seeds)
        (out / "floor.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    if "hard" in steps:
        run_hard(args, out)
    return 0


def _hard_key(row):
    return (row["dataset"], row["design"], row["predictor"], row["seed"], row["k"])


def merge_hard(names, out) -> None:
    """Join hard_results.json files (a later file's row replaces the same row of an earlier
    one) into OUT's hard_results.json and hard_table.md (floor lines kept)."""
    merged = {}
    for name in names:
        for row in json.loads(Path(name).read_text()):
            merged[_hard_key(row)] = row
    rows = list(merged.values())
    out.mkdir(parents=True, exist_ok=True)
    (out / "hard_results.json").write_text(json.dumps(rows, indent=1))
    floors = out / "hard_floor.txt"
    text = hard_table(rows) + ("\n" + floors.read_text() if floors.exists() else "")
    (out / "hard_table.md").write_text(text)
    print(text)


def run_hard(args, out) -> None:
    """The 80-sample files: rows joined into OUT's hard_results.json, hard_table.md,
    hard_log.txt (a rerun of a (dataset, design, predictor, seed, k) replaces its row)."""
    wanted = [w.strip() for w in args.hard_designs.split(";")]
    designs = tuple(d for d in HARD_DESIGNS if d[0] in wanted)
    log_file = open(out / "hard_log.txt", "a")

    def log(line):
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    ks = [int(k) for k in args.hard_k.split(",")]
    log(f"settings: seeds {args.first_seed}..{args.first_seed + args.seeds - 1}, draws "
        f"{args.draws}, svi steps {args.svi_steps}, designs {wanted}, k {ks}, predictors "
        f"{args.hard_predictors}")
    rows = []
    for dataset in args.hard_datasets.split(","):
        rows += hard_rows(dataset, designs, range(args.first_seed, args.first_seed + args.seeds),
                          args.hard_predictors.split(","), ks, args.draws, args.svi_steps, log,
                          args.cache or out / ".hard_cache")
    results = out / "hard_results.json"
    earlier = json.loads(results.read_text()) if results.exists() else []
    merged = {_hard_key(r): r for r in earlier}
    merged.update({_hard_key(r): r for r in rows})
    results.write_text(json.dumps(list(merged.values()), indent=1))
    # The oracle floor of every question-sample design (50 pilot seeds; cheap, no fit).
    floors = [hard_floor(dataset, k, share, 50)
              for dataset in args.hard_datasets.split(",") for _, share, _ in designs if share < 1
              for k in ks]
    if floors:
        path = out / "hard_floor.txt"
        old = path.read_text().splitlines() if path.exists() else []
        path.write_text("\n".join(sorted(set(old) | set(floors))) + "\n")
    merge_hard([results], out)


def run_table(args) -> None:
    """The pilots of every (dataset, design, seed, predictor): results.json, table.md, log.txt."""
    designs = DESIGNS
    if args.quick:
        args.seeds, args.draws, args.svi_steps = 1, min(args.draws, 40), min(args.svi_steps, 300)
        designs = tuple(d for d in DESIGNS if d[0] in QUICK_DESIGNS)
    if args.designs:
        wanted = [w.strip() for w in args.designs.split(";")]
        designs = tuple(d for d in DESIGNS if d[0] in wanted)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.txt", "a")

    def log(line):
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    log(f"settings: seeds {args.seeds}, draws {args.draws}, svi steps {args.svi_steps}, "
        f"designs {[d[0] for d in designs]}")
    rows = []

    def save(partial):
        # Written after every pilot, so an interrupted run still leaves its table.
        (out / "results.json").write_text(json.dumps(rows + partial, indent=1))
        (out / "table.md").write_text(table(rows + partial))

    for dataset in args.datasets.split(","):
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        rows += evaluate(dataset, designs, seeds, args.predictors.split(","), args.draws,
                         args.svi_steps, log, save, args.unseen, args.concentration)
    save([])
    print(table(rows))


if __name__ == "__main__":
    raise SystemExit(main())
