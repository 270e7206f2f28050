"""Tables as a person reads them: console tables wrap at spaces to fit (never cut a word), and
Markdown cells are escaped so a ``|`` in a claim cannot break summary.md's table."""

import re

from slmmux_run.replay_report import markdown_escape, markdown_table, text_table

ROWS = [("SLM-MUX − Agent Forest at k = 2 (pairs)", "+1.6 pp (GSM8K test, Group 2)",
         "+0.41 pp (plug-in π)", "+0.52 pp (mean of 78 pairs)"),
        ("debate on 12 NEW questions (blind_medium, 48 debates), predicted before they were read",
         "—", "debate 43.0 %, wrong→correct 20.1 %", "41.7 / 18.0 / 9.1 % measured")]
HEADER = ("claim", "paper", "ours-theory", "ours-real")


def _words(text):
    return re.findall(r"\S+", text)


def test_a_narrow_console_wraps_cells_and_keeps_every_word_whole():
    for width in (60, 80, 100, 250):
        table = text_table(HEADER, ROWS, width=width)
        lines = table.splitlines()
        assert all(len(line) <= width for line in lines)
        # every word of every cell is printed whole, in order
        printed = _words(table)
        for cell in [*HEADER, *(c for row in ROWS for c in row)]:
            for word in _words(cell):
                assert word in printed, (width, word)
    # a word longer than its column could be runs long rather than being cut
    assert "(blind_medium," in text_table(HEADER, ROWS, width=20)
    wide = text_table(HEADER, ROWS, width=400).splitlines()
    assert len(wide) == 3  # nothing to wrap when the terminal is wide enough


def test_wrapped_cells_stay_in_their_column():
    lines = text_table(HEADER, ROWS, width=80).splitlines()
    start = lines[0].index("paper")
    # a continuation line of the claim never spills into the paper column
    assert all(line[start - 2:start] == "  " for line in lines if len(line) > start)


def test_markdown_cells_are_escaped():
    assert markdown_escape("a | b") == "a \\| b"
    assert markdown_escape("x_1 *y* `z` <br> [l]") == "x\\_1 \\*y\\* \\`z\\` \\<br\\> \\[l\\]"
    assert markdown_escape("two\nlines") == "two lines"
    table = markdown_table(("claim", "ours"), [("a | b", "1 | 2")]).splitlines()
    # every row has exactly the header's number of unescaped pipes
    pipes = [len(re.findall(r"(?<!\\)\|", line)) for line in table]
    assert pipes == [3, 3, 3]
