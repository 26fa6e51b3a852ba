"""Faults of the models suite."""
