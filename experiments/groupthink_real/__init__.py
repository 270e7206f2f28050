"""Study ``groupthink_real``: see its README.md; run with ``python -m experiments.groupthink_real.run``."""
