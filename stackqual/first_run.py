"""The one-screen table that ends the first run on a new GPU (scripts/first-gpu-run.sh).

    python3 -m stackqual.first_run NAME=FOLDER:EXIT [NAME=FOLDER:EXIT ...]

Per stage (a `stackqual qualify` run in FOLDER that exited EXIT): its exit code and what
it means, the checks passed / failed / not judged, and where its files are; then the SDPA
backend each dispatch case ran and the hardware's shares of its datasheet peak. It reads
each suite's stream (one JSON line per check, written as the run goes), so a stage killed
at its limit is still counted up to the kill.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import exits
from .suite_process import read_events
from .verdicts import BLOCKING, UNJUDGED, Verdict

KILLED = {124: "cut at its time limit", 137: "killed at its time limit"}


def checks_of(folder: Path) -> list[dict]:
    """Every check streamed by the stage's suites (their folders below FOLDER)."""
    return [e for stream in sorted(folder.glob("**/stream.jsonl"))
            for e in read_events(stream) if e.get("event") == "check"]


def describe(code: int) -> str:
    return KILLED.get(code) or exits.MEANING["qualify"].get(code) or ("bad usage" if code == 4 else
                                                          f"exit {code}")


def stage_row(name: str, folder: Path, code: int) -> str:
    checks = checks_of(folder)
    verdicts = [c["verdict"] for c in checks]
    failed = sum(v in BLOCKING for v in verdicts)
    unjudged = sum(v in UNJUDGED for v in verdicts)
    passed = len(verdicts) - failed - unjudged - verdicts.count(Verdict.INFO)
    verdict = folder / "verdict.json"
    return (f"{name:<8} exit {code:<3} {describe(code)[:38]:<38} {passed:>4} {failed:>6} "
            f"{unjudged:>10}   {verdict if verdict.is_file() else folder}")


def dispatch(checks: list[dict]) -> list[str]:
    """The backend SDPA ran, per backend and verdict, with its cases (the
    `documented_rule` check of suites/attention/test_dispatch.py)."""
    seen: dict[tuple, list[str]] = {}
    for c in checks:
        if c.get("metric") == "documented_rule":
            case = c["check_id"].split("[")[-1].split("]")[0]
            seen.setdefault((str(c["measured"]), c["verdict"]), []).append(case)
    return [f"  {backend:<16} {verdict:<6} {len(cases):>3} cases: "
            + (", ".join(cases) if len(cases) <= 6 else ", ".join(cases[:6]) + ", ...")
            for (backend, verdict), cases in sorted(seen.items())]


def shares(checks: list[dict]) -> list[str]:
    """Each hardware kernel's share of its datasheet peak."""
    rows = []
    for c in checks:
        if c.get("metric") == "share_of_peak" and isinstance(c.get("measured"), (int, float)):
            kernel = c["check_id"].split("[")[-1].split("]")[0]
            peak = (c.get("details") or {}).get("peak")
            rows.append(f"  {kernel:<20} {c['measured']:.0%} of {peak} "
                        f"{(c.get('details') or {}).get('unit', '')}".rstrip())
    return rows


def table(stages: list[tuple[str, Path, int]]) -> str:
    lines = [f"{'stage':<8} {'exit':<8} {'':<38} {'pass':>4} {'failed':>6} {'not judged':>10}"
             "   files"]
    every = []
    for name, folder, code in stages:
        lines.append(stage_row(name, folder, code))
        every += checks_of(folder)
    seen = dispatch(every)
    lines += ["", "SDPA dispatch (backend that ran, verdict, cases):"] + (
        seen or ["  none measured"])
    lines += ["", "hardware against its datasheet peak:"] + (shares(every) or
                                                             ["  none measured"])
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    stages = []
    for arg in argv:
        name, _, rest = arg.partition("=")
        folder, _, code = rest.rpartition(":")
        if not name or not folder or not code.lstrip("-").isdigit():
            print(f"stackqual.first_run: {arg!r} is not NAME=FOLDER:EXIT", file=sys.stderr)
            return 4
        found = sorted(Path(folder).glob("qualify-*"))  # the stage's qualify folder
        stages.append((name, found[-1] if found else Path(folder), int(code)))
    print(table(stages), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
