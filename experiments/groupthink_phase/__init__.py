"""Study ``groupthink_phase``: see its README.md; run with ``python -m experiments.groupthink_phase.run``."""
