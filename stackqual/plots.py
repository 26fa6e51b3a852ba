"""Pictures for the run report (matplotlib, Agg backend: no display needed).

matplotlib is optional: a node's own image may not have it. Without it every report is
written in full and says where its pictures would be (`missing()`)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from .verdicts import Verdict

MISSING = "(no plot: matplotlib is not installed here; `pip install matplotlib` draws it)"


def missing() -> str | None:
    """Why no plot can be drawn here, or None."""
    return None if importlib.util.find_spec("matplotlib") else MISSING


def pyplot():
    """matplotlib.pyplot on the Agg backend (call only where `missing()` is None)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt

COLORS = {Verdict.PASS: "tab:blue", Verdict.IMPROVED: "tab:green", Verdict.REGRESSED: "tab:red",
          Verdict.INCONCLUSIVE: "tab:orange"}


def label(check_id: str) -> str:
    """A check as a plot names it: the case and the metric, not the test function
    (`test_speed.py::test_speedup_holds_against_baseline[cnn-...]#speedup` ->
    `cnn-... speedup`)."""
    case = re.search(r"\[(.*)\]", check_id)
    metric = check_id.rsplit("#", 1)[-1]
    return f"{case.group(1) if case else check_id.split('::')[-1].split('#')[0]} {metric}"


def _panel(ax, rows, xlabel: str) -> None:
    """rows: (label, verdict, value, low, high, baseline or None, tolerance or None)."""
    for y, (_, verdict, value, low, high, base, tol) in enumerate(rows):
        ax.errorbar([value], [y], xerr=[[value - low], [high - value]], fmt="o",
                    color=COLORS.get(verdict, "tab:gray"), capsize=3)
        if base:
            ax.plot([base], [y], marker="|", markersize=14, color="black")
            if tol:
                ax.plot([base * (1 - tol), base * (1 + tol)], [y, y], color="black",
                        alpha=0.25, linewidth=6)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r[0]} ({r[1]})" for r in rows], fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.invert_yaxis()


def speed_plot(records, path: Path) -> Path:
    """Timed checks: ratios (time(A)/time(B), higher is better) with their interval and the
    baseline's band; times (a cold compile's seconds, lower is better) as a share of their
    baseline. Labels are the case and metric, so the plot keeps its width."""
    plt = pyplot()

    ratios = [(label(r.check_id), r.verdict, r.details["ratio"], r.details["low"],
               r.details["high"], r.details.get("baseline"), r.details.get("tolerance"))
              for r in records if "ratio" in r.details]
    times = []
    for r in records:
        samples, base = r.details.get("samples_s"), r.expected
        if "ratio" not in r.details and samples and isinstance(base, (int, float)) and base:
            times.append((label(r.check_id), r.verdict, min(samples) / base,
                          min(samples) / base, max(samples) / base, 1.0, None))
    panels = [(rows, xlabel) for rows, xlabel in (
        (ratios, "ratio time(A)/time(B) with its interval; | baseline, grey band tolerance"),
        (times, "time / baseline (fastest of the samples, range of the samples); lower is "
                "better")) if rows]
    fig, axes = plt.subplots(len(panels), 1, squeeze=False, figsize=(11, 0.32 * (
        len(ratios) + len(times)) + 1.6 * len(panels)), gridspec_kw={
        "height_ratios": [max(len(rows), 1) for rows, _ in panels]})
    for ax, (rows, xlabel) in zip(axes[:, 0], panels):
        _panel(ax, rows, xlabel)
        ax.axvline(1.0, color="gray", linestyle=":", linewidth=1)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
