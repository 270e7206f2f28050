"""Benchmark: exact SLM-MUX accuracy for every subset of up to 4 of 13 models, k = 1..9.

Synthetic distributions: 13 models × 250 questions × 6 answer slots (Dirichlet draws, seed 0).
Times the full sweep after compilation (compile time printed separately) and, in the same run,
a straightforward Python enumeration over all sample sequences on a subsample of the same
(subset, k, question) cells, extrapolated to the whole sweep; prints the ratio.

    python -m experiments.benchmarks.exact_sweep [--python-cells 40]

Targets (issue 2): sweep <= 2 s on a 2-core machine after compilation; ratio >= 100x.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter

import jax
import numpy as np

from slmmux_theory.precision import enable_x64
from slmmux_theory.engines.exact import multinomial_counts, mux_levels, mux_subset_accuracy

NUM_MODELS, NUM_QUESTIONS, NUM_ANSWERS, MAX_SUBSET = 13, 250, 6, 4


def all_subsets():
    rows = []
    for size in range(1, MAX_SUBSET + 1):
        for subset in itertools.combinations(range(NUM_MODELS), size):
            rows.append(list(subset) + [-1] * (MAX_SUBSET - size))
    return np.array(rows)


def sweep(probs, subsets, priority, ks):
    results = []
    for k in ks:
        levels = mux_levels(multinomial_counts(probs, k))
        results.append(mux_subset_accuracy(levels, subsets, priority))
    return jax.block_until_ready(results)


def python_mux(probs_per_model, k):
    """Brute force over all sample sequences of every model: P(SLM-MUX correct)."""
    abstain = len(probs_per_model[0]) - 1
    total = 0.0
    sequences = list(itertools.product(range(len(probs_per_model[0])), repeat=k))
    for seqs in itertools.product(sequences, repeat=len(probs_per_model)):
        weight = 1.0
        for m, seq in enumerate(seqs):
            for a in seq:
                weight *= probs_per_model[m][a]
        if weight == 0.0:
            continue
        best, best_law = 0, None
        for seq in seqs:  # list order = priority: strictly greater confidence needed to win
            counts = Counter(a for a in seq if a != abstain)
            if not counts:
                continue
            top = max(counts.values())
            if top > best:
                tied = [a for a, c in counts.items() if c == top]
                best, best_law = top, (0 in tied) / len(tied)
        if best_law:
            total += weight * best_law
    return total


def main(argv=None) -> int:
    enable_x64()  # the theory computes in float64
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python-cells", type=int, default=40, help="cells timed in Python")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(NUM_ANSWERS, 0.5), size=(NUM_MODELS, NUM_QUESTIONS))
    subsets = all_subsets()
    priority = np.arange(NUM_MODELS)
    ks = list(range(1, 10))
    start = time.perf_counter()
    results = sweep(probs, subsets, priority, ks)
    first = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        sweep(probs, subsets, priority, ks)
        times.append(time.perf_counter() - start)
    sweep_seconds = min(times)
    cells = len(subsets) * len(ks) * NUM_QUESTIONS
    print(f"sweep: {len(subsets)} subsets x k=1..9 x {NUM_QUESTIONS} questions = {cells:,} cells")
    print(f"compile + first run: {first:.2f} s; compile time ~ {first - sweep_seconds:.2f} s")
    print(f"sweep after compilation: {sweep_seconds:.3f} s (best of {args.repeats})")

    # Python baseline: brute force over all sample sequences on a random subsample of cells.
    # Its cost is (A^k)^K sequences per cell, so only cells with K <= 2 and k <= 3 finish in
    # seconds; the full sweep's Python time is extrapolated from the measured cost per
    # enumerated sequence (a lower bound: the real loop also grows with K per sequence).
    cell_rng = np.random.default_rng(1)
    sequences_timed, seconds_timed, checked, max_gap = 0, 0.0, 0, 0.0
    small = [i for i, row in enumerate(subsets) if (row >= 0).sum() <= 2]
    while checked < args.python_cells:
        s = small[cell_rng.integers(len(small))]
        k = int(cell_rng.integers(1, 4))
        q = int(cell_rng.integers(NUM_QUESTIONS))
        members = [m for m in subsets[s] if m >= 0]
        start = time.perf_counter()
        value = python_mux([probs[m, q].tolist() for m in members], k)
        seconds_timed += time.perf_counter() - start
        sequences_timed += (NUM_ANSWERS ** k) ** len(members)
        max_gap = max(max_gap, abs(value - float(results[k - 1][s, q])))
        checked += 1
    per_sequence = seconds_timed / sequences_timed
    python_seconds_total = 0.0
    for k in ks:
        for row in subsets:
            python_seconds_total += per_sequence * (NUM_ANSWERS ** k) ** int((row >= 0).sum())
    python_seconds_total *= NUM_QUESTIONS
    engine_per_cell = sweep_seconds / cells
    python_per_cell = seconds_timed / checked
    print(f"python enumeration: {checked} cells (K <= 2, k <= 3) in {seconds_timed:.2f} s, "
          f"max |python - exact| = {max_gap:.2e}")
    print(f"python per cell {python_per_cell * 1e3:.3f} ms; engine per cell (sweep average, "
          f"k up to 9) {engine_per_cell * 1e6:.3f} us")
    print(f"ratio python / exact engine, per cell on the subsample: {python_per_cell / engine_per_cell:,.0f}x")
    print(f"python full sweep extrapolated at {per_sequence * 1e6:.2f} us per enumerated sequence: "
          f"{python_seconds_total:.3g} s (infeasible), ratio {python_seconds_total / sweep_seconds:.3g}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
