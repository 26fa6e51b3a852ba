"""`stackqual ab --base PYTHON --candidate PYTHON`: two stacks timed against each other.

Every timed check of a run compares two paths inside one stack (eager/compiled,
math/flash, model/yardstick), so an upgrade that makes both paths slower (a slower aten
kernel, oneDNN, cuBLAS) passes them all. `ab` times the same cases under two environments
(each named by its interpreter: a venv's or a tox env's `bin/python`) on this machine:

1. Processes alternate base, candidate, candidate, base, base, candidate, ... (`--rounds`
   pairs): slow drift of the machine's speed falls on both sides alike. Each process runs
   `<python> -m pytest -m timed` on the selection with an empty baselines folder (the
   first of each side `-m "timed or counted"`), as qualify runs a suite
   (stackqual.suite_process: each test under pytest-timeout; a process that crashed, ran
   a test past its timeout or ended without its run's end broke), so every timed check
   measures as it does in a run (stackqual.timing: interleaved rounds, fixed threads,
   synchronised) and every count counts, and nothing is judged; its run report keeps the
   absolute figures:
   per speed check each path's median time per call, per compile time its CPU seconds, per
   rate its median.
2. Per figure, the candidate/base ratio of its time from the pairs of adjacent processes:
   their geometric mean with its 95% Student's t interval (`pairs_interval`; each pair of
   processes is one sample, and there are few), judged by stackqual.timed with the band
   around 1 that the same check's in-process gate uses (recorded with the check): regressed (the
   whole interval above 1 + tolerance, on a quiet machine), improved, pass, or
   inconclusive, each with its minimum detectable change. A figure measured while other
   processes used more than `policy.BUSY_MACHINE_MAX` of the CPUs is never "regressed".
3. Per exact count (a `counted` test's check: the kernels inductor generated, the
   instructions per call), the two stacks' counts, no clock involved (`judge_count`):
   regressed when the candidate's exceeds the base's by more than the check's own
   tolerance, or a set of names gained one.

Output: `reports/ab-<profile>-<time>/` with ab.json (read by `stackqual compare --ab`),
ab.md and each process's run report and log. Exit 0 nothing regressed and every figure
judged; 1 a figure or count regressed; 2 some figure inconclusive or measured on one side
only; 3 a process broke (crashed, or its pytest could not run); 4 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import declared, intervals, plugin, profile, readers, suite_process, timed, usage
from .exits import Exit, epilog, meaning
from .figures import Count, Figure, counts, figures
from .judge import MEMBERS, smallest_growth
from .verdicts import BLOCKING, PASSING, UNJUDGED, Verdict

SIDES = ("base", "candidate")
# The tests each side's first process runs; the others run the timed ones only: a count is
# exact (the suites measure that), so one process per side counts it (markers:
# stackqual.capabilities).
TIERS = "(timed or counted)"


def order(rounds: int) -> list[str]:
    """base, candidate, candidate, base, ...: `rounds` pairs of adjacent processes."""
    return [SIDES[(i + i // 2) % 2] for i in range(2 * rounds)]


@dataclass
class Process:
    side: str
    index: int  # the n-th process of its side
    folder: Path
    returncode: int | None = None
    seconds: float = 0.0
    report: dict = field(default_factory=dict)
    broke: str = ""


def run_process(python: str, side: str, index: int, out: Path, repo: Path,
                pytest_args: list[str]) -> Process:
    proc = Process(side, index, out / f"{side}-{index}")
    proc.folder.mkdir(parents=True)
    empty = proc.folder / "no-baselines"
    empty.mkdir()
    cmd = suite_process.command(
        python, [], proc.folder, ["-q", "--baselines-dir", str(empty),
                                  *plugin.narrowed(pytest_args, TIERS if index == 1 else "timed")])
    start = time.monotonic()
    log = proc.folder / suite_process.LOG
    with open(log, "w") as out_file:
        done = subprocess.run(cmd, cwd=repo, stdout=out_file, stderr=subprocess.STDOUT,
                              env={**os.environ, plugin.ENV: "1"})
    proc.returncode, proc.seconds = done.returncode, time.monotonic() - start
    reports = sorted(proc.folder.glob("stackqual-*.json"))
    if reports:
        proc.report = json.loads(reports[-1].read_text())
    # The same rule as qualify's (stackqual.suite_process); pytest's exit 5 without a report
    # ended its run having selected nothing (a later process of a side whose selection has
    # only counted tests), not broken. A run that ended with tests and no report broke.
    why = suite_process.broke_in(proc.folder, done.returncode)
    if not why and not reports and done.returncode != 5:
        why = f"exited {done.returncode} without a run report"
    if why:
        proc.broke = f"{side} process {index} ({python}): {why}"
    return proc


@dataclass
class Case:
    name: str
    suite: str
    unit: str
    base: list[float]
    candidate: list[float]
    verdict: Verdict
    ratio: float | None = None  # candidate time / base time
    low: float | None = None
    high: float | None = None
    detectable: float | None = None  # minimum detectable slowdown, a fraction
    tolerance: float | None = None  # the band above 1: the check's in-process tolerance
    message: str = ""


# A figure's band is its check's in-process tolerance (stackqual/policy.py PERF_TOLERANCE or
# the suite's suite.toml: 10% for each path of a speed check, 35% for the models' paths, 50%
# for compile times, 35% for CPU rates), recorded with the check. Measured with one environment on
# both sides, the whole CPU timed tier, 3 pairs (2026-11-29, the 2-vCPU CI VM): the pair
# ratios stayed within 0.92-1.09 for the speed paths (the MLP excepted, 1.3 ms a call: one
# pair at 0.80), 0.97-1.03 for the models' paths, 0.91-1.10 for compile times and 0.84-1.17
# for the hardware rates, each inside its band; no figure was called regressed.
def judge_case(name: str, base: dict[int, Figure], candidate: dict[int, Figure]) -> Case:
    """The candidate/base time ratio of one figure over the pairs of adjacent processes
    (base and candidate process k of `order`), each side keyed by its process number."""
    some = next(iter({**base, **candidate}.values()))
    paired = sorted(set(base) & set(candidate))
    case = Case(name, some.suite, some.unit, [base[k].value for k in sorted(base)],
                [candidate[k].value for k in sorted(candidate)], Verdict.INCONCLUSIVE)
    if len(paired) < 2:
        case.message = (f"{name}: measured in {len(base)} base and {len(candidate)} candidate "
                        f"processes, {len(paired)} adjacent pairs; a ratio needs at least two "
                        "pairs (the processes' logs say why a figure is missing)")
        return case
    base, candidate = [base[k] for k in paired], [candidate[k] for k in paired]
    ratio, low, high = pairs_interval([f.seconds for f in candidate], [f.seconds for f in base])
    busy = [f.others_busy for f in (*base, *candidate) if f.others_busy is not None]
    if some.tolerance is None:
        case.message = (f"{name}: its check recorded no tolerance (a report of an earlier "
                        "stackqual?), so there is no band to judge the ratio by")
        return case
    tol = case.tolerance = some.tolerance
    source = "its check's own in-process tolerance, recorded with the check"
    shown = "s" if some.unit == "s" else f" {some.unit}"
    m = timed.Measured(
        round(ratio, 4), low, high,
        f"candidate/base time = {ratio:.3f} [{low:.3f}, {high:.3f}] (95% t-interval over "
        f"{len(base)} pairs of processes; base {_range(case.base)}{shown}, candidate "
        f"{_range(case.candidate)}{shown})", max(busy) if busy else None)
    band = timed.Band(1.0, tol, higher_is_better=False, source=source)
    judgement = timed.judge("time", m, band)
    case.verdict, case.message = judgement.verdict, judgement.message
    case.ratio, case.low, case.high = round(ratio, 4), round(low, 4), round(high, 4)
    case.detectable = round(judgement.detectable, 4)
    return case


def pairs_interval(candidate_s: list[float], base_s: list[float]) -> tuple[float, float,
                                                                          float]:
    """The geometric mean of the pairs' candidate/base time ratios and its 95% Student's t
    interval (on the log ratios: symmetric in the two sides). A process is one sample: a
    neighbour that slows one whole process moves one ratio, and with 2 or 3 pairs a
    percentile bootstrap is the ratios' range, which covers their median with probability
    50% or 75% (1 - 2 * 0.5^n), not 95%. Measured on the CI machine (2026-12-02): the
    same stack on both sides, 2 pairs, one candidate process 59% slower (ratios 1.116 and
    1.594) was "regressed" as [1.116, 1.594]; its t-interval is [0.14, 12.8]."""
    logs = np.log(np.asarray(candidate_s, dtype=float) / np.asarray(base_s, dtype=float))
    mean, low, high = intervals.t_interval(logs)
    return float(np.exp(mean)), float(np.exp(low)), float(np.exp(high))


def judge_count(name: str, base: dict[int, Count], candidate: dict[int, Count]) -> Case:
    """An exact count of the two stacks, no clock involved (one process of each side counts
    it; should several, they must agree, else it is not judged): the candidate's count is
    regressed beyond the check's own tolerance above the base's, and a set of names is
    regressed by any name the base's lacks (a lost name is "changed")."""
    some = next(iter({**base, **candidate}.values()))
    values = {"base": [base[k].value for k in sorted(base)],
              "candidate": [candidate[k].value for k in sorted(candidate)]}
    members = {side: [set(str(v).split(MEMBERS)) for v in vs] for side, vs in values.items()}
    sizes = values if some.kind == "count" else {
        side: [len(m) for m in ms] for side, ms in members.items()}
    case = Case(name, some.suite, some.kind, [float(v) for v in sizes["base"]],
                [float(v) for v in sizes["candidate"]], Verdict.INCONCLUSIVE,
                tolerance=some.tolerance)
    missing = [side for side in SIDES if not values[side]]
    varied = [f"{side} {sorted(set(map(str, vs)))}" for side, vs in values.items()
              if len(set(map(str, vs))) > 1]
    if missing or varied:
        case.message = (f"counted on the {missing[0]} side by no process (their logs "
                        "say why)" if missing else
                        "not exact, the processes of a side disagree: " + "; ".join(varied))
        return case
    if some.kind == "set":
        new = sorted(members["candidate"][0] - members["base"][0])
        lost = sorted(members["base"][0] - members["candidate"][0])
        case.verdict = (Verdict.REGRESSED if new else Verdict.CHANGED if lost else Verdict.PASS)
        case.message = "; ".join(part for part in (
            f"new in the candidate: {', '.join(new)}" if new else "",
            f"lost: {', '.join(lost)}" if lost else "") if part)
        return case
    b, c, tol = float(values["base"][0]), float(values["candidate"][0]), some.tolerance
    ceiling = b * (1 + tol)
    if b > 0:
        case.ratio = case.low = case.high = round(c / b, 4)
        case.detectable = round(smallest_growth(b, tol) / b, 4)
    case.verdict = (Verdict.REGRESSED if c > ceiling else Verdict.IMPROVED if c < b / (1 + tol)
                    else Verdict.PASS)
    case.message = (f"base {b:g}, candidate {c:g}"
                    + (", more than the base" + (f" +{tol:.0%} = {ceiling:.6g} (the check's "
                                                  "own tolerance)" if tol else "")
                       if case.verdict == Verdict.REGRESSED else ""))
    return case


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.4g}" if low == high else f"{low:.4g}-{high:.4g}"


def judge_all(processes: list[Process]) -> list[Case]:
    """Every timed figure (judge_case) and every exact count (judge_count) of the runs."""
    cases = []
    for read, judge in ((figures, judge_case), (counts, judge_count)):
        per_side: dict[str, dict[str, dict[int, Figure | Count]]] = {s: {} for s in SIDES}
        for p in processes:
            for name, f in read(p.report.get("checks", [])).items():
                per_side[p.side].setdefault(name, {})[p.index] = f
        names = sorted(set(per_side["base"]) | set(per_side["candidate"]))
        cases += [judge(n, per_side["base"].get(n, {}), per_side["candidate"].get(n, {}))
                  for n in names]
    return cases


def verdict(processes: list[Process], cases: list[Case]) -> Exit:
    """A broken process first: the figures of a side that broke are not the stack's."""
    if any(p.broke for p in processes):
        return Exit.BROKE
    if any(c.verdict in BLOCKING for c in cases):
        return Exit.FAILED
    if not cases or any(c.verdict in UNJUDGED for c in cases):
        return Exit.NOT_JUDGED
    return Exit.OK


def markdown(result: dict) -> str:
    cases = result["cases"]
    lines = [f"# stackqual ab on `{result['profile']}`: exit {result['exit']}, "
             f"{meaning('ab', result['exit'])}", "",
             f"Base `{result['base']}`, candidate `{result['candidate']}`: "
             f"{result['rounds']} pairs of processes, {result['seconds'] / 60:.1f} min. Band: "
             "the same check's in-process tolerance (recorded with it).", "", "## Stack", ""]
    lines += [f"- {line}" for line in result["stack"]] or ["- the same stack"]
    for p in result["processes"]:
        if p["broke"]:
            lines.append(f"- BROKE: {p['broke']}")
    lines += ["", "| figure | verdict | candidate/base | band | base | candidate | "
              "would catch |", "|---|---|---|---|---|---|---|"]
    for c in sorted(cases, key=lambda c: (c["verdict"] not in BLOCKING, c["name"])):
        interval = ("" if c["ratio"] is None else f"{c['ratio']:.3f}" if c["unit"] == "count"
                    else f"{c['ratio']:.3f} [{c['low']:.3f}, {c['high']:.3f}]")
        unit = {"s": "s", "count": "", "set": " names"}.get(c["unit"], f" {c['unit']}")
        band = ("no new name" if c["unit"] == "set" else
                "" if c["tolerance"] is None else f"+{c['tolerance']:.0%}")
        lines.append(f"| `{c['name']}` | {c['verdict']} | {interval} | {band} | "
                     f"{_range(c['base']) if c['base'] else '-'}{unit} | "
                     f"{_range(c['candidate']) if c['candidate'] else '-'}{unit} | "
                     + ("" if c["detectable"] is None else f"+{c['detectable']:.0%}") + " |")
    not_pass = [c for c in cases if c["verdict"] not in PASSING]
    if not_pass:
        lines += ["", "## Not a pass", ""]
        lines += [f"- `{c['name']}`: {c['message']}" for c in not_pass]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = usage.Parser(
        prog="stackqual ab", description=__doc__,
        epilog=epilog("ab") + " TESTS (default: `suites`) and the arguments after `--` go "
                 "to each process's pytest; its -m is narrowed to the timed tests, and in the "
                 f"first process of each side to the counted ones too (`-m \"{TIERS} and "
                 "(EXPR)\"`).")
    p.add_argument("tests", nargs="*", metavar="TESTS",
                   help="test paths or node ids to time (default: suites)")
    p.add_argument("--base", required=True, metavar="PYTHON",
                   help="the base environment's interpreter (e.g. .tox/pinned/bin/python)")
    p.add_argument("--candidate", required=True, metavar="PYTHON",
                   help="the candidate environment's interpreter")
    p.add_argument("--rounds", type=usage.positive_int, default=3, metavar="N",
                   help="pairs of processes (default %(default)s; at least 2)")
    usage.report_dir(p, "the ab folder")
    return p


def _stack(report: dict) -> dict:
    return report.get("fingerprint", {})


def main(argv: list[str], repo: Path) -> int:
    args, pytest_args = usage.parse(parser(), argv)
    pytest_args = [*args.tests, *pytest_args]
    for side in SIDES:
        python = getattr(args, side)
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            return usage.refuse("stackqual ab", f"--{side} {python}: not an executable "
                                "interpreter")
    if args.rounds < 2:
        return usage.refuse("stackqual ab", "--rounds must be at least 2 (a ratio's interval "
                            "needs two pairs)")
    pytest_args = pytest_args or [str(declared.configured_dir(repo))]
    profile_name = profile.detect_profile()
    now = datetime.now(timezone.utc)
    stamp, started_at = now.strftime("%Y%m%dT%H%M%SZ"), now.isoformat(timespec="seconds")
    root = Path(args.report_dir).resolve() if args.report_dir else repo / "reports"
    out = root / f"ab-{profile_name}-{stamp}"
    out.mkdir(parents=True)
    started = time.monotonic()
    print(f"stackqual ab: {args.rounds} pairs of processes on {profile_name}; writing {out}",
          flush=True)
    processes, count = [], {side: 0 for side in SIDES}
    for i, side in enumerate(order(args.rounds), 1):
        count[side] += 1
        p = run_process(getattr(args, side), side, count[side], out, repo, pytest_args)
        processes.append(p)
        print(f"[{i}/{2 * args.rounds}] {side} {count[side]}: exit {p.returncode}, "
              f"{p.seconds:.0f} s" + (f", BROKE: {p.broke}" if p.broke else ""), flush=True)
    cases = judge_all(processes)
    code = verdict(processes, cases)
    reports = {side: next((p.report for p in processes if p.side == side and p.report), {})
               for side in SIDES}
    profiles = {r.get("profile") for r in reports.values() if r}
    if len(profiles) > 1:
        print(f"stackqual ab: the two sides detected different profiles {sorted(profiles)}; "
              "they must run on one machine", file=sys.stderr)
        code = 4
    result = {
        **readers.header("ab"), "profile": profile_name, "exit": code,
        "verdict": meaning("ab", code),
        "started": started_at,
        "base": args.base, "candidate": args.candidate, "rounds": args.rounds,
        "pytest_args": pytest_args, "seconds": round(time.monotonic() - started, 1),
        "stack": profile.fingerprint_differences(_stack(reports["base"]),
                                                 _stack(reports["candidate"])),
        "fingerprints": {side: _stack(r) for side, r in reports.items()},
        "processes": [{"side": p.side, "index": p.index, "returncode": p.returncode,
                       "seconds": round(p.seconds, 1), "broke": p.broke,
                       "folder": p.folder.name} for p in processes],
        "cases": [asdict(c) for c in cases]}
    (out / "ab.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "ab.md").write_text(markdown(result))
    for c in cases:
        if c.verdict != Verdict.PASS:
            print(f"  {c.verdict}: {c.name}: {c.message[:240]}")
    print(f"summary: {out / 'ab.md'}")
    print(f"stackqual ab: exit {code}: {meaning('ab', code).upper()} "
          f"({result['seconds'] / 60:.1f} min)")
    return code


def load(path: Path) -> dict:
    """An ab result (ab.json), or the newest one in a folder of ab runs."""
    path = Path(path)
    if path.is_dir():
        found = list(path.glob("ab.json")) or list(path.glob("ab-*/ab.json"))
        if not found:
            raise readers.Unreadable(f"{path}: no ab.json here nor in an ab-* folder")
        return readers.newest([(p, load(p)) for p in found])[1]
    return readers.read_json(path, "ab result", lambda data: None if isinstance(data, dict)
                             and data.get("kind") == "ab" and "cases" in data
                             else "no kind 'ab' with cases", kind="ab")
