"""The hard regime side by side: every rule at equal real tokens on AIME 2024 (and MATH-500).

Runs ``slmmux compare``'s study (:func:`slmmux_run.compare_study.compare_sample_set`: two
seeded question folds, everything learned on the other fold, both folds pooled, standard errors
clustered by question) on three pools of the Best-of-∞ file: all models; all but the strongest
(highest per-sample accuracy over the file: the paper's regime of comparable models); and the
best SLM-MUX pair at k = 3 (chosen on the pooled cross-fitted accuracy, which favours SLM-MUX).
On the pair every fixed-cost rule spends exactly SLM-MUX's samples, so accuracies compare at
equal tokens; adaptive rules spend fewer. Writes ``results.json`` (every row),
``table.md`` (the Pareto front per pool, each rule's share of the oracle headroom, the target
comparison with paired 90 % bootstrap intervals over questions) and ``pareto.png``.

    python -m experiments.hard_regime.run [--k 5] [--draws 100] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from experiments.hard_regime import headroom

HERE = Path(__file__).resolve().parent
FILES = {"aime2024": "samples/boinf_aime2024_30x80_11models.jsonl",
         "math500": "samples/boinf_math500_500x80_7models.jsonl"}
NEW_RULES = ("weighted-vote-milp", "weighted-vote-log-odds", "bayes-stop", "bayes-stop-models",
             "posterior-optimal", "vote-stop")
# The target's "new rule" is measured against the learned weighted vote, so it is one of these.
TARGET_RULES = ("bayes-stop", "bayes-stop-models", "posterior-optimal", "vote-stop")
# Adaptive rules also run at caps beyond --k: they spend what a question needs, so a larger cap
# can stay within the fixed-cost rules' tokens at k = 3.
ADAPTIVE_RULES = ("bayes-stop", "bayes-stop-models", "vote-stop")
# Fixed-cost rules on the pair at k = 3 spend SLM-MUX's samples exactly; their subsampled token
# means differ from the exact one by Monte Carlo noise only, well under 1 %.
BUDGET_SLACK = 1.01


def _load(task, data, max_models, max_questions):
    from slmmux_run.data.sample_files import load_sample_set

    sample_set = load_sample_set(Path(data) / FILES[task])
    keep_models = list(range(min(max_models, sample_set.num_models)))
    keep_questions = list(range(min(max_questions, sample_set.num_questions)))
    return sample_set.select(models=[sample_set.models[m] for m in keep_models],
                             questions=keep_questions)


def _pareto(points):
    """Indices of the (tokens, accuracy) points no other point beats on both."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -1.0
    for i in order:
        if points[i][1] > best + 1e-12:
            front.append(i)
            best = points[i][1]
    return front


def _paired(a, b, seed=0, draws=4000):
    """Mean of a - b over questions and its 90 % percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    diff = np.asarray(a) - np.asarray(b)
    boot = diff[rng.integers(0, diff.size, size=(draws, diff.size))].mean(axis=1)
    return float(diff.mean()), float(np.quantile(boot, 0.05)), float(np.quantile(boot, 0.95))


def _rows_json(result, pool):
    return [{"pool": pool, "rule": r.rule, "models": list(r.models), "k": r.k,
             "accuracy": r.accuracy, "stderr": r.stderr, "mean_tokens": r.mean_tokens}
            for r in result.rows]


def _cached(cache, name, compute):
    """``compute()``, pickled under ``cache/name`` (None: no cache): a long study resumes."""
    import pickle

    if cache is None:
        return compute()
    path = Path(cache) / f"{name}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def _pool(sample_set, label, k_max, seed, draws, progress, cache, rules=None):
    """Every registered rule on one pool, rule by rule (each cached), merged in registry order.

    ``rules``: compute only these (None: all); any other rule enters only if its result is
    already cached. Returns the result and the names of the rules left out."""
    from slmmux_run.compare_study import CompareResult, compare_sample_set
    from slmmux_theory.rules.registry import RULES

    parts, missing = [], []
    for name in RULES:
        tag = f"{label}_{name}_k{k_max}_d{draws}_s{seed}"
        if rules is not None and name not in rules and not (
                cache is not None and (Path(cache) / f"{tag}.pkl").exists()):
            missing.append(name)
            continue
        parts.append(_cached(cache, tag, lambda name=name: compare_sample_set(
            sample_set, k_max, seed, draws, progress, rules=[name])))
    order = {name: i for i, name in enumerate(RULES)}
    rows = sorted((row for part in parts for row in part.rows),
                  key=lambda r: (r.k, order[r.rule], len(r.models) == 2))
    kinds = {k: v for part in parts for k, v in part.rule_kinds.items()}
    engines = {k: v for part in parts for k, v in part.engines.items()}
    return CompareResult(rows, kinds, engines, seed, draws,
                         sum(p.seconds for p in parts)), missing


def _caps(sample_set, label, caps, seed, draws, cache, rules=None):
    """The adaptive rules at the larger caps (each rule and cap cached; with ``rules``, the
    others only from the cache)."""
    from slmmux_run.compare_study import compare_caps

    rows = []
    for cap in caps:
        for name in ADAPTIVE_RULES:
            tag = f"{label}_caps_{name}_c{cap}_d{draws}_s{seed}"
            if rules is not None and name not in rules and not (
                    cache is not None and (Path(cache) / f"{tag}.pkl").exists()):
                continue
            rows += _cached(cache, tag, lambda name=name, cap=cap: compare_caps(
                sample_set, [name], [cap], seed, draws))
    return rows


def with_caps(result, rows):
    """``result`` with the capped rows appended (the Pareto front and the target read both)."""
    return result._replace(rows=list(result.rows) + list(rows))


POOLS = ("all", "without-strongest", "best-pair")


def study(sample_set, k_max, seed, draws, progress, cache=None, label="task", caps=(),
          pools_wanted=POOLS, rules=None):
    accuracy = (sample_set.samples == 0).mean(axis=(1, 2))
    strongest = sample_set.models[int(np.argmax(accuracy))]
    missing = {}
    everyone, missing["all"] = _pool(sample_set, f"{label}_all", k_max, seed, draws, progress,
                                     cache, rules)
    pairs = [r for r in everyone.rows if r.rule == "slm-mux" and len(r.models) == 2 and r.k == 3]
    best_pair = max(pairs, key=lambda r: r.accuracy)
    pools = {"all": everyone}
    rest = [m for m in sample_set.models if m != strongest]
    if "without-strongest" in pools_wanted:
        pools["without-strongest"], missing["without-strongest"] = _pool(
            sample_set.select(models=rest), f"{label}_rest", k_max, seed, draws, progress,
            cache, rules)
    if "best-pair" in pools_wanted:
        pools["best-pair"], missing["best-pair"] = _pool(
            sample_set.select(models=list(best_pair.models)), f"{label}_pair", k_max, seed,
            draws, progress, cache, rules)
    capped = {}
    for pool, models, tag in (("all", sample_set.models, "all"), ("without-strongest", rest,
                                                                   "rest"),
                              ("best-pair", list(best_pair.models), "pair")):
        if pool not in pools:
            continue
        capped[pool] = _caps(sample_set.select(models=list(models)), f"{label}_{tag}", caps,
                             seed, draws, cache, rules)
        if progress is not None:
            print(f"{label} {pool}: caps {list(caps)} done", file=progress, flush=True)
    return strongest, best_pair, pools, capped, missing


def _summaries(strongest, best_pair, pools, capped):
    from slmmux_theory.rules.registry import RULES

    budget = best_pair.mean_tokens
    candidates = [(pool, r) for pool, res in pools.items()
                  for r in list(res.rows) + list(capped.get(pool, ()))
                  if RULES[r.rule].deployable
                  and (len(r.models) > 2 or pool == "best-pair")
                  and r.mean_tokens is not None and r.mean_tokens <= budget * BUDGET_SLACK]
    best_new = max((c for c in candidates if c[1].rule in TARGET_RULES),
                   key=lambda c: c[1].accuracy, default=None)
    best_vote = max((c for c in candidates if c[1].rule.startswith("weighted-vote")),
                    key=lambda c: c[1].accuracy, default=None)

    def describe(choice):
        if choice is None:
            return None
        pool, row = choice
        return {"pool": pool, "rule": row.rule, "k": row.k, "stderr": row.stderr,
                "models": list(row.models), "accuracy": row.accuracy,
                "mean_tokens": row.mean_tokens}

    nan3 = (float("nan"),) * 3
    target = {
        "budget_tokens": budget, "slm_mux_pair": list(best_pair.models),
        "slm_mux_accuracy": best_pair.accuracy,
        "best_new": describe(best_new), "best_weighted_vote": describe(best_vote),
        "new_minus_slm_mux": nan3 if best_new is None else _paired(best_new[1].correct,
                                                                   best_pair.correct),
        "new_minus_weighted_vote": nan3 if best_new is None or best_vote is None else _paired(
            best_new[1].correct, best_vote[1].correct, seed=1),
    }
    target["met"] = bool(target["new_minus_slm_mux"][0] >= 0.01
                         and target["new_minus_slm_mux"][1] > 0
                         and (best_vote is None or (target["new_minus_weighted_vote"][0] >= 0
                                                    and target["new_minus_weighted_vote"][1] > 0)))
    headroom = {}
    for pool, res in pools.items():
        for k in sorted({r.k for r in res.rows}):
            at = [r for r in res.rows if r.k == k]
            single = max(r.accuracy for r in at if r.rule == "self-consistency"
                         and len(r.models) == 1) if any(len(r.models) == 1 for r in at) else \
                next(r.accuracy for r in at if r.rule == "self-consistency")
            oracle = next(r.accuracy for r in at if r.rule == "oracle-any-sample"
                          and len(r.models) > 1)
            gap = oracle - single
            headroom[f"{pool} k={k}"] = {
                r.rule: (r.accuracy - single) / gap if gap > 1e-9 else float("nan")
                for r in at if len(r.models) > 1 and pool_rule_row(r, res)}
    return {"strongest": strongest, "target": target, "headroom_share": headroom}


def pool_rule_row(row, result):
    return len(row.models) == len(result.rows[0].models) or row.rule != "slm-mux"


def _choice(choice) -> str:
    if choice is None:
        return "none within the budget among the rules run"
    return (f"{choice['rule']} ({choice['pool']}, k={choice['k']}): {choice['accuracy']:.4f} at "
            f"{choice['mean_tokens']:.0f} tokens")


def _table(task, summary, pools):
    lines = [f"## {task}", "", f"Strongest model (left out in `without-strongest`): "
             f"{summary['strongest']}", ""]
    for pool, names in summary.get("rules_not_run", {}).items():
        lines += [f"Not run on pool `{pool}` (time): {', '.join(names)}", ""]
    t = summary["target"]
    lines += ["### Target (k = 3 SLM-MUX best pair's tokens)", "",
              f"- budget: {t['budget_tokens']:.0f} tokens/question; SLM-MUX "
              f"{' + '.join(t['slm_mux_pair'])}: {t['slm_mux_accuracy']:.4f}",
              "- best new rule (adaptive stopping or posterior-optimal) within budget (+1 %): "
              + _choice(t["best_new"]),
              "- best learned weighted vote within budget: " + _choice(t["best_weighted_vote"]),
              "- new − SLM-MUX: {:+.4f} (90 % paired interval {:+.4f} .. {:+.4f})".format(
                  *t["new_minus_slm_mux"]),
              "- new − weighted vote: {:+.4f} (90 % paired interval {:+.4f} .. {:+.4f})".format(
                  *t["new_minus_weighted_vote"]),
              f"- target met: {'yes' if t['met'] else 'no'}", ""]
    for pool, res in pools.items():
        points = [(r.mean_tokens or 0.0, r.accuracy) for r in res.rows]
        lines += [f"### Pareto front, pool `{pool}`", "",
                  "| rule | models | k | accuracy | stderr | tokens/question |",
                  "|---|---|---:|---:|---:|---:|"]
        for i in _pareto(points):
            r = res.rows[i]
            models = "all" if len(r.models) == len(res.rows[0].models) else " + ".join(r.models)
            lines.append(f"| {r.rule} | {models} | {r.k} | {r.accuracy:.4f} | {r.stderr:.4f} | "
                         f"{r.mean_tokens:.0f} |")
        lines.append("")
    lines += ["### Share of the oracle headroom closed (rule − best single) / (any-sample oracle"
              " − best single), pooled models", "",
              "| pool, k | " + " | ".join(NEW_RULES + ("slm-mux", "agent-forest",
                                                      "model-switch")) + " |",
              "|---|" + "---:|" * (len(NEW_RULES) + 3)]
    for label, shares in summary["headroom_share"].items():
        cells = [f"{shares.get(rule, float('nan')):+.2f}" for rule in
                 NEW_RULES + ("slm-mux", "agent-forest", "model-switch")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _figure(task_pools, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(task_pools)
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for pool, marker in zip(POOLS, "o^s"):
            if pool not in task_pools[task]:
                continue
            res = task_pools[task][pool]
            rows = [r for r in res.rows if r.mean_tokens]
            points = [(r.mean_tokens, r.accuracy) for r in rows]
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=8, alpha=0.25,
                       marker=marker, label=f"{pool}: every row")
            front = [rows[i] for i in _pareto(points)]
            ax.plot([r.mean_tokens for r in front], [r.accuracy for r in front], marker=marker,
                    label=f"{pool}: Pareto front")
            for r in front:
                if r.rule in NEW_RULES or r.rule == "slm-mux":
                    ax.annotate(f"{r.rule} k={r.k}", (r.mean_tokens, r.accuracy), fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("mean real tokens per question")
        ax.set_ylabel("cross-fitted accuracy")
        ax.set_title(task)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _per_task(option: str, task: str, default):
    """The value of ``task`` in a ``task=value,task=value`` option, else ``default``."""
    values = dict(item.split("=", 1) for item in option.split(",") if item)
    return values.get(task, default)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5, help="largest k")
    parser.add_argument("--draws", type=int, default=100, help="draws per question")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="aime2024,math500")
    parser.add_argument("--max-models", type=int, default=99, help="first N models (smoke test)")
    parser.add_argument("--max-questions", type=int, default=10**6, help="first N questions")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(HERE))
    parser.add_argument("--caps", default="6,9,12",
                        help="caps (samples per model) of the adaptive rules beyond --k")
    parser.add_argument("--task-draws", default="",
                        help="per-task draws overriding --draws, e.g. math500=20")
    parser.add_argument("--task-k", default="",
                        help="per-task largest k overriding --k, e.g. aime2024=3")
    parser.add_argument("--task-rules", default="",
                        help="per-task rules to compute (others only from the cache), e.g. "
                             "math500=slm-mux+agent-forest")
    parser.add_argument("--task-caps", default="",
                        help="per-task caps overriding --caps, e.g. math500=6+9")
    parser.add_argument("--task-pools", default="",
                        help="per-task pools (of all, without-strongest, best-pair), e.g. "
                             "math500=all+without-strongest; default all three")
    parser.add_argument("--cache", default=None,
                        help="folder for per-rule intermediate results (resume a long run)")
    args = parser.parse_args(argv)
    from slmmux_run.data.paths import data_dir
    from slmmux_run.errors import UserError
    from slmmux_theory import enable_x64

    enable_x64()
    data = Path(args.data_dir) if args.data_dir else data_dir()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results, tables, task_pools, skipped = {}, [], {}, {}
    for task in args.tasks.split(","):
        try:
            sample_set = _load(task, data, args.max_models, args.max_questions)
        except UserError as error:  # MATH-500 needs the regrading loader
            skipped[task] = str(error)
            print(f"{task}: skipped ({error})", file=sys.stderr)
            continue
        caps = [int(c) for c in _per_task(args.task_caps, task, args.caps).replace("+", ",")
                .split(",") if c]
        task_draws = int(_per_task(args.task_draws, task, args.draws))
        task_k = int(_per_task(args.task_k, task, args.k))
        pools_wanted = _per_task(args.task_pools, task, "+".join(POOLS)).split("+")
        wanted_rules = _per_task(args.task_rules, task, None)
        strongest, best_pair, pools, capped, missing = study(
            sample_set, task_k, args.seed, task_draws, sys.stderr, args.cache,
            f"{task}_m{args.max_models}_q{args.max_questions}", caps, pools_wanted,
            None if wanted_rules is None else wanted_rules.split("+"))
        summary = _summaries(strongest, best_pair, pools, capped)
        shown = {pool: with_caps(res, capped[pool]) for pool, res in pools.items()}
        analysis = headroom.analyse(sample_set, best_pair, shown, summary["target"])
        summary["headroom"] = analysis
        summary["rules_not_run"] = {pool: names for pool, names in missing.items() if names}
        results[task] = {"summary": summary, "draws": task_draws, "k": task_k, "caps": caps,
                         "rows": [row for pool, res in shown.items()
                                  for row in _rows_json(res, pool)]}
        tables.append(_table(task, summary, shown) + headroom.markdown(analysis))
        task_pools[task] = shown
    header = (f"# The hard regime: every rule at equal real tokens\n\n"
              f"`python -m experiments.hard_regime.run --tasks {args.tasks} --k {args.k} "
              f"--draws {args.draws} --task-draws '{args.task_draws}' --caps {args.caps} "
              f"--task-k '{args.task_k}' --task-caps '{args.task_caps}' "
              f"--task-pools '{args.task_pools}' --task-rules '{args.task_rules}' "
              f"--seed {args.seed}`; {time.perf_counter() - start:.0f} s (cached intermediate "
              f"results reused where present).\n\n")
    if skipped:
        header += "".join(f"- {task} skipped: {why}\n" for task, why in skipped.items()) + "\n"
    (out / "results.json").write_text(json.dumps({"settings": vars(args) | {"out": None},
                                                  "skipped": skipped, "tasks": results},
                                                 indent=1))
    (out / "table.md").write_text(header + "\n".join(tables))
    if task_pools:
        _figure(task_pools, out / "pareto.png")
    print(header + "\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
