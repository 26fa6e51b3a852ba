"""The pytest plugin's entry point (`pytest11`: stackqual): its options, and the decision
whether to act at all.

Installed, the entry point loads into every pytest run of the environment; it acts only
where asked (stackqual.active then does the work):
- this project's configuration: `stackqual = true` in [tool.pytest.ini_options];
- `-p stackqual` on the command line (or in PYTEST_ADDOPTS);
- `stackqual qualify`, whose suite processes it starts with STACKQUAL_PLUGIN=1.
Elsewhere it only adds its options: no threads set, no HF_HUB_OFFLINE, no inductor cache,
no reports/ folder, no network guard, and torch is not imported.
"""

from __future__ import annotations

import os

import pytest

from . import declared

ENV = "STACKQUAL_PLUGIN"
# Defaults of the timed comparisons' options (stackqual.timing.TimingConfig reads them).
MIN_ROUNDS = 20
MAX_TIME_S = 10.0


def narrowed(pytest_args: list[str], expr: str) -> list[str]:
    """pytest arguments with their marker expression narrowed by `expr`: `-m gpu` becomes
    `-m "EXPR and (gpu)"` (pytest keeps only the last -m). For the runs stackqual starts
    itself: `stackqual ab` (the timed tests), `qualify --each-gpu` (per GPU, then the
    whole node)."""
    args, marks, i = [], [], 0
    while i < len(pytest_args):
        arg = pytest_args[i]
        if arg == "-m" and i + 1 < len(pytest_args):
            marks.append(pytest_args[i + 1])
            i += 2
            continue
        if arg.startswith("-m") and len(arg) > 2:
            marks.append(arg[2:].lstrip("="))
        else:
            args.append(arg)
        i += 1
    return [*args, "-m", expr + (f" and ({marks[-1]})" if marks else "")]


def asked(config, args) -> bool:
    """Whether this run asked for stackqual (module doc)."""
    if os.environ.get(ENV) == "1":
        return True
    words = [*args, *os.environ.get("PYTEST_ADDOPTS", "").split()]
    if any(a == "-pstackqual" for a in words) or any(
            a == "-p" and b == "stackqual" for a, b in zip(words, words[1:])):
        return True
    try:
        return bool(config.getini("stackqual"))
    except ValueError:
        return False


def pytest_addoption(parser):
    group = parser.getgroup("stackqual", "stackqual: baselines, profiles and the run report")
    group.addoption("--update-baselines", action="store_true",
                    help="record this run's measured values as the baselines of this profile "
                         "(only tests that pass are recorded; review and commit the diff)")
    group.addoption("--profile", metavar="NAME",
                    help="hardware profile to compare against (default: detected, e.g. "
                         "cpu-avx512 or cuda-sm90-h100-80gb)")
    group.addoption("--baselines-dir", metavar="PATH",
                    help="root of the per-profile baselines (default: <rootdir>/baselines)")
    group.addoption("--report-dir", metavar="PATH",
                    help="where the run report (JSON + Markdown) goes (default: <rootdir>/reports)")
    group.addoption("--no-report", action="store_true", help="write no run report")
    group.addoption("--report-stream", metavar="PATH",
                    help="also write each test's start and outcome and each check as one JSON "
                         "line to PATH as the run goes (kept by a run that crashes)")
    group.addoption("--threads", type=int, metavar="N",
                    help="torch.set_num_threads for the whole run, fixed so that compile-time "
                         "and run-time thread counts agree (default: the CPUs this process "
                         "may use)")
    group.addoption("--inductor-cache", metavar="PATH",
                    help="inductor cache directory shared by the whole run (default: "
                         "$TORCHINDUCTOR_CACHE_DIR, else <rootdir>/.stackqual-cache/inductor)")
    group.addoption("--perf-tolerance", action="append", default=[], metavar="CHECK=FRACTION",
                    help="override a timing tolerance (stackqual/policy.py PERF_TOLERANCE, or "
                         "a suite's suite.toml [tolerances]), e.g. speedup=0.15 (repeatable)")
    group.addoption("--perf-max-time", type=float, default=MAX_TIME_S, metavar="S",
                    help="most seconds of rounds per timed comparison while it is inconclusive "
                         "(default: %(default)s)")
    group.addoption("--perf-min-rounds", type=int, default=MIN_ROUNDS, metavar="N",
                    help="rounds per batch of a timed comparison (default: %(default)s)")
    group.addoption("--perf-inconclusive", choices=("warn", "fail"), default="warn",
                    help="what a timing that stays inconclusive does (default: warn: reported "
                         "in the summary and the report, the test passes)")
    group.addoption("--perf-l2-flush", action="store_true",
                    help="CUDA: overwrite a buffer of twice the L2 size before every sample "
                         "(cold-cache timings; one call per sample)")
    group.addoption("--asset", action="append", default=[], metavar="NAME=PATH",
                    help="a local folder for a hub-backed model or dataset, e.g. "
                         "imdb=/data/aclImdb or bert-imdb=/models/bert (repeatable; names in "
                         "each suite's cases)")
    parser.addini("stackqual_suites", default=declared.DEFAULT_DIR,
                  help="the folder of suites, relative to the rootdir: each folder in it with "
                       "test modules is a suite, declared by its suite.toml")
    group.addoption("--online", action="store_true",
                    help="let hub-backed cases download models and datasets (default: "
                         "offline, HF_HUB_OFFLINE=1: the local HF cache or --asset only)")
    parser.addini("stackqual", type="bool", default=False,
                  help="turn the stackqual plugin on for this project's runs")



@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Where asked, the working plugin is registered, and the network guard is on before
    the first conftest (and framework) is imported."""
    if not asked(early_config, args):
        return
    from . import active

    early_config.pluginmanager.register(active, "stackqual-active")
    active.guard_on(early_config, getattr(early_config.known_args_namespace, "online", False))
