"""Sampling: endpoints, client, spending caps, local servers, tasks, extraction, grading, runs."""
