"""Study ``pilot_eval``: see its README.md; run with ``python -m experiments.pilot_eval.run``."""
