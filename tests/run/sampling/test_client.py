"""Unit tests of slmmux_run.sampling.client over httpx.MockTransport (no network)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from slmmux_run.sampling.client import (
    Client,
    SampleRequest,
    derive_seed,
    endpoint_url,
)
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.errors import UserError
from slmmux_run.sampling.spending import Budget, Price, ProgressReporter


def make_config(**model_overrides) -> RunnerConfig:
    runner_keys = {"max_concurrency", "max_attempts", "timeout_seconds"}
    runner = {k: model_overrides.pop(k) for k in list(model_overrides) if k in runner_keys}
    fields = dict(name="m", base_urls=("http://a.test",), model="model-id", api="chat")
    fields.update(model_overrides)
    return RunnerConfig(
        models={"m": ModelConfig(**fields)},
        backoff_initial_seconds=0.0,
        backoff_max_seconds=30.0,
        **runner,
    )


def chat_response(texts, usage=None, finish="stop", status=200, headers=None):
    body = {
        "choices": [
            {"index": i, "finish_reason": finish, "message": {"role": "assistant", "content": t}}
            for i, t in enumerate(texts)
        ],
        "system_fingerprint": "fp-1",
    }
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(status, json=body, headers=headers)


class Sleeps:
    """Records the waits the client asks for, without waiting."""

    def __init__(self):
        self.waits = []

    async def __call__(self, seconds):
        self.waits.append(seconds)


def run(coroutine):
    return asyncio.run(coroutine)


async def sample_with(handler, request, config, indices=None, **client_kwargs):
    sleeps = client_kwargs.pop("sleep", Sleeps())
    async with Client(
        config, transport=httpx.MockTransport(handler), sleep=sleeps, **client_kwargs
    ) as client:
        return await client.sample(request, indices)


def test_chat_request_shape_and_parsing():
    seen = []

    def handler(request):
        seen.append((str(request.url), json.loads(request.content)))
        return chat_response(["7"], usage={"prompt_tokens": 11, "completion_tokens": 2})

    request = SampleRequest("m", "What is 3 + 4?", samples=1, temperature=0.3, max_tokens=9,
                            seed=5, stop=("\n",))
    (result,) = run(sample_with(handler, request, make_config()))
    url, body = seen[0]
    assert url == "http://a.test/v1/chat/completions"
    assert body == {
        "model": "model-id", "temperature": 0.3, "max_tokens": 9, "seed": 5, "stop": ["\n"],
        "messages": [{"role": "user", "content": "What is 3 + 4?"}],
    }
    assert (result.text, result.sample_index, result.seed, result.error) == ("7", 0, 5, None)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 2)
    assert not result.usage.completion_estimated
    assert result.system_fingerprint == "fp-1" and result.finish_reason == "stop"


def test_completions_api_sends_prompt_and_reads_text():
    def handler(request):
        assert str(request.url) == "http://a.test/v1/completions"
        assert json.loads(request.content)["prompt"] == "2+2="
        return httpx.Response(200, json={"choices": [{"index": 0, "text": "4"}]})

    (result,) = run(sample_with(handler, SampleRequest("m", "2+2="), make_config(api="completions")))
    assert result.text == "4"
    # No usage from the server: ceil(len("4") / 4) = 1, marked estimated.
    assert result.usage.completion_tokens == 1 and result.usage.completion_estimated


def test_n_choices_usage_counts_per_choice():
    def handler(request):
        assert json.loads(request.content)["n"] == 3
        # llama.cpp-like usage: covers one choice only.
        return chat_response(["abcdefgh", "abc", "abcdefghi"],
                             usage={"prompt_tokens": 5, "completion_tokens": 2})

    results = run(sample_with(handler, SampleRequest("m", "p", samples=3, seed=1),
                              make_config(max_choices_per_call=4)))
    assert [r.usage.completion_tokens for r in results] == [2, 1, 3]  # ceil(len / 4)
    assert all(r.usage.completion_estimated and r.usage.call_choices == 3 for r in results)


def test_length_finish_counts_max_tokens_exactly():
    def handler(request):
        return chat_response(["aaaa", "bb"], usage={"completion_tokens": 6}, finish="length")

    results = run(sample_with(handler, SampleRequest("m", "p", samples=2, max_tokens=6),
                              make_config(max_choices_per_call=2)))
    assert [(r.usage.completion_tokens, r.usage.completion_estimated) for r in results] == [
        (6, False), (6, False)
    ]


def test_top_up_when_server_ignores_n():
    bodies = []

    def handler(request):
        body = json.loads(request.content)
        bodies.append(body)
        return chat_response([f"seed={body['seed']}"])  # ignores n: always one choice

    results = run(sample_with(handler, SampleRequest("m", "p", samples=3, seed=42),
                              make_config(max_choices_per_call=3)))
    assert [r.sample_index for r in results] == [0, 1, 2]
    assert [b.get("n", 1) for b in bodies] == [3, 2, 1]
    expected_seeds = [42, derive_seed(42, 1), derive_seed(42, 2)]
    assert [b["seed"] for b in bodies] == expected_seeds
    assert len(set(expected_seeds)) == 3  # every top-up is a fresh draw
    assert [r.text for r in results] == [f"seed={s}" for s in expected_seeds]


def test_top_up_with_partial_choices_and_explicit_indices():
    calls = []

    def handler(request):
        body = json.loads(request.content)
        calls.append((body.get("n", 1), body["seed"]))
        return chat_response(["x"] * max(1, body.get("n", 1) - 1))  # one short each time

    results = run(sample_with(handler, SampleRequest("m", "p", samples=6, seed=3),
                              make_config(max_choices_per_call=4), indices=[1, 2, 3, 5]))
    assert [r.sample_index for r in results] == [1, 2, 3, 5]
    # Run [1, 2, 3]: n=3 -> 2 choices, then n=1 at index 3; run [5]: n=1 at index 5.
    assert calls == [(3, derive_seed(3, 1)), (1, derive_seed(3, 3)), (1, derive_seed(3, 5))]


def test_retry_after_is_honoured():
    responses = iter([
        httpx.Response(429, json={"error": "slow"}, headers={"Retry-After": "7"}),
        chat_response(["ok"]),
    ])
    sleeps = Sleeps()
    (result,) = run(sample_with(lambda r: next(responses), SampleRequest("m", "p"),
                                make_config(), sleep=sleeps))
    assert result.text == "ok" and result.attempts == 2
    assert sleeps.waits == [7.0]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
def test_retryable_status_is_bounded(status):
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(status, json={"error": "no"})

    sleeps = Sleeps()
    (result,) = run(sample_with(handler, SampleRequest("m", "p"), make_config(max_attempts=4),
                                sleep=sleeps))
    assert len(calls) == 4 and result.attempts == 4
    assert result.text is None and result.error_kind == "http"
    assert result.error.startswith(f"HTTP {status}")
    assert len(sleeps.waits) == 3 and all(0 <= w <= 30 for w in sleeps.waits)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_fail_at_once(status):
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(status, json={"error": "bad"})

    (result,) = run(sample_with(handler, SampleRequest("m", "p"), make_config()))
    assert len(calls) == 1 and result.error_kind == "http"


@pytest.mark.parametrize(
    "failure, kind",
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.RemoteProtocolError("dropped"), "connection"),
        (b'{"choices": [', "malformed"),
        (b'{"choices": []}', "malformed"),
        (b'{"no_choices": 1}', "malformed"),
    ],
)
def test_transport_and_payload_faults_are_retried(failure, kind):
    attempts = []

    def handler(request):
        attempts.append(1)
        if len(attempts) == 1:
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(200, content=failure)
        return chat_response(["fine"])

    (result,) = run(sample_with(handler, SampleRequest("m", "p"), make_config()))
    assert result.text == "fine" and result.attempts == 2

    attempts.clear()

    def always(request):
        attempts.append(1)
        if isinstance(failure, Exception):
            raise failure
        return httpx.Response(200, content=failure)

    (failed,) = run(sample_with(always, SampleRequest("m", "p"), make_config(max_attempts=3)))
    assert failed.error_kind == kind and len(attempts) == 3


def test_replicas_share_load_and_limits_hold():
    in_flight = {"http://a.test": 0, "http://b.test": 0}
    peak = dict(in_flight)
    total_peak = [0]
    counts = dict.fromkeys(in_flight, 0)

    async def handler(request):
        host = f"http://{request.url.host}"
        in_flight[host] += 1
        counts[host] += 1
        peak[host] = max(peak[host], in_flight[host])
        total_peak[0] = max(total_peak[0], sum(in_flight.values()))
        await asyncio.sleep(0.001)
        in_flight[host] -= 1
        return chat_response(["x"])

    config = make_config(base_urls=("http://a.test", "http://b.test"), max_concurrency=2)
    config = RunnerConfig(models=config.models, max_concurrency=3, backoff_initial_seconds=0.0)

    async def main():
        async with Client(config, transport=httpx.MockTransport(handler)) as client:
            requests = [SampleRequest("m", f"p{i}") for i in range(40)]
            return await asyncio.gather(*(client.sample(r) for r in requests))

    results = run(main())
    assert all(r[0].text == "x" for r in results)
    assert max(peak.values()) <= 2 and total_peak[0] <= 3
    assert counts["http://a.test"] > 0 and counts["http://b.test"] > 0
    assert sum(counts.values()) == 40


def test_sequential_requests_alternate_replicas():
    hosts = []

    def handler(request):
        hosts.append(request.url.host)
        return chat_response(["x"])

    config = make_config(base_urls=("http://a.test", "http://b.test"))

    async def main():
        async with Client(config, transport=httpx.MockTransport(handler)) as client:
            for i in range(4):
                await client.sample(SampleRequest("m", f"p{i}"))

    run(main())
    assert hosts == ["a.test", "b.test", "a.test", "b.test"]


def test_budget_caps_requests_and_marks_unsent_samples():
    calls = []

    def handler(request):
        calls.append(1)
        return chat_response(["x"])

    budget = Budget(max_requests=2)
    results = run(sample_with(handler, SampleRequest("m", "p", samples=5), make_config(),
                              budget=budget))
    assert len(calls) == 2 and budget.requests == 2
    assert [r.error_kind for r in results] == [None, None, "budget", "budget", "budget"]


def test_cost_reservation_is_the_expected_cost_once_the_model_has_answered():
    def handler(request):
        return chat_response(["x"], usage={"prompt_tokens": 10, "completion_tokens": 3})

    price = Price(prompt_per_1k=1000.0, completion_per_1k=1000.0)  # 1 per token
    # Worst case of one call: prompt bytes (1) + template (8 + 16) + max_tokens (100) = 125, far
    # above the cap. The first call goes alone (budget remains, nothing in flight) and costs
    # 10 + 3 = 13; then each call is expected to cost 13 (prompt 25 * 10/25, completion 3):
    # 13 + 13 <= 30 sends the second, 26 + 13 > 30 with nothing in flight refuses the third.
    budget = Budget(max_cost=30.0)
    results = run(sample_with(handler, SampleRequest("m", "p", samples=3, max_tokens=100),
                              make_config(price=price), budget=budget))
    assert [r.cost for r in results[:2]] == [pytest.approx(13.0)] * 2
    assert [r.error_kind for r in results] == [None, None, "budget"]
    assert budget.cost == pytest.approx(26.0) and budget.requests == 2
    assert results[2].call_id is None and results[2].sent_at == ()  # never sent


def test_a_failed_attempt_is_charged_to_its_call_and_counted_as_sent():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(500, text="boom")
        return chat_response(["x"], usage={"prompt_tokens": 10, "completion_tokens": 3})

    price = Price(completion_per_1k=1000.0, per_call=2.0)
    (result,) = run(sample_with(handler, SampleRequest("m", "p"), make_config(price=price)))
    # The 500 costs its per-call price (2), the answer 3 tokens + 2 per call.
    assert (result.cost, result.retry_cost, result.attempts) == (pytest.approx(5.0), 2.0, 2)
    assert len(result.sent_at) == 2 and result.sent_at[0] <= result.sent_at[1]


def test_api_key_from_environment_only(monkeypatch):
    monkeypatch.setenv("TEST_CLIENT_KEY", "sk-test-0123456789")
    seen = []

    def handler(request):
        seen.append(request.headers["authorization"])
        return chat_response(["x"])

    config = make_config(api_key_env="TEST_CLIENT_KEY")
    run(sample_with(handler, SampleRequest("m", "p"), config))
    assert seen == ["Bearer sk-test-0123456789"]
    monkeypatch.delenv("TEST_CLIENT_KEY")
    with pytest.raises(UserError, match="TEST_CLIENT_KEY"):
        run(sample_with(handler, SampleRequest("m", "p"), config))


def test_echoed_key_is_redacted(monkeypatch):
    monkeypatch.setenv("TEST_CLIENT_KEY", "sk-test-echo-987654")

    def handler(request):
        return httpx.Response(401, json={"error": f"bad key {request.headers['authorization']}"})

    (result,) = run(sample_with(handler, SampleRequest("m", "p"),
                                make_config(api_key_env="TEST_CLIENT_KEY")))
    assert "sk-test-echo-987654" not in result.error and "[REDACTED]" in result.error
    assert "sk-test-echo-987654" not in repr(result)


def test_unknown_model_is_a_user_error():
    with pytest.raises(UserError, match="'nope'"):
        run(sample_with(lambda r: chat_response(["x"]), SampleRequest("nope", "p"), make_config()))


def test_progress_counts_samples():
    import io

    progress = ProgressReporter(total=3, stream=io.StringIO())

    def handler(request):
        return chat_response(["x"], usage={"completion_tokens": 2})

    run(sample_with(handler, SampleRequest("m", "p", samples=3), make_config(),
                    progress=progress))
    assert (progress.done, progress.failed, progress.tokens) == (3, 0, 6)


def test_endpoint_url_variants():
    assert endpoint_url("http://h:1/", "chat") == "http://h:1/v1/chat/completions"
    assert endpoint_url("http://h:1/v1", "completions") == "http://h:1/v1/completions"


def test_dry_run_estimate_uses_each_models_price_and_n_limit():
    from slmmux_run.sampling.client import estimate_requests

    config = make_config(max_choices_per_call=2, price=Price(completion_per_1k=1000.0))
    estimate = estimate_requests(config, [SampleRequest("m", "abcd", samples=3, max_tokens=5)])
    # ceil(3 / 2) = 2 calls; 3 samples * 5 tokens = 15 completion tokens at 1 per token.
    assert (estimate.requests, estimate.completion_tokens, estimate.cost) == (2, 15, 15.0)
    with pytest.raises(UserError):
        estimate_requests(config, [SampleRequest("other", "x")])


def test_per_choice_token_counts_are_used_when_given():
    def handler(request):
        body = {"choices": [
            {"index": 0, "message": {"content": "a b"}, "usage": {"completion_tokens": 9}},
            {"index": 1, "message": {"content": "c"},
             "logprobs": {"content": [{"token": "c"}, {"token": "!"}]}},
        ], "usage": {"completion_tokens": 9}}
        return httpx.Response(200, json=body)

    results = run(sample_with(handler, SampleRequest("m", "p", samples=2),
                              make_config(max_choices_per_call=2)))
    assert [(r.usage.completion_tokens, r.usage.completion_estimated) for r in results] == [
        (9, False), (2, False)
    ]
