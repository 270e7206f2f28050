"""Data: one sample vocabulary: records, the shared samples files, sample sets, the papers' tables.

Runner layer (files). Modules, one job each: ``records`` (append-only JSONL store),
``sample_files`` (any samples file -> one :class:`SampleSet`; other tools' files through the
``importers`` subpackage), ``shared_samples``,
``record_samples``, ``slots`` (the one slot builder and correctness rule), ``regrade``
(equivalence regrade and vote-group merging), ``sample_set``,
``correctness``, ``splits``, ``jsonl_rows``, ``text_files`` (plain or gzip), ``papers``,
``paths`` (the data directory); ``datasets`` re-exports the older loader names. Their public
names are re-exported here, imported on first use.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "correctness": ["CorrectnessSet", "correctness_to_counts", "load_correctness"],
    "jsonl_rows": ["check_task", "choose", "natural_key", "open_rows", "row_field"],
    "papers": [
        "CHECKOUT_PAPERS", "COLUMNS", "KEY_COLUMNS", "MARKERS", "PACKAGE_TABLES", "PAPERS",
        "PAPERS_DIR_ENV", "PaperLookupError", "PaperValue", "list_tables", "load_table",
        "papers_dir", "reference_value", "select",
    ],
    "paths": ["DATA_DIR_ENV", "data_dir", "data_file"],
    "record_samples": ["RecordSet", "load_records", "sample_answer"],
    "records": [
        "RECORD_FORMAT", "RECORD_HEADER", "Record", "RecordKey", "RecordStore", "is_record_header",
    ],
    "sample_files": [
        "BATCH_INPUT", "BATCH_OUTPUT", "BEST_OF_INFINITY", "GREEDY", "INSPECT", "LM_EVAL",
        "RECORDS", "SAMPLES", "load_record_set", "load_sample_set", "sniff_schema",
    ],
    "sample_set": [
        "MISSING_SAMPLE", "MissingSamplesWarning", "OTHER_WRONG_LABEL", "PADDING_LABEL",
        "SampleSet", "index_of", "read_only",
    ],
    "regrade": ["GRADER", "RegradedQuestion", "answers_equal", "regrade_question"],
    "shared_samples": ["UPSTREAM_FLAGS", "load_greedy", "load_samples"],
    "slots": ["SampleAnswer", "SlottedSamples", "build_sample_set", "is_correct", "same_number"],
    "splits": ["split_questions", "split_samples"],
    "text_files": ["is_compressed", "open_text", "read_bytes"],
})
