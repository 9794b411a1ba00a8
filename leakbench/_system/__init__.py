"""Processes, signals and shutdown: what keeps a run from leaving anything behind."""
