"""Root conftest. The harness is the `stackqual` pytest plugin, loaded through its
`pytest11` entry point once the project is installed (`pip install -e .`); this file
only checks that it was, so a bare checkout fails with instructions instead of
confusing fixture errors. Nothing suite-specific lives here."""

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("stackqual-active"):
        raise pytest.UsageError(
            "the stackqual plugin is not loaded: install the project first, "
            "e.g. `pip install torch==2.13.0 -e '.[test]'` (see README.md)")
