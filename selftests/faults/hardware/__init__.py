"""Faults of the hardware suite."""
