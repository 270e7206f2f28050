"""Discussion methods run for real: LLM-Debate, Mixture-of-Agents and Multi-Agent Verification.

Runner layer (``slmmux_run.sampling``: it drives :class:`~slmmux_run.sampling.client.Client`; no theory
here beyond the conversion of transcripts to the slot arrays of :mod:`slmmux_theory.discussion.model`;
the measures and failure labels of those arrays are :mod:`slmmux_theory.discussion.measures`). METHODS.md §6.1
describes the methods; the SLM-MUX paper gives no agent, round or layer counts, so they are
arguments here.

* **LLM-Debate** (:func:`run_debate`): ``N`` agents answer alone (round 1, the task's own prompt,
  so a round-1 answer is a draw from the same distribution as an independent sample). In every
  later round each agent sees its own previous reply (chat history, as in the reference code)
  and the other agents' latest replies, listed in agent-index order (``presentation="index"``,
  the reference code's order, so agent ``i``'s last-presented peer is agent ``N-1``, or ``N-2``
  for agent ``N-1``) or in a seeded shuffle. The final answer is the plurality of the last round
  (⊥ never votes; ties go to the answer seen first in agent order, recorded as such).
* **Mixture-of-Agents** (:func:`run_mixture_of_agents`): proposers answer alone; each further
  layer of the same agents sees all outputs of the previous layer; one aggregator writes the final
  answer from the last layer's outputs.
* **Multi-Agent Verification** (:func:`run_verification`): one solver proposes ``candidates``
  answers; every verifier says yes or no to each; the candidate with most approvals wins (ties:
  earliest candidate).

Every model call is one :class:`Turn`, stored with the debate id, round, agent, the prompt sent,
the raw text, the extracted and graded answer, and its tokens, so spend can be compared at equal
tokens or calls (:func:`spend_of`). :class:`~slmmux_run.sampling.discussion_files.TranscriptStore` is an append-only JSONL file of its
own schema (``slmmux-discussion/1``), written one whole discussion at a time so a killed run never
leaves half a debate; a rerun skips stored discussion ids.

Example:
  >>> t = Turn("debate", "d", "q", 1, 0, "a", "m", "p", (), "1", "1", True, "1", 10, 2, 1, 0)
  >>> spend_of([t, t]).calls
  2
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from slmmux_run.data.slots import is_correct
from slmmux_run.sampling.client import Client, SampleRequest, SampleResult
from slmmux_run.sampling.tasks import Item, Task

__all__ = [
    "METHODS",
    "SCHEMA",
    "DiscussionAgent",
    "DiscussionSlots",
    "Spend",
    "Turn",
    "debate_messages",
    "discussion_seed",
    "final_answer",
    "presented_peers",
    "run_debate",
    "run_mixture_of_agents",
    "run_verification",
    "spend_of",
    "transcript_slots",
]

SCHEMA = "slmmux-discussion/1"
METHODS = ("debate", "moa", "mav")
PEER_TEXT_CHARS = 200  # "short reasoning": small models ramble; keep the context small
DEBATE_INSTRUCTION = (
    "Using the answers of the other agents as additional advice, give your updated answer. "
    "Answer with a number."
)
AGGREGATE_INSTRUCTION = (
    "You have been given answers from several agents to the question. Some may be wrong. "
    "Synthesize them into one correct answer. Answer with a number."
)


@dataclass(frozen=True)
class DiscussionAgent:
    """One participant.

    Attributes:
      name: agent name in transcripts, e.g. ``"smollm2-a"``.
      model: model name in the :class:`~slmmux_run.sampling.config.RunnerConfig`.
      task: the task in this model's prompt style (renders round 1, extracts and grades).
      temperature: sampling temperature.
    """

    name: str
    model: str
    task: Task
    temperature: float = 0.7


@dataclass(frozen=True)
class Turn:
    """One model call inside a discussion.

    Attributes:
      method: ``"debate"``, ``"moa"`` or ``"mav"``.
      discussion_id: id of the discussion (one question, one run).
      question_id: the question.
      round: 1-based round (debate), layer (MoA; the aggregator is the last) or stage (MAV: 1
        proposals, 2 verdicts).
      agent: agent index; ``agent_name``/``model`` name it.
      slot: candidate index for MAV (proposal index, or the candidate a verdict is about), else 0.
      prompt: what was sent: chat messages as ``[role, content]`` pairs, or a completion string.
      presented: agent indices whose replies the prompt shows, in presentation order.
      text: raw reply, or None when the call failed.
      answer: extracted answer (a verdict's ``"yes"``/``"no"`` for MAV stage 2), or None (⊥).
      correct: the answer graded against gold (False for ⊥ and for MAV verdicts).
      gold: the reference answer.
      prompt_tokens / completion_tokens: tokens of this call (completion estimated by the client
        when the server gave no per-choice count).
      calls: HTTP calls behind this turn (1, more when the client retried).
      seed: seed sent.
      error: None or a short redacted error.
    """

    method: str
    discussion_id: str
    question_id: str
    round: int
    agent: int
    agent_name: str
    model: str
    prompt: Any
    presented: tuple[int, ...]
    text: str | None
    answer: str | None
    correct: bool
    gold: str | None
    prompt_tokens: int
    completion_tokens: int
    calls: int
    seed: int | None
    error: str | None = None
    slot: int = 0
    schema: str = field(default=SCHEMA)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (tuples become lists)."""
        data = asdict(self)
        data["presented"] = list(self.presented)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Turn":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["presented"] = tuple(data.get("presented", ()))
        return cls(**data)


def discussion_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed fixed by the run seed and the parts (discussion, round, agent, ...).

    >>> discussion_seed(1, "d0", 2, 1) == discussion_seed(1, "d0", 2, 1) != discussion_seed(1, "d0", 2, 0)
    True
    """
    text = "|".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def presented_peers(agent: int, num_agents: int, presentation: str, rng=None) -> tuple[int, ...]:
    """The peers shown to ``agent``, in presentation order (the last is "most recent").

    Args:
      agent: the reader's index.
      num_agents: N.
      presentation: ``"index"`` (agent order, as the LLM-Debate code) or ``"shuffled"``.
      rng: numpy Generator, needed for ``"shuffled"``.

    >>> presented_peers(2, 3, "index")
    (0, 1)
    """
    peers = [j for j in range(num_agents) if j != agent]
    if presentation == "index":
        return tuple(peers)
    if presentation == "shuffled":
        if rng is None:
            raise ValueError("presentation 'shuffled' needs a numpy Generator")
        return tuple(int(j) for j in rng.permutation(peers))
    raise ValueError(f"presentation must be 'index' or 'shuffled', got {presentation!r}")


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= PEER_TEXT_CHARS else text[: PEER_TEXT_CHARS - 3] + "..."


def _peer_block(peers: Sequence[int], replies: Sequence[str | None], names) -> str:
    return "\n".join(
        f"{names[j]}: {_short(replies[j])}" if replies[j] else f"{names[j]}: (no answer)"
        for j in peers
    )


def debate_messages(agent: DiscussionAgent, item: Item, history: Sequence[tuple[str, str]],
                    peer_block: str) -> Any:
    """The prompt of a round ``t >= 2`` for one agent.

    Chat agents get one user message: the question (first line of the round-1 message), their
    own previous reply, then the peers' latest replies and the instruction, so the peers are the
    most recent thing in context. Completion (base) agents get their round-1 prompt with their
    own last reply and the peers' replies inserted before the final ``Answer:`` cue.

    Args:
      agent: the agent.
      item: the question.
      history: earlier ``(role, content)`` pairs; the last ``"assistant"`` one is the agent's
        previous reply.
      peer_block: one line per presented peer, in presentation order.
    """
    rendered = agent.task.render(item)
    own = next((content for role, content in reversed(history) if role == "assistant"), "")
    if rendered.style == "chat":
        # One fresh user message that restates the question: SmolLM2-135M drifted into
        # small talk when it had to read its own multi-turn history (smoke run, 2 debates).
        first = rendered.messages[-1]["content"]
        question = first.split("\n")[0] if "\n" in first else first
        message = (f"{question}\nYour previous answer: {_short(own)}\n"
                   "These are the latest answers of the other agents:\n" + peer_block + "\n\n"
                   + DEBATE_INSTRUCTION)  # fmt: skip
        system = tuple((m["role"], m["content"]) for m in rendered.messages[:-1])
        return system + (("user", message),)
    text = rendered.prompt
    cue = "Answer:"
    head = text[: text.rfind(cue)] if text.rstrip().endswith(cue) else text + "\n"
    return (head + f"Your previous answer: {_short(own)}\nOther agents answered:\n"
            + peer_block + "\n" + cue)  # fmt: skip


def _first_prompt(agent: DiscussionAgent, item: Item):
    rendered = agent.task.render(item)
    if rendered.style == "chat":
        return tuple((m["role"], m["content"]) for m in rendered.messages), rendered.stop
    return rendered.prompt, rendered.stop


async def _call(client: Client, agent: DiscussionAgent, prompt, stop, seed: int,
                max_tokens: int) -> SampleResult:
    request = SampleRequest(
        model=agent.model, prompt=prompt, samples=1, temperature=agent.temperature,
        max_tokens=max_tokens, seed=seed, stop=tuple(stop),
    )  # fmt: skip
    return (await client.sample(request))[0]


def _turn(method, discussion_id, item, round_, index, agent, prompt, presented, result, seed,
          answer=None, correct=None, slot=0) -> Turn:
    if answer is None and correct is None and result.text is not None:
        extraction = agent.task.extract(result.text, item)
        answer = extraction.answer
        correct = agent.task.grade(answer, item).correct
    usage = result.usage
    return Turn(
        method=method, discussion_id=discussion_id, question_id=item.question_id, round=round_,
        agent=index, agent_name=agent.name, model=agent.model,
        prompt=[list(p) for p in prompt] if isinstance(prompt, tuple) else prompt,
        presented=tuple(presented), text=result.text, answer=answer, correct=bool(correct),
        gold=item.gold, prompt_tokens=int(usage.prompt_tokens or 0) if usage else 0,
        completion_tokens=int(usage.completion_tokens) if usage else 0,
        calls=int(result.attempts), seed=seed, error=result.error, slot=slot,
    )  # fmt: skip


async def run_debate(
    client: Client,
    agents: Sequence[DiscussionAgent],
    item: Item,
    *,
    rounds: int,
    discussion_id: str,
    seed: int,
    max_tokens: int = 32,
    presentation: str = "index",
) -> list[Turn]:
    """Run one LLM-Debate on one question.

    Args:
      client: an open client whose config names every agent's model.
      agents: the N >= 2 agents, in index order.
      item: the question (the same item in every agent's task).
      rounds: R >= 1 (round 1 is independent).
      discussion_id: stored with every turn.
      seed: run seed; each call's seed is ``discussion_seed(seed, discussion_id, round, agent)``.
      max_tokens: completion limit per call.
      presentation: ``"index"`` or ``"shuffled"`` (seeded per discussion).

    Returns:
      The turns, round by round, agents in index order within a round.
    """
    if len(agents) < 2:
        raise ValueError("a debate needs at least 2 agents")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    rng = np.random.default_rng(discussion_seed(seed, discussion_id, "order"))
    names = [a.name for a in agents]
    firsts, stops = [], []
    for agent in agents:
        prompt, stop = _first_prompt(agent, item)
        firsts.append(prompt)
        stops.append(stop)
    turns: list[Turn] = []
    replies: list[str | None] = [None] * len(agents)
    for round_ in range(1, rounds + 1):
        prompts, presented = [], []
        for i, agent in enumerate(agents):
            if round_ == 1:
                prompts.append(firsts[i])
                presented.append(())
                continue
            peers = presented_peers(i, len(agents), presentation, rng)
            block = _peer_block(peers, replies, names)
            history = (("assistant", replies[i] or ""),)
            prompts.append(debate_messages(agent, item, history, block))
            presented.append(peers)
        seeds = [discussion_seed(seed, discussion_id, round_, i) for i in range(len(agents))]
        results = await asyncio.gather(*(
            _call(client, agent, prompts[i], stops[i], seeds[i], max_tokens)
            for i, agent in enumerate(agents)
        ))  # fmt: skip
        for i, (agent, result) in enumerate(zip(agents, results)):
            turns.append(_turn("debate", discussion_id, item, round_, i, agent, prompts[i],
                               presented[i], result, seeds[i]))  # fmt: skip
        replies = [r.text for r in results]
    return turns


async def run_mixture_of_agents(
    client: Client,
    proposers: Sequence[DiscussionAgent],
    aggregator: DiscussionAgent,
    item: Item,
    *,
    layers: int,
    discussion_id: str,
    seed: int,
    max_tokens: int = 32,
) -> list[Turn]:
    """Run Mixture-of-Agents: ``layers`` proposer layers, then one aggregator call.

    Layer 1 answers alone; layer ``l >= 2`` sees all replies of layer ``l - 1`` (its own
    included, in agent order). The aggregator (round ``layers + 1``, agent index
    ``len(proposers)``) sees the last layer's replies. Chat and completion agents are prompted
    as in :func:`debate_messages`, with every reply presented.
    """
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    names = [a.name for a in proposers]
    turns: list[Turn] = []
    replies: list[str | None] = []
    everyone = tuple(range(len(proposers)))
    for layer in range(1, layers + 2):
        final = layer == layers + 1
        group = [aggregator] if final else list(proposers)
        prompts, stops = [], []
        for agent in group:
            prompt, stop = _first_prompt(agent, item)
            if layer > 1:
                block = _peer_block(everyone, replies, names)
                if isinstance(prompt, tuple):
                    prompt = prompt[:-1] + (("user", prompt[-1][1] + "\n\nAnswers of the agents:\n"
                                             + block + "\n\n" + AGGREGATE_INSTRUCTION),)
                else:
                    prompt = debate_messages(agent, item, (), block)
            prompts.append(prompt)
            stops.append(stop)
        indices = [len(proposers)] if final else list(everyone)
        seeds = [discussion_seed(seed, discussion_id, layer, i) for i in indices]
        results = await asyncio.gather(*(
            _call(client, agent, prompts[j], stops[j], seeds[j], max_tokens)
            for j, agent in enumerate(group)
        ))  # fmt: skip
        for j, (agent, result) in enumerate(zip(group, results)):
            turns.append(_turn("moa", discussion_id, item, layer, indices[j], agent, prompts[j],
                               () if layer == 1 else everyone, result, seeds[j]))  # fmt: skip
        replies = [r.text for r in results]
    return turns


def _verdict(text: str | None) -> str | None:
    """``"no"`` if any negative word occurs (so "not correct" is a no), else ``"yes"`` if a
    positive one does, else None.

    >>> [_verdict(t) for t in ("No.", " yes", "The proposed answer is not correct.", "hm")]
    ['no', 'yes', 'no', None]
    """
    words = set("".join(c if c.isalpha() else " " for c in (text or "").lower()).split())
    if words & {"no", "not", "incorrect", "wrong", "false"}:
        return "no"
    if words & {"yes", "correct", "true", "right"}:
        return "yes"
    return None


async def run_verification(
    client: Client,
    solver: DiscussionAgent,
    verifiers: Sequence[DiscussionAgent],
    item: Item,
    *,
    candidates: int,
    discussion_id: str,
    seed: int,
    max_tokens: int = 32,
) -> list[Turn]:
    """Run Multi-Agent Verification: ``candidates`` proposals, every verifier judges each.

    Stage 1 turns (round 1, agent 0) hold the proposals in ``slot`` order; stage 2 turns (round
    2, agents ``1..V``) hold ``answer`` ``"yes"``/``"no"``/None for candidate ``slot``. Verifiers
    are asked in chat form when their task is chat, else as a completion ending in ``Verdict:``.
    """
    prompt, stop = _first_prompt(solver, item)
    seeds = [discussion_seed(seed, discussion_id, 1, 0, c) for c in range(candidates)]
    results = await asyncio.gather(*(
        _call(client, solver, prompt, stop, s, max_tokens) for s in seeds
    ))  # fmt: skip
    turns = [_turn("mav", discussion_id, item, 1, 0, solver, prompt, (), r, s, slot=c)
             for c, (r, s) in enumerate(zip(results, seeds))]  # fmt: skip
    question = str(item.inputs.get("question", ""))
    calls, meta = [], []
    for c, proposal in enumerate(turns):
        shown = proposal.answer if proposal.answer is not None else "(no answer)"
        for v, verifier in enumerate(verifiers, start=1):
            if verifier.task.prompt.style == "chat":
                ask = ((
                    "user",
                    f"Question: {question}\nProposed answer: {shown}\n"
                    "Is the proposed answer correct? Reply with yes or no.",
                ),)  # fmt: skip
                v_stop: tuple[str, ...] = ()
            else:
                ask = (f"Question: What is 2 + 2?\nProposed answer: 4\nVerdict: yes\n\n"
                       f"Question: What is 3 + 5?\nProposed answer: 9\nVerdict: no\n\n"
                       f"Question: {question}\nProposed answer: {shown}\nVerdict:")
                v_stop = ("\n",)
            s = discussion_seed(seed, discussion_id, 2, v, c)
            calls.append(_call(client, verifier, ask, v_stop, s, 8))
            meta.append((c, v, verifier, ask, s))
    verdicts = await asyncio.gather(*calls)
    for (c, v, verifier, ask, s), result in zip(meta, verdicts):
        turns.append(_turn("mav", discussion_id, item, 2, v, verifier, ask, (0,), result, s,
                           answer=_verdict(result.text), correct=False, slot=c))  # fmt: skip
    return turns


def final_answer(turns: Sequence[Turn]) -> tuple[str | None, bool]:
    """The discussion's answer and whether it is correct.

    Debate: plurality of the last round's answers (⊥ excluded); a tie goes to the answer of
    the lowest agent index among the tied (deterministic, stated). MoA: the aggregator's answer.
    MAV: the proposal with most ``"yes"`` verdicts, earliest on ties (⊥ proposals never win
    unless all are ⊥).

    Returns:
      (answer or None, correct).
    """
    method = turns[0].method
    last = max(t.round for t in turns)
    if method == "moa":
        final = [t for t in turns if t.round == last][0]
        return final.answer, final.correct
    if method == "mav":
        proposals = sorted((t for t in turns if t.round == 1), key=lambda t: t.slot)
        votes = Counter(t.slot for t in turns if t.round == 2 and t.answer == "yes")
        ranked = sorted(
            (p for p in proposals if p.answer is not None),
            key=lambda p: (-votes.get(p.slot, 0), p.slot),
        )
        if not ranked:
            return None, False
        return ranked[0].answer, ranked[0].correct
    final_round = sorted((t for t in turns if t.round == last), key=lambda t: t.agent)
    counts = Counter(t.answer for t in final_round if t.answer is not None)
    if not counts:
        return None, False
    best = max(counts.values())
    winner = next(t for t in final_round if t.answer is not None and counts[t.answer] == best)
    return winner.answer, winner.correct


@dataclass(frozen=True)
class Spend:
    """What one discussion (or a set) cost.

    Attributes:
      prompt_tokens / completion_tokens: summed over turns.
      calls: model calls (HTTP requests, retries included).
    """

    prompt_tokens: int
    completion_tokens: int
    calls: int

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def spend_of(turns: Iterable[Turn]) -> Spend:
    """Sum the tokens and calls of turns.

    >>> t = Turn("debate", "d", "q", 1, 0, "a", "m", "p", (), "1", "1", True, "1", 10, 2, 1, 0)
    >>> spend_of([t, t]).tokens
    24
    """
    turns = list(turns)
    return Spend(sum(t.prompt_tokens for t in turns), sum(t.completion_tokens for t in turns),
                 sum(t.calls for t in turns))  # fmt: skip


@dataclass(frozen=True)
class DiscussionSlots:
    """Debates as slot arrays for :mod:`slmmux_theory.discussion.model`.

    Attributes:
      discussion_ids: one per debate, length D.
      question_ids: the question of each debate, length D.
      answers: slot indices, shape [debates, rounds, agents]; 0 correct, ``A-1`` ⊥.
      probs: each agent's answer distribution from independent samples on the same slots, shape
        [debates, agents, answers], or None when no samples were given.
      labels: per debate, the answer string of each slot (None for ⊥; ``"*other*"`` for the
        merged overflow slot).
      num_answers: A.
    """

    discussion_ids: tuple[str, ...]
    question_ids: tuple[str, ...]
    answers: np.ndarray
    probs: np.ndarray | None
    labels: tuple[tuple[str | None, ...], ...]
    num_answers: int


OTHER_WRONG = "*other*"


def transcript_slots(
    turns: Iterable[Turn],
    *,
    samples: dict[tuple[str, str], Sequence[str | None]] | None = None,
    agent_models: Sequence[str] | None = None,
    max_answers: int = 7,
    smoothing: float = 0.5,
) -> DiscussionSlots:
    """Turn debate transcripts (and independent samples) into shared slot arrays.

    Per question, wrong answers get slots by total frequency over the debates and the samples
    (first appearance breaks ties), so "same wrong string = same slot" holds across agents. At
    most ``max_answers - 2`` wrong slots exist; rarer wrong answers share the last wrong slot
    (an approximation that can only merge votes of distinct rare wrong answers; it keeps the
    exact Markov chain at ``A**N`` states).

    Args:
      turns: debate turns (only ``method == "debate"`` is used), complete debates.
      samples: independent answers per ``(question_id, model)`` (None for ⊥), for ``probs``.
      agent_models: model of each agent index (default: taken from the turns).
      max_answers: A, slots including the correct one and ⊥.
      smoothing: pseudo-count added to every slot seen on the question (not ⊥ unless seen),
        so an answer a debate shows but the samples never did has non-zero probability.

    Example:
      >>> t = lambda r, a, ans, ok: Turn("debate", "d", "q", r, a, "x", "m", "", (), ans, ans,
      ...                                ok, "2", 0, 0, 1, 0)
      >>> s = transcript_slots([t(1, 0, "2", True), t(1, 1, "3", False), t(2, 0, "3", False),
      ...                       t(2, 1, "3", False)], max_answers=3)
      >>> s.answers.tolist(), s.labels[0]
      ([[[0, 1], [1, 1]]], ('2', '3', None))
    """
    if max_answers < 3:
        raise ValueError("max_answers must be >= 3 (correct, one wrong, ⊥)")
    by_id: dict[str, list[Turn]] = {}
    for turn in turns:
        if turn.method == "debate":
            by_id.setdefault(turn.discussion_id, []).append(turn)
    ids = tuple(by_id)
    if not ids:
        raise ValueError("no debate turns")
    rounds = max(t.round for t in by_id[ids[0]])
    agents = max(t.agent for t in by_id[ids[0]]) + 1
    if agent_models is None:
        agent_models = [next(t.model for t in by_id[ids[0]] if t.agent == i) for i in range(agents)]
    bottom = max_answers - 1
    answers = np.full((len(ids), rounds, agents), bottom, dtype=np.int64)
    probs = np.zeros((len(ids), agents, max_answers)) if samples is not None else None
    labels, questions = [], []
    for d, discussion_id in enumerate(ids):
        debate = by_id[discussion_id]
        if max(t.round for t in debate) != rounds or max(t.agent for t in debate) + 1 != agents:
            raise ValueError(f"debate {discussion_id!r} has a different shape from the first")
        question = debate[0].question_id
        questions.append(question)
        own_samples = {m: list((samples or {}).get((question, m), ())) for m in agent_models}
        gold = debate[0].gold
        # The package's one correctness rule: a turn's grader verdict decides; a sample has
        # none, so the grader's exact layer (or equal decimals) against the gold does.
        turn_correct = [is_correct(t.answer, gold, graded=bool(t.correct)) for t in debate]
        wrong = Counter(t.answer for t, ok in zip(debate, turn_correct)
                        if t.answer is not None and not ok)  # fmt: skip
        for values in own_samples.values():
            wrong.update(a for a in values if a is not None and not is_correct(a, gold))
        order = sorted(wrong, key=lambda a: -wrong[a])
        slot_of = {a: min(1 + i, bottom - 1) for i, a in enumerate(order)}

        def slot(answer, correct):
            if answer is None:
                return bottom
            return 0 if correct else slot_of[answer]

        for t, ok in zip(debate, turn_correct):
            answers[d, t.round - 1, t.agent] = slot(t.answer, ok)
        names: list[str | None] = [gold] + order[: bottom - 2]
        if len(order) > bottom - 1:
            names.append(OTHER_WRONG)
        else:
            names.extend(order[bottom - 2: bottom - 1])
        labels.append(tuple(names + [None] * (max_answers - len(names))))
        if probs is not None:
            used = np.zeros(max_answers, dtype=bool)
            used[answers[d].ravel()] = True
            for i, model in enumerate(agent_models):
                counts = np.zeros(max_answers)
                for a in own_samples[model]:
                    counts[slot(a, is_correct(a, gold))] += 1
                seen = used | (counts > 0)
                seen[0] = True
                counts = counts + smoothing * seen
                probs[d, i] = counts / counts.sum()
    return DiscussionSlots(ids, tuple(questions), answers, probs, tuple(labels), max_answers)
