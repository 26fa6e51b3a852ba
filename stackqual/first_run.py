"""The one-screen table that ends the first run on a new GPU (scripts/first-gpu-run.sh).

    python3 -m stackqual.first_run NAME=FOLDER:EXIT [NAME=FOLDER:EXIT ...]

Per stage (a `stackqual qualify` run in FOLDER that exited EXIT): its exit code and what
it means, the checks passed / failed / not judged, and where its files are; then each
section the suites declare (suite.toml [[first_run]], stackqual/declared.py): the SDPA
backend each dispatch case ran, the hardware's shares of its datasheet peak. It reads
each suite's stream (one JSON line per check, written as the run goes), so a stage killed
at its limit is still counted up to the kill.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import declared, exits
from .suite_process import read_events
from .verdicts import BLOCKING, UNJUDGED, Verdict

REPO = Path(__file__).resolve().parents[1]
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


def grouped(checks: list[dict]) -> list[str]:
    """The cases of these checks grouped by measured value and verdict."""
    seen: dict[tuple, list[str]] = {}
    for c in checks:
        seen.setdefault((str(c["measured"]), c["verdict"]), []).append(case_of(c))
    return [f"  {value:<16} {verdict:<6} {len(cases):>3} cases: "
            + (", ".join(cases) if len(cases) <= 6 else ", ".join(cases[:6]) + ", ...")
            for (value, verdict), cases in sorted(seen.items())]


def case_of(check: dict) -> str:
    return check["check_id"].split("[")[-1].split("]")[0]


def line(check: dict, row: str) -> str:
    """One case's line: `row` formatted with its measured value and details (the raw value
    where the format does not fit this check)."""
    try:
        shown = ("not measured" if check["measured"] is None else
                 row.format(**(check.get("details") or {}), measured=check["measured"]))
    except (KeyError, IndexError, ValueError, TypeError):
        shown = f"{check['measured']}"
    return f"  {case_of(check):<20} {shown}".rstrip()


def section(checks: list[dict], declared_section: declared.Section) -> list[str]:
    """A suite's declared section (suite.toml [[first_run]]) of these checks."""
    mine = [c for c in checks if c.get("metric") == declared_section.metric]
    rows = (grouped(mine) if declared_section.row == "group"
            else [line(c, declared_section.row) for c in mine])
    return ["", f"{declared_section.title}:"] + (rows or ["  none measured"])


def table(stages: list[tuple[str, Path, int]], sections: list[declared.Section]) -> str:
    lines = [f"{'stage':<8} {'exit':<8} {'':<38} {'pass':>4} {'failed':>6} {'not judged':>10}"
             "   files"]
    every = []
    for name, folder, code in stages:
        lines.append(stage_row(name, folder, code))
        every += checks_of(folder)
    for declared_section in sections:
        lines += section(every, declared_section)
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
    print(table(stages, declared.first_run_sections(declared.configured_dir(REPO))), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
