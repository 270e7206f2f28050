"""Plain-Python reference implementations of the rules on explicit sample sequences.

Independent of slmmux_theory: exact fractions, explicit loops, ties averaged analytically. Used by
the brute-force tests, which enumerate every sample sequence of every model.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np


def _mode_law(seq, abstain, intra):
    """{answer: probability} of one model's voted answer, and its mode count."""
    counts = Counter(a for a in seq if a != abstain)
    if not counts:
        return {}, 0
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    if intra == "first_seen":
        first = min(tied, key=seq.index)
        return {first: Fraction(1)}, top
    return {a: Fraction(1, len(tied)) for a in tied}, top


def mux_correct(seqs, abstain, priority, denominator="k", intra="random", cross="priority"):
    laws, confidences = [], []
    for seq in seqs:
        law, top = _mode_law(seq, abstain, intra)
        laws.append(law)
        if denominator == "k":
            den = len(seq)
        else:
            den = sum(1 for a in seq if a != abstain)
        confidences.append(Fraction(top, den) if top > 0 else Fraction(0))
    best = max(confidences)
    if best == 0:
        return Fraction(0)
    tied = [i for i, c in enumerate(confidences) if c == best]
    if cross == "random":
        winners = {i: Fraction(1, len(tied)) for i in tied}
    else:
        winners = {min(tied, key=lambda i: priority[i]): Fraction(1)}
    return sum(w * laws[i].get(0, Fraction(0)) for i, w in winners.items())


def plurality_correct(seq, abstain, tie="random", order=None):
    counts = Counter(a for a in seq if a != abstain)
    if not counts:
        return Fraction(0)
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    if tie == "first_seen":
        return Fraction(int(min(tied, key=seq.index) == 0))
    return Fraction(int(0 in tied), len(tied))


def pooled_correct(seqs, abstain, tie="random"):
    return plurality_correct([a for s in seqs for a in s], abstain, tie)


def oracle_mode_correct(seqs, abstain):
    miss = Fraction(1)
    for seq in seqs:
        miss *= 1 - plurality_correct(seq, abstain)
    return 1 - miss


def oracle_sample_correct(seqs, abstain):
    return Fraction(int(any(a == 0 for s in seqs for a in s)))


def entropy_weight(seq, abstain):
    valid = [a for a in seq if a != abstain]
    if not valid:
        return 0.0
    counts = Counter(valid)
    if len(counts) == 1:
        return 1.0
    n = len(valid)
    h = -sum(c / n * math.log2(c / n) for c in counts.values())
    b = 1 / n
    return b + (1 - b) * (1 - h / math.log2(len(counts)))


def switch_correct(seqs, abstain, stop_rule="unanimous", threshold=0.85, weighting="entropy",
                   tie="first_seen", prior=None):
    """(P(correct), samples spent) of ModelSwitch on explicit sequences."""
    prior = prior or [1.0] * len(seqs)
    spent = 0
    for j, seq in enumerate(seqs):
        spent += len(seq)
        if j == len(seqs) - 1:
            break
        valid = [a for a in seq if a != abstain]
        counts = Counter(valid)
        if stop_rule == "unanimous":
            stop = len(valid) == len(seq) and len(counts) == 1
        else:
            stop = bool(counts) and max(counts.values()) > threshold * len(seq)
        if stop:
            answer = counts.most_common(1)[0][0]
            return Fraction(int(answer == 0)), spent
    scores = {}
    for j, seq in enumerate(seqs):
        # The plain pooled majority has no weights at all, prior or internal.
        w = prior[j] * entropy_weight(seq, abstain) if weighting == "entropy" else 1.0
        for a in seq:
            if a != abstain:
                scores[a] = scores.get(a, 0.0) + w
    if not scores:
        return Fraction(0), spent
    top = max(scores.values())
    tied = [a for a, s in scores.items() if s >= top - 1e-9]
    if tie == "first_seen":
        flat = [a for s in seqs for a in s]
        return Fraction(int(min(tied, key=flat.index) == 0)), spent
    return Fraction(int(0 in tied), len(tied)), spent


def confidence_weighted_correct(seqs, abstain, priority, cross="priority"):
    laws, conf = [], []
    for seq in seqs:
        law, top = _mode_law(seq, abstain, "random")
        laws.append(law)
        conf.append(Fraction(top, len(seq)))
    voters = [i for i in range(len(seqs)) if laws[i]]
    if not voters:
        return Fraction(0)
    total = Fraction(0)
    for choice in itertools.product(*[sorted(laws[i].items()) for i in voters]):
        weight = math.prod((p for _, p in choice), start=Fraction(1))
        scores = {}
        for i, (answer, _) in zip(voters, choice):
            scores[answer] = scores.get(answer, 0) + conf[i]
        top = max(scores.values())
        tied = [a for a, s in scores.items() if s == top]
        if cross == "random":
            total += weight * Fraction(int(0 in tied), len(tied))
        else:
            rank = {a: min(priority[i] for i, (b, _) in zip(voters, choice) if b == a) for a in tied}
            total += weight * int(min(tied, key=rank.get) == 0)
    return total


def weighted_vote_correct(seqs, abstain, weights=None):
    """P(correct) of the weighted vote: sample of model i adds weights[i]; random ties."""
    weights = weights or [1.0] * len(seqs)
    scores = {}
    for w, seq in zip(weights, seqs):
        for a in seq:
            if a != abstain:
                scores[a] = scores.get(a, 0.0) + w
    if not scores or max(scores.values()) <= 0:
        return Fraction(0)
    top = max(scores.values())
    tied = [a for a, s in scores.items() if s >= top - 1e-9 * max(top, 1.0)]
    return Fraction(int(0 in tied), len(tied))


def stopping_factor(counts, unknown_weight):
    """Posterior odds that the leader beats the runner-up, by scipy's Beta law."""
    from scipy.stats import beta

    top = sorted(counts.values(), reverse=True) + [0, 0]
    p = beta.sf(0.5, top[0] + 1, max(top[1] + 1, unknown_weight + 1))
    return p / (1 - p)


def bayes_stop_correct(seqs, abstain, priority, threshold=10.0, unknown_weight=0.3,
                       first_only=False):
    """(P(correct), samples spent) of Bayes-factor stopping along the given sample order:
    models by priority (the first model only when ``first_only``), samples one by one."""
    order = [0] if first_only else sorted(range(len(seqs)), key=lambda m: (priority[m], m))
    counts: Counter = Counter()
    spent = 0
    for m in order:
        for a in seqs[m]:
            spent += 1
            if a == abstain:
                continue
            counts[a] += 1
            if stopping_factor(counts, unknown_weight) >= threshold:
                return Fraction(int(counts.most_common(1)[0][0] == 0)), spent
    if not counts:
        return Fraction(0), spent
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    return Fraction(int(0 in tied), len(tied)), spent


def vote_stop_correct(seqs, abstain, priority, threshold=10.0, weights=None):
    """(P(correct), samples spent) of weighted-vote stopping along the given sample order:
    models by priority, samples one by one, each valid sample adds its model's weight; stop
    when the leader's score exceeds the runner-up's (0 if none) by log(threshold); at the cap
    the weighted plurality, ties at random."""
    weights = weights or [1.0] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda m: (priority[m], m))
    scores: dict = {}
    spent = 0
    for m in order:
        for a in seqs[m]:
            spent += 1
            if a == abstain:
                continue
            scores[a] = scores.get(a, 0.0) + weights[m]
            top = sorted(scores.values(), reverse=True) + [0.0]
            if top[0] - max(top[1], 0.0) >= math.log(threshold) - 1e-9:
                return Fraction(int(max(scores, key=scores.get) == 0)), spent
    if not scores:
        return Fraction(0), spent
    top = max(scores.values())
    tied = [a for a, s in scores.items() if s >= top - 1e-9]
    return Fraction(int(0 in tied), len(tied)), spent


def posterior_correct(seqs, abstain, alpha=2.0, beta=1.0, eta=0.5, gamma=50.0):
    """P(correct) of the posterior-optimal rule: Beta-binomial per model, shared
    Dirichlet-multinomial wrong answers; ties at random."""
    lg = math.lgamma
    counts = [Counter(seq) for seq in seqs]
    pooled = Counter(a for seq in seqs for a in seq if a != abstain)
    if not pooled:
        return Fraction(0)
    total = sum(pooled.values())
    scores = {}
    for a in pooled:
        score = 0.0
        for model, seq in zip(counts, seqs):
            n, c = len(seq), model.get(a, 0)
            score += lg(c + alpha) - lg(alpha) + lg(n - c + beta) - lg(n + beta)
        scores[a] = (score + lg(gamma + total) - lg(gamma + total - pooled[a])
                     - lg(eta + pooled[a]) + lg(eta))
    top = max(scores.values())
    tied = [a for a, s in scores.items() if s >= top - 1e-9]
    return Fraction(int(0 in tied), len(tied))


def expectation(probs, k, fn):
    """E[fn(seqs)] over all sample sequences; probs [models][answers] of one question."""
    num_answers = len(probs[0])
    per_model = list(itertools.product(range(num_answers), repeat=k))
    total = 0.0
    spent_total = 0.0
    for seqs in itertools.product(per_model, repeat=len(probs)):
        weight = 1.0
        for m, seq in enumerate(seqs):
            for a in seq:
                weight *= probs[m][a]
        if weight == 0.0:
            continue
        value = fn([list(s) for s in seqs])
        if isinstance(value, tuple):
            value, spent = value
            spent_total += weight * spent
        total += weight * float(value)
    return total, spent_total


def _all_samples(seqs):
    return sum(len(s) for s in seqs)


# One brute-force reference per registered rule, under the default options and the given
# cross-model tie ranks: fn(seqs, abstain, priority) -> (P(correct), samples spent). The registry
# test fails for a registered rule that has no entry here.
REFERENCES = {
    "slm-mux": lambda seqs, abstain, priority: (
        mux_correct(seqs, abstain, priority), _all_samples(seqs)),
    "agent-forest": lambda seqs, abstain, priority: (
        pooled_correct(seqs, abstain), _all_samples(seqs)),
    "self-consistency": lambda seqs, abstain, priority: (
        plurality_correct(seqs[0], abstain), len(seqs[0])),
    "model-switch": lambda seqs, abstain, priority: switch_correct(seqs, abstain),
    "oracle": lambda seqs, abstain, priority: (
        oracle_mode_correct(seqs, abstain), _all_samples(seqs)),
    "oracle-any-sample": lambda seqs, abstain, priority: (
        oracle_sample_correct(seqs, abstain), _all_samples(seqs)),
    "confidence-weighted": lambda seqs, abstain, priority: (
        confidence_weighted_correct(seqs, abstain, priority), _all_samples(seqs)),
    # Without learned weights both weightings are the equal-weights vote.
    "weighted-vote-milp": lambda seqs, abstain, priority: (
        weighted_vote_correct(seqs, abstain), _all_samples(seqs)),
    "weighted-vote-log-odds": lambda seqs, abstain, priority: (
        weighted_vote_correct(seqs, abstain), _all_samples(seqs)),
    "bayes-stop": lambda seqs, abstain, priority: bayes_stop_correct(
        seqs, abstain, priority, first_only=True),
    "bayes-stop-models": lambda seqs, abstain, priority: bayes_stop_correct(
        seqs, abstain, priority),
    "posterior-optimal": lambda seqs, abstain, priority: (
        posterior_correct(seqs, abstain), _all_samples(seqs)),
    "vote-stop": lambda seqs, abstain, priority: vote_stop_correct(seqs, abstain, priority),
}


def replay_expectation(recorded, k, fn):
    """E[fn(seqs)] when each model's k samples are drawn without replacement from its recorded
    samples, every ordered draw equally likely; recorded [models][samples] of one question."""
    per_model = [list(itertools.permutations(seq, k)) for seq in recorded]
    total = Fraction(0)
    spent_total = Fraction(0)
    count = 0
    for seqs in itertools.product(*per_model):
        value = fn([list(s) for s in seqs])
        if isinstance(value, tuple):
            value, spent = value
            spent_total += spent
        total += Fraction(value)
        count += 1
    return float(total / count), float(spent_total / count)


def replay_by_hand(samples, num_answers: int, k: int, priority) -> dict[str, list[float]]:
    """Exact replay of two models' recorded samples, by enumerating every draw of k of them.

    SLM-MUX, Agent Forest, the first model's self-consistency and the any-mode oracle average
    over every unordered k-subset of each model's samples; ModelSwitch, which breaks ties by
    first sight, over every ORDERED draw. Returns per-question P(correct) per rule.

    Args:
      samples: slot of every sample, int [2, questions, samples] (last slot ⊥).
      num_answers: slots per question.
      k: samples drawn per model.
      priority: tie rank per model (lower wins).
    """
    from slmmux_theory.rules.base import SwitchConfig, first_seen_positions, model_switch_select

    samples = np.asarray(samples)
    expected = {rule: [] for rule in ("slm-mux", "agent-forest", "sc-a", "oracle", "switch")}
    for q in range(samples.shape[1]):
        rows = [samples[m, q] for m in range(2)]
        values = {rule: [] for rule in expected}
        for draw_a, draw_b in itertools.product(itertools.combinations(rows[0], k),
                                                itertools.combinations(rows[1], k)):
            counts = np.array([np.bincount(d, minlength=num_answers) for d in (draw_a, draw_b)])
            values["slm-mux"].append(mux_uniform_by_hand(counts, priority))
            values["agent-forest"].append(uniform_plurality(counts.sum(axis=0)))
            values["sc-a"].append(uniform_plurality(counts[0]))
            miss = [1 - uniform_plurality(c) for c in counts]
            values["oracle"].append(1 - miss[0] * miss[1])
        for draw_a, draw_b in itertools.product(itertools.permutations(rows[0], k),
                                                itertools.permutations(rows[1], k)):
            draws = np.array([draw_a, draw_b])
            counts = np.array([np.bincount(d, minlength=num_answers) for d in draws])
            outcome = model_switch_select(counts, None, None, SwitchConfig(),
                                          first_seen_positions(draws, num_answers))
            values["switch"].append(float(int(outcome.answer) == 0))
        for rule in expected:
            expected[rule].append(float(np.mean(values[rule])))
    return expected


def uniform_plurality(counts) -> float:
    """P(correct) of a plurality vote with uniform ties; counts [A], last slot ⊥."""
    valid = np.asarray(counts)[:-1]
    top = valid.max()
    if top == 0 or valid[0] != top:
        return 0.0
    return 1.0 / int((valid == top).sum())


def mux_uniform_by_hand(counts, priority) -> float:
    """SLM-MUX with uniform intra-model ties, confidence = mode count / k, priority ties."""
    tops = [c[:-1].max() for c in counts]
    modes = [np.flatnonzero(c[:-1] == t) if t > 0 else np.array([]) for c, t in zip(counts, tops)]
    best = max(tops)
    if best == 0:
        return 0.0
    winner = min((m for m in range(len(counts)) if tops[m] == best), key=lambda m: priority[m])
    return float(np.mean(modes[winner] == 0))
