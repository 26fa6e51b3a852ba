"""A pytest plugin for the self-tests (`-p selftests.hidden_packages`): the packages named
in $STACKQUAL_HIDDEN (`module=distribution,...`) look uninstalled to the run, as on a
node's own image: importing the module raises ModuleNotFoundError and importlib.metadata
does not find the distribution. Loaded with -p it acts before any conftest or suite is
imported; pair it with `-p no:NAME` for a hidden package that registers a pytest plugin
(syrupy)."""

import importlib.abc
import importlib.metadata
import os
import sys

HIDDEN = dict(pair.split("=", 1) for pair in os.environ.get("STACKQUAL_HIDDEN", "").split(",")
              if "=" in pair)


class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the self-test)",
                                      name=name)
        return None


def _hiding(lookup):
    def hidden_lookup(name, *args, **kwargs):
        if name.lower().replace("_", "-") in {d.lower() for d in HIDDEN.values()}:
            raise importlib.metadata.PackageNotFoundError(name)
        return lookup(name, *args, **kwargs)
    return hidden_lookup


if HIDDEN:
    sys.meta_path.insert(0, Hidden())
    importlib.metadata.version = _hiding(importlib.metadata.version)
    importlib.metadata.distribution = _hiding(importlib.metadata.distribution)
