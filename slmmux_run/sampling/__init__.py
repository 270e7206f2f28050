"""Sampling: endpoints, client, spending caps, local servers, tasks, extraction, grading, runs.

Runner layer (HTTP, processes). Modules, one job each: ``config``, ``client``, ``rate`` (rpm
limits), ``spending`` (caps), ``spent`` (what a records file spent),
``serve``, ``tasks``, ``arithmetic``, ``extract`` (front door of the ``extraction`` subpackage),
``grade``, ``collect``, ``batch`` (a planned run as a batch file, its output as records),
``failures``, ``discussion``, ``discussion_samples``. Their public names are
re-exported here, imported on first use; the functions ``collect`` and ``grade`` stay
``collect.collect`` and ``grade.grade`` (the modules have their names).
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "arithmetic": [
        "ARITHMETIC_CHAT", "ARITHMETIC_COMPLETION", "ARITHMETIC_WORD_COMPLETION", "PRESETS",
        "ArithmeticProblem", "ArithmeticSettings", "generate_problems", "make_arithmetic_task",
        "make_preset_task",
    ],
    "batch": [
        "BATCH_URLS", "BatchExport", "BatchImport", "batch_lines", "batch_models", "export_run",
        "import_batch", "model_paths", "request_body", "select_questions", "write_batch_input",
    ],
    "client": ["Client", "endpoint_url", "redact"],
    "collect": [
        "TASKS", "CollectSummary", "QuestionRequest", "build_task", "collect_question",
        "estimate_plan", "keys_of", "plan_requests", "question_seed", "style_of", "timing_of",
        "to_records",
    ],
    "config": [
        "APIS", "ModelConfig", "RunnerConfig", "load_config", "looks_like_variable_name",
        "parse_config",
    ],
    "discussion": [
        "METHODS", "SCHEMA", "DiscussionAgent", "DiscussionSlots", "Spend",
        "Turn", "debate_messages", "discussion_seed", "final_answer", "presented_peers",
        "run_debate", "run_mixture_of_agents", "run_verification", "spend_of", "transcript_slots",
    ],
    "discussion_files": ["TranscriptStore", "load_turns", "read_turns"],
    "discussion_samples": [
        "complete_discussions", "golds_of", "sample_answers", "sample_slot_probs",
    ],
    "extract": [
        "EXTRACTORS", "Extraction", "Extractor", "Mode", "canonical_decimal", "choice_letters",
        "extract_boxed", "extract_gsm8k", "extract_lenient_number", "extract_math",
        "extract_modelswitch_letter", "extract_modelswitch_math", "extract_modelswitch_numeric",
        "extract_multiple_choice", "get_extractor", "normalize_gsm8k_reference",
        "normalize_math_answer", "remove_digit_group_separators",
    ],
    "failures": [
        "FailureSummary", "failure_hint", "failure_line", "summarize_failures",
    ],
    "grade": [
        "LAYERS", "Equivalence", "Grade", "grade_exact", "latex_to_sympy",
        "modelswitch_math_equal", "modelswitch_numeric_equal", "modelswitch_string_equal",
        "symbolic_equivalence",
    ],
    "sample_request": [
        "SampleRequest", "SampleResult", "Usage", "derive_seed", "estimate_requests",
    ],
    "rate": ["WINDOW_SECONDS", "RateLimiter", "most_in_window"],
    "serve": [
        "LOCAL_MODELS", "LocalModel", "ServerHandle", "cache_dir", "check_available",
        "local_model_config", "local_server", "model_path", "start", "status", "stop",
    ],
    "spending": [
        "Budget", "BudgetExhausted", "PlannedRequest", "Price", "ProgressReporter", "Reservation",
        "SpendEstimate", "UsageMeans", "estimate_spend", "format_estimate", "prompt_token_bound",
        "prompt_token_guess",
    ],
    "spent": ["Spent", "record_cost", "spent_in_records"],
    "tasks": [
        "GSM8K_CHAT", "GSM8K_COMPLETION", "MATH_CHAT", "MULTIPLE_CHOICE_CHAT", "NUMERIC_CHAT",
        "NUMERIC_COMPLETION", "Item", "PromptTemplate", "RenderedPrompt", "Task", "format_choices",
        "gpqa_task", "gsm8k_task", "load_gpqa", "load_gsm8k_500", "load_math_500", "load_mmlu_pro",
        "load_numeric_problems", "math_task", "mmlu_pro_task", "numeric_task",
    ],
})
