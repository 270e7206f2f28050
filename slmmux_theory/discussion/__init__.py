"""Discussion: the groupthink (debate) model, its NumPyro fit and its measures."""
