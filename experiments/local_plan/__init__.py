"""Study ``local_plan``: see its README.md; run with ``python -m experiments.local_plan.run``."""
