"""Faults in the stack itself, for counts taken in child processes (the instructions that
suites/compile/instructions.py counts under callgrind): a pytest plugin cannot reach
them, so a candidate environment's `sitecustomize` installs them at every Python start.

Put this folder first on PYTHONPATH and name the faults, comma-separated, in
STACKQUAL_STACK_FAULTS (module names of this folder: `heavier_wrapper`,
`more_compile_work`); each module patches torch when imported."""

import importlib
import os

for _name in filter(None, os.environ.get("STACKQUAL_STACK_FAULTS", "").split(",")):
    importlib.import_module(_name)
