"""Installs stackqual's network guard in a child of a guarded process (stackqual.netguard):
this folder is put first on PYTHONPATH, with STACKQUAL_NETGUARD naming the parent's attempts
log, while the guard is on. Loads netguard.py by path (the child may not have stackqual on
its path), then hands over to any other sitecustomize the environment has."""

import importlib.machinery
import importlib.util
import os
import sys

_log = os.environ.get("STACKQUAL_NETGUARD")
_here = os.path.dirname(os.path.abspath(__file__))
if _log:
    _spec = importlib.util.spec_from_file_location(
        "_stackqual_netguard", os.path.join(os.path.dirname(_here), "netguard.py"))
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["_stackqual_netguard"] = _module
    _spec.loader.exec_module(_module)
    _module.activate_child(_log)

# Another sitecustomize further along the path (a venv's, a distribution's) still runs.
_rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_other = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _other is not None:
    del sys.modules["sitecustomize"]
    _other_module = importlib.util.module_from_spec(_other)
    sys.modules["sitecustomize"] = _other_module
    _other.loader.exec_module(_other_module)
