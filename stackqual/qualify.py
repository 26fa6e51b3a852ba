"""`stackqual qualify`: is this node good? One verdict an operator can trust.

1. Health preflight (stackqual.health): the machine is quiet, the GPUs NVML reports are
   healthy (ECC, row remapping, throttling under load, PCIe link, ...). A busy machine is
   not qualified (exit 2) and the suites are not run; a failed health check fails the node
   (exit 1) and the suites are not run: a sick node's figures mean nothing.
2. Each suite in its own process (`suites/<name>`, the hardware suite first), so that a
   segfault or a sticky CUDA error ends that suite only; a per-test timeout
   (pytest-timeout, thread method: a call blocked in CUDA is interrupted, and every
   thread's stack is dumped into the suite's log); each suite streams one JSON line per
   test and check as it goes (--report-stream), so a crash keeps all it measured; JUnit
   XML per suite for CI systems.
3. The verdict, strict: a check or test that failed, a health check that failed -> 1; a
   suite that crashed or timed out -> 3; a check that could not be judged (no baseline on
   this profile, a timing still inconclusive or not comparable, a busy machine, a missing
   GPU) -> 2, each listed with why and what to do; else 0.

`--record` runs the suites with --update-baselines instead: a new profile's baselines,
on a node you trust (review and commit them); no timing is recorded from a busy machine
or a shared host's slow phase. `--each-gpu` qualifies every visible GPU in turn, in
processes that see only it (stackqual.devices), with one node verdict naming the worst
device. Everything lands in `reports/qualify-<profile>-<node>-<time>/`: summary.md (read
in a minute: the verdict, every check that is not a pass, one line per suite),
verdict.json (what `stackqual fleet` merges), health.json, and per suite (per device) its
run report, stream, JUnit XML and log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import (benchmarks, declared, devices, exits, health, plugin, policy, readers,
               suite_process, usage)
from .exits import WORST_FIRST, Exit, epilog, worst
from .health import Health
from .suite_process import read_events
from .verdicts import BLOCKING, UNJUDGED, Verdict

FAILED, NOT_JUDGED, BROKE = Exit.FAILED.word, Exit.NOT_JUDGED.word, Exit.BROKE.word
HELP = f"""{epilog("qualify")}
Arguments after `--` go to each suite's pytest, e.g.
  stackqual qualify --suite hardware -- -m "not slow"."""


@dataclass
class Item:
    """One thing that is not a pass, as the summary lists it."""
    kind: str  # failed, not judged or broke: the word of the Exit it leads to
    where: str
    why: str


@dataclass
class SuiteRun:
    name: str
    device: str = ""  # with --each-gpu: the device it ran on ("gpu3"), else ""
    returncode: int | None = None
    seconds: float = 0.0
    broke: str = ""
    events: list = field(default_factory=list)
    folder: Path = Path(".")

    @property
    def tests(self) -> dict:
        """nodeid -> the last outcome streamed (a failure in teardown counts)."""
        outcomes = {}
        for e in self.events:
            if e.get("event") == "test":
                if e["outcome"] != "passed" or e["nodeid"] not in outcomes:
                    outcomes[e["nodeid"]] = e
        return outcomes

    @property
    def checks(self) -> list:
        return [e for e in self.events if e.get("event") == "check"]


def discover(suites_dir: Path, only: list[str]) -> list[str]:
    """The suites to run, those that declare `first` (stackqual.declared) first; a usage
    error names an unknown one."""
    names = sorted(p.name for p in suites_dir.iterdir()
                   if p.is_dir() and any(p.glob("test_*.py")))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise UsageProblem(f"--suite {', '.join(unknown)}: no such suite in {suites_dir} "
                               f"(there are: {', '.join(names)})")
        names = [n for n in names if n in only]
    return sorted(names, key=lambda n: (not declared.qualify_place(suites_dir / n)["first"], n))


class UsageProblem(Exception):
    """A usage error found after parsing: exit 4, one line, nothing run."""


def pytest_usage_problem(suites_dir: Path, first: str, pytest_args: list[str]) -> str | None:
    """Whether pytest itself refuses the arguments after `--` (an unknown option, a path that
    does not exist): asked once, by collecting the first suite, before anything runs."""
    if not pytest_args:
        return None
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *suite_process.plugins_off(),
         "--no-report", *suite_process.declarations_of(suites_dir), str(suites_dir / first),
         *pytest_args],
        cwd=suites_dir.parent, capture_output=True, text=True,
        env={**os.environ, plugin.ENV: "1"})
    if done.returncode != 4:  # pytest's ExitCode.USAGE_ERROR
        return None
    said = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines()
            if "error:" in line.lower()]
    return f"pytest refused the arguments after `--`: {said[-1] if said else 'exit 4'}"


def _progress(run: SuiteRun, index: int, total: int, started: float, events: list) -> str:
    where = f"{run.device} " if run.device else ""
    done = len({e["nodeid"] for e in events if e.get("event") == "test"})
    current = next((e["nodeid"] for e in reversed(events) if e.get("event") == "start"), "")
    elapsed = time.monotonic() - started
    minutes, seconds = divmod(int(elapsed), 60)
    return (f"[{index}/{total}] {where}{run.name}: {done} tests done, {minutes}:{seconds:02d} "
            "elapsed" + (f", on {current.split('::')[-1][:60]}" if current else ""))


def run_suite(name: str, index: int, total: int, suites_dir: Path, out: Path,
              pytest_args: list[str], suite_timeout_s: float, started: float,
              device: devices.Device | None = None) -> SuiteRun:
    run = SuiteRun(name, device.label if device else "", folder=out / name)
    run.folder.mkdir(parents=True, exist_ok=True)
    stream, log = run.folder / suite_process.STREAM, run.folder / suite_process.LOG
    cmd = suite_process.command(
        sys.executable, [str(suites_dir / name)], run.folder,
        [*suite_process.declarations_of(suites_dir), *pytest_args])
    t0 = time.monotonic()
    tty = sys.stdout.isatty()
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, cwd=suites_dir.parent, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, plugin.ENV: "1",
                                     **(device.environ() if device else {})})
        last_shown = 0.0
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                if now - t0 > suite_timeout_s:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    run.broke = (f"the suite ran past its {suite_timeout_s:.0f} s limit "
                                 "(--suite-timeout) and was killed")
                    break
                if tty or now - last_shown >= 30:
                    line = _progress(run, index, total, started, read_events(stream))
                    print(f"\r{line[:120]:<120}" if tty else line, end="" if tty else "\n",
                          flush=True)
                    last_shown = now
        except Interrupted as e:  # the suite runs in its own session: stop it too
            stop(proc)
            run.returncode, run.seconds = proc.returncode, time.monotonic() - t0
            run.events = read_events(stream)
            run.broke = f"interrupted by {e.signal} while this suite ran (its processes stopped)"
            e.run = run
            raise
    if tty:
        print("\r" + " " * 120 + "\r", end="")
    run.returncode, run.seconds = proc.returncode, time.monotonic() - t0
    run.events = read_events(stream)
    run.broke = run.broke or suite_process.broke(run.returncode, run.events,
                                                 log.read_text(errors="replace"), run.folder)
    return run


class Interrupted(Exception):
    """SIGTERM, SIGINT or SIGHUP reached qualify (a scheduler's time limit, an eviction,
    Ctrl-C): the run stops, its suite processes too, and the verdict says so."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signal = signal.Signals(signum).name
        self.run: SuiteRun | None = None


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_S = 5.0  # a suite's pytest ends at once on SIGTERM; SIGKILL after this


def stop(proc: subprocess.Popen) -> None:
    """End a suite's process group: SIGTERM, then SIGKILL after the grace period."""
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def stopped_by_signals():
    """While qualify runs, the stop signals raise Interrupted once (a second one while it
    winds down is ignored: the verdict is being written)."""
    said = []

    def interrupt(signum, frame):
        if not said:
            said.append(signum)
            raise Interrupted(signum)
    before = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def judge(checks: list[health.Health], runs: list[SuiteRun]) -> tuple[int, list[Item]]:
    items = []
    for h in checks:
        if h.verdict in BLOCKING:
            items.append(Item(FAILED, f"health: {h.name}", h.reason))
        elif h.verdict in UNJUDGED:
            items.append(Item(NOT_JUDGED, f"health: {h.name}", h.reason))
    for run in runs:
        before = len(items)
        at = f"{run.device}: " if run.device else ""
        if run.broke:
            items.append(Item(BROKE, at + run.name, run.broke))
        failed_by_check = set()
        for c in run.checks:
            if c["verdict"] in BLOCKING:
                failed_by_check.add(c["nodeid"])
                items.append(Item(FAILED, at + c["check_id"], c["message"] or c["verdict"]))
            elif c["verdict"] in UNJUDGED:
                items.append(Item(NOT_JUDGED, at + c["check_id"], f"{c['verdict']}: "
                                  + (c["message"] or _no_baseline(c))))
        for nodeid, t in run.tests.items():
            if t["outcome"] == "failed" and nodeid not in failed_by_check:
                items.append(Item(FAILED, at + nodeid, t.get("reason", "")))
        skipped = [t.get("reason", "") for t in run.tests.values()
                   if t["outcome"] == "skipped"]
        if run.returncode == 5 and skipped and len(items) == before:  # not already said why
            reasons = "; ".join(f"{n} x {why}" if n > 1 else why for why, n in
                                Counter(skipped).most_common(3))
            items.append(Item(NOT_JUDGED, at + run.name,
                              f"nothing was judged: every test skipped ({reasons})"))
    if runs and not any(run.tests or run.broke for run in runs):  # a crash said its own
        items.append(Item(NOT_JUDGED, "qualify", "no test was selected in any suite (the "
                          "pytest arguments after `--` deselected them all)"))
    code = worst(e for e in Exit if e.word in {i.kind for i in items})
    order = [e.word for e in WORST_FIRST]
    return code, sorted(items, key=lambda i: order.index(i.kind))


def _no_baseline(check: dict) -> str:
    return (f"no baseline on this profile ({check.get('source', '')}): record it on a "
            "trusted node with `stackqual qualify --record`")


def meaning(code: int, record: bool = False, interrupted=None) -> str:
    if interrupted:
        return f"interrupted by {interrupted.signal}: not qualified, the run did not finish"
    if record and code == 0:
        return "this profile's baselines were recorded (not a qualification): review and commit"
    return exits.meaning("qualify", code)


def summary(code: int, items: list[Item], checks: list[health.Health], runs: list[SuiteRun],
            profile_name: str, command: str, seconds: float, record: bool = False,
            node: str = "", per_device: list | None = None, worst_device: dict | None = None,
            interrupted=None) -> str:
    title = (("BASELINES RECORDED" if record else "QUALIFIED") if code == 0 else
             "INTERRUPTED" if interrupted else "NOT QUALIFIED")
    lines = [f"# Node {title}: exit {code}, {meaning(code, record, interrupted)}", "",
             f"Node `{node}`, profile `{profile_name}`, {seconds / 60:.1f} min. Command: "
             f"`{command}`", ""]
    if worst_device and worst_device["exit"]:
        lines += [f"Worst device: **{worst_device['described']}**, exit {worst_device['exit']} "
                  f"({len(worst_device['not_a_pass'])} not a pass).", ""]
    if per_device:
        lines += ["## Devices", "", "| device | uuid | serial | exit | not a pass |",
                  "|---|---|---|---|---|"]
        lines += [f"| {d['label']} (CUDA_VISIBLE_DEVICES={d['visible']}) | {d['uuid'] or ''} | "
                  f"{d['serial'] or ''} | {d['exit']} | {len(d['not_a_pass'])} |"
                  for d in per_device]
        lines.append("")
    if items:
        lines += [f"## Not a pass ({len(items)})", "", "| | what | why |", "|---|---|---|"]
        lines += [f"| {i.kind} | `{i.where}` | {i.why.replace('|', '/')[:400]} |"
                  for i in items]
        lines.append("")
    lines += ["## Suites", "", "| suite | tests passed / failed / skipped | checks | time | "
              "process |", "|---|---|---|---|---|"]
    for run in runs:
        outcomes = [t["outcome"] for t in run.tests.values()]
        verdicts = [c["verdict"] for c in run.checks]
        where = f"{run.device} {run.name}" if run.device else run.name
        lines.append(f"| {where} | {outcomes.count('passed')} / {outcomes.count('failed')} / "
                     f"{outcomes.count('skipped')} | {len(verdicts)} ("
                     f"{sum(v in BLOCKING for v in verdicts)} failed, "
                     f"{sum(v in UNJUDGED for v in verdicts)} not judged) | {run.seconds:.0f} s"
                     f" | {'BROKE: ' + run.broke[:80] if run.broke else f'exit {run.returncode}'}"
                     f" |")
    lines += ["", "## Health", "", "| check | verdict | value | why |", "|---|---|---|---|"]
    lines += [f"| {h.name} | {h.verdict} | {h.value} | {h.reason} |" for h in checks]
    lines += ["", "Each suite's full report (every check, measured and expected), its stream, "
              "JUnit XML and pytest log are in its folder next to this file."]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = usage.Parser(prog="stackqual qualify", description=__doc__, epilog=HELP)
    p.add_argument("--record", action="store_true",
                   help="record this profile's baselines (--update-baselines) on a trusted "
                        "node instead of judging it")
    p.add_argument("--expect-gpus", type=usage.positive_int, metavar="N",
                   help="the number of GPUs this node must have")
    p.add_argument("--each-gpu", action="store_true",
                   help="qualify every visible GPU in turn, its suites in processes that see "
                        "only it; one node verdict naming the worst device")
    p.add_argument("--node", metavar="NAME",
                   help="the node's name in the report (default: the host name); "
                        "`stackqual fleet` tells nodes apart by it")
    p.add_argument("--suite", action="append", default=[], metavar="NAME",
                   help="only this suite (repeatable; default: all)")
    p.add_argument("--suites-dir", default=None, metavar="PATH",
                   help="the folder of suites (default: the checkout's suites/)")
    usage.report_dir(p, "the qualification folder")
    p.add_argument("--profile", metavar="NAME", type=_profile_name,
                   help="the hardware profile to judge against (default: detected); passed "
                        "to each suite's pytest")
    p.add_argument("--baselines-dir", metavar="PATH",
                   help="the baselines' root (default: the checkout's baselines/); passed "
                        "to each suite's pytest")
    p.add_argument("--suite-timeout", type=usage.seconds, default=policy.SUITE_TIMEOUT_S[0],
                   metavar="S", help="wall-clock limit of one suite's process "
                                     "(default: %(default)s)")
    p.add_argument("--quiet-seconds", type=usage.seconds, default=2.0, metavar="S",
                   help="how long the preflight watches other processes' load (default 2)")
    return p


def _profile_name(name: str) -> str:
    from . import profile

    try:
        return profile.validate_profile_name(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: list[str], repo: Path) -> int:
    args, pytest_args = usage.parse(parser(), argv)
    suites_dir = Path(args.suites_dir).resolve() if args.suites_dir else \
        declared.configured_dir(repo)
    if not suites_dir.is_dir():
        return usage.refuse("stackqual qualify", f"{suites_dir} is not a folder of suites; "
                            "run it from a checkout (or give --suites-dir)")
    try:
        names = discover(suites_dir, args.suite)
    except UsageProblem as e:
        return usage.refuse("stackqual qualify", str(e))
    refused = pytest_usage_problem(suites_dir, names[0], pytest_args) if names else None
    if refused:
        return usage.refuse("stackqual qualify", refused)
    pytest_args = [*(["--profile", args.profile] if args.profile else []),
                   *(["--baselines-dir", args.baselines_dir] if args.baselines_dir else []),
                   *pytest_args]
    from . import profile

    profile_name = args.profile or profile.detect_profile()
    node = args.node or socket.gethostname()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report_root = Path(args.report_dir).resolve() if args.report_dir else repo / "reports"
    try:
        out = new_folder(report_root / f"qualify-{profile_name}-{_safe(node)}-{stamp}")
    except OSError as e:
        return usage.refuse("stackqual qualify", f"--report-dir {report_root}: the "
                            f"qualification folder cannot be created ({e})")
    started = time.monotonic()
    command = " ".join(["stackqual", "qualify", *argv])
    print(f"stackqual qualify: node {node}, profile {profile_name}, suites "
          f"{', '.join(names)}; writing {out}", flush=True)

    with stopped_by_signals():
        try:
            checks, gpus, runs = [], [None], []
            _run(args, checks, gpus, runs, names, suites_dir, out, pytest_args, repo,
                 profile_name, started)
            interrupted = None
        except Interrupted as e:
            interrupted = e
            runs += [e.run] if e.run else []
            print(f"\nstackqual qualify: interrupted by {e.signal}; writing the verdict",
                  flush=True)
        return _verdict(args, checks, gpus, runs, out, profile_name, node, command, started,
                        interrupted)


def _run(args, checks: list, gpus: list, runs: list, names: list[str], suites_dir: Path,
         out: Path, pytest_args: list[str], repo: Path, profile_name: str,
         started: float) -> None:
    """The health preflight, then each suite; fills `checks`, `gpus` and `runs` as it goes
    (an interruption keeps what was done)."""
    checks += health.preflight(args.expect_gpus, args.quiet_seconds)
    if args.each_gpu:
        gpus[:] = each_gpu(checks)
    (out / "health.json").write_text(json.dumps([h.as_dict() for h in checks], indent=2,
                                                default=str) + "\n")
    for h in checks:
        if h.verdict in BLOCKING | UNJUDGED:
            print(f"health: {h.name}: {h.verdict}: {h.reason}", flush=True)
    if not any(h.verdict in BLOCKING | UNJUDGED for h in checks):
        extra = ["--update-baselines"] if args.record else []
        baselines_root = Path(args.baselines_dir).resolve() if args.baselines_dir else \
            repo / "baselines"
        saved = baselines_root / profile_name / "benchmarks"
        saved_before = benchmarks.saved_runs(saved)
        args_each = [*extra, *pytest_args]
        if args.each_gpu:  # per GPU all but the whole-node tests, which run once after
            args_each = plugin.narrowed(args_each, "not whole_node")
        # In turn, never side by side: the timed checks of two GPUs would share the CPUs
        # (dispatch, the calibration's yardsticks) and each would see the other as load.
        for gpu in gpus:
            folder = out / gpu.label if gpu else out
            if gpu:
                print(f"{gpu.describe()}: CUDA_VISIBLE_DEVICES={gpu.visible}", flush=True)
            for i, name in enumerate(names, 1):
                run = run_suite(name, i, len(names), suites_dir, folder, args_each,
                                args.suite_timeout, started, gpu)
                runs.append(run)
                print(f"[{i}/{len(names)}] {run.device + ' ' if gpu else ''}{name}: exit "
                      f"{run.returncode}, {run.seconds:.0f} s"
                      + (f", BROKE: {run.broke}" if run.broke else ""), flush=True)
        whole = [n for n in names if declared.qualify_place(suites_dir / n)["whole_node"]]
        for name in whole if len(gpus) >= 2 else []:  # e.g. an interconnect: all GPUs at once
            run = run_suite(name, 1, 1, suites_dir, out / "node",
                            plugin.narrowed([*extra, *pytest_args], "whole_node"),
                            args.suite_timeout, started, devices.whole_node(gpus))
            runs.append(run)
            print(f"[node] {name} (whole node): exit {run.returncode}, {run.seconds:.0f} s"
                  + (f", BROKE: {run.broke}" if run.broke else ""), flush=True)
        if args.record:  # each suite's process saved its part of the benchmark run
            benchmarks.merge_saved(list(benchmarks.saved_runs(saved) - saved_before))
    else:
        failed = any(h.verdict in BLOCKING for h in checks)
        print("the suites were not run: the node " + ("failed its health preflight" if failed
              else "could not be judged (above)"), flush=True)


def _verdict(args, checks: list, gpus: list, runs: list, out: Path, profile_name: str,
             node: str, command: str, started: float, interrupted: Interrupted | None) -> int:
    """summary.md and verdict.json, and the exit code."""
    from . import profile

    code, items = judge(checks, runs)
    if interrupted:
        items.insert(0, Item(BROKE, "qualify", f"interrupted by {interrupted.signal}: the "
                             "run stopped before its end; what was measured is kept"))
        code = Exit.BROKE
    per_device = [device_verdict(gpu, checks, runs) for gpu in gpus if gpu]
    worst_device = max(per_device, key=lambda d: (-WORST_FIRST.index(d["exit"]),
                                                  len(d["not_a_pass"])), default=None)
    seconds = time.monotonic() - started
    text = summary(code, items, checks, runs, profile_name, command, seconds, args.record,
                   node, per_device, worst_device, interrupted)
    # A message may carry what a framework printed, surrogates included: never lose the
    # verdict to an encoding error.
    (out / "summary.md").write_text(text, encoding="utf-8", errors="backslashreplace")
    (out / "verdict.json").write_text(json.dumps(
        {**readers.header("qualify-verdict"),
         "exit": code, "verdict": meaning(code, args.record, interrupted), "node": node,
         "host": socket.gethostname(),
         "profile": profile_name, "command": command, "seconds": round(seconds, 1),
         "fingerprint": profile.fingerprint(), "not_a_pass": [vars(i) for i in items],
         "devices": per_device, "worst_device": worst_device and worst_device["label"],
         "suites": {f"{r.device}/{r.name}" if r.device else r.name:
                    {"returncode": r.returncode, "broke": r.broke, "device": r.device,
                     "seconds": round(r.seconds, 1),
                     "folder": str(r.folder.relative_to(out))} for r in runs}},
        indent=2, default=str) + "\n")
    for item in items[:20]:
        print(f"  {item.kind}: {item.where}: {item.why[:160]}")
    if len(items) > 20:
        print(f"  ... {len(items) - 20} more in {out / 'summary.md'}")
    if worst_device and worst_device["exit"]:
        print(f"worst device: {worst_device['described']}: exit {worst_device['exit']}")
    print(f"summary: {out / 'summary.md'}")
    print(f"stackqual qualify: exit {code}: {meaning(code, args.record, interrupted).upper()}"
          f" ({seconds / 60:.1f} min)")
    return code


def new_folder(path: Path) -> Path:
    """`path`, created now and by this run alone: two runs of one node that start in the
    same second get `path`, `path-2`, ... (never one folder, one verdict over the other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = path if n == 1 else path.with_name(f"{path.name}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: 999 folders of that name already exist")


def _safe(name: str) -> str:
    """A node name as part of a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "node"


def each_gpu(checks: list[health.Health]) -> list[devices.Device]:
    """The visible GPUs, one qualification each; none visible is a health check not
    judged (the operator asked for every GPU), an entry that is no GPU of this node a
    failed one."""
    nvml, _ = health.load_nvml()
    found = devices.visible(nvml)
    missing, who = devices.not_here(found, nvml)
    if missing:
        checks.append(Health("gpus to qualify", Verdict.FAIL, len(found) - len(missing),
                             f"CUDA_VISIBLE_DEVICES names {', '.join(missing)}, no GPU of this "
                             f"node ({who}): a GPU the job was given is not there (off the "
                             "bus?), or the list is wrong; nothing was qualified"))
        return []
    if found:
        checks.append(Health("gpus to qualify", Verdict.INFO, len(found),
                             "; ".join(d.describe() for d in found)))
    else:
        checks.append(Health("gpus to qualify", Verdict.NOT_JUDGED, 0,
                             "--each-gpu: no GPU is visible (CUDA_VISIBLE_DEVICES, NVML, "
                             "torch.cuda)"))
    return found


def device_verdict(gpu: devices.Device, checks: list[health.Health],
                   runs: list[SuiteRun]) -> dict:
    """One device's own verdict: its suites' runs and its NVML health checks."""
    prefix = None if gpu.nvml_index is None else f"gpu{gpu.nvml_index} "
    own = [h for h in checks if prefix and h.name.startswith(prefix)]
    code, items = judge(own, [r for r in runs if r.device == gpu.label])
    return {**gpu.as_dict(), "described": gpu.describe(), "exit": code,
            "verdict": exits.meaning("qualify", code), "not_a_pass": [vars(i) for i in items]}
