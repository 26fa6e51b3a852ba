"""Pictures for the run report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path


def speed_plot(records, path: Path) -> Path:
    """One row per timed check: the measured ratio with its confidence interval, and the
    profile's baseline with its tolerance band when there is one."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"pass": "tab:blue", "improved": "tab:green", "regressed": "tab:red",
              "inconclusive": "tab:orange"}
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(records) + 1.4))
    for y, r in enumerate(records):
        d = r.details
        ax.errorbar([d["ratio"]], [y], xerr=[[d["ratio"] - d["low"]], [d["high"] - d["ratio"]]],
                    fmt="o", color=colors.get(r.verdict, "tab:gray"), capsize=3)
        if d.get("baseline"):
            base, tol = d["baseline"], d["tolerance"]
            ax.plot([base], [y], marker="|", markersize=14, color="black")
            ax.plot([base * (1 - tol), base * (1 + tol)], [y, y], color="black", alpha=0.25,
                    linewidth=6)
    ax.set_yticks(range(len(records)))
    ax.set_yticklabels([f"{r.check_id} ({r.verdict})" for r in records], fontsize=7)
    ax.axvline(1.0, color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("ratio time(A)/time(B), with its interval; | baseline, grey band tolerance")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
