"""Study ``fit_answer_model``: see its README.md; run with ``python -m experiments.fit_answer_model.run``."""
