"""Meta-tests of the harness's one vocabulary: every verdict word and every exit code is
defined once (stackqual.verdicts, stackqual.exits) and read from there; every verdict is
placed in exactly one class; no import cycle under stackqual/; no harness module names a
suite, and every suite declares what the harness needs to know in its own folder."""

import ast
from pathlib import Path

import pytest

from selftests.support import REPO
from stackqual import declared, exits, families, verdicts
from stackqual.verdicts import Verdict

HARNESS = REPO / "stackqual"
WORDS = {v.value for v in Verdict}


def modules() -> list[Path]:
    return sorted(p for p in HARNESS.glob("*.py") if p.name not in ("verdicts.py", "exits.py"))


def test_every_verdict_is_in_exactly_one_class():
    classes = (verdicts.BLOCKING, verdicts.UNJUDGED, verdicts.PASSING, {Verdict.CHANGED},
               verdicts.NOT_A_JUDGEMENT - verdicts.UNJUDGED)
    for v in Verdict:
        assert sum(v in c for c in classes) == 1, f"{v!r} is in {sum(v in c for c in classes)}"


def _verdict_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are verdict words, compared with something named *verdict*."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any("verdict" in ast.unparse(s) for s in sides):
            continue
        for side in sides:
            for const in ast.walk(side):
                if isinstance(const, ast.Constant) and const.value in WORDS:
                    found.append((node.lineno, const.value))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_verdicts_are_compared_through_the_enum_never_as_words(path):
    """A word written out next to a verdict is a second definition of the vocabulary: a
    new verdict or a renamed one would silently miss it (stackqual.verdicts)."""
    found = _verdict_literals(ast.parse(path.read_text()))
    assert not found, (f"{path.relative_to(REPO)} compares verdicts with words at "
                       f"{found}: use stackqual.verdicts.Verdict and its classes")


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_no_module_keeps_its_own_exit_code_table(path):
    """Each command's meaning of each code is stackqual.exits.MEANING."""
    tree = ast.parse(path.read_text())
    tables = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Dict) and n.keys
              and all(isinstance(k, ast.Constant) and k.value in (0, 1, 2, 3) for k in n.keys)
              and all(isinstance(v, ast.Constant) and isinstance(v.value, str)
                      for v in n.values)]
    assert not tables, f"{path.relative_to(REPO)}: a table of exit meanings at lines {tables}"


def test_every_command_says_what_its_codes_mean():
    for command, table in exits.MEANING.items():
        assert exits.Exit.OK in table and exits.Exit.FAILED in table, command
        assert "70 an error of stackqual itself" in exits.epilog(command)


def _imports(path: Path) -> set[str]:
    """The stackqual modules `path` imports when it is imported (module level)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stackqual."):
            found.add(node.module.split(".")[1])
    return {name for name in found if (HARNESS / f"{name}.py").is_file()}


def test_no_import_cycle_under_stackqual():
    graph = {p.stem: _imports(p) for p in HARNESS.glob("*.py")}

    def cycle_from(start, path):
        for name in sorted(graph[path[-1]]):
            if name == start:
                return [*path, name]
            if name not in path and name > start:  # each cycle found from its least module
                found = cycle_from(start, [*path, name])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(m, [m]) for m in sorted(graph)) if c]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_package_docstring_lists_every_module_and_only_those():
    import re

    import stackqual

    listed = set(re.findall(r"^- (\w+)", stackqual.__doc__, re.MULTILINE))
    present = {p.stem for p in HARNESS.glob("*.py")} - {"__init__", "__main__"}
    assert listed == present, (f"not listed in stackqual/__init__.py: {present - listed}; "
                               f"listed but gone: {listed - present}")


# Private names of the stack that the harness and the suites use outside
# `incompatible.harness(...)`, each with why that is acceptable. Anything else private must
# go through incompatible.harness, so that its absence in a release is "harness
# incompatible", never a regression of the stack.
SEMI_PUBLIC = {
    "torch._dynamo.config": "the documented way to set dynamo's options (torch.compiler docs)",
    "torch._inductor.config": "the documented way to set inductor's options",
    "torch._ops.OpOverload": "the type of an aten call's target in every FX graph",
    "atexit._ncallbacks": "CPython's only count of registered callbacks (host_effects.py)",
}
STACK_MODULES = {"torch", "transformers", "syrupy", "pytest_benchmark", "dspy", "haystack",
                 "crewai", "langgraph", "langchain_core", "litellm", "atexit"}


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    covered = {m.lineno for n in ast.walk(tree) if isinstance(n, ast.With)
               and any("incompatible.harness" in ast.unparse(i.context_expr) for i in n.items)
               for m in ast.walk(n) if hasattr(m, "lineno")}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")) or node.lineno in covered:
            continue
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        name = ast.unparse(node)
        # torch._dynamo is read on the way to torch._dynamo.config: judged by the whole name
        if isinstance(root, ast.Name) and root.id in STACK_MODULES and not any(
                name == ok or name.startswith(ok + ".") or ok.startswith(name + ".")
                for ok in SEMI_PUBLIC):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    return found


def test_private_apis_of_the_stack_are_read_only_through_incompatible_harness():
    """stackqual/incompatible.py's list of private APIs, checked: a private name read
    outside `with incompatible.harness(...)` would make a release that renamed it fail as
    a regression of the stack."""
    files = [*HARNESS.glob("*.py"), *(REPO / "suites").rglob("*.py")]
    found = [use for path in files for use in _private_uses(path)]
    assert not found, "\n".join(found)


SUITES = sorted(p for p in (REPO / "suites").iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_every_suite_keeps_its_cases_and_its_policy_in_its_own_folder(suite):
    """docs/suites.md: a suite's cases are tabled in its `cases.py` and its thresholds in
    its `policy.py` (and the bands of its timed metrics in its suite.toml); the harness's
    policy has only the rules every suite shares."""
    assert (suite / "cases.py").is_file() and (suite / "policy.py").is_file(), suite
    shared = (HARNESS / "policy.py").read_text()
    assert f"suites/{suite.name}" not in shared, (
        f"stackqual/policy.py names the {suite.name} suite: move its thresholds to "
        f"suites/{suite.name}/policy.py")


# Harness modules whose words look like a suite's name without meaning one (reviewed).
NOT_A_SUITE = {
    "families.py": "the upgrade recipes' package families (torch, transformers, agents) are "
                   "named for the stacks a candidate moves, and read by tox, not as suites",
}


def _field_names(tree) -> set[int]:
    """The string constants used as a JSON field's name: a dict key, a subscript, the key
    of .get(): `verdict["suites"]` is a field, not the folder."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found |= {id(k) for k in node.keys if k is not None}
        elif isinstance(node, ast.Subscript):
            found.add(id(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args):
            found.add(id(node.args[0]))
    return found


def _docstrings(tree) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}


@pytest.mark.parametrize("path", [p for p in sorted(HARNESS.glob("*.py"))
                                  if p.name not in NOT_A_SUITE], ids=lambda p: p.name)
def test_no_harness_module_names_a_suite_or_the_suites_folder(path):
    """A suite owns its knowledge (docs/adding-a-suite.md): no code under stackqual/ names
    a suite or the folder of suites, which is configuration (the ini option
    stackqual_suites, its default stackqual.declared.DEFAULT_DIR). Comments and docstrings
    may give examples."""
    names = [p.name for p in SUITES]
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree) | _field_names(tree) | {  # the default's one definition
        id(n.value) for n in ast.walk(tree) if path.name == "declared.py"
        and isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "DEFAULT_DIR"
                                              for t in n.targets)}
    found = [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in skip and (
                 node.value in names or node.value == declared.DEFAULT_DIR
                 or any(f"{declared.DEFAULT_DIR}/{n}" in node.value or f"{n} suite" in node.value
                        for n in names))]
    assert not found, ("the harness names a suite or the suites folder; let the suite declare "
                       "it in its suite.toml (stackqual.declared): " + "; ".join(found))


def recording_methods() -> set[str]:
    """The Gate and PerfGate methods whose first argument is the metric a check records."""
    import inspect

    from stackqual.gate import Gate
    from stackqual.perf import PerfGate

    return {name for cls in (Gate, PerfGate) for name, member in vars(cls).items()
            if inspect.isfunction(member)
            and list(inspect.signature(member).parameters)[1:2] == ["metric"]}


# Metric names the harness itself owns: its one tolerance ("speedup", policy.PERF_TOLERANCE)
# and a kind of figure (stackqual/figures.py); a suite's metric may reuse them.
HARNESS_WORDS = {"speedup", "rate"}


def suites_metrics() -> set[str]:
    """Every metric a suite's code records a check under."""
    methods = recording_methods()
    assert {"against_baseline", "info", "speed", "rate"} <= methods, methods
    return {node.args[0].value for path in (REPO / "suites").rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in methods and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


def test_no_harness_module_names_a_suites_metric():
    """The harness reads what a suite declares (its tolerances, its first-run sections)
    instead of naming its metrics: no code string under stackqual/ is one of them."""
    metrics = suites_metrics() - HARNESS_WORDS
    assert {"documented_rule", "share_of_peak", "instructions_per_call"} <= metrics
    found = [hit for path in sorted(HARNESS.glob("*.py")) for hit in naming(path, metrics)]
    assert not found, ("the harness names a suite's metric; let the suite declare what the "
                       "harness needs of it (stackqual.declared): " + "; ".join(found))


def naming(path: Path, words: set[str]) -> list[str]:
    """Where the code of module `path` (not its docstrings) has a string among `words`."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree)
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in words and id(node) not in skip]


def test_the_metric_naming_check_fires_on_a_module_that_names_one(tmp_path):
    module = tmp_path / "summary.py"
    module.write_text('"""Reads share_of_peak (a docstring may say so)."""\n'
                      'PEAK = "share_of_peak"\n')
    assert naming(module, suites_metrics()) == ["summary.py:2: 'share_of_peak'"]


def test_every_suite_declares_its_packages_and_each_is_one_the_stack_knows():
    """Each suite folder's suite.toml (stackqual.declared) names what it depends on; a
    package no constraint pins is one whose change no upgrade recipe could move."""
    suites = declared.suite_folders(REPO / "suites")
    assert {s.name for s in suites} >= {"agents", "attention", "compile", "hardware", "models"}
    pinned = {families.normalise(line.split("==")[0].strip())
              for line in (REPO / "constraints" / "pinned.txt").read_text().splitlines()
              if "==" in line and not line.lstrip().startswith("#")}
    known = pinned | {"triton", "flash-attn", "flash-attn-3", "flash-attn-4", "kernels",
                      "mamba-ssm", "causal-conv1d"}  # CUDA-only: a GPU node's own
    for suite in suites:
        assert (suite / declared.FILE).is_file(), f"{suite.name} declares nothing: add its " \
            f"{declared.FILE} (docs/adding-a-suite.md)"
        unknown = [p for p in declared.declaration(suite)["packages"]
                   if families.normalise(p) not in known]
        assert not unknown, (f"{suite / declared.FILE} declares {unknown}, which "
                             "constraints/pinned.txt does not pin")


def test_a_malformed_suite_declaration_names_its_file_and_the_key(tmp_path):
    """Missing, a suite declares nothing beyond the harness's packages; malformed, it
    is an error that names the file."""
    suite = tmp_path / "quant"
    suite.mkdir()
    (suite / "test_q.py").write_text("")
    assert declared.packages(tmp_path) == {"quant": ()}  # a suite made on the spot
    (suite / declared.FILE).write_text('packages = "torch"\n')
    with pytest.raises(declared.Malformed, match=r"`packages` must be a list"):
        declared.packages(tmp_path)
    (suite / declared.FILE).write_text('packages = ["torch"\n')
    with pytest.raises(declared.Malformed, match=r"not readable TOML"):
        declared.packages(tmp_path)


@pytest.mark.parametrize("text,message", [
    ('packages = []\n[tolerances.latency]\nband = 1.5\nwhy = "x"\n',
     r"`tolerances.latency` needs `band` \(a fraction"),
    ('packages = []\n[tolerances.latency]\nband = 0.2\n', r"`tolerances.latency` needs"),
    ('packages = []\n[tolerances.latency]\nband = 0.2\nwhy = "x"\nslack_s = 1\n',
     r"may have `slack_s` \(seconds, with `slack_why`\)"),
    ('packages = []\n[tolerances.speedup]\nband = 0.2\nwhy = "x"\n',
     r"`tolerances.speedup` is already declared by stackqual/policy.py"),
    ('packages = []\n[qualify]\nfirst = "yes"\n', r"`qualify` may hold only `first` and"),
    ('packages = []\n[[first_run]]\ntitle = "x"\nmetric = "y"\n',
     r"each \[\[first_run\]\] needs `title`, `metric` and `row`"),
])
def test_a_malformed_declaration_table_names_the_file_and_the_key(tmp_path, text, message):
    """A band that is not a fraction, one without where it comes from, a slack without why,
    a name the harness (or another suite) already declares, a qualify place that is not a
    boolean, a first-run section without its keys: an error naming the file."""
    from stackqual import policy

    suite = tmp_path / "quant"
    suite.mkdir()
    (suite / declared.FILE).write_text(text)
    with pytest.raises(declared.Malformed, match=message) as raised:
        declared.tolerances(tmp_path, policy.PERF_TOLERANCE)
    assert str(suite / declared.FILE) in str(raised.value)


def test_each_suite_declares_the_bands_of_the_timed_metrics_its_tests_name():
    """Every `tolerance="NAME"` a suite's test passes to the perf fixture is declared, by the
    harness or by a suite (a name declared nowhere would fail that test when it runs)."""
    import re

    from stackqual import policy

    known = declared.tolerances(REPO / "suites", policy.PERF_TOLERANCE)
    named = {(path.relative_to(REPO), name) for path in (REPO / "suites").rglob("test_*.py")
             for name in re.findall(r'tolerance="(\w+)"', path.read_text())}
    named |= {(Path("suites/hardware/test_peak.py"), f"hardware_{kind}")
              for kind in ("cpu", "cuda")}  # chosen by device there
    undeclared = [f"{path}: {name}" for path, name in sorted(named) if name not in known]
    assert named and not undeclared, f"tolerances declared nowhere: {undeclared}"


def test_the_suite_naming_check_fires_on_a_module_that_names_one(tmp_path):
    """The check above fails, naming the line, for a module that names a suite, a path in
    the suites folder; a JSON field called like the folder is not the folder."""
    module = tmp_path / "leaky.py"
    module.write_text('FIRST = ("hardware",)\nFIELD = {"suites": 1}\nLOCK = "suites/x"\n'
                      'PATH = "suites/compile/x.py"\n')
    with pytest.raises(AssertionError) as raised:
        test_no_harness_module_names_a_suite_or_the_suites_folder(module)
    said = str(raised.value)
    assert "leaky.py:1: 'hardware'" in said and "leaky.py:4:" in said
    assert "leaky.py:2:" not in said


def duplicated_ids(table) -> list[str]:
    """The ids that occur more than once in a table of rows or pytest parameters (pytest
    would make them unique by a suffix, and the baseline key would move with it)."""
    ids = [getattr(row, "id", None) for row in table]
    return sorted({i for i in ids if i is not None and ids.count(i) > 1})


def _tables(module) -> dict[str, list]:
    """A cases module's tables: its module-level tuples of rows, and what each of its
    `*_cases()` functions returns."""
    import inspect

    found = {}
    for name, value in vars(module).items():
        if isinstance(value, (tuple, list)) and value and all(hasattr(v, "id") for v in value):
            found[name] = list(value)
        elif (name.endswith("_cases") and inspect.isfunction(value)
              and value.__module__ == module.__name__
              and not any(p.default is p.empty for p in inspect.signature(value).parameters
                          .values())):
            found[f"{name}()"] = list(value())
    return found


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_case_ids_are_unique_in_every_table(suite):
    """array-api-tests' rule: a case is named once. Each id is a test id and a baseline
    key; a duplicate would be renamed by pytest (`id0`, `id1`) and judged against the
    other case's baseline."""
    import importlib

    module = importlib.import_module(f"suites.{suite.name}.cases")
    tables = _tables(module)
    assert tables, f"suites/{suite.name}/cases.py has no table of cases"
    duplicated = {name: duplicated_ids(rows) for name, rows in tables.items()
                  if duplicated_ids(rows)}
    assert not duplicated, f"suites/{suite.name}/cases.py: ids named twice: {duplicated}"


def test_the_unique_id_check_names_a_duplicate():
    table = [pytest.param(1, id="mlp-cpu"), pytest.param(2, id="cnn-cpu"),
             pytest.param(3, id="mlp-cpu")]
    assert duplicated_ids(table) == ["mlp-cpu"]


def test_the_plugins_no_suite_uses_are_off_in_this_projects_runs_too():
    """A suite process leaves out the pytest plugins no suite uses
    (stackqual.suite_process.NOT_LOADED); so does every pytest run in this project."""
    from stackqual import suite_process

    addopts = declared.tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["addopts"]
    given = {addopts[i + 1] for i, arg in enumerate(addopts[:-1]) if arg == "-p"}
    assert {f"no:{name}" for name in suite_process.NOT_LOADED} <= given, addopts
