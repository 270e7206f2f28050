"""OpenAI / vLLM batch files: our custom_id round-trips any names, input and output lines are
validated with the file, line and field named, failures are read from either error style."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmmux_run.data.importers.openai_batch import (
    RequestId,
    decode_custom_id,
    encode_custom_id,
    read_batch_input,
    read_batch_output,
)
from slmmux_run.data.sample_files import BATCH_INPUT, BATCH_OUTPUT, load_sample_set, sniff_schema
from slmmux_run.errors import UserError

OUTPUT = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "openai_batch_output.jsonl"


@pytest.mark.parametrize("fields", [
    ("gsm8k-500", "gsm8k-chat/1", "org/model|v2", "gsm8k-main-test-#7", 0, 4),
    ("t|x", "p%2F", "m 1", "q|||", 12, 1),
    ("", "", "", "", 3, 2),
])  # fmt: skip
def test_custom_ids_round_trip_any_names(fields):
    encoded = encode_custom_id(*fields)
    assert encoded.count("|") == 6
    assert decode_custom_id(encoded) == RequestId(*fields)


@pytest.mark.parametrize("foreign", ["request-1", "slmmux1|a|b|c|d|0", "slmmux1|a|b|c|d|x|1",
                                     "slmmux1|a|b|c|d|0|0", "slmmux2|a|b|c|d|0|1"])  # fmt: skip
def test_other_custom_ids_are_not_ours(foreign):
    assert decode_custom_id(foreign) is None


def test_the_output_is_read_by_custom_id_with_both_error_styles(tmp_path):
    results = read_batch_output(OUTPUT)
    assert len(results) == 9
    failed = [r for r in results.values() if r.error]
    assert [(r.line, r.error, r.body) for r in failed] == [
        (3, "Rate limit reached for requests", None)]
    vllm = tmp_path / "vllm.jsonl"
    vllm.write_text(json.dumps({"id": "x", "custom_id": "a", "error": None, "response": {
        "status_code": 400, "request_id": "r", "body": {"object": "error", "message": "bad n",
                                                        "code": 400}}}) + "\n")  # fmt: skip
    assert read_batch_output(vllm)["a"].error == "HTTP 400: bad n"


@pytest.mark.parametrize("row, message", [
    ({"response": {"status_code": 200, "body": {}}}, r":1: field 'custom_id' is missing"),
    ({"custom_id": "a", "response": []}, r":1: field 'response' must be an object or null"),
    ({"custom_id": "a", "response": {"status_code": 200, "body": {"choices": []}}},
     r":1: field 'response.body.choices' must be a non-empty list"),
])  # fmt: skip
def test_a_bad_output_line_is_named(tmp_path, row, message):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(UserError, match=f"out.jsonl{message}"):
        read_batch_output(path)


@pytest.mark.parametrize("row, message", [
    ({"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}},
     r":2: field 'method' is 'GET'"),
    ({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": []},
     r":2: field 'body' must be an object"),
    ({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}},
     r":2: custom_id 'a' repeats line 1"),
])  # fmt: skip
def test_a_bad_input_line_is_named(tmp_path, row, message):
    first = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(UserError, match=f"in.jsonl{message}"):
        read_batch_input(path)


def test_loading_a_batch_file_as_samples_says_how_to_read_it(tmp_path):
    assert sniff_schema(OUTPUT) == BATCH_OUTPUT
    with pytest.raises(UserError, match="batch output; turn it into a record file with 'slmmux "
                                        "batch import"):  # fmt: skip
        load_sample_set(OUTPUT)
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/completions",
                                "body": {}}) + "\n")  # fmt: skip
    assert sniff_schema(path) == BATCH_INPUT
    with pytest.raises(UserError, match="batch input \\(it holds no answers yet\\)"):
        load_sample_set(path)
