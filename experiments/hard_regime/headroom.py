"""Where the headroom is: the questions the oracle gets and SLM-MUX misses, and two ceilings.

For the best SLM-MUX pair at k = 3 (the target's reference), per question: each pair model's share
of correct samples over all recorded samples and its most popular wrong answer's share, the best
model of the file on the question, and the cross-fitted P(correct) of SLM-MUX, of the pair's
any-sample oracle at k = 3, of the target's best new rule and of the best learned weighted vote.

Ceilings, both computed from all recorded samples (not estimates):

* **plurality ceiling**: a model's plurality over all its recorded samples (ties shared): what
  self-consistency, a vote or a stopping rule on that model tends to as its samples grow. A rule
  reading that model's samples beats it only where a minority answer is right and it picks that
  minority by luck at small k.
* **seen-answer bound at the budget** (strict): no rule answers what it has not seen, so on each
  question a rule is right at most as often as the correct answer is among the samples it paid
  for. Maximising that over every allocation of samples of the pair's two models, per question and
  knowing the truth (how many samples of each model), at mean tokens per question at most the
  budget, bounds every rule on the pair that sees only its samples. The bound is the Lagrangian
  dual of that allocation problem: for every multiplier λ >= 0,
  ``mean_q max_(n1, n2) [P(correct answer among them) - λ tokens(n1, n2)] + λ B`` is an upper
  bound, and we report the smallest over a grid of λ.

Pure NumPy; called by :mod:`experiments.hard_regime.run`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["analyse", "markdown", "plurality_ceiling", "seen_answer_bound"]

MAX_ROWS = 25


def plurality_ceiling(samples, num_answers: int) -> np.ndarray:
    """P(correct) of each model's plurality over all its recorded samples (ties shared, ⊥ no
    vote), shape [models, questions].

    >>> plurality_ceiling(np.array([[[0, 0, 1], [1, 2, 0]]]), 3).tolist()
    [[1.0, 0.5]]
    """
    samples = np.asarray(samples)
    out = np.zeros(samples.shape[:2])
    for m in range(samples.shape[0]):
        for q in range(samples.shape[1]):
            row = samples[m, q]
            counts = np.bincount(row[(row >= 0) & (row < num_answers - 1)],
                                 minlength=num_answers - 1)
            top = counts.max()
            if top > 0:
                out[m, q] = (counts[0] == top) / (counts == top).sum()
    return out


def _none_correct(samples) -> np.ndarray:
    """P(no correct sample among n drawn without replacement), [models, questions, n + 1]."""
    samples = np.asarray(samples)
    recorded = (samples >= 0).sum(axis=2)
    wrong = recorded - (samples == 0).sum(axis=2)
    n = samples.shape[2]
    j = np.arange(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.clip((wrong[..., None] - j) / (recorded[..., None] - j), 0.0, 1.0)
    ratio = np.where(j < recorded[..., None], ratio, 1.0)
    return np.concatenate([np.ones(samples.shape[:2] + (1,)), np.cumprod(ratio, axis=-1)], -1)


def seen_answer_bound(samples, tokens, budget: float, grid: int = 200):
    """Upper bound on any rule over two models at mean tokens per question <= ``budget``.

    Args:
      samples: slot indices of the two models, int [2, questions, n] (``-1`` missing).
      tokens: real tokens per sample, [2, questions, n].
      budget: mean tokens per question.
      grid: multipliers λ tried (log-spaced).

    Returns:
      (bound, the allocation's mean tokens at the best λ).

    >>> s = np.array([[[0, 1, 1, 1]], [[1, 1, 1, 1]]]); t = np.ones((2, 1, 4))
    >>> round(seen_answer_bound(s, t, 2.0)[0], 2)   # 2 of model 0's 4 samples: 1 - 3/4 * 2/3
    0.5
    """
    samples = np.asarray(samples)
    none = _none_correct(samples)  # [2, Q, n+1]
    per_sample = np.nanmean(np.where(samples >= 0, np.asarray(tokens, float), np.nan), axis=2)
    n = samples.shape[2]
    counts = np.arange(n + 1)
    value = 1.0 - none[0][:, :, None] * none[1][:, None, :]  # [Q, n1, n2]
    cost = (counts[None, :, None] * per_sample[0][:, None, None]
            + counts[None, None, :] * per_sample[1][:, None, None])
    flat_value = value.reshape(value.shape[0], -1)
    flat_cost = cost.reshape(value.shape[0], -1)

    def dual(lam):
        gain = flat_value - lam * flat_cost
        pick = gain.argmax(axis=1)
        spent = float(flat_cost[np.arange(len(pick)), pick].mean())
        return float(gain.max(axis=1).mean() + lam * budget), spent

    # The dual is convex in λ: a log grid, then a ternary search between the best point's
    # neighbours.
    lams = np.concatenate([[0.0], np.logspace(-4, 2, grid) / max(budget, 1.0)])
    values = [dual(lam)[0] for lam in lams]
    i = int(np.argmin(values))
    low, high = lams[max(i - 1, 0)], lams[min(i + 1, len(lams) - 1)]
    for _ in range(80):
        a, b = low + (high - low) / 3, high - (high - low) / 3
        if dual(a)[0] <= dual(b)[0]:
            high = b
        else:
            low = a
    return min(dual((low + high) / 2), dual(lams[i]))


def _row_of(pools, pool, rule, k, models):
    if pool not in pools:
        return None
    for row in pools[pool].rows:
        if row.rule == rule and row.k == k and list(row.models) == list(models):
            return row
    return None


def analyse(sample_set, best_pair, pools, target) -> dict:
    """The per-question table and the ceilings (see the module docstring)."""
    names = list(sample_set.models)
    pair = [names.index(m) for m in best_pair.models]
    samples = sample_set.samples
    num_answers = sample_set.num_answers
    recorded = np.maximum((samples >= 0).sum(axis=2), 1)
    share = (samples == 0).sum(axis=2) / recorded  # [M, Q]
    wrong_share = np.zeros_like(share)
    for m in range(samples.shape[0]):
        for q in range(samples.shape[1]):
            row = samples[m, q]
            wrong = row[(row > 0) & (row < num_answers - 1)]
            wrong_share[m, q] = np.bincount(wrong).max() / recorded[m, q] if wrong.size else 0.0
    oracle = _row_of(pools, "best-pair", "oracle-any-sample", 3, best_pair.models)
    new, vote = target["best_new"], target["best_weighted_vote"]
    new_row = None if new is None else _row_of(pools, new["pool"], new["rule"], new["k"],
                                                new["models"])
    vote_row = None if vote is None else _row_of(pools, vote["pool"], vote["rule"], vote["k"],
                                                 vote["models"])
    mux = np.asarray(best_pair.correct)
    gap = (np.asarray(oracle.correct) - mux) if oracle is not None else 1.0 - mux
    order = [int(q) for q in np.argsort(-gap, kind="stable") if gap[q] > 0.005 or mux[q] < 0.995]
    rows = []
    for q in order[:MAX_ROWS]:
        top = int(np.argmax(share[:, q]))
        rows.append({
            "question": q,
            "pair_correct_share": [float(share[m, q]) for m in pair],
            "pair_top_wrong_share": [float(wrong_share[m, q]) for m in pair],
            "best_model": names[top], "best_model_share": float(share[top, q]),
            "slm_mux": float(mux[q]),
            "oracle_any_sample": None if oracle is None else float(oracle.correct[q]),
            "best_new": None if new_row is None else float(new_row.correct[q]),
            "best_vote": None if vote_row is None else float(vote_row.correct[q]),
        })
    ceiling = plurality_ceiling(samples, num_answers)
    bound, spent = seen_answer_bound(samples[pair], sample_set.tokens[pair],
                                     best_pair.mean_tokens)
    return {
        "pair": list(best_pair.models),
        "questions_listed": len(rows), "questions_with_gap": len(order), "rows": rows,
        "plurality_ceiling": {names[m]: float(ceiling[m].mean()) for m in range(len(names))},
        "plurality_ceiling_best_model_per_question": float(ceiling.max(axis=0).mean()),
        "seen_answer_bound": bound, "seen_answer_bound_tokens": spent,
        "budget_tokens": best_pair.mean_tokens,
        "slm_mux": float(mux.mean()),
        "oracle_any_sample_k3": None if oracle is None else oracle.accuracy,
    }


def _cell(value):
    return "" if value is None else f"{value:.2f}"


def markdown(analysis: dict) -> str:
    """The analysis as Markdown (a section of ``table.md``)."""
    a = analysis
    ceilings = sorted(a["plurality_ceiling"].items(), key=lambda kv: -kv[1])
    lines = ["### Where the headroom is (best SLM-MUX pair at k = 3)", "",
             f"Pair: {' + '.join(a['pair'])}; SLM-MUX {a['slm_mux']:.4f}, its any-sample oracle "
             f"at k = 3 {_cell(a['oracle_any_sample_k3'])}; budget {a['budget_tokens']:.0f} "
             "tokens/question.", "",
             "- plurality ceiling (plurality of all recorded samples of one model): " +
             ", ".join(f"{name} {value:.4f}" for name, value in ceilings[:4]) +
             f"; the best model per question (an oracle choice): "
             f"{a['plurality_ceiling_best_model_per_question']:.4f}",
             f"- seen-answer bound for any rule on the pair at the budget (oracle allocation, "
             f"Lagrangian dual): {a['seen_answer_bound']:.4f} (allocation at "
             f"{a['seen_answer_bound_tokens']:.0f} tokens/question)",
             "", f"{a['questions_with_gap']} questions where the pair's oracle beats SLM-MUX by "
             f"> 0.5 pt or SLM-MUX < 99.5 % (the first {a['questions_listed']} by gap):", "",
             "| q | pair correct share | pair top wrong share | best model (share) | SLM-MUX | "
             "oracle k=3 | best new | best vote |", "|---:|---|---|---|---:|---:|---:|---:|"]
    for r in a["rows"]:
        lines.append(
            f"| {r['question']} | {' / '.join(f'{v:.2f}' for v in r['pair_correct_share'])} | "
            f"{' / '.join(f'{v:.2f}' for v in r['pair_top_wrong_share'])} | "
            f"{r['best_model']} ({r['best_model_share']:.2f}) | {r['slm_mux']:.2f} | "
            f"{_cell(r['oracle_any_sample'])} | {_cell(r['best_new'])} | "
            f"{_cell(r['best_vote'])} |")
    return "\n".join(lines) + "\n\n"
