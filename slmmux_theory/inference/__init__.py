"""Inference: the Bayesian answer model, its posterior predictive, checks and unseen-question laws."""
