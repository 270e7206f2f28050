"""Why the old categorical law's pass@k misses at large k: its law of per-question p_correct.

Per AIME 2024 pilot (4 samples per question, the same seeded pilots as ``run.py``), the law of
p_correct each model implies, its pass@16 / pass@64 forecast (``1 - E[(1 - p)^k]``, the
aggregate form) and its mass below 1/80 (a question the model would not solve once in 80
samples), against the 80-sample truth (the unbiased pass@k; the share of questions with 0 of 80
correct):

* ``categorical G=1``: the Dirichlet(a_c, a_w, a_b) law of last session; its p_correct marginal
  is Beta(a_c, a_w + a_b), and a_w + a_b is also the concentration of the wrong-vs-⊥ split, so
  the fit of the correctness law is pulled by the wrong and ⊥ answers;
* ``Beta-binomial``: Beta(α, β) fitted by maximum likelihood on correctness alone (c = 1);
* ``scaled Beta-binomial``: the baseline, p = c q;
* with ``--zero``, also ``zero-inflated``: the p_correct marginal of the zero-inflated Beta tree
  (``forecast_zero``): a point mass π at 0 and the scaled Beta, fitted jointly with the wrong
  answers.

The last column is each law's log-likelihood of the pilot's success counts (correctness alone)
minus the baseline's maximum, mean over the pilots: the baseline is the maximum-likelihood law of
the counts, so a law fitted on more than the counts can only be below it (or above it with a
point mass the Beta family lacks).

    python -m experiments.forecasts.diagnose --seeds 3      # prints a table (README, "Diagnosis")
    python -m experiments.forecasts.diagnose --seeds 3 --zero
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import beta as beta_law

from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_theory.inference.forecast import (
    ScaledBeta,
    fit_categorical,
    fit_scaled_beta_binomial,
    scaled_beta_log_likelihood,
    scaled_beta_pass_at_k,
    unbiased_pass_at_k,
)
from slmmux_theory.inference.forecast_zero import fit_zero_inflated
from slmmux_theory.precision import enable_x64

from experiments.forecasts.run import FILES, pilot_counts

KS = (16, 64)


def laws(pilot, zero=False):
    """{name: (ScaledBeta, π)} of the p_correct laws fitted on one pilot (π: point mass at 0)."""
    s, n = pilot[:, 0], pilot.sum(1)
    old = fit_categorical(pilot, 1, False)
    out = {
        "categorical G=1": (ScaledBeta(float(old.correct[0]),
                                       float(old.wrong[0] + old.abstain[0]), 1.0), 0.0),
        "Beta-binomial": (fit_scaled_beta_binomial(s, n, scaled=False), 0.0),
        "scaled Beta-binomial": (fit_scaled_beta_binomial(s, n), 0.0),
    }
    if zero:
        law = fit_zero_inflated(pilot)
        out["zero-inflated"] = (law.solvable.correct, law.unsolvable)
    return out


def correctness_log_likelihood(law, pi, successes, trials):
    """Log-likelihood of the success counts under π·δ0 + (1 - π)·(scaled Beta)."""
    per = np.array([scaled_beta_log_likelihood(law, [s], [n]) for s, n in zip(successes, trials)])
    return float(np.logaddexp(np.log1p(-pi) + per,
                              np.where(successes == 0, np.log(pi) if pi > 0 else -np.inf,
                                       -np.inf)).sum())


def main(argv=None) -> int:
    enable_x64()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="aime")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", type=int, default=None, help="only the first N models")
    parser.add_argument("--zero", action="store_true", help="add the zero-inflated law's row")
    args = parser.parse_args(argv)
    sample_set = load_sample_set(data_file(FILES[args.dataset]))
    full, samples = np.asarray(sample_set.counts), np.asarray(sample_set.samples)
    rows = {}
    for seed in range(args.seeds):
        for m in range(full.shape[0] if args.models is None else args.models):
            truth = [unbiased_pass_at_k(full[m, :, 0], full[m].sum(-1), k).mean() for k in KS]
            zero = float((full[m, :, 0] == 0).mean())
            rng = np.random.default_rng([seed, m])
            pilot = pilot_counts(samples[m], sample_set.num_answers, 4, rng)
            fitted = laws(pilot, args.zero)
            s, n = pilot[:, 0], pilot.sum(1)
            best = correctness_log_likelihood(*fitted["scaled Beta-binomial"], s, n)
            for name, (law, pi) in fitted.items():
                forecast = (1 - pi) * scaled_beta_pass_at_k(law, KS)
                low = pi + (1 - pi) * beta_law.cdf(min(1.0 / 80 / law.scale, 1.0), law.alpha,
                                                    law.beta)
                rows.setdefault(name, []).append(
                    [*(forecast - truth), low - zero, law.alpha, law.beta, law.scale,
                     correctness_log_likelihood(law, pi, s, n) - best])
    models = full.shape[0] if args.models is None else args.models
    print(f"{args.dataset}: {args.seeds} seeds x {models} models, pilot 4 per question; "
          "errors in points (forecast - truth), means over the pilots")
    print("| p_correct law | bias pass@16 | bias pass@64 | MAE pass@16 | MAE pass@64 | "
          "P(p < 1/80) - share 0/80 | median α | median β | median c | "
          "correctness log-lik − baseline's |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, values in rows.items():
        v = np.array(values)
        print(f"| {name} | {100 * v[:, 0].mean():+.2f} | {100 * v[:, 1].mean():+.2f} | "
              f"{100 * np.abs(v[:, 0]).mean():.2f} | {100 * np.abs(v[:, 1]).mean():.2f} | "
              f"{100 * v[:, 2].mean():+.2f} | {np.median(v[:, 3]):.3f} | "
              f"{np.median(v[:, 4]):.3f} | {np.median(v[:, 5]):.3f} | {v[:, 6].mean():+.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
