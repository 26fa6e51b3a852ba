"""The oldest torch and transformers the suites support, checked when a run starts.

Below a floor a run would fail in ways that look like regressions of the stack (a missing
argument, a renamed module); it stops instead with a usage error (exit 4) that names the
package, its version and the floor. Above the floors nothing is pinned: a node's own
image is run as it is.

- torch 2.11: the torch of the GPU images the GPU tier is written for (2.11 with CUDA 13);
  CI runs the CPU build of 2.13 (constraints/pinned.txt). 2.11 itself has not run in CI.
- transformers 5.17: the transformers of those images; `tox -e node-image` runs the
  suites at exactly this version on CPU in CI.
"""

from __future__ import annotations

from importlib import metadata

from packaging.version import InvalidVersion, Version

FLOORS = {"torch": "2.11", "transformers": "5.17"}


def below_floor() -> list[str]:
    """One line per installed package below its floor (a package not installed is a
    suite's skip, not this check's)."""
    found = []
    for package, floor in FLOORS.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        try:
            old = Version(installed).release < Version(floor).release
        except InvalidVersion:
            continue  # a vendor's local build string: not ours to judge
        if old:
            found.append(f"{package} {installed} is older than the oldest the suites "
                         f"support, {floor} (stackqual/supported.py): upgrade it, or run an "
                         "older stackqual")
    return found
