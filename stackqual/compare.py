"""`stackqual compare BASE CANDIDATE`: what an upgrade changes, from two run reports of one
hardware profile (stackqual.report's JSON; a folder means its newest report).

The stack difference comes first ("transformers 5.23.0 -> 5.24.0"; each suite's section
names only the changes of the packages it depends on), then every change, blocking ones
first:

- environment broken: `pip check` found conflicting requirements in the candidate's
  environment; its failures may be of the environment, not of the stack;
- harness incompatible: stackqual reads a private API the candidate renamed
  (stackqual.incompatible): stackqual must be updated, the stack is not judged there;
- API incompatible: a framework release lacks a name a test imports, or a call no longer
  fits its signature (the other frameworks were still run);
- regressed: a check that passed on the base fails (or a timing regressed) on the candidate;
- capability lost: a test that passed on the base skips on the candidate (a kernel or an
  attn_implementation the candidate no longer offers);
- test failed: a test that passed on the base fails without a failed check of its own (a
  snapshot that changed, an error);
- not judged: a check the base judged that the candidate could not (an inconclusive or
  not comparable timing, a missing recording: stackqual.verdicts); never a pass;
- then, for review: changed (a categorical value such as the kernel that ran, or a
  snapshot of a kind reported for review), improved, fixed, new and gone checks and tests.

With `--ab`, the figures of `stackqual ab` (the two stacks timed against each other in
alternating processes) join in as `ab <figure>`: regressed blocks, improved is listed,
inconclusive is "not judged".

A changed snapshot carries the complete unified diff of its file, printed in full after
its suite's table.

Exit status (stackqual.exits): 1 when anything blocks (a failed test or check the base did
not fail counts, a new one included); 2 when nothing blocks but something is not judged,
or the candidate judged nothing at all (an empty run, a recording run, a profile without
baselines: nothing to pass); 0 otherwise; 4 for reports that cannot be
compared: unreadable, of different profiles (timings and baselines are only compared
within one profile), or an ab result of other stacks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import incompatible, profile, readers
from .exits import Exit
from .verdicts import BLOCKING as FAILING
from .verdicts import NOT_A_JUDGEMENT, UNJUDGED, Verdict

NOT_JUDGED = Exit.NOT_JUDGED.word
BLOCKING = ("environment broken", incompatible.HARNESS, incompatible.API, "regressed",
            "capability lost", "test failed")
ORDER = (*BLOCKING, NOT_JUDGED, "changed", "improved", "fixed", "new", "gone")


class CompareError(Exception):
    """Two reports that cannot be compared, or one that cannot be read."""


@dataclass(frozen=True)
class Change:
    kind: str  # one of ORDER
    suite: str
    what: str  # a check id, or a test's node id
    base: object
    candidate: object
    note: str = ""
    diff: str = ""  # a snapshot's complete unified diff

    @property
    def blocks(self) -> bool:
        return self.kind in BLOCKING


@dataclass
class Comparison:
    base: str
    candidate: str
    profile: str
    stack: list[str]
    changes: list[Change] = field(default_factory=list)
    suite_stack: dict[str, list[str]] = field(default_factory=dict)  # its packages' changes

    @property
    def unjudged(self) -> list[Change]:
        return [c for c in self.changes if c.kind == NOT_JUDGED]

    @property
    def blocking(self) -> list[Change]:
        return [c for c in self.changes if c.blocks]


def load(path: Path) -> tuple[Path, dict]:
    """A run report, or the newest one in a folder: the one that started last by the time
    written in it (a name sort put `...Z-2.json` before `...Z.json`, `-10` before `-2`, and
    one profile's reports before another's whatever their times)."""
    path = Path(path)
    if path.is_dir():
        reports = [_read(p) for p in path.glob("stackqual-*.json")]
        if not reports:
            raise CompareError(f"{path}: no stackqual-*.json run report in this folder")
        return readers.newest(reports)
    return _read(path)


def _not_a_report(data) -> str | None:
    if not isinstance(data, dict) or not {"profile", "checks", "tests"} <= set(data) or \
            not isinstance(data["checks"], list) or not isinstance(data["tests"], dict):
        return "no profile, checks, tests"
    return None


def _read(path: Path) -> tuple[Path, dict]:
    try:
        return path, readers.read_json(path, "run report", _not_a_report, kind="run-report")
    except readers.Unreadable as e:
        raise CompareError(str(e)) from None


def judged_nothing(report: dict) -> str | None:
    """Why a run report judged nothing (an empty run, an --update-baselines run, a profile
    without baselines), or None."""
    verdicts = [c.get("verdict") for c in report["checks"]]
    if not report["tests"] and not verdicts:
        return "it holds no test and no check"
    if not any(v not in NOT_A_JUDGEMENT for v in verdicts) and not any(
            t.get("outcome") == "failed" for t in report["tests"].values()):
        kinds = ", ".join(sorted(set(verdicts))) or "no check"
        return (f"none of its {len(verdicts)} checks was judged ({kinds}): a recording run, "
                "or a profile without baselines")
    return None


def _suite(nodeid: str, test: dict | None) -> str:
    """The suite a test record says it belongs to; in a report without it, its module's
    folder."""
    path = Path(nodeid.split("::")[0])
    return (test or {}).get("suite") or path.parent.name or path.name


def compare(base: dict, candidate: dict, base_name: str = "base",
            candidate_name: str = "candidate") -> Comparison:
    if base["profile"] != candidate["profile"]:
        raise CompareError(
            f"the reports are of different hardware profiles ({base['profile']!r} and "
            f"{candidate['profile']!r}): an upgrade is compared on one machine; run the base "
            "and the candidate on the same profile")
    old_fp, new_fp = base.get("fingerprint", {}), candidate.get("fingerprint", {})
    result = Comparison(base_name, candidate_name, base["profile"],
                        profile.fingerprint_differences(old_fp, new_fp))
    result.suite_stack = {
        suite: profile.fingerprint_differences(old_fp, new_fp, packages=tuple(packages))
        for suite, packages in candidate.get("suite_packages", {}).items()}
    environment = candidate.get("environment", {})
    if environment.get("pip_check") == "broken":
        result.changes.append(Change(
            "environment broken", "environment", "pip check",
            base.get("environment", {}).get("pip_check"), "broken",
            "; ".join(environment.get("problems", [])) + ": the candidate's failures may be "
            "of its environment, not of the stack; reinstall it and run again"))
    old = {c["check_id"]: c for c in base["checks"]}
    new = {c["check_id"]: c for c in candidate["checks"]}
    failed_by_check, unjudged_by_check = set(), set()
    stopped = {nodeid for nodeid, t in candidate["tests"].items()
               if t["outcome"] in ("failed", "skipped")}
    for cid in sorted(set(old) | set(new)):
        change = _check_change(old.get(cid), new.get(cid), cid)
        if change is not None and change.kind == "gone" and old[cid]["nodeid"] in stopped:
            continue  # its test stopped before it (a failure or skip, listed as such)
        if change is not None:
            result.changes.append(change)
            if change.kind == "regressed":
                failed_by_check.add(new[cid]["nodeid"])
            elif change.kind == NOT_JUDGED:
                unjudged_by_check.add(new[cid]["nodeid"])
    unrecorded = {c["nodeid"] for c in candidate["checks"] if c["verdict"] == Verdict.NO_BASELINE}
    result.changes += [  # a test not judged is said once, by its checks where they say it
        change for change in _test_changes(base["tests"], candidate["tests"], failed_by_check,
                                           unrecorded)
        if not (change.kind == NOT_JUDGED and change.what in unjudged_by_check)]
    result.changes.sort(key=lambda c: (ORDER.index(c.kind), c.suite, c.what))
    return result


def _check_change(b: dict | None, c: dict | None, cid: str) -> Change | None:
    any_side = c or b
    suite = any_side["suite"]
    if b is None and c["verdict"] in FAILING:  # new, and failing: not the base's failure
        return Change("regressed", suite, cid, None, c["measured"],
                      c["message"] or f"new on the candidate, and {c['verdict']}", _diff(c))
    if b is None:
        return Change("new", suite, cid, None, c["measured"], c["verdict"], _diff(c))
    if c is None:
        return Change("gone", suite, cid, b["measured"], None, b["verdict"])
    bv, cv = b["verdict"], c["verdict"]
    if cv in FAILING and bv not in FAILING:
        return Change("regressed", suite, cid, b["measured"], c["measured"],
                      c["message"] or f"{bv} -> {cv}", _diff(c))
    if bv in FAILING and cv not in FAILING:
        return Change("fixed", suite, cid, b["measured"], c["measured"], f"{bv} -> {cv}")
    if cv == Verdict.CHANGED or (b["measured"] != c["measured"] and isinstance(c["measured"], str)
                                 and bv == cv == Verdict.PASS):
        return Change("changed", suite, cid, b["measured"], c["measured"],
                      c["message"] or f"{b['measured']!r} -> {c['measured']!r}", _diff(c))
    if cv in UNJUDGED and bv not in UNJUDGED:
        return Change(NOT_JUDGED, suite, cid, b["measured"], c["measured"],
                      f"{bv} -> {cv}: " + (c["message"] or "the candidate could not judge it"))
    if cv == Verdict.IMPROVED and bv != Verdict.IMPROVED:
        return Change("improved", suite, cid, b["measured"], c["measured"], c["message"])
    return None


def add_ab(result: Comparison, ab: dict, base: dict | None = None,
           candidate: dict | None = None) -> None:
    """The figures of a `stackqual ab` result of the same profile and the same two stacks
    (the packages of the two reports' fingerprints), as changes."""
    if ab.get("profile") != result.profile:
        raise CompareError(f"the ab result is of profile {ab.get('profile')!r}, the reports "
                           f"of {result.profile!r}")
    for side, report in (("base", base), ("candidate", candidate)):
        if report is None:
            continue
        timed = (ab.get("fingerprints") or {}).get(side, {}).get("packages")
        moved = profile.fingerprint_differences(timed or {}, report.get(
            "fingerprint", {}).get("packages", {}))
        if timed is None or moved:
            raise CompareError(f"the ab result's {side} is not the {side} report's stack ("
                               + ("; ".join(moved) if timed is not None else
                                  "it names no stack") + "): time these two stacks")
    kinds = {Verdict.REGRESSED: "regressed", Verdict.IMPROVED: "improved",
             Verdict.INCONCLUSIVE: NOT_JUDGED}
    for case in ab["cases"]:
        kind = kinds.get(case["verdict"])
        if kind:
            note = case["message"] if kind != NOT_JUDGED else (
                f"not judged by ab: {case['message']}")
            result.changes.append(Change(kind, case["suite"], f"ab {case['name']}",
                                         _median(case["base"]), _median(case["candidate"]),
                                         note))
    broke = [p["broke"] for p in ab.get("processes", []) if p.get("broke")]
    if broke:
        result.changes.append(Change("test failed", "ab", "ab processes", None, None,
                                     "; ".join(broke)))
    result.changes.sort(key=lambda c: (ORDER.index(c.kind), c.suite, c.what))


def _median(values: list) -> float | None:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else None


def _diff(check: dict) -> str:
    return (check.get("details") or {}).get("diff", "")


def _failure_kind(reason: str) -> str:
    """What a failed test's reason says it is: an incompatibility, or a failure."""
    why = reason.split(": ", 1)[-1] if reason.startswith("failed in ") else reason
    for kind in (incompatible.HARNESS, incompatible.API):
        if why.startswith(kind):
            return kind
    return "test failed"


def _test_changes(old: dict, new: dict, failed_by_check: set,
                  unrecorded: set = frozenset()) -> list[Change]:
    """Test outcome changes; `unrecorded`: the candidate's tests that skipped because a
    baseline or snapshot was missing on its side (not judged, not a capability lost)."""
    changes = []
    # Modules the candidate could not import: their tests are not "gone", the module failed.
    not_imported = {nodeid for nodeid, t in new.items()
                    if "::" not in nodeid and t["outcome"] == "failed"}
    for nodeid in sorted(set(old) | set(new)):
        b, c = old.get(nodeid), new.get(nodeid)
        suite = _suite(nodeid, c or b)
        if c is not None and c["outcome"] == "failed" and (b is None or b["outcome"] != "failed"):
            # a failure the base did not have: a test that passed or skipped there, a new
            # test, or a module
            if nodeid not in failed_by_check:
                changes.append(Change(_failure_kind(c.get("reason", "")), suite, nodeid,
                                      b and b["outcome"], "failed", c.get("reason", "")))
            continue
        if b is None or c is None:
            if b is None and c["outcome"] != "skipped":
                changes.append(Change("new", suite, nodeid, None, c["outcome"]))
            elif (c is None and b["outcome"] != "skipped"
                  and nodeid.split("::")[0] not in not_imported):
                changes.append(Change("gone", suite, nodeid, b["outcome"], None))
            continue
        if b["outcome"] == "failed" and c["outcome"] == "passed":
            changes.append(Change("fixed", suite, nodeid, "failed", "passed"))
        elif b["outcome"] == "passed" and c["outcome"] == "skipped" and nodeid in unrecorded:
            changes.append(Change(NOT_JUDGED, suite, nodeid, "passed", "skipped",
                                  "nothing recorded to judge the candidate against; "
                                  + c.get("reason", "")))
        elif b["outcome"] == "passed" and c["outcome"] == "skipped":
            changes.append(Change("capability lost", suite, nodeid, "passed", "skipped",
                                  c.get("reason", "")))
    return changes


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def markdown(result: Comparison) -> str:
    blocking = result.blocking
    lines = [f"# stackqual compare on `{result.profile}`", "",
             f"Base `{result.base}`, candidate `{result.candidate}`: "
             + (f"**{len(blocking)} blocking changes**" if blocking else "nothing blocks")
             + (f", {len(result.unjudged)} not judged (never a pass)" if result.unjudged else "")
             + f", {len(result.changes)} changes in all.", "", "## Stack", ""]
    lines += [f"- {line}" for line in result.stack] or ["- the same stack"]
    for suite in sorted({c.suite for c in result.changes}):
        lines += ["", f"## {suite}", ""]
        if suite in result.suite_stack:
            stack = result.suite_stack[suite]
            lines += ["Stack changes this suite depends on: "
                      + ("; ".join(stack) if stack else "none"), ""]
        lines += ["| change | check or test | base | candidate | note |", "|---|---|---|---|---|"]
        changes = [c for c in result.changes if c.suite == suite]
        for c in changes:
            note = c.note.replace("\n", " ").replace("|", "\\|")
            lines.append(f"| {'**' + c.kind + '**' if c.blocks else c.kind} | `{c.what}` | "
                         f"{_cell(c.base)} | {_cell(c.candidate)} | {note[:300]} |")
        for c in (c for c in changes if c.diff):
            lines += ["", f"`{c.what}` ({c.kind}):", "", "```diff", c.diff, "```"]
    return "\n".join(lines) + "\n"


def to_json(result: Comparison) -> dict:
    return {"base": result.base, "candidate": result.candidate, "profile": result.profile,
            "stack": result.stack, "suite_stack": result.suite_stack,
            "blocking": len(result.blocking),
            "changes": [{**asdict(c), "blocks": c.blocks} for c in result.changes]}
