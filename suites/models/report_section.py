"""The models suite's part of the run report (the pytest_stackqual_report_section hook, in
conftest.py): how each model's cost grows with sequence length, as a table and a plot."""

from __future__ import annotations

from pathlib import Path

from stackqual import plots


def scaling_checks(checks) -> list:
    """The records of test_scaling.py: cost against sequence length."""
    return [c for c in checks if c.metric == "scaling" and "lengths" in c.details]


def section(checks, directory: Path, stem: str) -> list[str] | None:
    scaling = scaling_checks(checks)
    if not scaling:
        return None
    lines = ["## Cost against sequence length", "",
             "| model | variant | path | lengths | time ~ L^k | memory ~ L^k |",
             "|---|---|---|---|---|---|"]
    for c in scaling:
        d = c.details
        lines.append(f"| {d.get('model', '')} | {d['variant']} | {d['path']} | "
                     f"{d['lengths']} | {c.measured['time']:.2f} | "
                     f"{c.measured['memory']:.2f} |")
    if plots.missing():
        return lines + ["", plots.missing()]
    plot = scaling_plot(scaling, directory / f"{stem}-scaling.png")
    return lines + ["", f"![throughput and memory against length]({plot.name})"]


def scaling_plot(records, path: Path) -> Path:
    """Throughput (tokens/s) and peak memory against sequence length, one line per scaling
    check (details: lengths, seconds, peak_bytes, batch, variant, path), log-log."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (speed, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in records:
        d = r.details
        label = f"{d.get('model', '')} {d['variant']} ({d['path']})"
        tokens = [d["batch"] * length / s for length, s in zip(d["lengths"], d["seconds"])]
        speed.plot(d["lengths"], tokens, marker="o", label=label)
        memory.plot(d["lengths"], [b / 2**20 for b in d["peak_bytes"]], marker="o",
                    label=f"{label}, L^{r.measured['memory']:.2f}")
    for ax, ylabel in ((speed, "throughput, tokens/s"), (memory, "peak memory, MiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
