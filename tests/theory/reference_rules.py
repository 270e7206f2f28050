"""Plain-Python reference implementations of the rules on explicit sample sequences.

Independent of slmmux_theory: exact fractions, explicit loops, ties averaged analytically. Used by
the brute-force tests, which enumerate every sample sequence of every model.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction


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
