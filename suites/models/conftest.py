"""Shared fixtures of the models suite (models are loaded once per session), and its part
of the run report."""

import functools

import pytest

from . import loading, report_section


@functools.cache
def _load(case, device, attn_implementation):
    return loading.load(case, device, attn_implementation)


@pytest.fixture(scope="session")
def load_model():
    """load_model(case, device="cpu", attn_implementation="sdpa") -> loading.Loaded"""
    def load(case, device="cpu", attn_implementation="sdpa"):
        return _load(case, device, attn_implementation)
    return load


@pytest.hookimpl  # a stackqual hook (stackqual/hookspecs.py)
def pytest_stackqual_report_section(checks, directory, stem):
    return report_section.section(checks, directory, stem)
