"""Study ``data_summary``: see its README.md; run with ``python -m experiments.data_summary.run``."""
