"""Fit the Bayesian answer model to real sampled answers and check it against the data.

Data: ``samples/gsm8k_train_250x10_13models.jsonl`` of the shared data folder (13 models ×
250 GSM8K train questions × 10 samples; data README section B), loaded with
:func:`slmmux_run.data.datasets.load_samples`.

Prints (1) wall-clock and CPU seconds of the SVI and NUTS fits, (2) the posterior predictive
check table: for every model the observed all-agree rate, mean mode frequency, mean number of
distinct answers and sample accuracy with their 90 % predictive intervals (replicated counts
from π drawn afresh given each posterior draw, same samples per pair as observed), plus the
coverage over the 78 model pairs of the same-wrong-mode rate, (3) the same coverage for new
questions drawn from the population, and (4) an ablation table: the coverage with each model
component switched off (each fitted by SVI; the "pop." column is the coverage for new
questions, the "loss" column the final negative ELBO, lower is better).

The output of a run (with the NUTS check of ``slmmux fit --method nuts --check``, the held-out
``slmmux check`` summary, and the numbers of the model before the interaction term) is kept in
``experiments/fit_answer_model_results.txt``.

    python -m experiments.fit_answer_model.run
    python -m experiments.fit_answer_model.run --svi-steps 20 --nuts-warmup 5 \\
        --nuts-draws 5 --replicates 5 --max-questions 20 --ablations none   # smoke run
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from slmmux_run.cli_args import MAX_POSTERIOR_DRAWS, MAX_STEPS, int_in, question_count
from slmmux_theory.precision import enable_x64
from slmmux_run.data.datasets import load_samples
from slmmux_run.data.paths import data_file
from slmmux_theory.inference.answer_fit import fit_answer_model
from slmmux_theory.inference.answer_model import AnswerModelConfig
from slmmux_run.fit_report import (
    STATISTIC_LABELS,
    coverage_line,
    load_average,
    population_check,
    print_check_table,
    replicated_check,
    timed_fit,
)

SAMPLES_FILE = "samples/gsm8k_train_250x10_13models.jsonl"

ABLATIONS = {
    "full model": AnswerModelConfig(),
    "no interaction s_m·t_q (K=0)": AnswerModelConfig(interaction_rank=0),
    "normal (not t) difficulty": AnswerModelConfig(heavy_tailed_difficulty=False),
    "no difficulty d_q": AnswerModelConfig(difficulty=False),
    "global attractor ω": AnswerModelConfig(attractor="global"),
    "no attractor (uniform ω)": AnswerModelConfig(attractor="none"),
    "shared κ, λ": AnswerModelConfig(model_concentration=False),
    "shared ⊥ rate α": AnswerModelConfig(model_abstention=False),
}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="shared data folder (default: resolved)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--svi-steps", type=int_in(1, MAX_STEPS), default=1500)
    parser.add_argument("--nuts-warmup", type=int_in(0, MAX_STEPS), default=500)
    parser.add_argument("--nuts-draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=500)
    parser.add_argument("--skip-nuts", action="store_true")
    parser.add_argument("--skip-main", action="store_true", help="only the ablation table")
    parser.add_argument("--ablation-steps", type=int_in(1, MAX_STEPS),
                        default=1500, help="SVI steps per ablation")
    parser.add_argument("--replicates", type=int_in(1, MAX_POSTERIOR_DRAWS),
                        default=200, help="replicated data sets")
    parser.add_argument("--max-questions", type=question_count,
                        default=None, help="first N questions only")
    parser.add_argument(
        "--ablations", default="all", choices=("all", "none"),
        help="refit with each component switched off (SVI) and compare coverage",
    )
    return parser.parse_args(argv)


def print_ablations(args, counts, key, check_key, full_fit):
    print(f"\n== ablations (SVI fits, {args.ablation_steps} steps): fraction inside the 90 % "
          "interval per statistic ==")
    print(f"{'model variant':28s} " + " ".join(f"{label[:10]:>10s}" for label in STATISTIC_LABELS)
          + f" {'overall':>9s} {'pop.':>6s} {'loss':>9s}")
    for name, config in ABLATIONS.items():
        key, fit_key = jax.random.split(key)
        if name == "full model" and full_fit is not None:
            fit = full_fit
        else:
            fit = fit_answer_model(
                fit_key, counts, method="svi", config=config, svi_steps=args.ablation_steps,
                num_draws=1000,
            )
        check = replicated_check(check_key, fit, counts, args.replicates)
        population = population_check(check_key, fit, counts, args.replicates)
        print(
            f"{name:28s} {coverage_line(check)} {population.coverage():6.3f} "
            f"{float(np.mean(fit.losses[-100:])):9.1f}",
            flush=True,
        )


def main(argv=None) -> int:
    enable_x64()  # the theory computes in float64
    args = parse_arguments(argv)
    sample_set = load_samples(data_file(SAMPLES_FILE, args.data_dir))
    if args.max_questions is not None:
        sample_set = sample_set.select(questions=list(range(args.max_questions)))
    counts = np.asarray(sample_set.counts)
    models = list(sample_set.models)
    print(
        f"data: {counts.shape[0]} models × {counts.shape[1]} questions × "
        f"{int(counts.sum(-1).max())} samples, {counts.shape[2]} answer slots"
    )
    key = jax.random.PRNGKey(args.seed)
    svi_key, nuts_key, check_key, ablation_key = jax.random.split(key, 4)

    if args.skip_main:
        print_ablations(args, counts, ablation_key, check_key, None)
        return 0
    svi_fit, svi_wall, svi_cpu = timed_fit(
        svi_key, counts, method="svi", svi_steps=args.svi_steps, num_draws=1000
    )
    print(
        f"SVI  ({args.svi_steps} steps, mean-field normal, Adam with decaying step): wall "
        f"{svi_wall:7.1f} s, CPU {svi_cpu:7.1f} s, load average {load_average()}, "
        f"final loss {float(np.mean(svi_fit.losses[-100:])):.1f}"
    )
    fits = {"SVI": svi_fit}
    if not args.skip_nuts:
        nuts_fit, nuts_wall, nuts_cpu = timed_fit(
            nuts_key, counts, method="nuts", num_warmup=args.nuts_warmup,
            num_draws=args.nuts_draws,
        )
        print(
            f"NUTS ({args.nuts_warmup} warm-up + {args.nuts_draws} draws, 1 chain): wall "
            f"{nuts_wall:7.1f} s, CPU {nuts_cpu:7.1f} s, load average {load_average()}, "
            f"divergences {nuts_fit.divergences}"
        )
        fits["NUTS"] = nuts_fit
    print(
        "(targets: SVI <= 60 s, NUTS <= 600 s on 2 cores; CPU seconds are the fairer number "
        "when other jobs share the machine)"
    )

    for name, fit in fits.items():
        print(f"\n== posterior predictive check, {name} fit, {args.replicates} replicates ==")
        check = replicated_check(check_key, fit, counts, args.replicates)
        print_check_table(check, models)
        print(f"coverage of (model, statistic) and (pair, statistic) entries: {check.coverage():.3f}")
        population = population_check(check_key, fit, counts, args.replicates)
        print(
            f"new questions from the population (same size): coverage {population.coverage():.3f}"
        )
        for label, fraction in zip(STATISTIC_LABELS, population.inside_fraction()):
            print(f"  {label:18s} inside {fraction:.3f}")
        ability = np.asarray(fit.posterior["ability"])
        concentration = np.asarray(fit.posterior["concentration"])
        print(f"{'model':36s} {'ability θ':>18s} {'concentration κ':>18s} {'⊥ logit α':>10s}")
        for index, model in enumerate(models):
            low, high = np.quantile(ability[:, index], [0.05, 0.95])
            k_low, k_high = np.quantile(concentration[:, index], [0.05, 0.95])
            print(
                f"{model[:36]:36s} {low:7.2f} .. {high:7.2f} {k_low:7.2f} .. {k_high:7.2f} "
                f"{float(np.mean(fit.posterior['abstain_logit'][:, index])):10.2f}"
            )

    if args.ablations == "all":
        print_ablations(args, counts, ablation_key, check_key, svi_fit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
