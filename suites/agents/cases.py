"""The agents suite's table: the frameworks it runs, each a row with an `id` (its test
module and snapshot folder prefix), the distribution pip installs and the module the tests
import. Each framework's own cases (adapters, modules, pipelines) are parametrized in its
test module, next to the framework objects they build."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from stackqual import incompatible

SYRUPY_MISSING = ("syrupy not installed: the agents suite keeps each framework's artifacts "
                  "as syrupy snapshots; `pip install -e '.[agents]'`")


@dataclass(frozen=True)
class Framework:
    id: str  # test_<id>.py; snapshots in __snapshots__/<id>-<major.minor>/
    distribution: str  # pip name, whose version names the snapshot folder
    module: str  # what the tests import
    imports: tuple[str, ...] = ()  # what an application imports (host_effects.py); module

    @property
    def not_installed(self) -> str:
        return (f"{self.distribution} not installed: the agents suite runs it for real; "
                "`pip install -e '.[agents]'` (the other frameworks still run)")

    def api(self):
        """`with FRAMEWORK.api(): from <module> import ...`: the module skips when the
        distribution (or syrupy, which keeps every snapshot) is absent and fails as "API
        incompatible" (stackqual.incompatible) when this release lacks what it imports; the
        other frameworks still run."""
        if incompatible.installed("syrupy") is None:
            pytest.skip(SYRUPY_MISSING, allow_module_level=True)
        return incompatible.stack_api(self.distribution, self.not_installed)


FRAMEWORKS = (
    Framework(id="dspy", distribution="dspy", module="dspy"),
    Framework(id="haystack", distribution="haystack-ai", module="haystack",
              imports=("haystack", "haystack.components.retrievers.in_memory",
                       "haystack.components.generators.chat")),
    Framework(id="langgraph", distribution="langgraph", module="langgraph",
              imports=("langgraph.graph", "langgraph.prebuilt")),
    Framework(id="crewai", distribution="crewai", module="crewai"),
)
BY_ID = {f.id: f for f in FRAMEWORKS}
