"""The run report: one JSON file per run (fingerprint, every check with measured value,
expected value and verdict, every test outcome) plus a Markdown summary for people.
Two runs' JSON files can be diffed; the Markdown is what a reviewer reads."""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import calibration, plots, readers
from .judge import MEMBERS
from .verdicts import BLOCKING, UNJUDGED, Verdict


@dataclass
class CheckRecord:
    check_id: str
    nodeid: str
    suite: str
    metric: str
    measured: object
    expected: object
    verdict: Verdict  # stackqual.verdicts says what each means
    source: str = ""  # where the expectation comes from: a baseline file, a policy
    message: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        self.verdict = Verdict(self.verdict)  # an unknown word is a ValueError


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _detectable(details: dict) -> str:
    """The minimum detectable slowdown of a judged timing (stackqual.timed)."""
    if "detectable_slowdown" not in details:
        return ""
    return f"{details['detectable_slowdown']:.0%}" + (
        " (noise-limited)" if details.get("noise_limited") else "")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


class RunReport:
    def __init__(self, profile: str, fingerprint: dict, invocation: list[str]):
        self.profile = profile
        self.fingerprint = fingerprint
        self.invocation = invocation
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self.checks: list[CheckRecord] = []
        self.calibrations: list[dict] = []  # every calibration of the run (stackqual.calibration)
        self.tests: dict[str, dict] = {}
        self.problems: list[str] = []  # what the run could not do (a baseline not written)
        self.stale_baselines: dict[str, list[str]] = {}  # suite -> keys no test produces
        self.environment: dict = {}  # pip check (stackqual.profile.environment_check)
        self.stream = None  # an open file: one JSON line per event, as the run goes
        self.suite_packages: dict[str, list[str]] = {}  # suite -> the packages it depends on

    def add(self, record: CheckRecord) -> None:
        self.checks.append(record)
        self.emit({"event": "check", **asdict(record)})

    def emit(self, event: dict) -> None:
        """One line of the stream (--report-stream), flushed: a run that crashes or is
        killed keeps every line written before."""
        if self.stream is not None:
            self.stream.write(json.dumps(_json_safe(event), default=str) + "\n")
            self.stream.flush()

    def add_test(self, nodeid: str, outcome: str, duration_s: float, reason: str = "",
                 suite: str = "") -> None:
        entry = self.tests.setdefault(nodeid, {"outcome": outcome, "duration_s": 0.0,
                                               "suite": suite})
        entry["duration_s"] = round(entry["duration_s"] + duration_s, 3)
        # A failure in teardown after a passing call is still a failure.
        if outcome != "passed" or entry["outcome"] == "passed":
            entry["outcome"] = outcome
        if reason:
            entry["reason"] = reason

    def to_dict(self) -> dict:
        return _json_safe({
            **readers.header("run-report"),
            "profile": self.profile,
            "fingerprint": self.fingerprint,
            "invocation": self.invocation,
            "started": self.started.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - self._t0, 1),
            "outcomes": dict(Counter(t["outcome"] for t in self.tests.values())),
            "calibration": self.calibrations,
            "checks": [asdict(c) for c in self.checks],
            "tests": self.tests,
            "problems": self.problems,
            "stale_baselines": self.stale_baselines,
            "environment": self.environment,
            "suite_packages": self.suite_packages,
        })

    def write(self, directory: Path, sections=None) -> tuple[Path, Path]:
        """The JSON report and its Markdown summary (and plots), named after the profile
        and the start time; a second run that started in the same second gets `-2` (and so
        on): the JSON file is created exclusively, so no run overwrites another's report.
        `sections(checks, directory, stem)`: the suites' own sections (a list of lists of
        Markdown lines; the pytest_stackqual_report_section hook)."""
        directory.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        stem = f"stackqual-{self.profile}-{self.started.strftime('%Y%m%dT%H%M%SZ')}"
        for n in range(1, 1000):
            name = stem if n == 1 else f"{stem}-{n}"
            json_path = directory / f"{name}.json"
            try:
                with open(json_path, "x") as f:
                    f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"{directory}: 999 reports named {stem}* already exist")
        stem = name
        md_path = directory / f"{stem}.md"
        plotted = self.plotted_checks()
        plot = plots.speed_plot(plotted, directory / f"{stem}-speed.png") if (
            plotted and not plots.missing()) else None
        extra = [lines for lines in (sections(self.checks, directory, stem) if sections
                                     else []) if lines]
        # A message can carry what a framework printed, lone surrogates included: the
        # summary is written whatever it holds.
        md_path.write_text(self.markdown(data, plot, extra), encoding="utf-8",
                           errors="backslashreplace")
        return json_path, md_path

    def timed_checks(self) -> list[CheckRecord]:
        """Checks that carry a timing comparison (stackqual.perf.speed)."""
        return [c for c in self.checks if c.details.get("kind") == "speed"]

    def plotted_checks(self) -> list[CheckRecord]:
        """The timed ratios, and the times (compile seconds) judged against a baseline."""
        return self.timed_checks() + [
            c for c in self.checks if c.details.get("kind") == "time"
            and isinstance(c.expected, (int, float)) and c.verdict != Verdict.NOT_COMPARABLE]

    def markdown(self, data: dict, plot: Path | None = None,
                 sections: list[list[str]] = ()) -> str:
        fp = data["fingerprint"]
        lines = [f"# stackqual run on `{self.profile}`", "",
                 f"Started {data['started']}, {data['duration_s']} s: "
                 + ", ".join(f"{n} {k}" for k, n in sorted(data["outcomes"].items())),
                 "", f"Command: `{' '.join(self.invocation)}`", ""]
        for problem in data["problems"]:
            lines += [f"**Not done:** {problem}", ""]
        for suite, keys in data["stale_baselines"].items():
            lines += [f"**Stale baselines** ({suite}: no collected test produces them): "
                      + ", ".join(f"`{k}`" for k in keys), ""]
        lines += ["## Stack", "", "| | |", "|---|---|"]
        for key, value in fp.items():
            if key != "packages":
                lines.append(f"| {key} | {_fmt(value)} |")
        for name, version in fp.get("packages", {}).items():
            if name not in fp:  # torch is already listed with its local version
                lines.append(f"| {name} | {version} |")

        failed = [c for c in self.checks if c.verdict in BLOCKING]
        if failed:
            lines += ["", "## Failed checks", ""]
            lines += [f"- `{c.check_id}` ({c.verdict}): {c.message}" for c in failed]
        unjudged = [c for c in self.checks if c.verdict in UNJUDGED]
        if unjudged:
            lines += ["", "## Not judged", ""]
            lines += [f"- `{c.check_id}` ({c.verdict}): "
                      + (c.message.split(". ")[0] if c.message else "no baseline on this "
                         "profile: record it with --update-baselines") for c in unjudged]

        timed = self.timed_checks()
        if timed:
            lines += ["", "## Performance", "",
                      "Ratios are time(A)/time(B) from interleaved rounds in one process, with "
                      "their bootstrap interval; noise is IQR/median.", "",
                      "| check | A | B | noise A, B | ratio [interval] | rounds | baseline | "
                      "verdict | detectable slowdown |", "|---|---|---|---|---|---|---|---|---|"]
            for c in timed:
                d = c.details
                lines.append(
                    f"| `{c.check_id}` | {d['a']['name']} {d['a']['median_s'] * 1e3:.3f} ms | "
                    f"{d['b']['name']} {d['b']['median_s'] * 1e3:.3f} ms | "
                    f"{d['a']['noise']:.1%}, {d['b']['noise']:.1%} | {d['ratio']:.3f} "
                    f"[{d['low']:.3f}, {d['high']:.3f}] | {d['rounds']} | "
                    f"{_fmt(d.get('baseline'))} | {c.verdict} | {_detectable(d)} |")
            lines += ["", f"![ratio per check, against the baseline]({plot.name})"
                      if plot is not None else plots.MISSING]

        times = [c for c in self.checks if c.details.get("kind") == "time"]
        if times:
            lines += ["", "## Times", "", "| check | measured | samples | other load | "
                      "baseline | verdict | detectable slowdown |", "|---|---|---|---|---|---|---|"]
            for c in times:
                d = c.details
                busy = d.get("others_busy")
                samples = [round(s, 3) for s in d["samples_s"]]
                load = "" if busy is None else f"{busy:.0%}"
                lines.append(f"| `{c.check_id}` | {_fmt(c.measured)} s ({d.get('what', '')}) | "
                             f"{samples} | {load} | {_fmt(c.expected)} | {c.verdict} | "
                             f"{_detectable(d)} |")

        counts = [c for c in self.checks if c.details.get("kind") in ("count", "set")]
        if counts:
            lines += ["", "## Counts", "", "Exact counts (no clock): judged on any machine of "
                      "the profile. A number fails beyond its band above the baseline; a set "
                      "fails on a name the baseline lacks.", "",
                      "| check | measured | baseline | band | smallest growth caught | "
                      "verdict |", "|---|---|---|---|---|---|"]
            for c in counts:
                d = c.details
                band = ("no new name" if d["kind"] == "set" else
                        f"+{d.get('tolerance', 0) * 100:g}%")
                caught = d.get("min_detectable_change")
                caught = "" if caught is None else (
                    f"{caught} ({caught / c.expected:.1%})" if c.expected else f"{caught}")
                measured, expected = ((f"{len(str(v).split(MEMBERS))} names" if v else v)
                                      if d["kind"] == "set" else _fmt(v)
                                      for v in (c.measured, c.expected))
                lines.append(f"| `{c.check_id}` | {measured} | {expected} | {band} | "
                             f"{caught} | {c.verdict} |")

        incomparable = [c for c in self.checks if c.verdict == Verdict.NOT_COMPARABLE]
        if self.calibrations or incomparable:
            lines += ["", "## Machine calibration", "",
                      "Yardsticks timed like the cases (stackqual.calibration); a timing "
                      "baseline is compared only on a machine whose yardsticks match its own.",
                      ""]
            for kind in ("cpu", "cuda"):
                cals = [c for c in self.calibrations if c["device"] == kind]
                if cals:
                    lines.append(f"- {kind}: {calibration.run_summary(cals)}")
            for c in incomparable:
                lines.append(f"- not comparable: `{c.check_id}`: {c.message}")

        for section in sections:
            lines += ["", *section]

        lines += ["", "## Checks", "", "| check | measured | expected | verdict | source |",
                  "|---|---|---|---|---|"]
        for c in self.checks:
            lines.append(f"| `{c.check_id}` | {_fmt(c.measured)} | {_fmt(c.expected)} | "
                         f"{c.verdict} | {c.source} |")

        skips = defaultdict(int)
        for t in self.tests.values():
            if t["outcome"] == "skipped":
                skips[t.get("reason", "")] += 1
        if skips:
            lines += ["", "## Skipped", "", "| tests | reason |", "|---|---|"]
            lines += [f"| {n} | {reason} |" for reason, n in sorted(skips.items())]
        return "\n".join(lines) + "\n"
