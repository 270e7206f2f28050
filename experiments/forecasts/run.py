"""Single-model forecasts of pass@k and maj@k from a pilot of a few samples per question.

Issue "Where orchestration matters", item 4 (single model): for every model of the 80-sample
reasoning-model files (AIME 2024, 11 models; MATH-500 regraded, 7 models), a pilot of S samples
per question (drawn at random without replacement from the 80, seeded), forecasts of

* pass@k: the scaled Beta-binomial of Schaeffer et al. (the paper's aggregate forecast), the same
  law conditioned per question (not in the paper), our categorical empirical-Bayes law
  (G = 1 and 2 components, G = 1 with an "unsolvable" component ``G=1+0``, and the one of the
  three the pilot's BIC prefers), the plug-in
  ``1 - (1 - p_hat)^k``;
* maj@k: the categorical law and the plug-in (pilot frequencies in the exact majority law);

against the truth of the 80 samples: the unbiased pass@k estimator and the exact replay of
maj@k (k of the 80 drawn without replacement). Writes ``results.json`` (one row per dataset,
model, seed, method), ``table.md`` (MAE in points over models and seeds) and ``log.txt``.

    python -m experiments.forecasts.run --seeds 5                 # both datasets
    python -m experiments.forecasts.run --datasets aime --seeds 1 --models 2   # smoke
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_theory.inference.forecast import (
    categorical_forecast,
    fit_categorical,
    fit_scaled_beta_binomial,
    plug_in_forecast,
    scaled_beta_conditional_pass_at_k,
    scaled_beta_pass_at_k,
    unbiased_pass_at_k,
)
from slmmux_theory.inference.majority import hypergeometric_majority
from slmmux_theory.precision import enable_x64

FILES = {
    "aime": "samples/boinf_aime2024_30x80_11models.jsonl",
    "math500": "samples/boinf_math500_500x80_7models.jsonl",
}
PASS_KS = (4, 16, 64)
MAJORITY_KS = (3, 9, 25)
# Targets (issue 16): pass@k at 16 and 64 no worse than the scaled Beta-binomial; maj@k at 9
# and 25 at most 0.8 x the plug-in's MAE.
TARGET_PASS, TARGET_MAJORITY = (16, 64), (9, 25)
# The rows held against the targets: the zero-inflated law (named after a 4-model smoke run on
# AIME seed 0, see README) and the pilot's own BIC choice.
OURS = ("categorical(G=1+0)", "categorical(BIC)")


def pilot_counts(samples, num_answers, size, rng):
    """Counts [Q, A] of ``size`` samples per question drawn without replacement."""
    questions, recorded = samples.shape
    picks = np.stack([rng.choice(recorded, size, replace=False) for _ in range(questions)])
    chosen = samples[np.arange(questions)[:, None], picks]
    counts = np.zeros((questions, num_answers), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(questions), size), chosen.reshape(-1)), 1)
    return counts


def forecasts(pilot):
    """{method: (pass [len(PASS_KS)] or None, majority [len(MAJORITY_KS)] or None)}, means
    over the questions, and the BIC choice."""
    s, n = pilot[:, 0], pilot.sum(1)
    scaled = fit_scaled_beta_binomial(s, n)
    out = {
        "scaled-beta-binomial": (scaled_beta_pass_at_k(scaled, PASS_KS), None),
        "scaled-beta-binomial/conditional": (
            scaled_beta_conditional_pass_at_k(scaled, s, n, PASS_KS).mean(1), None),
    }
    bic = {}
    for name, groups, unsolvable in (("G=1", 1, False), ("G=1+0", 1, True), ("G=2", 2, False)):
        law = fit_categorical(pilot, groups, unsolvable)
        passes, majorities = categorical_forecast(law, pilot, PASS_KS, MAJORITY_KS)
        out[f"categorical({name})"] = (passes.mean(1), majorities.mean(1))
        # 4 parameters per component (3 for the unsolvable one) and a weight per extra one.
        parameters = 4 * groups + 3 * unsolvable + (groups + unsolvable - 1)
        bic[name] = -2 * law.log_likelihood + parameters * np.log(len(pilot))
    chosen = min(bic, key=bic.get)
    out["categorical(BIC)"] = out[f"categorical({chosen})"]
    passes, majorities = plug_in_forecast(pilot, PASS_KS, MAJORITY_KS)
    out["plug-in"] = (passes.mean(1), majorities.mean(1))
    return out, chosen, scaled


def table(rows) -> str:
    lines = []
    for dataset in sorted({r["dataset"] for r in rows}):
        group = [r for r in rows if r["dataset"] == dataset]
        methods = list(dict.fromkeys(r["method"] for r in group))
        runs = len({(r["model"], r["seed"]) for r in group})
        seeds = len({r["seed"] for r in group})
        lines += [f"### {dataset}: MAE in points over {runs} (model, seed) pilots "
                  f"({seeds} seeds), pilot {group[0]['pilot_samples']} samples per question",
                  "",
                  "| method | " + " | ".join(f"pass@{k}" for k in PASS_KS) + " | "
                  + " | ".join(f"maj@{k}" for k in MAJORITY_KS) + " |",
                  "|---|" + "---|" * (len(PASS_KS) + len(MAJORITY_KS))]
        for method in methods:
            chosen = [r for r in group if r["method"] == method]
            cells = []
            for kind, ks in (("pass", PASS_KS), ("majority", MAJORITY_KS)):
                for i, _ in enumerate(ks):
                    if chosen[0][kind] is None:
                        cells.append("–")
                        continue
                    errors = [abs(r[kind][i] - r[f"true_{kind}"][i]) for r in chosen]
                    cells.append(f"{100 * np.mean(errors):.2f}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += verdicts(group)
        lines.append("")
    return "\n".join(lines)


def _mae(rows, method, kind, k, ks):
    i = ks.index(k)
    return float(np.mean([abs(r[kind][i] - r[f"true_{kind}"][i])
                          for r in rows if r["method"] == method]))


def verdicts(group):
    lines = []
    for ours_name in OURS:
        for k in TARGET_PASS:
            ours = _mae(group, ours_name, "pass", k, PASS_KS)
            base = _mae(group, "scaled-beta-binomial", "pass", k, PASS_KS)
            lines.append(f"- pass@{k}: {ours_name} {100 * ours:.2f} vs scaled Beta-binomial "
                         f"{100 * base:.2f} pt: {'met' if ours <= base else 'MISSED'}")
        for k in TARGET_MAJORITY:
            ours = _mae(group, ours_name, "majority", k, MAJORITY_KS)
            base = _mae(group, "plug-in", "majority", k, MAJORITY_KS)
            lines.append(f"- maj@{k}: {ours_name} {100 * ours:.2f} vs plug-in {100 * base:.2f} "
                         f"pt (ratio {ours / base:.2f}, target <= 0.8): "
                         f"{'met' if ours <= 0.8 * base else 'MISSED'}")
    return lines


def main(argv=None) -> int:
    enable_x64()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="aime,math500")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=4, help="pilot samples per question")
    parser.add_argument("--models", type=int, default=None, help="only the first N models")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.txt", "a")

    def log(line):
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    log(f"settings: datasets {args.datasets}, seeds {args.first_seed}.."
        f"{args.first_seed + args.seeds - 1}, pilot {args.samples} samples per question")
    rows = []
    for dataset in args.datasets.split(","):
        sample_set = load_sample_set(data_file(FILES[dataset]))
        full = np.asarray(sample_set.counts)
        samples = np.asarray(sample_set.samples)
        models = range(full.shape[0] if args.models is None else args.models)
        true_pass = np.stack([unbiased_pass_at_k(full[..., 0], full.sum(-1), k).mean(1)
                              for k in PASS_KS], axis=1)
        true_majority = np.stack([hypergeometric_majority(full, k).mean(1) for k in MAJORITY_KS],
                                 axis=1)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for m in models:
                start = time.perf_counter()
                rng = np.random.default_rng([seed, m])
                pilot = pilot_counts(samples[m], sample_set.num_answers, args.samples, rng)
                result, chosen, scaled = forecasts(pilot)
                for method, (passes, majorities) in result.items():
                    rows.append({
                        "dataset": dataset, "model": sample_set.models[m], "seed": seed,
                        "pilot_samples": args.samples, "method": method,
                        "pass_ks": list(PASS_KS), "majority_ks": list(MAJORITY_KS),
                        "pass": None if passes is None else [float(v) for v in passes],
                        "majority": None if majorities is None else [float(v) for v in majorities],
                        "true_pass": [float(v) for v in true_pass[m]],
                        "true_majority": [float(v) for v in true_majority[m]],
                        "bic_components": chosen,
                        "scaled_beta": [scaled.alpha, scaled.beta, scaled.scale],
                    })
                ours = result["categorical(BIC)"]
                log(f"{dataset} seed {seed} {sample_set.models[m][:28]:28} true pass "
                    f"{np.round(true_pass[m], 3).tolist()} maj {np.round(true_majority[m], 3).tolist()}"
                    f" | sbb {np.round(result['scaled-beta-binomial'][0], 3).tolist()}"
                    f" | ours({chosen}) {np.round(ours[0], 3).tolist()} "
                    f"{np.round(ours[1], 3).tolist()} | plug-in maj "
                    f"{np.round(result['plug-in'][1], 3).tolist()} {time.perf_counter() - start:.0f}s")
                (out / "results.json").write_text(json.dumps(rows, indent=1))
                (out / "table.md").write_text(table(rows))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
