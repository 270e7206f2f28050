"""Planning: predictions from a pilot, the models-vs-samples budget, the paper's subset search."""
