"""Evaluation: ``metrics`` (every metric the tracks report, vectorised over users, and the paired
difference with its standard error). Imports nothing else of ``shared``."""
