"""The debate report's Markdown: every table row has as many cells as its header (a literal
``|`` inside a cell, such as ``|diff|``, is escaped)."""

import json
import re
from pathlib import Path

from slmmux_run.debate_report import format_report

ROOT = Path(__file__).resolve().parents[2]


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_every_table_row_has_its_headers_number_of_cells():
    result = json.loads((ROOT / "experiments/groupthink_real/report/result.json").read_text())
    tables, current = [], []
    for line in format_report(result).splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 4
    for table in tables:
        header, rule, *rows = table
        assert set(rule) <= {"|", "-"} and _cells(rule) == _cells(header), header
        for row in rows:
            assert _cells(row) == _cells(header), (header, row)
