"""The absolute figures a run's timed checks measured, whatever their verdict: for each
speed check (stackqual.perf.speed) each path's median time per call, for a time
(perf.time) its fastest sample, for a rate (perf.rate) its median. Each timed check
states in its details its kind ("speed", "time", "rate") and the tolerance its in-process
gate judges it with; a figure keeps that tolerance, which `stackqual ab` judges it by.
And the exact counts a run measured (`Count`: a check whose details say its kind is
"count", or "set" for a set of names), which need no clock.

A timed check is gated as a ratio or against its own profile's baseline; the figures behind
it are what two stacks (`stackqual ab`) or many nodes (`stackqual fleet`) are compared on.
A speed's policy floor (`<metric>_floor`) shares its baseline gate's measurement and is
left out, so that each measurement counts once."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One absolute timed figure of one run."""
    name: str  # the check id, and for a speed check the path: `...#speedup [compiled]`
    suite: str
    value: float
    unit: str  # "s" (lower is better) or a rate's unit (higher is better)
    others_busy: float | None
    device: str = "cpu"  # where it ran: "cpu" or "cuda"
    tolerance: float | None = None  # its check's in-process band (None: a report without it)

    @property
    def seconds(self) -> float:
        """What a ratio is taken of: a time, or for a rate the time per unit of work."""
        return self.value if self.unit == "s" else 1.0 / self.value

    @property
    def higher_is_better(self) -> bool:
        return self.unit != "s"


def figures(checks: list[dict]) -> dict[str, Figure]:
    """name -> Figure for every measurement in `checks` (run report check records)."""
    found = {}
    for c in checks:
        d = c.get("details") or {}
        kind = d.get("kind")
        if kind not in ("speed", "time", "rate") or str(c.get("metric", "")).endswith("_floor"):
            continue
        busy, tolerance = d.get("others_busy"), d.get("tolerance")
        device = str(d.get("device") or (d.get("calibration") or {}).get("device") or "cpu")

        def figure(name: str, value: float, unit: str) -> Figure:
            return Figure(name, c["suite"], value, unit, busy, device, tolerance)

        if kind == "speed":  # each path's median time per call
            for side in (d["a"], d["b"]):
                name = f"{c['check_id']} [{side['name']}]"
                found[name] = figure(name, side["median_s"], "s")
        elif kind == "time":  # the fastest sample counts
            found[c["check_id"]] = figure(c["check_id"], min(d["samples_s"]), "s")
        else:  # a rate: the median counts
            found[c["check_id"]] = figure(c["check_id"], statistics.median(d["rates"]),
                                          d.get("unit", ""))
    return found


@dataclass(frozen=True)
class Count:
    """One exact count of one run: a number that must not grow by more than `tolerance`
    (a fraction), or (kind "set") names joined by stackqual.judge.MEMBERS that must gain
    no member."""
    name: str  # the check id
    suite: str
    kind: str  # "count" or "set"
    value: float | str
    tolerance: float = 0.0


def counts(checks: list[dict]) -> dict[str, Count]:
    """name -> Count for every exact count in `checks`, whatever its verdict."""
    found = {}
    for c in checks:
        d = c.get("details") or {}
        if d.get("kind") in ("count", "set") and c.get("measured") is not None:
            found[c["check_id"]] = Count(c["check_id"], c["suite"], d["kind"], c["measured"],
                                         float(d.get("tolerance") or 0.0))
    return found
