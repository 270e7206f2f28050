"""Predicted answer laws of the hard step, cached per pilot, and their SLM-MUX level laws.

Study layer (``experiments/pilot_eval``, step ``hard``). One fit per (dataset, design, seed,
predictor) serves every k: the predicted laws are written to a cache folder (``.npz``, not
committed) and the level laws of k = 3, 5, 9 are computed from them by generating functions
(:func:`slmmux_theory.engines.wide_levels.multinomial_levels`), so no count vector is
enumerated (a reasoning model gives up to 61 distinct wrong answers to one AIME question).

Predictors (``name`` of :func:`predicted_laws`):

* ``plug-in``: the pilot's per-question frequencies as i.i.d. laws (one draw; METHODS.md §5.3).
* ``hierarchical/<law>``: the plan's hierarchical predictor
  (:func:`slmmux_theory.planning.predictors.population_predictor`, unseen questions by
  ``<law>``), replay pools of the 80 recorded samples of every question, one per draw;
  ``hierarchical-locked/<law>``, ``hierarchical-split/<law>``, ``hierarchical-locked-split/<law>``
  the same with the locked-row mixtures of the top level (``AnswerModelConfig(locked_rows=True)``),
  of the wrong split (``locked_split=True``) or both (:mod:`slmmux_theory.inference.locked`).
* ``eb/<law>``: the empirical-Bayes answer laws of :mod:`slmmux_theory.inference.grid_eb`
  (per-model nonparametric law of (correct, wrong, ⊥), crowd-based wrong-answer split), turned
  into the same replay pools; unseen questions by ``<law>`` (``bootstrap``); ``eb-local/<law>``
  the same with the kernel-weighted (local) law in the other models' correct share.
* ``beta-tree/<law>``: per model the forecasts study's Beta-tree law (G chosen by the pilot-only
  cross-validation of ``forecast.choose_beta_tree``), each (model, question)'s answers drawn
  from its posterior given that row's pilot samples, the law refitted per draw on a bootstrap
  resample of the pilot's questions (:func:`slmmux_theory.inference.tree_posterior.posterior_pools`,
  ``hyper="bootstrap"``); replay pools of 80 samples (pilot's included) in each model's own
  slot layout; unseen questions by ``<law>`` (only ``bootstrap``: a pilot question picked per
  draw). ``beta-tree-fixed/<law>``: the same with the whole pilot's ML law in every draw.
  ``beta-tree-local/<law>``: p_correct's law fitted locally in the other models' pilot
  correct share (``posterior_pools(local=True)``: Gaussian kernel, bandwidth 0.15, 11 anchors,
  nearest anchor per row), bootstrap refits as ``beta-tree``; ``beta-tree-local-fixed/<law>``
  the same with one fit of the whole pilot.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jax
import numpy as np
from scipy.special import gammaln

from slmmux_theory.engines.levels import MuxLevels
from slmmux_theory.engines.wide_levels import hypergeometric_levels, multinomial_levels

__all__ = ["HIERARCHICAL", "RECORDED", "law_levels", "pilot_of", "predicted_laws"]

RECORDED = 80
# The hierarchical predictors: the plan's answer model and its locked-row variants.
HIERARCHICAL = ("hierarchical", "hierarchical-locked", "hierarchical-split",
                "hierarchical-locked-split")


def pilot_of(samples, tokens, num_answers, questions, size, rng):
    """Pilot counts [models, Q, answers] (``size`` of the recorded samples of each pilot
    (model, question), drawn without replacement) and the mean tokens per sample of each model
    in those pilot samples, shape [models] (NaN without tokens)."""
    models = samples.shape[0]
    out = np.zeros((models, len(questions), num_answers), dtype=np.int64)
    spent = np.zeros(models)
    for m in range(models):
        for i, q in enumerate(questions):
            picks = rng.choice(samples.shape[2], size, replace=False)
            for s in picks:
                out[m, i, samples[m, q, s]] += 1
            if tokens is not None:
                spent[m] += float(np.nansum(tokens[m, q, picks]))
    mean_tokens = (spent / (len(questions) * size) if tokens is not None
                   else np.full(models, np.nan))
    return out, mean_tokens


def law_levels(values, hypergeometric: bool, k: int) -> MuxLevels:
    """Level laws of predicted laws [draws, models, questions, answers], folded draw-major into
    [models, draws * questions, k + 1] (the layout of ``subset_accuracy_draws``)."""
    draws, models, questions, answers = values.shape
    folded = np.transpose(values, (1, 0, 2, 3)).reshape(models, draws * questions, answers)
    if hypergeometric:
        return MuxLevels(*hypergeometric_levels(folded, k))
    return multinomial_levels(folded, k)


def _pools(rng, probs, pilot, replay):
    """Replay pools [draws, models, N, answers]: the pilot's samples plus ``replay - S``
    simulated ones on pilot questions (the first Q), ``replay`` simulated ones elsewhere."""
    draws, models, num_questions, _ = probs.shape
    recorded = np.zeros((models, num_questions), dtype=np.int64)
    recorded[:, :pilot.shape[1]] = pilot.sum(-1)
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum(-1, keepdims=True)
    pools = rng.multinomial(np.broadcast_to(np.maximum(replay - recorded, 0), probs.shape[:-1]),
                            probs)
    pools[:, :, :pilot.shape[1]] += pilot[None]
    return pools


def _compute(name, key, pilot, num_questions, draws, svi_steps):
    predictor, _, law = name.partition("/")
    if predictor == "plug-in":
        counts = pilot.astype(np.float64)
        return counts / np.maximum(counts.sum(-1, keepdims=True), 1)[None], False
    if predictor in HIERARCHICAL:
        from slmmux_theory.inference.answer_model import AnswerModelConfig
        from slmmux_theory.planning.predictors import population_predictor

        config = AnswerModelConfig(locked_rows="locked" in predictor,
                                   locked_split="split" in predictor)
        laws = population_predictor(num_questions, RECORDED, svi_steps=svi_steps,
                                    unseen=law, config=config)(key, pilot, draws)
        return np.asarray(laws.values), True
    if predictor in ("eb", "eb-local"):
        from slmmux_theory.inference.grid_eb import eb_population_probs

        law_key, sim_key = jax.random.split(key)
        probs = eb_population_probs(law_key, pilot, num_questions, draws, unseen=law,
                                    law="local" if predictor == "eb-local" else "strata")
        rng = np.random.default_rng(np.asarray(jax.random.key_data(sim_key)).ravel())
        return _pools(rng, probs, pilot, RECORDED), True
    if predictor in ("beta-tree", "beta-tree-fixed", "beta-tree-local", "beta-tree-local-fixed"):
        from slmmux_theory.inference.tree_posterior import posterior_pools

        if law != "bootstrap":
            raise ValueError(f"{predictor}: unseen law must be 'bootstrap', got {law!r}")
        hyper = "fixed" if predictor.endswith("-fixed") else "bootstrap"
        return posterior_pools(key, pilot, num_questions, draws, RECORDED, hyper=hyper,
                               local="-local" in predictor), True
    raise ValueError(f"unknown predictor {name!r}")


def predicted_laws(name, key, pilot, num_questions, draws, svi_steps, cache=None):
    """(values [draws, models, N or Q, answers], hypergeometric) of predictor ``name``, read
    from / written to ``cache`` (a folder, or None) under a hash of every input."""
    path = None
    if cache is not None:
        digest = hashlib.sha256(np.ascontiguousarray(pilot).tobytes()
                                + repr((name, np.asarray(jax.random.key_data(key)).tolist(),
                                        num_questions, draws, svi_steps)).encode()).hexdigest()
        path = Path(cache) / f"{name.replace('/', '_')}_{digest[:20]}.npz"
        if path.exists():
            stored = np.load(path)
            return stored["values"], bool(stored["hypergeometric"])
    values, hypergeometric = _compute(name, key, pilot, num_questions, draws, svi_steps)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, values=values, hypergeometric=hypergeometric)
    return values, hypergeometric
