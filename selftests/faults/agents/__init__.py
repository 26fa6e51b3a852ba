"""Faults of the agents suite."""
