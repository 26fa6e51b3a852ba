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
