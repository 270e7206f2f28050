"""Closed forms, bounds, symbolic derivations and the paper's theoretical claims."""
