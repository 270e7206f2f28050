"""Study ``local_run``: see its README.md; run with ``python -m experiments.local_run.run``."""
