"""The per-family candidate environments (tox.ini, stackqual/families.py) and the CI recipe
(.github/workflows/upgrade-gate.yml) stay true to the repository: the families they move,
the tox environments and the stackqual commands they name exist."""

import configparser
import re

import pytest

from selftests.support import REPO
from stackqual import declared, families

pytest_plugins = ["pytester"]

PINNED = (REPO / "constraints" / "pinned.txt").read_text()


def tox() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "tox.ini")
    return config


def pinned_names(text: str = PINNED) -> list[str]:
    return [re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0] for line in text.splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("family", families.FAMILIES)
def test_a_family_is_left_out_of_the_constraints_and_nothing_else(family):
    moved = {n for n in pinned_names() if families.in_family(n, family)}
    assert moved, f"the {family} family matches nothing in constraints/pinned.txt"
    kept = families.constraints_without(family, PINNED)
    assert set(pinned_names(kept)) == set(pinned_names()) - moved


def test_families_do_not_overlap():
    names = pinned_names()
    for name in names:
        owners = [f for f in families.FAMILIES if families.in_family(name, f)]
        assert len(owners) <= 1, f"{name} is in {owners}"


@pytest.mark.parametrize("family", families.FAMILIES)
def test_each_family_has_its_tox_environment_moving_only_its_packages(family):
    section = tox()[f"testenv:candidate-{family}"]
    assert f"families.py {family} " in section["install_command"]
    assert section["setenv"].strip() == "", "PIP_CONSTRAINT must not pin the whole stack"
    deps = [d.strip() for d in section["deps"].splitlines() if d.strip()]
    assert deps and all(families.in_family(d, family) for d in deps), deps


def test_an_unknown_family_is_a_usage_error(capsys):
    assert families.main(["numpy"]) == 2
    assert "FAMILY one of torch, transformers, agents" in capsys.readouterr().err


def test_the_ci_recipe_runs_pinned_and_each_candidate_then_ab_then_compare():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: the workflow's YAML "
                                              "could not be parsed; pip install pyyaml")
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "upgrade-gate.yml").read_text())
    [job] = workflow["jobs"].values()
    envs = set(tox().sections())
    for candidate in job["strategy"]["matrix"]["candidate"]:
        assert f"testenv:{candidate}" in envs, f"{candidate} is not a tox environment"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    for needed in ("tox -e pinned,${{ matrix.candidate }} --notest", "stackqual ab --base",
                   "--candidate .tox/${{ matrix.candidate }}/bin/python",
                   "stackqual compare reports/pinned reports/candidate --ab reports",
                   "GITHUB_STEP_SUMMARY"):
        assert needed in script, f"the recipe lost {needed!r}"
    [keep] = [s for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert keep["if"] == "always()" and keep["with"]["path"] == "reports/"
    # Unpinned candidates run with a read-only token that the checkout does not keep, and a
    # comparison that could not run says why in the summary.
    assert workflow["permissions"] == {"contents": "read"}
    [checkout] = [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]
    assert checkout["with"]["persist-credentials"] is False
    assert "stackqual compare could not run (exit $code)" in script


def test_the_nightly_recipe_runs_every_scheduled_self_test():
    """The self-tests a run per change skips (selftests/conftest.py, `scheduled`) run
    somewhere: the nightly workflow selects and enables them all."""
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: the workflow's YAML "
                                              "could not be parsed; pip install pyyaml")
    path = REPO / ".github" / "workflows" / "scheduled-selftests.yml"
    workflow = yaml.safe_load(path.read_text())
    assert workflow[True]["schedule"], f"{path.name} runs on no schedule"  # YAML 1.1: on
    [job] = workflow["jobs"].values()
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pytest selftests -m scheduled --scheduled" in script, script


SCHEDULED_MODULE = """
import pytest

@pytest.mark.scheduled("a rate over many runs, 3 minutes")
def test_rate():
    pass

def test_proof():
    pass
"""


def test_a_scheduled_self_test_skips_per_change_saying_how_and_runs_with_the_option(pytester):
    pytester.makeconftest("from selftests.conftest import pytest_addoption, "
                          "pytest_collection_modifyitems  # noqa: F401")
    pytester.makeini('[pytest]\nmarkers =\n    scheduled(why): nightly\n')
    pytester.makepyfile(test_rates=SCHEDULED_MODULE)
    per_change = pytester.runpytest("-rs", "-p", "no:stackqual")
    per_change.assert_outcomes(passed=1, skipped=1)
    per_change.stdout.fnmatch_lines(["*scheduled self-test, not run per change (a rate over many "
                                     "runs, 3 minutes): run them with `pytest selftests -m "
                                     "scheduled --scheduled`*"])
    pytester.runpytest("--scheduled", "-p", "no:stackqual").assert_outcomes(passed=2)
    pytester.makepyfile(test_rates=SCHEDULED_MODULE.replace('("a rate over many runs, 3 '
                                                            'minutes")', ""))
    unexplained = pytester.runpytest("-p", "no:stackqual")
    assert unexplained.ret == pytest.ExitCode.USAGE_ERROR
    unexplained.stderr.fnmatch_lines(["*test_rate: @pytest.mark.scheduled needs its why*"])


def test_a_package_a_family_member_pins_exactly_moves_with_it():
    """Defect: "move only the framework's line" could not install DSPy 3.0.x, which pins
    gepa exactly; such companions belong to the family (and to its suite's stack, so that
    compare's Stack section shows them)."""
    from importlib import metadata

    pinned = set(pinned_names())
    suites = list(declared.packages(REPO / "suites").values())
    for family in families.FAMILIES:
        for name in (n for n in pinned if families.in_family(n, family)):
            try:
                requires = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                continue  # not installed here (another extra)
            for requirement in requires:
                exact = re.match(r"([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*\(?==", requirement)
                if not exact or "extra ==" in requirement:
                    continue
                companion = exact.group(1)
                assert families.in_family(companion, family), (
                    f"{name} pins {requirement!r}: add {companion} to the {family} family "
                    "(stackqual/families.py)")
                for packages in (p for p in suites if name in p):
                    assert families.normalise(companion) in packages, (
                        f"{name} pins {companion}: add it to the packages of its suite "
                        "(its suite.toml) and to "
                        "profile.STACK_PACKAGES")
