"""Test-wide settings.

Hypothesis runs derandomized by default so that CI on a clean checkout is reproducible (the
suite must fail only when the code is wrong, never by the luck of a draw). Set
``SLMMUX_HYPOTHESIS=explore`` to search with fresh random examples on every run; a
counterexample found that way is pinned with ``@example`` in the test.
"""

import os

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(
    "explore" if os.environ.get("SLMMUX_HYPOTHESIS") == "explore" else "reproducible"
)
