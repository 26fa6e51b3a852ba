"""The GPU qualification tier's time budget: the arithmetic that turns what `pytest -m gpu`
runs into minutes on one H100/H200, from a cold inductor cache, start-up included.

What is counted is exact (the collected cases). What one case costs, each suite declares in
its suite.toml (`[gpu_budget]`, docs/adding-a-suite.md): per test function the `seconds`
a case takes and the cold `compiles` it pays, priced per model by the suite's `compile_s`
(a case whose id ends in `-training` pays `training_compiles` times as many). The seconds
are estimates until a GPU run measures them (the run report holds each test's duration):
each says what it rests on. Re-measure them from the first GPU run's report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stackqual import declared

LIMIT_S = 360  # six minutes: a qualification window or a CI GPU runner's slot
# Interpreter, torch/transformers imports, CUDA context, collection (collection alone took
# 6.5 s on the 2-vCPU CI machine).
START_UP_S = 60
# A case of a test its suite does not price (SDPA dispatch and numerics: 0.01-0.03 s each
# on CPU; on CUDA the profiler and kernel launches add to that).
LIGHT_CASE_S = 0.3


class Undeclared(ValueError):
    """A suite's [gpu_budget] that cannot be read; the message names the file."""


@dataclass(frozen=True)
class SuiteBudget:
    """One suite's [gpu_budget]: test function -> (seconds, compiles), model -> compile_s."""
    tests: dict = field(default_factory=dict)
    compile_s: dict = field(default_factory=dict)
    training_compiles: float = 1


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise Undeclared(f"{where}: expected a number of seconds or compiles >= 0, found "
                         f"{value!r}")
    return float(value)


def budgets(suites_dir: Path) -> dict[str, SuiteBudget]:
    """suite -> its declared [gpu_budget], for every suite in `suites_dir`."""
    found = {}
    for folder in declared.suite_folders(suites_dir):
        table = declared.declaration(folder).get("gpu_budget", {})
        where = f"{folder / declared.FILE} [gpu_budget]"
        tests = {}
        for name, cost in table.get("tests", {}).items():
            if not isinstance(cost, dict) or set(cost) - {"seconds", "compiles"}:
                raise Undeclared(f"{where}: tests.{name} must be a table of `seconds` and "
                                 f"`compiles`, found {cost!r}")
            tests[name] = (_number(cost.get("seconds", 0), f"{where} tests.{name}"),
                           _number(cost.get("compiles", 0), f"{where} tests.{name}"))
        compile_s = {m: _number(s, f"{where} compile_s.{m}")
                     for m, s in table.get("compile_s", {}).items()}
        if any(c for _, c in tests.values()) and not compile_s:
            raise Undeclared(f"{where}: a test pays compiles, and no compile_s prices them")
        found[folder.name] = SuiteBudget(tests, compile_s, _number(
            table.get("training_compiles", 1), f"{where} training_compiles"))
    return found


@dataclass
class Estimate:
    cases: int = 0
    cold_compiles: float = 0
    seconds: float = START_UP_S
    lines: list = None

    def minutes(self) -> float:
        return self.seconds / 60


def _model(case_id: str, compile_s: dict, where: str) -> str:
    """The model a case id starts with (longest name first)."""
    for model in sorted(compile_s, key=len, reverse=True):
        if case_id.startswith(model + "-"):
            return model
    raise Undeclared(f"{where}: no model of compile_s ({', '.join(compile_s)}) starts the "
                     f"case id {case_id!r}")


def estimate(nodeids: list[str], suites_dir: Path) -> Estimate:
    """The tier's seconds: start-up, then each case at its suite's declared cost."""
    e = Estimate(lines=[f"start-up {START_UP_S} s"])
    declared_budgets = budgets(suites_dir)
    per_suite: dict[str, float] = {}
    for nodeid in nodeids:
        path, _, rest = nodeid.partition("::")
        suite, test = Path(path).parent.name, rest.split("[")[0]
        case_id = rest[rest.index("[") + 1:-1] if "[" in rest else ""
        budget = declared_budgets.get(suite, SuiteBudget())
        seconds, compiles = budget.tests.get(test, (LIGHT_CASE_S, 0))
        if compiles:
            if case_id.endswith("-training"):
                compiles *= budget.training_compiles
            model = _model(case_id, budget.compile_s, f"{suite}: {test}")
            seconds += compiles * budget.compile_s[model]
        e.cases += 1
        e.cold_compiles += compiles
        e.seconds += seconds
        per_suite[suite] = per_suite.get(suite, 0) + seconds
    e.lines += [f"{e.cold_compiles:g} cold compiles (each suite's compile_s)",
                *(f"{suite} {s:.0f} s" for suite, s in sorted(per_suite.items())),
                f"{e.cases} cases in all: {e.seconds:.0f} s = {e.minutes():.1f} min"]
    return e
