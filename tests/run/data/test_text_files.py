"""Tests of slmmux_run.data.text_files: plain and gzip files read alike."""

from __future__ import annotations

import gzip

import pytest

from slmmux_run.data.jsonl_rows import open_rows
from slmmux_run.data.text_files import is_compressed, open_text, read_bytes
from slmmux_run.errors import UserError

TEXT = '{"a": 1}\n{"a": "é"}\n'


@pytest.fixture
def files(tmp_path):
    plain, packed = tmp_path / "rows.jsonl", tmp_path / "rows.jsonl.gz"
    plain.write_text(TEXT, encoding="utf-8")
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write(TEXT)
    return plain, packed


def test_plain_and_compressed_read_the_same(files):
    plain, packed = files
    assert not is_compressed(plain) and is_compressed(packed)
    assert read_bytes(plain) == read_bytes(packed) == TEXT.encode()
    for path in files:
        with open_text(path) as handle:
            assert handle.read() == TEXT
        name, rows = open_rows(path)
        assert [row for _, row in rows] == [{"a": 1}, {"a": "é"}] and name == str(path)


def test_a_broken_gzip_file_is_a_user_error(tmp_path):
    broken = tmp_path / "rows.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(UserError, match=r"rows\.jsonl\.gz: cannot be read"):
        open_rows(broken)
