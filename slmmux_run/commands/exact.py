"""``slmmux exact``: the exact-accuracy engine from the command line.

Reads answer distributions from JSON, prints ``{"accuracy", "per_question",
"expected_samples"}``. Input schema::

    {"models": [{"name": str, "validation_accuracy": float,
                 "probs": [[p_slot0, p_slot1, ..., p_no_answer] per question]}]}

Slot 0 is the correct answer and the last slot "no answer".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slmmux_run.cli_args import MAX_DRAWS, MAX_SAMPLES, LazyChoices, int_in
from slmmux_run.cli_catalog import rule_names
from slmmux_run.errors import UserError

__all__ = ["load_distribution_file", "monte_carlo_draws", "register", "run", "untrained_note"]


def monte_carlo_draws(text: str) -> int:
    """The value of ``--monte-carlo``: 0 (enumerate) or 2..MAX_DRAWS draws (argparse type).

    Memory does not grow with the draws (the engine simulates them in chunks); the upper limit
    bounds the time.

    >>> monte_carlo_draws("0"), monte_carlo_draws("4000")
    (0, 4000)
    """
    value = int_in(0, MAX_DRAWS)(text)
    if value == 1:
        raise argparse.ArgumentTypeError("must be 0 (enumerate) or at least 2 draws, got 1")
    return value


def untrained_note(rule: str) -> str | None:
    """What ``exact`` says of a rule that learns options from validation samples (weights,
    threshold, answer law): answer distributions carry no samples to learn them from, so its
    defaults are used; None for a rule that learns nothing beyond the tie ranks."""
    from slmmux_theory.rules.registry import RULES

    if RULES[rule].learn is None:
        return None
    return (f"{rule} learns its options (model weights, stopping threshold or answer law) from "
            "validation samples; answer distributions carry none, so its untrained defaults "
            "were used (equal weights, default threshold and prior). 'slmmux compare' learns "
            "them on held-out questions")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exact",
        help="exact (or Monte Carlo) accuracy of a rule for given answer distributions",
        description="The exact accuracy of one rule with k samples per model for given answer "
        "distributions (or a Monte Carlo estimate); prints JSON {accuracy, per_question, "
        "expected_samples}.",
    )
    parser.add_argument("--input", required=True, metavar="DIST.json",
                        help='answer distributions: {"models": [{"name": ..., '
                        '"validation_accuracy": ..., "probs": [[p_slot0, ..., p_no_answer] per '
                        'question]}]}, slot 0 the correct answer, the last slot no answer, each '
                        'row summing to 1')
    parser.add_argument("--rule", required=True, choices=LazyChoices(rule_names),
                        metavar="RULE", help="the rule: %(choices)s")
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), required=True,
                        help="samples per model")
    parser.add_argument("--preset", default="paper", choices=("paper", "original_code", "framework"),
                        help="SLM-MUX options: paper (confidence over k samples, random ties "
                        "within a model, ties across models by validation accuracy), "
                        "original_code (first-seen ties within a model, model order across), "
                        "framework (confidence over valid answers)")
    parser.add_argument("--tie-break", default=None,
                        choices=("validation_accuracy", "model_order", "random"),
                        help="cross-model tie rule of SLM-MUX (overrides the preset)")
    parser.add_argument("--denominator", default=None, choices=("k", "valid"),
                        help="confidence denominator of SLM-MUX (overrides the preset)")
    parser.add_argument("--pooled-tie", default="random", choices=("random", "first_seen"),
                        help="tie rule of the Agent Forest pooled vote")
    parser.add_argument("--switch-stop", default="unanimous",
                        choices=("unanimous", "majority_share"),
                        help="ModelSwitch stops at a model when its samples agree: all alike "
                        "(unanimous) or its mode share above 0.85 (majority_share)")
    parser.add_argument("--switch-weighting", default="entropy", choices=("entropy", "plain"),
                        help="ModelSwitch's final vote: entropy-weighted or a plain pooled "
                        "majority")
    parser.add_argument("--monte-carlo", type=monte_carlo_draws, default=0, metavar="DRAWS",
                        help="estimate by simulation with this many draws instead of enumeration "
                        f"(0: enumerate; at most {MAX_DRAWS:,}, in chunks of bounded memory)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo draws")
    parser.set_defaults(handler=run)


def load_distribution_file(path: str):
    """Parse DIST.json into (names, validation_accuracy, probs [models, questions, answers])."""
    import numpy as np

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{file}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{file}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{file}:{error.lineno}: invalid JSON ({error.msg})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        raise UserError(f"{file}: field 'models' must be a non-empty list")
    names, accuracies, tables = [], [], []
    for i, model in enumerate(models):
        where = f"{file}: models[{i}]"
        if not isinstance(model, dict):
            raise UserError(f"{where} must be an object")
        name = model.get("name", f"model-{i}")
        if not isinstance(name, str):
            raise UserError(f"{where}.name must be a string")
        accuracy = model.get("validation_accuracy", float("nan"))
        if not isinstance(accuracy, (int, float)) or isinstance(accuracy, bool):
            raise UserError(f"{where}.validation_accuracy must be a number")
        probs = model.get("probs")
        if not isinstance(probs, list) or not probs:
            raise UserError(f"{where}.probs must be a non-empty list of per-question lists")
        for q, row in enumerate(probs):
            if not isinstance(row, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in row
            ):
                raise UserError(f"{where}.probs[{q}] must be a list of numbers")
        widths = {len(row) for row in probs}
        if len(widths) != 1:
            raise UserError(f"{where}.probs: questions have different numbers of slots {sorted(widths)}")
        names.append(name)
        accuracies.append(float(accuracy))
        tables.append(probs)
    shapes = {(len(t), len(t[0])) for t in tables}
    if len(shapes) != 1:
        raise UserError(
            f"{file}: models disagree on [questions, slots]: "
            + ", ".join(f"{n} {len(t)}x{len(t[0])}" for n, t in zip(names, tables))
        )
    probs = np.array(tables, dtype=float)
    for m, q, _ in zip(*np.nonzero(~np.isfinite(probs))):
        raise UserError(f"{file}: models[{m}].probs[{q}] holds a non-finite number (NaN or inf)")
    for m, q in zip(*np.nonzero(np.abs(probs.sum(-1) - 1.0) > 1e-6)):
        raise UserError(f"{file}: models[{m}].probs[{q}] sums to {probs[m, q].sum():.6g}, not 1")
    for m, q, _ in zip(*np.nonzero(probs < 0)):
        raise UserError(f"{file}: models[{m}].probs[{q}] has a negative probability")
    return names, np.array(accuracies), probs


def run(args) -> int:
    # The file first: a bad one is reported before JAX is imported (seconds on a small machine).
    names, accuracies, probs = load_distribution_file(args.input)
    import jax
    import numpy as np

    from slmmux_run.progress import Progress
    from slmmux_theory.engines.exact import exact_accuracy
    from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
    from slmmux_theory.rules.base import MuxConfig, SwitchConfig, mux_preset

    preset = mux_preset(args.preset)
    mux_config = MuxConfig(
        args.denominator or preset.confidence_denominator,
        preset.intra_model_tie,
        args.tie_break or preset.cross_model_tie,
    )
    options = dict(
        mux_config=mux_config,
        switch_config=SwitchConfig(stop_rule=args.switch_stop, weighting=args.switch_weighting),
        validation_accuracy=None if np.all(np.isnan(accuracies)) else accuracies,
        pooled_tie=args.pooled_tie,
    )
    progress = Progress(f"exact: {args.rule}, k = {args.k}")  # elapsed on stderr while it runs
    try:
        if args.monte_carlo:
            result = monte_carlo_accuracy(
                jax.random.PRNGKey(args.seed), args.rule, probs, args.k, args.monte_carlo, **options
            )
            payload = {
                "accuracy": float(result.accuracy),
                "standard_error": float(result.standard_error),
                "per_question": [float(x) for x in result.per_question],
                "expected_samples": float(result.expected_samples.mean()),
            }
        else:
            result = exact_accuracy(args.rule, probs, args.k, **options)
            payload = {
                "accuracy": float(result.accuracy),
                "per_question": [float(x) for x in result.per_question],
                "expected_samples": float(result.expected_samples.mean()),
            }
    except ValueError as error:
        raise UserError(f"{args.input}: {error}") from None
    finally:
        progress.close()
    note = untrained_note(args.rule)
    if note:  # said twice: in the JSON kept, and on stderr for the person reading
        payload["options"] = note
        print(f"slmmux exact: {note}", file=sys.stderr)
    json.dump(payload, sys.stdout)
    sys.stdout.write("\n")
    return 0
