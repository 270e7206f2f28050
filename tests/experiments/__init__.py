"""Smoke test of every study of ``experiments/``."""
