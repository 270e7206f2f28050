"""Importers: sampled outputs other tools wrote -> the one sample vocabulary.

Data layer of the runner. One module per format, each returning
:class:`~slmmux_run.data.slots.SlottedSamples` built by the one slot builder:
``lm_eval`` (lm-evaluation-harness ``--log_samples`` files), ``inspect_log`` (Inspect AI
eval logs, ``.json`` or ``.eval``), ``best_of_infinity`` (Best-of-∞ ``analysis_<task>_<model>.jsonl``),
``openai_batch`` (OpenAI / vLLM ``run-batch`` input and output lines); ``answers`` holds what
they share (answer format, gold, extraction). :func:`slmmux_run.data.sample_files.load_sample_set`
sniffs the format and calls the right one. Public names are re-exported here lazily.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "answers": [
        "LETTERS", "answer_format", "build_imported", "extract_answer", "gold_answer",
        "natural_sample_order",
    ],
    "best_of_infinity": ["best_of_infinity_files", "load_best_of_infinity", "normalize_answer"],
    "inspect_log": ["is_inspect_log", "load_inspect_log", "read_log"],
    "lm_eval": ["lm_eval_files", "load_lm_eval"],
    "openai_batch": [
        "CUSTOM_ID_PREFIX", "BatchLine", "BatchResult", "RequestId", "decode_custom_id",
        "encode_custom_id", "read_batch_input", "read_batch_output",
    ],
})
