"""Tests of slmmux_run.data.sample_set: token counts carried beside the slots."""

import numpy as np
import pytest

from slmmux_run.errors import UserError


def test_tokens_follow_select_and_are_read_from_shared_and_record_files(tmp_path):
    import json

    from slmmux_run.data.record_samples import load_records
    from slmmux_run.data.records import Record
    from slmmux_run.data.shared_samples import load_samples

    path = tmp_path / "s.jsonl"
    rows = [
        {"task": "t", "question_id": "0", "model": "a", "gold": "7", "answers": ["7", "8"],
         "tokens": [10, None]},
        {"task": "t", "question_id": "0", "model": "b", "gold": "7", "answers": ["7", "7"],
         "tokens": [4, 6]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_samples(path)
    assert loaded.tokens[0, 0, 0] == 10 and np.isnan(loaded.tokens[0, 0, 1])
    assert loaded.mean_tokens().tolist() == [10.0, 5.0]
    assert loaded.select(models=["b"], samples=[1]).tokens.tolist() == [[[6.0]]]
    rows[0]["tokens"] = [1, -3]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError, match=r"s.jsonl:1: field 'tokens\[1\]'"):
        load_samples(path)

    records = [Record("t", "q", "a", "v", i, answer="7", usage={"completion_tokens": 3 + i},
                      extra={"gold": "7"}) for i in range(2)]
    assert load_records(records).sample_set.tokens.tolist() == [[[3.0, 4.0]]]
    assert load_records([Record("t", "q", "a", "v", 0, answer="7")]).sample_set.tokens is None
