"""``debate run``: discussions (debate, mixture of agents, verification) against served models,
resumably, under caps that are for the transcript file.

Runner glue: one discussion per question, each appended to the
:class:`~slmmux_run.sampling.discussion_files.TranscriptStore` in one write when it ends (a
discussion id already stored is skipped). ``--max-requests`` / ``--max-cost`` work as
``collect``'s: the client's :class:`~slmmux_run.sampling.spending.Budget` starts from what the
file already spent (:func:`~slmmux_run.sampling.discussion_files.spent_in_turns`), reserves each
request's expected cost and refuses a request that would break a cap. A discussion whose turns
the budget refused is incomplete: it is stored when some of its turns were sent (they were
paid, so they count against the caps of a rerun; the refused turns carry the error ``not
sent: ...``), dropped when none was, and the run stops there (nothing more is started).

Example (no network):
  >>> LiveRun(summarize_failures([None]), stopped_by_cap=False).stopped_by_cap
  False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from slmmux_run.errors import UserError
from slmmux_run.sampling.discussion import final_answer, spend_of
from slmmux_run.sampling.discussion_files import TranscriptStore, spent_in_turns
from slmmux_run.sampling.failures import FailureSummary, summarize_failures

__all__ = ["LiveRun", "run_live"]


class LiveRun(NamedTuple):
    """What ``debate run`` did.

    Attributes:
      failures: the failed turns of this run (turns the budget refused are not failures).
      stopped_by_cap: True when a cap refused a turn: some discussions were not run.
    """

    failures: FailureSummary
    stopped_by_cap: bool


def _not_sent(turn) -> bool:
    """A turn the budget refused: nothing was sent for it."""
    return turn.error is not None and turn.calls == 0


def run_live(config_path, agent_models: Sequence[str], task: str, task_options: dict, *,
             method: str, rounds: int, temperature: float, seed: int, max_tokens: int,
             presentation: str, transcripts, max_requests: int | None = None,
             max_cost: float | None = None, report_line=print) -> LiveRun:  # fmt: skip
    """Run one discussion per question against served models, appending to ``transcripts``.

    Resumable: discussion ids already stored are skipped. ``report_line`` receives one line
    per finished discussion.
    """
    import asyncio

    from slmmux_run.cli_args import tasks_for_models
    from slmmux_run.progress import Progress
    from slmmux_run.sampling.client import Client
    from slmmux_run.sampling.config import load_config
    from slmmux_run.sampling.discussion import (DiscussionAgent, run_debate,  # noqa: I001
                                                run_mixture_of_agents, run_verification)
    from slmmux_run.sampling.spending import Budget

    config = load_config(config_path)
    models = list(agent_models)
    if len(models) < 2:
        raise UserError("--agents needs at least two agents, e.g. smollm2,smollm2,gemma3")
    tasks = tasks_for_models(config, task, task_options, sorted(set(models)))
    agents = [DiscussionAgent(f"{m}-{i}", m, tasks[m], temperature)
              for i, m in enumerate(models)]  # fmt: skip
    store = TranscriptStore(transcripts)
    stored = store.turns()
    done = {turn.discussion_id for turn in stored}
    spent = spent_in_turns(stored, config)  # the caps are for the file: what it holds counts
    budget = Budget(max_requests, max_cost, spent.requests, spent.cost)
    items = tasks[models[0]].items
    errors: list[str | None] = []
    stopped = False

    async def main(progress):
        nonlocal stopped
        async with Client(config, budget=budget, spent=spent) as client:
            for item in items:
                discussion_id = f"{method}-{item.question_id}-r0"
                if discussion_id in done:
                    continue
                common = dict(discussion_id=discussion_id, seed=seed, max_tokens=max_tokens)
                if method == "debate":
                    turns = await run_debate(client, agents, item, rounds=rounds,
                                             presentation=presentation, **common)
                elif method == "moa":
                    turns = await run_mixture_of_agents(client, agents, agents[0], item,
                                                        layers=rounds - 1, **common)
                else:
                    turns = await run_verification(client, agents[0], agents[1:], item,
                                                   candidates=rounds, **common)
                refused = [turn for turn in turns if _not_sent(turn)]
                if len(refused) < len(turns):  # something was sent (and paid): keep it
                    store.append_discussion(turns)
                    errors.extend(turn.error for turn in turns if not _not_sent(turn))
                if refused:
                    stopped = True
                    report_line(f"{discussion_id}: stopped by the cap ({refused[0].error}); "
                                f"{len(refused)} of its {len(turns)} turns not sent")
                    return
                answer, correct = final_answer(turns)
                report_line(f"{discussion_id}: {answer} ({'correct' if correct else 'wrong'}), "
                            f"{spend_of(turns).tokens} tokens")
                progress.advance(failed=sum(turn.error is not None for turn in turns),
                                 tokens=spend_of(turns).tokens)

    todo = sum(f"{method}-{item.question_id}-r0" not in done for item in items)
    with Progress(f"debate run ({method})", todo, unit="discussions") as progress:
        asyncio.run(main(progress))
    report_line(f"spent on {store.path}: {budget.requests - spent.requests} requests, cost "
                f"{budget.cost - spent.cost:.4f} (the file in all: {budget.requests} requests, "
                f"cost {budget.cost:.4f})")
    return LiveRun(summarize_failures(errors), stopped)
