"""The catalogue of fitted discussion-model variants, and the choices made on the fit half only.

Theory layer (``slmmux_theory.discussion``; pure, no I/O). :data:`VARIANTS` names the options of
:func:`slmmux_theory.discussion.fit.discussion_model` that the reports compare: the original
four-parameter model, each later-round term alone, both, and the state-dependent private law
(with recognition; one law shared by all agents, or one per model), and those two with ability
links (recognition and the private law's success outcome scaled by the agent's own per-question
log-odds of the correct answer). Two choices are made without the held-out half:

* :func:`select_variant`: the variant whose largest in-sample miss over
  :data:`SELECTION_MEASURES` is smallest;
* :func:`choose_smoothing`: the pseudo-count of the answer distributions whose plug-in round-1
  plurality accuracy is closest to the measured one.

Example:
  >>> variant_options(VARIANTS["state_law_by_model"], (0, 0, 1))["agent_groups"]
  (0, 0, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.discussion.measures import groupthink_measures
from slmmux_theory.discussion.model import independent_plurality_accuracy_exact

__all__ = [
    "SELECTION_MEASURES",
    "VARIANTS",
    "agent_groups_of",
    "choose_smoothing",
    "main_fit_options",
    "select_variant",
    "variant_options",
]

VARIANTS = {"base": {}, "recognition": {"recognition": True},
            "revision": {"revision": True}, "both": {"recognition": True, "revision": True},
            "state_law": {"recognition": True, "private_law": True},
            "state_law_by_model": {"recognition": True, "private_law": True,
                                   "private_law_by_group": True},
            "state_law_ability": {"recognition": True, "private_law": True, "ability": True},
            "state_law_by_model_ability": {"recognition": True, "private_law": True,
                                           "private_law_by_group": True, "ability": True}}
"""Variant name -> :func:`~slmmux_theory.discussion.fit.discussion_model` options."""

SELECTION_MEASURES = ("debate_accuracy", "flip_correct_to_wrong", "flip_wrong_to_correct",
                      "lost_correct", "final_consensus_on_wrong")
"""Measures whose largest in-sample (fit-half) miss selects a variant; never the held-out half."""


def agent_groups_of(agent_models: Sequence[str]) -> tuple[int, ...]:
    """Group index of each agent: agents of one model share a group (models in first-seen order).

    >>> agent_groups_of(["smollm2", "gemma3", "smollm2"])
    (0, 1, 0)
    """
    names = list(dict.fromkeys(agent_models))
    return tuple(names.index(m) for m in agent_models)


def variant_options(options: Mapping[str, Any], agent_groups: Sequence[int]) -> dict[str, Any]:
    """Add ``agent_groups`` when an option is per group (revision shifts, per-model law).

    >>> variant_options({"recognition": True}, (0, 1))
    {'recognition': True}
    """
    options = dict(options)
    per_group = options.get("revision") or options.get("private_law_by_group")
    return options | ({"agent_groups": tuple(agent_groups)} if per_group else {})


def main_fit_options(settings: Mapping[str, Any], agent_groups: Sequence[int]) -> dict[str, Any]:
    """Options of a report's main fit from its settings (``recognition``, ``revision``, ...).

    >>> main_fit_options({"recognition": True, "revision": False}, (0, 1))
    {'recognition': True, 'revision': False, 'private_law': False, 'private_law_by_group': False}
    """
    options = {"recognition": bool(settings["recognition"]), "revision": bool(settings["revision"]),
               "private_law": bool(settings.get("private_law", False)),
               "private_law_by_group": bool(settings.get("private_law_by_group", False))}
    return variant_options(options, agent_groups)


def select_variant(variants: Mapping[str, Mapping], measured_fit: Mapping[str, float]
                   ) -> dict[str, Any]:  # fmt: skip
    """The variant with the smallest largest fit-half miss over :data:`SELECTION_MEASURES`.

    Uses only the fit half (in-sample predictions against fit-half measurements).

    Args:
      variants: name -> ``{"fit_half": measure -> in-sample prediction, ...}``.
      measured_fit: measure -> value measured on the fit half.

    Returns:
      ``{"name": chosen variant, "largest_fit_half_miss": name -> largest miss}``.

    >>> select_variant({"a": {"fit_half": {m: 0.1 for m in SELECTION_MEASURES}},
    ...                 "b": {"fit_half": {m: 0.4 for m in SELECTION_MEASURES}}},
    ...                {m: 0.2 for m in SELECTION_MEASURES})["name"]
    'a'
    """
    worst = {name: max(abs(v["fit_half"][m] - measured_fit[m]) for m in SELECTION_MEASURES)
             for name, v in variants.items()}  # fmt: skip
    name = min(worst, key=worst.get)
    return {"name": name, "largest_fit_half_miss": worst}


def choose_smoothing(candidates: Sequence[tuple[float, Any, Any]], num_answers: int
                     ) -> dict[str, Any]:  # fmt: skip
    """The pseudo-count whose plug-in round-1 plurality is closest to the measured one.

    For every candidate, the plug-in round-1 (no-communication) plurality accuracy predicted
    from the answer distributions is compared with the measured one; the smallest
    |predicted − measured| wins (first candidate on ties). Give fit-half arrays only: the
    held-out half must never enter.

    Args:
      candidates: ``(pseudo-count, probs [debates, agents, A], answers [debates, rounds,
        agents])`` per candidate value, in preference order.
      num_answers: A.

    Returns:
      ``{"chosen": value, "rows": [{"smoothing", "predicted", "measured",
      "agent_mean_correct_probability", "agent_round_one_accuracy"}]}``.

    >>> probs = np.array([[[0.75, 0.25, 0.0], [0.75, 0.25, 0.0], [0.75, 0.25, 0.0]]])
    >>> answers = np.array([[[0, 0, 0]]])
    >>> choose_smoothing([(0.0, probs, answers)], 3)["rows"][0]["predicted"]
    0.84375
    """
    rows = []
    for value, probs, answers in candidates:
        probs, answers = jnp.asarray(probs), np.asarray(answers)
        predicted = float(jnp.mean(jax.vmap(independent_plurality_accuracy_exact)(probs)))
        measured = float(groupthink_measures(jnp.asarray(answers), num_answers)
                         .independent_accuracy.rate)  # fmt: skip
        rows.append({"smoothing": value, "predicted": predicted, "measured": measured,
                     "agent_mean_correct_probability": np.asarray(probs[:, :, 0].mean(0)).tolist(),
                     "agent_round_one_accuracy": (answers[:, 0, :] == 0).mean(0).tolist()})
    chosen = min(rows, key=lambda row: abs(row["predicted"] - row["measured"]))["smoothing"]
    return {"chosen": chosen, "rows": rows}
