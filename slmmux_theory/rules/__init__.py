"""Selection rules: how one question's sampled answers become one chosen answer."""
