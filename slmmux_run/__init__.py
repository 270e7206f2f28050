"""slmmux_run: the world around the theory: samples files and records, datasets, the
OpenAI-compatible client, extraction and grading, local model servers, and the ``slmmux`` CLI.

Calls into :mod:`slmmux_theory` for every number; computes no accuracy, law or prediction itself.
Subpackages, one job each: ``data`` (one sample vocabulary: records, the shared samples files,
sample sets, the papers' tables, the data directory), ``sampling`` (client, spending caps,
servers, tasks, extraction, grading, collection and discussion runs), ``commands`` (one thin
module per subcommand), ``reproduce`` (the main job). The names below are the entry points a
script needs; they load on first use, so ``import slmmux_run`` stays light.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "errors": ["UserError"],
    "data.paths": ["data_dir", "data_file"],
    "data.sample_files": ["load_record_set", "load_sample_set"],
    "data.sample_set": ["SampleSet"],
    "data.records": ["Record", "RecordKey", "RecordStore"],
    "data.papers": ["load_table", "reference_value"],
    "sampling.config": ["ModelConfig", "RunnerConfig", "load_config"],
    "sampling.client": ["Client", "SampleRequest", "SampleResult"],
    "sampling.extract": ["Extraction", "get_extractor"],
    "sampling.grade": ["grade"],
})
