"""Comparing finished runs: the comparison table, seed groups, significance tests, where two runs
disagree, and memory read from gradient profiles."""
