"""The rule type: one aggregation rule as a value of pure functions (rules layer, no I/O).

As optax's ``GradientTransformation(init, update)`` makes an optimiser a value, a :class:`Rule`
makes a selection rule a value that every consumer treats alike: the exact engine calls
``rule.exact``, Monte Carlo and the runner's replay call ``rule.select``, planning reads
``rule.cost`` and the capability flags, the CLI lists the registry's names
(:mod:`slmmux_theory.rules.registry`). The rule's options travel in one hashable
:class:`RuleContext`, so a (rule, context) pair can key a compilation cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution, ExactResult
from slmmux_theory.rules.base import MuxConfig, SwitchConfig, mux_tie_ranks

__all__ = [
    "Rule",
    "RuleContext",
    "Selection",
    "SequenceSelection",
    "all_models_cost",
    "first_model_cost",
    "fixed_cost_result",
]


def _traced(value) -> bool:
    """A JAX tracer: an engine passes learned options as jit arguments (no recompilation per
    learned value); they are kept as they are."""
    return isinstance(value, jax.core.Tracer)


def _as_floats(value):
    if value is None or _traced(value):
        return value
    return tuple(float(v) for v in np.asarray(value, dtype=np.float64).ravel())


@dataclass(frozen=True)
class RuleContext:
    """Every rule's options in one hashable value (a static argument of jit and of caches).

    Array options are stored as tuples of floats, whatever sequence is given.

    Attributes:
      mux_config: options of SLM-MUX and of the confidence-weighted vote.
      switch_config: options of ModelSwitch.
      validation_accuracy: per-model validation accuracy, shape [models], for the paper's
        cross-model tie-break; None for list order.
      priority: explicit cross-model tie ranks (lower wins), shape [models]; overrides
        ``validation_accuracy`` when given.
      prior_weights: ModelSwitch's external weights ``W_i``, shape [models]; None for 1.
      pooled_tie: tie rule of the Agent Forest pooled vote, ``"random"`` or ``"first_seen"``.
      model_weights: per-model vote weights of the weighted majority votes, shape [models]
        (learned on validation questions: MILP or log-odds); None for equal weights.
      stop_threshold: Bayes factor at which the adaptive-stopping rules stop sampling.
      stop_unknown_weight: pseudo-count of the "unseen answer" bucket in that Bayes factor
        (Best-of-∞ uses 0.3).
      answer_law: parameters of the posterior-optimal rule's answer model, as a flat tuple
        ``(alpha_1, beta_1, ..., alpha_M, beta_M, eta, gamma)``: each model's Beta law of
        per-question accuracy and the shared Dirichlet law of wrong answers (per-label
        concentration ``eta``, total ``gamma``); None for the defaults of
        :mod:`slmmux_theory.rules.posterior_optimal`.
    """

    mux_config: MuxConfig = MuxConfig()
    switch_config: SwitchConfig = SwitchConfig()
    validation_accuracy: tuple[float, ...] | None = None
    priority: tuple[float, ...] | None = None
    prior_weights: tuple[float, ...] | None = None
    pooled_tie: str = "random"
    model_weights: tuple[float, ...] | None = None
    stop_threshold: float = 10.0
    stop_unknown_weight: float = 0.3
    answer_law: tuple[float, ...] | None = None

    def __post_init__(self):
        for name in ("validation_accuracy", "priority", "prior_weights", "model_weights",
                     "answer_law"):
            object.__setattr__(self, name, _as_floats(getattr(self, name)))
        if self.priority is not None and not _traced(self.priority):
            object.__setattr__(self, "priority", tuple(int(r) for r in self.priority))
        if self.pooled_tie not in ("random", "first_seen"):
            raise ValueError(f"pooled_tie must be 'random' or 'first_seen', got {self.pooled_tie!r}")
        if _traced(self.stop_threshold):
            return
        object.__setattr__(self, "stop_threshold", float(self.stop_threshold))
        object.__setattr__(self, "stop_unknown_weight", float(self.stop_unknown_weight))
        if not self.stop_threshold > 0 or not self.stop_unknown_weight >= 0:
            raise ValueError("stop_threshold must be > 0 and stop_unknown_weight >= 0, got "
                             f"{self.stop_threshold} and {self.stop_unknown_weight}")

    def tie_ranks(self, num_models: int) -> jnp.ndarray:
        """Cross-model tie ranks (lower wins), shape [models]; see :func:`mux_tie_ranks`.

        >>> RuleContext(validation_accuracy=[0.5, 0.9]).tie_ranks(2).tolist()
        [1, 0]
        """
        return mux_tie_ranks(self.mux_config, num_models, self.validation_accuracy, self.priority)


class Selection(NamedTuple):
    """One rule's decision on one question's samples.

    Attributes:
      answer: chosen answer slot, shape []; 0 is correct, the last slot (⊥) means no answer.
      samples_spent: samples the rule drew on this question, shape [].
    """

    answer: jnp.ndarray
    samples_spent: jnp.ndarray


class SequenceSelection(NamedTuple):
    """One order-dependent rule's decision on one question's ordered samples.

    Attributes:
      answer: chosen answer slot, shape [].
      samples_spent: samples the rule consumed from the front of each model's sequence,
        shape [models]; what a replay charges real tokens for.
    """

    answer: jnp.ndarray
    samples_spent: jnp.ndarray


SelectFunction = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray, RuleContext], Selection]
ExactFunction = Callable[[CountDistribution, RuleContext], ExactResult]
CostFunction = Callable[[CountDistribution, RuleContext], jnp.ndarray]
SequenceFunction = Callable[[jnp.ndarray, jnp.ndarray, RuleContext, int], SequenceSelection]
LearnFunction = Callable[..., RuleContext]
KnownCountsFunction = Callable[[np.ndarray, RuleContext], ExactResult]


class Rule(NamedTuple):
    """One aggregation rule, as every engine sees it.

    Attributes:
      name: the registry key and CLI spelling, e.g. ``"slm-mux"``.
      select: ``(counts [models, answers], first_seen [models, answers], key, context) ->``
        :class:`Selection`. ``first_seen`` holds each answer's first sample position (``>= k``
        when absent); ``key`` is a jax.random key for ties; the tie priority comes from
        ``context``. Jit-able and vmappable over questions with ``context`` held fixed.
      exact: ``(count laws, context) ->`` :class:`ExactResult`: the expectation of ``select``
        over the models' independent count vectors, per question.
      cost: ``(count laws, context) ->`` expected samples spent per question, shape
        [questions]; closed form for rules that always draw every sample.
      first_model_only: the rule reads the first model only (self-consistency).
      enumerates_products: the exact law enumerates (or convolves) the models' joint count
        vectors, so its cost grows like a product over models: planners rank it over pairs.
      oracle: an upper bound that peeks at the correct answer; not deployable.
      live: the runner can run it on demand, sampling as the rule asks.
      adaptive_cost: the samples spent depend on the answers seen (early stopping).
      level_engine: the exact law is SLM-MUX's factorised level law, so the subset engine of
        :mod:`slmmux_theory.engines.levels` scores it on many model subsets at once (a
        ``first_model_only`` rule on single models); the plan and the held-out test rank it so.
      pair_engine: :func:`slmmux_theory.engines.replay.pair_rule_values` scores it on many
        ordered model pairs; the plan ranks it over pairs.
      pooled: the exact law is the pooled vote over the members' samples, which the pair
        engine and the held-out test evaluate in width-bucketed blocks of pairs.
      budget: :func:`slmmux_theory.planning.budget.models_vs_samples` enumerates it (over
        subsets, or over ordered chains when ``adaptive_cost``).
      replay_report: listed in the replay table of every rule (``slmmux mux --rule all``).
      select_sequence: for a rule whose decision depends on the order of the samples
        (adaptive stopping): ``(samples [models, k] slot indices in drawing order, -1 missing,
        key, context, num_answers) ->`` :class:`SequenceSelection`; ``select`` then applies it to a random
        order of the counts. The subsample replay calls it on the drawn order, so the tokens it
        charges are those of the samples actually consumed. None for order-free rules.
      learn: ``(context, samples [models, questions, n] of validation questions, num_answers,
        k, key) -> RuleContext``: the rule's parameters learned from validation questions
        (weights, threshold, answer law), added to ``context``; None when it learns nothing
        but the tie ranks (:func:`slmmux_theory.rules.learning.learn_context`).
      known_counts: ``(counts [models, questions, answers], context) ->`` :class:`ExactResult`:
        the expectation of ``select`` when every model's count vector is known, over the order
        of its samples and the ties only (a replay of k of exactly k recorded samples, as the
        plan's fresh pools are: its count law is a point mass, which ``exact`` would enumerate
        with every other count vector). None when only ``exact`` is available.
    """

    name: str
    select: SelectFunction
    exact: ExactFunction
    cost: CostFunction
    first_model_only: bool = False
    enumerates_products: bool = False
    oracle: bool = False
    live: bool = False
    adaptive_cost: bool = False
    level_engine: bool = False
    pair_engine: bool = False
    pooled: bool = False
    budget: bool = False
    replay_report: bool = False
    select_sequence: SequenceFunction | None = None
    learn: LearnFunction | None = None
    known_counts: KnownCountsFunction | None = None

    @property
    def deployable(self) -> bool:
        """Whether the rule can choose an answer without knowing the correct one."""
        return not self.oracle


def all_models_cost(counts: CountDistribution, context: RuleContext) -> jnp.ndarray:
    """Every model draws its k samples: ``models * k`` per question, shape [questions]."""
    num_models, num_questions = counts.probs.shape[:2]
    return jnp.full(num_questions, float(num_models * counts.k))


def first_model_cost(counts: CountDistribution, context: RuleContext) -> jnp.ndarray:
    """Only the first model draws: ``k`` per question, shape [questions]."""
    return jnp.full(counts.probs.shape[1], float(counts.k))


def fixed_cost_result(per_question, counts: CountDistribution, context: RuleContext,
                      cost: CostFunction = all_models_cost) -> ExactResult:
    """The :class:`ExactResult` of a rule whose samples spent do not depend on the answers.

    Args:
      per_question: P(correct) per question, shape [questions].
      counts: the count laws it was computed from.
      context: the rule's options.
      cost: the rule's cost function.
    """
    return ExactResult(per_question.mean(), per_question, cost(counts, context))
