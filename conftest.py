"""Root conftest: loads the harness when the checkout is run without installing it.

The harness is the `stackqual` pytest plugin. Installed (`pip install -e .`), its `pytest11`
entry point has loaded it before this file is read. On a node's own image (its torch,
transformers and kernels, nothing installable) the checkout is run as it is,
`python3 -m pytest` from this folder: then this file loads it, and the harness is the
same one (the network guard turns on when pytest configures, after this file and the
self-tests' conftest were read; neither touches the network). Nothing suite-specific lives
here."""

import sys

import pytest

ENTRY_POINT_LOADED = "stackqual.plugin" in sys.modules
pytest_plugins = [] if ENTRY_POINT_LOADED else ["stackqual.plugin", "stackqual.active"]


def pytest_configure(config):
    manager = config.pluginmanager
    if not (manager.has_plugin("stackqual-active") or manager.has_plugin("stackqual.active")):
        raise pytest.UsageError(
            "the stackqual plugin is not active: run pytest from the checkout's root "
            "(`python3 -m pytest`), or install the project (README.md)")
