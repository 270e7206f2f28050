"""The README's "Python API" example runs as written (skipped without the shared data)."""

import re
from pathlib import Path

import pytest

from slmmux_run.data.paths import data_file
from slmmux_run.errors import UserError

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_api_example() -> str:
    text = README.read_text("utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section holds one python block"
    return blocks[0]


def test_readme_python_api_example_runs(capsys):
    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
    except UserError:
        pytest.skip("shared data directory not available")
    exec(compile(_python_api_example(), str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "SLM-MUX at k=3: exact 0.3373" in out  # the value the engine's doctest pins
    assert re.search(r"^slm-mux 0\.\d{4}$", out, flags=re.M)
    assert re.search(r"^self-consistency 0\.\d{4}$", out, flags=re.M)
