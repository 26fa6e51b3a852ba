"""Faults of the attention suite."""
