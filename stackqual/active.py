"""The stackqual plugin at work, registered by the entry point (stackqual.plugin) only
where it is asked for: report header, capability skips, the `gate` and `perf` fixtures,
baseline writes, the run report, and pytest-benchmark's storage per profile
(stackqual.benchmarks)."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from . import (assets, benchmarks, calibration, capabilities, declared, netguard, policy,
               profile, supported, timing)
from .baselines import BaselineError, BaselineStore, NotWritten, write_problem
from .gate import Gate, shown
from .perf import RECORD_COMMAND, PerfGate, PerfOptions
from .report import RunReport
from .verdicts import Verdict as V

STATE = pytest.StashKey["State"]()
GUARDED = pytest.StashKey[bool]()  # this config turned the network guard on


@dataclass(eq=False)  # a registered plugin must stay hashable
class State:
    """The run's state; registered as a plugin object so its hooks see it."""

    profile: str
    profile_source: str
    store: BaselineStore
    report: RunReport
    update: bool
    report_dir: Path | None
    perf: PerfOptions
    passed: set = field(default_factory=set)  # nodeids whose call phase passed
    judged: int = 0  # tests that ran to a verdict (passed, failed, xfailed), not skipped
    written: list = field(default_factory=list)
    report_paths: tuple = ()
    not_done: list = field(default_factory=list)  # what the end of the run could not do
    collected: dict = field(default_factory=dict)  # suite -> case ids, before deselection
    stale: dict = field(default_factory=dict)  # suite -> recorded keys no test produces
    unwritten: list = field(default_factory=list)  # baseline writes that failed
    config: object = None  # the pytest config (its ini names the suites folder)
    suite_packages: dict = field(default_factory=dict)  # suite -> packages (its suite.toml)

    def pytest_runtest_logstart(self, nodeid, location):
        self.report.emit({"event": "start", "nodeid": nodeid, "time": time.time()})

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and (not report.skipped or hasattr(report, "wasxfail")):
            self.judged += 1
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
        elif report.failed:
            reason = f"failed in {report.when}: {failure_line(report)}"
        if report.when == "call" or report.outcome != "passed":
            self.report.add_test(report.nodeid, report.outcome, report.duration, reason,
                                 suite_and_case(self.config, report.nodeid)[0])
            self.report.emit({"event": "test", "nodeid": report.nodeid, "when": report.when,
                              "outcome": report.outcome, "duration_s": round(report.duration, 3),
                              "reason": reason})
        if report.when == "call" and report.passed:
            self.passed.add(report.nodeid)
        elif report.failed:
            self.passed.discard(report.nodeid)
        if self.update and report.when == "teardown" and report.nodeid in self.passed:
            self._write_through(report.nodeid)

    def _write_through(self, nodeid: str) -> None:
        """--update-baselines: a passing test's values are written as soon as it is done
        (merged under the folder's lock, atomically), so that a run killed at its time
        limit keeps every baseline measured before the kill."""
        try:
            written = self.store.commit({nodeid}, self.report.fingerprint)
        except NotWritten as e:
            written = e.written
            self.unwritten.append(str(e))
        self.written += [path for path in written if path not in self.written]

    def pytest_collectreport(self, report):
        """A module that failed to import (an API incompatible framework release) is a
        failed entry of its own, with why; one that skipped as a whole (a package it needs
        is not installed) a skipped entry, with why."""
        if report.failed:
            outcome, reason = "failed", f"failed in collection: {failure_line(report)}"
        elif report.skipped and isinstance(report.longrepr, tuple):
            outcome, reason = "skipped", report.longrepr[2].removeprefix("Skipped: ")
        else:
            return
        self.report.add_test(report.nodeid, outcome, 0.0, reason,
                             suite_and_case(self.config, report.nodeid)[0])
        self.report.emit({"event": "test", "nodeid": report.nodeid, "when": "collect",
                          "outcome": outcome, "duration_s": 0.0, "reason": reason})

    def pytest_sessionfinish(self, session):
        ran = bool(self.report.tests) and not session.config.option.collectonly
        if assets.resolved():  # which commit of each hub asset was loaded
            self.report.fingerprint["hub_revisions"] = assets.resolved()
        attempts = netguard.take()  # outside any test or collection
        self.report.environment = profile.scope_environment(
            self.report.environment, [p for suite in self.collected
                                      for p in self.suite_packages.get(suite, ())])
        if self.report.environment.get("pip_check") == "broken":
            self._not_done(session, "environment broken (pip check): "
                           + "; ".join(self.report.environment["problems"]) + ". Failures in "
                           "this run may be of the environment, not of the stack; reinstall "
                           "with the constraints (pip install -c constraints/pinned.txt ...)")
        if attempts:
            self._not_done(session, network_message(attempts))
        self.stale = self.store.stale(self.collected, self._gone)
        self.report.stale_baselines = self.stale
        if self.update:
            try:
                written = self.store.commit(self.passed, self.report.fingerprint,
                                            prune=self.stale)
            except NotWritten as e:
                written = e.written
                self.unwritten.append(str(e))
            self.written += [path for path in written if path not in self.written]
            for problem in dict.fromkeys(self.unwritten):
                self._not_done(session, f"--update-baselines: baselines not written: {problem} "
                                        "(each such file is as it was)")
        if ran and not self.judged and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
            self.not_done.append(
                f"nothing was judged: all {len(self.report.tests)} selected tests skipped "
                "(reasons above); a run that checks nothing is not a pass")
        if self.report_dir is not None and ran:
            try:
                self.report_paths = self.report.write(
                    self.report_dir, lambda checks, directory, stem: session.config.hook.
                    pytest_stackqual_report_section(checks=checks, directory=directory, stem=stem))
            except OSError as e:
                self._not_done(session, f"the run report was not written: {e}")

    def _gone(self, suite: str, file: str) -> bool:
        folder = suites_dir(self.config) / suite
        return folder.is_dir() and not (folder / file).exists()

    def _not_done(self, session, problem: str) -> None:
        self.not_done.append(problem)
        self.report.problems.append(problem)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        def having(verdict):
            return [c for c in self.report.checks if c.verdict == verdict]
        improved, changed, unsure = having(V.IMPROVED), having(V.CHANGED), having(V.INCONCLUSIVE)
        missing, incomparable = having(V.NO_BASELINE), having(V.NOT_COMPARABLE)
        unrelated = self.report.environment.get("unrelated", [])
        if (improved or changed or unsure or missing or incomparable or self.written
                or self.report_paths or self.not_done or self.stale or unrelated):
            tr.section("stackqual")
        if unrelated:
            tr.line(f"pip check: {len(unrelated)} conflicts among packages no collected suite "
                    "imports (information, not a failure): " + "; ".join(unrelated))
        for kind in ("cpu", "cuda"):
            cals = [c for c in self.perf.calibrations if c["device"] == kind]
            if cals:
                tr.line(f"calibration ({kind}): {calibration.run_summary(cals)}, "
                        f"{sum(c['seconds'] for c in cals):.1f} s in all")
        for c in improved:
            tr.line(f"improved: {c.check_id}: {c.message}")
        for c in changed:
            tr.line(f"changed: {c.check_id}: {c.message}", yellow=True)
        for c in unsure:
            tr.line(f"inconclusive: {c.check_id}: {c.message}", yellow=True)
        if incomparable:
            first = incomparable[0].details
            tr.line(f"not comparable: {len(incomparable)} timed checks, their baselines were "
                    "measured on a machine this one is not equivalent to: "
                    + "; ".join(first["reasons"]), yellow=True)
            sides = calibration.side_by_side(first["calibration_recorded"],
                                             first["calibration_here"])
            tr.line(f"  calibration: {sides}")
            tr.line(f"  record this machine's baselines: {RECORD_COMMAND}")
            for c in incomparable:
                tr.line(f"  not comparable: {c.check_id}")
        for suite, keys in self.stale.items():
            where = shown(self.store.path_for(suite))
            if self.update:
                tr.line(f"pruned from {where}: {len(keys)} stale keys: " + ", ".join(keys))
            else:
                tr.line(f"stale baselines: {len(keys)} keys in {where} that no collected test "
                        "produces (a test renamed or removed): " + ", ".join(keys)
                        + "; --update-baselines prunes them", yellow=True)
        if missing:
            tr.line(f"{len(missing)} checks have no baseline on profile {self.profile!r} "
                    "(reported, not compared): record them with --update-baselines")
        for path in self.written:
            tr.line(f"baseline written: {path}")
        if self.update and not self.written:
            tr.line("--update-baselines: no passing test measured a baseline value; "
                    "nothing written")
        if self.report_paths:
            tr.line(f"report: {self.report_paths[0]}")
            tr.line(f"summary: {self.report_paths[1]}")
        for problem in self.not_done:
            tr.line(problem, red=True, bold=True)


def failure_line(report) -> str:
    """The line that says why a test (or a module's collection) failed: the exception's
    message, or the first line of a pytest.fail(pytrace=False) message."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:400] if lines else ""


def suites_dir(config) -> Path:
    """The folder of suites: the ini option `stackqual_suites`, relative to the rootdir."""
    return Path(config.rootpath) / config.getini("stackqual_suites")


def suite_packages(config) -> dict[str, tuple[str, ...]]:
    """suite -> the packages it declares in its suite.toml (stackqual.declared)."""
    try:
        return declared.packages(suites_dir(config))
    except declared.Malformed as e:
        raise pytest.UsageError(str(e)) from None


def network_message(attempts: list[str]) -> str:
    return ("network access attempted, and refused by stackqual's network guard (tests run "
            "offline): " + "; ".join(dict.fromkeys(attempts)) + ". A case that must download "
            "runs with --online")


def guard_on(config, online: bool) -> None:
    if not config.stash.get(GUARDED, False) and not online:
        netguard.activate()
        config.stash[GUARDED] = True


def pytest_unconfigure(config):
    state = config.stash.get(STATE, None)
    if state is not None and state.report.stream is not None:
        state.report.emit({"event": "end"})
        state.report.stream.close()
    if config.stash.get(GUARDED, False):
        netguard.deactivate()
        config.stash[GUARDED] = False


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    attempts = netguard.take()
    if attempts:
        report.outcome, report.longrepr = "failed", network_message(attempts)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test phase in which the network was tried fails (once), naming every host, even
    where the code under test swallowed the refusal."""
    report = yield
    attempts = netguard.take()
    if attempts and report.failed:
        report.sections.append(("stackqual network guard", network_message(attempts)))
    elif attempts:
        report.outcome, report.longrepr = "failed", network_message(attempts)
    return report


def declared_tolerances(config) -> dict:
    """Every timed metric's tolerance: the harness's and those the suites declare in their
    suite.toml (stackqual.declared)."""
    try:
        return declared.tolerances(suites_dir(config), policy.PERF_TOLERANCE)
    except declared.Malformed as e:
        raise pytest.UsageError(str(e)) from None


def _perf_options(config, fingerprint: dict) -> PerfOptions:
    tolerances, known = {}, declared_tolerances(config)
    for item in config.getoption("perf_tolerance"):
        name, _, value = item.partition("=")
        if name not in known:
            raise pytest.UsageError(f"--perf-tolerance {item!r}: unknown check {name!r}; "
                                    f"known: {', '.join(sorted(known))}")
        try:
            fraction = float(value)
        except ValueError:
            fraction = math.nan  # fails the range check below
        if not 0 <= fraction < 1:
            raise pytest.UsageError(f"--perf-tolerance {item!r}: expected {name}=FRACTION "
                                    "with 0 <= FRACTION < 1, e.g. speedup=0.15")
        tolerances[name] = fraction
    max_time, min_rounds = config.getoption("perf_max_time"), config.getoption("perf_min_rounds")
    if max_time <= 0 or min_rounds < 5:
        raise pytest.UsageError(f"--perf-max-time must be > 0 (got {max_time}) and "
                                f"--perf-min-rounds >= 5 (got {min_rounds}): an interval "
                                "needs rounds")
    timing_config = timing.TimingConfig(min_rounds=min_rounds, max_time_s=max_time,
                                        l2_flush=config.getoption("perf_l2_flush"))
    return PerfOptions(timing=timing_config, tolerances=tolerances, known=known,
                       inconclusive_fails=config.getoption("perf_inconclusive") == "fail",
                       fingerprint=fingerprint)


def _resolve(config, option: str, default: Path) -> Path:
    value = config.getoption(option)
    return Path(value).resolve() if value else default


def pytest_addhooks(pluginmanager):
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config):
    for line in capabilities.MARKERS:
        config.addinivalue_line("markers", line)
    if hasattr(config, "workerinput"):  # pragma: no cover - xdist workers
        raise pytest.UsageError("stackqual does not run under pytest-xdist: timings and "
                                "baseline writes need one process")
    old = supported.below_floor()
    if old:
        raise pytest.UsageError("; ".join(old))
    rootdir = Path(config.rootpath)
    remember_stop_signals()
    guard_on(config, config.getoption("online"))
    assets.configure(config.getoption("asset"), online=config.getoption("online"))

    threads = config.getoption("threads")
    if threads is None:
        threads = len(os.sched_getaffinity(0))
    if threads < 1:
        raise pytest.UsageError(f"--threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)

    cache = config.getoption("inductor_cache")
    if cache or "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        cache_dir = Path(cache).resolve() if cache else rootdir / ".stackqual-cache" / "inductor"
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)

    name = config.getoption("profile")
    try:
        prof = profile.validate_profile_name(name) if name else profile.detect_profile()
    except ValueError as e:
        raise pytest.UsageError(f"--profile: {e}") from None

    baselines_root = _resolve(config, "baselines_dir", rootdir / "baselines")
    update = config.getoption("update_baselines")
    if config.getoption("baselines_dir") and not update and not baselines_root.is_dir():
        raise pytest.UsageError(
            f"--baselines-dir {config.getoption('baselines_dir')}: {baselines_root} is not an "
            "existing folder; give the folder that holds <profile>/<suite>.json (with "
            "--update-baselines a new one is created)")
    try:
        store = BaselineStore(baselines_root, prof)
    except BaselineError as e:
        raise pytest.UsageError(f"malformed baseline file: {e}") from None
    problem = write_problem(store.dir) if update else None
    if problem:
        raise pytest.UsageError(
            f"--update-baselines: the baselines of profile {prof!r} cannot be written "
            f"({problem}); nothing was run. Make {store.dir} writable, or record into a "
            "writable copy with --baselines-dir")

    report_dir = None if config.getoption("no_report") else _resolve(
        config, "report_dir", rootdir / "reports")
    problem = write_problem(report_dir) if report_dir else None
    if problem:
        raise pytest.UsageError(f"--report-dir: the run report cannot be written ({problem}); "
                                "give a writable folder, or --no-report")
    allocator = timing.fix_allocator()
    fp = {**profile.fingerprint(), "allocator": allocator}
    state = State(
        profile=prof, profile_source="--profile" if name else "detected", store=store,
        report=RunReport(prof, fp, ["pytest", *config.invocation_params.args]),
        update=update, report_dir=report_dir, perf=_perf_options(config, fp),
        config=config)
    state.report.calibrations = state.perf.calibrations
    state.suite_packages = suite_packages(config)
    state.report.suite_packages = {k: list(v) for k, v in state.suite_packages.items()}
    state.report.environment = profile.environment_check()
    stream = config.getoption("report_stream")
    if stream:
        try:
            state.report.stream = open(stream, "a", buffering=1)
        except OSError as e:
            raise pytest.UsageError(f"--report-stream {stream}: cannot be written ({e})") from None
        state.report.emit({"event": "session", "profile": prof, "fingerprint": fp,
                           "environment": state.report.environment})
    config.stash[STATE] = state
    config.pluginmanager.register(state, "stackqual-state")
    benchmarks.configure(config, baselines_root, rootdir / ".stackqual-cache" / "benchmarks",
                         prof, fp, update)


def pytest_report_header(config):
    state = config.stash[STATE]
    fp = state.report.fingerprint
    perf = state.perf.timing
    lines = [
        f"stackqual profile: {state.profile} ({state.profile_source}); baselines: "
        f"{state.store.dir} ({len(state.store.files)} files)"
        + ("; --update-baselines: ON, passing tests overwrite their values"
           if state.update else ""),
        f"stack: python {fp['python']}, torch {fp['torch']} (CUDA {fp['cuda']}), "
        f"threads {fp['torch_threads']}, cpu {fp['cpu']} ({fp['cpu_capability']})"
        + (f", gpu {fp['gpu']} sm{fp['compute_capability']}, driver {fp['driver']}, "
           f"cudnn {fp['cudnn']}" if "gpu" in fp else ""),
        "packages: " + ", ".join(f"{k} {v}" for k, v in fp["packages"].items()),
        f"stackqual timing: interleaved A/B, {perf.min_rounds}-round batches up to "
        f"{perf.max_rounds} rounds or {perf.max_time_s:g} s, {perf.confidence:.0%} bootstrap "
        f"interval; tolerances " + ", ".join(
            f"{name} {state.perf.tolerances.get(name, t.band):.0%}"
            for name, t in sorted(state.perf.known.items()))
        + " (pytest-benchmark's timer defaults do not apply to these)",
    ]
    if not state.store.files and not state.update:
        lines.append(f"stackqual: no baselines recorded for profile {state.profile!r}: baseline "
                     "checks will skip; record them with --update-baselines")
    environment = state.report.environment
    if environment.get("pip_check") != "ok":
        lines.append(f"stackqual: pip check {environment.get('pip_check')}: "
                     + "; ".join(environment.get("problems") or [environment.get("why", "")])
                     + (" (a conflict fails the run only where it involves a package of a "
                        "collected suite: judged when the run ends)"
                        if environment.get("pip_check") == "broken" else ""))
    for suite, bf in sorted(state.store.files.items()):
        diffs = profile.fingerprint_differences(bf.fingerprint, fp,
                                                packages=state.suite_packages.get(suite))
        if diffs:
            lines.append(f"stackqual: {shown(bf.path)} was recorded under another stack: "
                         + "; ".join(diffs))
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """An interrupted or failed --snapshot-update run prunes no snapshot: syrupy (at its
    own session finish, after this) would delete as "unused" the snapshots of every test
    that did not run; its --snapshot-no-cleanup option is set for it."""
    if exitstatus != pytest.ExitCode.OK and getattr(session.config.option,
                                                     "update_snapshots", False):
        session.config.option.no_cleanup = True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Every collected case, before -k/-m deselect any, so that a recorded key no test
    produces any more can be told from one this run merely did not select. A file named
    with a test selector (`file.py::test`) was not collected in full and is left out."""
    state = config.stash[STATE]
    if config.pluginmanager.hasplugin("timeout") and config.getoption("timeout", None):
        slow_s = policy.TEST_TIMEOUT_S["slow"][0]
        for item in items:  # per kind of test: pytest-timeout reads the closest marker
            if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(slow_s))
    here = Path(config.invocation_params.dir)
    partial = {(here / arg.split("::")[0]).resolve() for arg in config.args if "::" in arg}
    for item in items:
        if item.path.resolve() not in partial:
            suite, case = suite_and_case(config, item.nodeid)
            state.collected.setdefault(suite, set()).add(case)


def pytest_itemcollected(item):
    """A test that takes a timing (the `perf` fixture) is marked `timed`: `-m timed` is
    the timed tier that `stackqual ab` runs under two stacks."""
    if "perf" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.timed)


def pytest_collection_finish(session):
    assets.check_given()
    keep_stop_signals()


def pytest_runtest_logfinish(nodeid, location):
    keep_stop_signals()


# The stop signals a scheduler sends (a time limit, an eviction) and Ctrl-C.
STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")
_handlers: dict = {}  # name -> the handler the run started with


def keep_stop_signals() -> None:
    """A framework may replace the process's stop-signal handlers when it is imported
    (CrewAI's telemetry does: SIGTERM then raised SystemExit(0) in the main thread, and a
    run of the self-tests ignored it). The handlers the run started with are put back after
    collection and after each test, so a terminated run ends promptly, non-zero."""
    import signal

    for name, handler in _handlers.items():
        sig = getattr(signal, name)
        if signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


def remember_stop_signals() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        _handlers.update({name: signal.getsignal(getattr(signal, name))
                          for name in STOP_SIGNALS if hasattr(signal, name)})


def pytest_runtest_setup(item):
    reason = capabilities.skip_reason(item)
    if reason:
        pytest.skip(reason)


def suite_and_case(config, nodeid: str) -> tuple[str, str]:
    """`suites/compile/test_x.py::test_y[a]` -> ("compile", "test_x.py::test_y[a]"), for
    the suites folder `suites`. Outside it, the suite is the test file's folder name."""
    path, _, rest = nodeid.partition("::")
    parts = Path(path).parts
    try:  # the ini option may be absolute (qualify --suites-dir)
        prefix = suites_dir(config).resolve().relative_to(Path(config.rootpath).resolve()).parts
    except ValueError:  # a suites folder outside the rootdir: each test file's folder
        prefix = None
    if prefix is not None and len(parts) >= len(prefix) + 2 and parts[:len(prefix)] == prefix:
        return parts[len(prefix)], "/".join(parts[len(prefix) + 1:]) + "::" + rest
    folder = (Path(config.rootpath) / path).parent.name
    return folder, Path(path).name + "::" + rest


@pytest.fixture
def gate(request) -> Gate:
    """Record measurements and apply policy and baseline gates for this test."""
    state = request.config.stash[STATE]
    suite, case_id = suite_and_case(request.config, request.node.nodeid)
    return Gate(nodeid=request.node.nodeid, suite=suite, case_id=case_id, store=state.store,
                report=state.report, update=state.update)


@pytest.fixture
def perf(request, gate, benchmark) -> PerfGate:
    """Timed comparisons (stackqual.timing) gated against this profile's baselines; a test
    using it is a pytest-benchmark benchmark (--benchmark-only/-skip/-json/-compare)."""
    return PerfGate(gate, request.config.stash[STATE].perf, benchmark)
