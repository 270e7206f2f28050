"""Benchmarks, each a module with ``main(argv)``: ``python -m experiments.benchmarks.<name>``."""
