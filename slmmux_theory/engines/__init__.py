"""Engines: exact enumeration, Monte Carlo, replay of recorded samples, sharding over questions."""
