"""`stackqual fleet REPORTS...`: many nodes' qualifications merged, and the outlier named.

Input: `stackqual qualify` folders (their verdict.json and each suite's stream), or folders
holding them (the shared directory a Slurm array or a Kubernetes Indexed Job writes to).
Nodes are grouped by hardware profile and stack (python, torch, CUDA, driver and package
versions); groups are never mixed. Within a group, each unit (a node, or with
`--each-gpu` each GPU of a node) contributes its absolute timed figures
(stackqual.figures: the hardware's GEMM and bandwidth rates, each timed path's time per
call, compile times), and per figure:

- the distribution across units: median, spread (the median absolute deviation as a share
  of the median), lowest and highest;
- an outlier: a unit whose figure is worse than the median by more than
  `policy.FLEET_OUTLIER_Z` robust standard deviations (the modified z-score,
  0.6745 (x - median) / MAD) and by more than `policy.FLEET_MIN_DEVIATION` of the median
  for its kind of device (MAD can be ~0 in a tight fleet, and a deviation within one
  machine's own run-to-run spread is not a defect). Better than the fleet by as much is
  listed, not flagged. With fewer than `policy.FLEET_MIN_UNITS` units nothing is called an
  outlier (a median of two says nothing);
- every node whose own verdict is not "qualified" (exit != 0), with what it said.

Output: fleet.md (the summary: verdict, outliers and failing nodes named with their
figures, one table row per figure), fleet.json, and one plot per rate (each unit's value,
the median and the outlier threshold).

Every node is accounted for. With `--expect-nodes` (a file, one name a line, or a comma
list), each node asked for that sent no report is named missing. A `qualify-*` folder
without verdict.json (a run killed midway), a verdict.json that cannot be read, and a
figure that is not a finite number are named with why, and the other nodes are still
merged. A node run again into the same folder counts once, its latest run; one name on two
hosts (verdict.json's `host`) is two machines sharing a name, named as such.

Exit 0 every node qualified and no outlier; 1 a node not qualified, an outlier, or a node
missing, unreadable or sharing its name; 2 not judged: a figure with fewer than
`policy.FLEET_MIN_UNITS` units (a median of two says nothing); 4 bad usage (no report).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import plots, policy, readers, usage
from .exits import Exit, meaning
from .figures import Figure, figures
from .profile import STACK_KEYS
from .suite_process import read_stream


@dataclass
class Node:
    name: str
    folder: Path
    verdict: dict
    units: dict[str, dict[str, Figure]] = field(default_factory=dict)  # unit -> figures
    problem: str = ""  # why this node's report cannot be merged (named, never dropped)

    @property
    def profile(self) -> str:
        return self.verdict.get("profile", "?")

    @property
    def stack(self) -> str:
        fp = self.verdict.get("fingerprint") or {}
        return json.dumps({k: fp.get(k) for k in STACK_KEYS}, sort_keys=True)


def load_node(folder: Path) -> Node:
    """One node's qualify folder. One that cannot be merged (no verdict.json: killed or
    still running; an unreadable or empty one; a figure that is not a finite number) is a
    Node with its `problem`, named in the fleet's verdict, never a crash of the merge."""
    name = folder.name
    if not (folder / "verdict.json").is_file():
        return Node(name, folder, {}, problem="no verdict.json: the node's run was killed "
                                              "or has not finished")
    try:
        verdict = readers.read_json(folder / "verdict.json", "qualify verdict", lambda v: (
            None if isinstance(v, dict) and isinstance(v.get("suites"), dict) else "no suites"),
            kind="qualify-verdict")
    except readers.Unreadable as e:
        return Node(name, folder, {}, problem=str(e))
    node = Node(str(verdict.get("node") or name), folder, verdict)
    for key, suite in verdict["suites"].items():
        device = suite.get("device") or ""
        unit = f"{node.name}/{device}" if device else node.name
        where = folder / suite.get("folder", key)
        events, lines = read_stream(where / "stream.jsonl")
        if len(events) < lines - 1:  # only the last line of a killed run may be cut
            node.problem = (f"{where / 'stream.jsonl'} is damaged at line {len(events) + 1} "
                            f"of {lines} (not JSON)")
        checks = [e for e in events if isinstance(e, dict) and e.get("event") == "check"]
        try:
            found = figures(checks)
        except (TypeError, ValueError, KeyError, statistics.StatisticsError) as e:
            node.problem = f"{where / 'stream.jsonl'}: a check is malformed ({e!r})"
            continue
        bad = [f.name for f in found.values() if not _finite(f.value)]
        if bad:
            node.problem = f"not a finite number: {', '.join(bad)}"
        node.units.setdefault(unit, {}).update(
            {k: f for k, f in found.items() if _finite(f.value)})
    if not node.units:
        node.units[node.name] = {}
    return node


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def find(paths: list[Path]) -> list[Path]:
    """The qualify folders named, or found under the folders named: each folder with a
    verdict.json, and each `qualify-*` folder without one (a run killed midway)."""
    found = []
    for path in paths:
        if (path / "verdict.json").is_file() or path.name.startswith("qualify-"):
            found.append(path)
        elif path.is_dir():
            found += [p.parent for p in path.rglob("verdict.json")]
            found += [p for p in path.rglob("qualify-*") if p.is_dir()]
    # A folder inside a qualify folder (a device's, a suite's) is part of it.
    found = {p for p in found if not any(q != p and q in p.parents for q in found)}
    return sorted(found)


def latest_runs(nodes: list[Node]) -> tuple[list[Node], list[Node], list[list[Node]]]:
    """(the nodes to merge, earlier runs of the same node, nodes that share a name). A node
    run again (a retry, a second submission into the same folder) counts once: its latest
    run, by the folder's time, the earlier ones listed as superseded. Two runs of one name
    on different hosts are two machines sharing a name: both are named, neither merged
    silently over the other."""
    by_name: dict[str, list[Node]] = {}
    for n in nodes:
        by_name.setdefault(n.name, []).append(n)
    kept, superseded, shared = [], [], []
    for name, runs in sorted(by_name.items()):
        hosts = {r.verdict.get("host") for r in runs if r.verdict.get("host")}
        if len(hosts) > 1:
            shared.append(runs)
            continue
        runs = sorted(runs, key=lambda r: r.folder.name)
        kept.append(runs[-1])
        superseded += runs[:-1]
    return kept, superseded, shared


@dataclass
class Spread:
    figure: str
    suite: str
    unit_of_measure: str
    higher_is_better: bool
    device: str
    values: dict[str, float]  # unit -> value
    median: float
    mad: float
    outliers: list[dict] = field(default_factory=list)  # worse than the fleet
    better: list[dict] = field(default_factory=list)  # better than the fleet by as much
    judged: bool = True

    @property
    def spread(self) -> float:
        return self.mad / self.median if self.median else 0.0


def spread_of(name: str, per_unit: dict[str, Figure]) -> Spread:
    values = {unit: f.value for unit, f in per_unit.items()}
    some = next(iter(per_unit.values()))
    median = statistics.median(values.values())
    mad = statistics.median(abs(v - median) for v in values.values())
    kind = "cuda" if some.device.startswith("cuda") else "cpu"
    s = Spread(name, some.suite, some.unit, some.higher_is_better, kind, values, median, mad,
               judged=len(values) >= policy.FLEET_MIN_UNITS)
    if not s.judged or not median:
        return s
    z_max, min_dev = policy.FLEET_OUTLIER_Z[0], policy.FLEET_MIN_DEVIATION[kind][0]
    for unit, v in sorted(values.items()):
        deviation = (v - median) / median
        z = 0.6745 * (v - median) / mad if mad else float("inf") * (1 if v > median else -1)
        if abs(deviation) <= min_dev or abs(z) <= z_max:
            continue
        worse = deviation < 0 if s.higher_is_better else deviation > 0
        entry = {"unit": unit, "value": v, "deviation": round(deviation, 4),
                 "z": None if abs(z) == float("inf") else round(z, 2)}
        (s.outliers if worse else s.better).append(entry)
    return s


@dataclass
class Group:
    profile: str
    stack: dict
    nodes: list[Node]
    spreads: list[Spread] = field(default_factory=list)

    @property
    def failing(self) -> list[Node]:
        return [n for n in self.nodes if n.verdict.get("exit") != 0 or n.problem]

    @property
    def outliers(self) -> list[tuple[Spread, dict]]:
        return [(s, o) for s in self.spreads for o in s.outliers]


def merge(nodes: list[Node]) -> list[Group]:
    by_key: dict[tuple, list[Node]] = {}
    for n in nodes:
        by_key.setdefault((n.profile, n.stack), []).append(n)
    groups = []
    for (profile_name, stack), members in sorted(by_key.items()):
        group = Group(profile_name, json.loads(stack), members)
        per_figure: dict[str, dict[str, Figure]] = {}
        for n in members:
            for unit, found in n.units.items():
                for name, f in found.items():
                    per_figure.setdefault(name, {})[unit] = f
        group.spreads = [spread_of(name, per_unit)
                         for name, per_unit in sorted(per_figure.items())]
        groups.append(group)
    return groups


def _fmt(value: float, unit: str) -> str:
    return f"{value * 1e3:.4g} ms" if unit == "s" and value < 1 else (
        f"{value:.4g} s" if unit == "s" else f"{value:.4g} {unit}")


def _label(figure: str) -> str:
    from .plots import label

    side = figure.rsplit(" [", 1)
    return label(side[0]) + (f" [{side[1]}" if len(side) == 2 else "")


def outlier_line(s: Spread, o: dict) -> str:
    word = ("below" if o["deviation"] < 0 else "above")
    z = "MAD 0" if o["z"] is None else f"modified z {o['z']:+.1f}"
    return (f"**{o['unit']}**: `{_label(s.figure)}` = {_fmt(o['value'], s.unit_of_measure)}, "
            f"{abs(o['deviation']):.0%} {word} the fleet median "
            f"{_fmt(s.median, s.unit_of_measure)} of {len(s.values)} ({z}; "
            f"policy.FLEET_OUTLIER_Z {policy.FLEET_OUTLIER_Z[0]:g}, FLEET_MIN_DEVIATION "
            f"{policy.FLEET_MIN_DEVIATION[s.device][0]:.0%} on {s.device})")


@dataclass
class Unmerged:
    """What the fleet could not merge, each named: nodes asked for that sent nothing,
    reports that cannot be read, one name on two hosts, and earlier runs of a node."""
    missing: list[str] = field(default_factory=list)
    broken: list[Node] = field(default_factory=list)
    shared: list[list[Node]] = field(default_factory=list)
    superseded: list[Node] = field(default_factory=list)

    @property
    def fails(self) -> bool:
        return bool(self.missing or self.broken or self.shared)

    def lines(self) -> list[str]:
        out = []
        if self.missing:
            out += ["Nodes asked for that sent no report (cancelled, never run, or still "
                    "pending):", "", *(f"- **{name}**: missing" for name in self.missing), ""]
        if self.broken:
            out += ["Reports that could not be merged:", "",
                    *(f"- **{n.name}** (`{n.folder}`): {n.problem}" for n in self.broken), ""]
        if self.shared:
            out += ["One node name on several hosts (neither is merged over the other):", ""]
            out += [f"- **{runs[0].name}**: " + ", ".join(
                f"host {r.verdict.get('host')} (`{r.folder}`)" for r in runs)
                for runs in self.shared]
            out.append("")
        if self.superseded:
            out += ["Earlier runs of a node, superseded by its latest (not counted):", "",
                    *(f"- {n.name}: `{n.folder}` (exit {n.verdict.get('exit')})"
                      for n in self.superseded), ""]
        return out


def verdict_code(groups: list[Group], unmerged: Unmerged) -> int:
    if unmerged.fails or any(g.outliers or g.failing for g in groups):
        return Exit.FAILED
    if not groups or any(not s.judged for g in groups for s in g.spreads):
        return Exit.NOT_JUDGED
    return Exit.OK


def markdown(groups: list[Group], code: int, unmerged: Unmerged | None = None) -> str:
    nodes = sum(len(g.nodes) for g in groups)
    lines = [f"# Fleet: exit {code}, {meaning('fleet', code)}", "",
             f"{nodes} nodes in {len(groups)} group(s) of one profile and stack.", ""]
    lines += unmerged.lines() if unmerged else []
    for g in groups:
        units = {u for n in g.nodes for u in n.units}
        lines += [f"## `{g.profile}`: {len(g.nodes)} nodes, {len(units)} units", "",
                  "Stack: " + ", ".join(f"{k} {v}" for k, v in g.stack.items()
                                        if k != "packages" and v), ""]
        if g.outliers:
            lines += ["Outliers (worse than the fleet):", ""]
            lines += [f"- {outlier_line(s, o)}" for s, o in g.outliers]
            lines.append("")
        if g.failing:
            lines += ["Nodes not qualified:", ""]
            for n in g.failing:
                items = n.verdict.get("not_a_pass", [])
                first = "; ".join(f"{i.get('kind')} `{i.get('where')}`" for i in items[:3]
                                  if isinstance(i, dict))
                lines.append(f"- **{n.name}**: exit {n.verdict.get('exit')}, "
                             f"{n.verdict.get('verdict', '')}"
                             + (f" (worst device {n.verdict['worst_device']})"
                                if n.verdict.get("worst_device") else "")
                             + (f": {first}" if first else "")
                             + (f" and {len(items) - 3} more" if len(items) > 3 else "")
                             + (f"; {n.problem}" if n.problem else ""))
            lines.append("")
        better = [(s, o) for s in g.spreads for o in s.better]
        if better:
            lines += ["Better than the fleet by as much (listed, not flagged):", ""]
            lines += [f"- {outlier_line(s, o)}" for s, o in better]
            lines.append("")
        lines += ["| figure | units | median | spread (MAD) | lowest | highest | outliers |",
                  "|---|---|---|---|---|---|---|"]
        for s in g.spreads:
            u = s.unit_of_measure
            lines.append(
                f"| `{_label(s.figure)}` | {len(s.values)} | {_fmt(s.median, u)} | "
                f"{s.spread:.1%} | {_fmt(min(s.values.values()), u)} | "
                f"{_fmt(max(s.values.values()), u)} | "
                + (", ".join(o["unit"] for o in s.outliers) if s.judged else
                   f"not judged: fewer than {policy.FLEET_MIN_UNITS} units") + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(s: Spread, path: Path) -> Path:
    """Each unit's value of one figure, sorted, with the median and the outlier threshold."""
    plt = plots.pyplot()

    units = sorted(s.values, key=s.values.get)
    flagged = {o["unit"] for o in s.outliers}
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(units) + 1.4))
    ax.barh(range(len(units)), [s.values[u] for u in units],
            color=["tab:red" if u in flagged else "tab:blue" for u in units])
    ax.axvline(s.median, color="black", label=f"median {_fmt(s.median, s.unit_of_measure)}")
    edge = 1 - policy.FLEET_MIN_DEVIATION[s.device][0] if s.higher_is_better else \
        1 + policy.FLEET_MIN_DEVIATION[s.device][0]
    ax.axvline(s.median * edge, color="black", linestyle=":", label="outlier threshold "
               "(the deviation floor; the modified z-score must pass too)")
    ax.set_yticks(range(len(units)))
    ax.set_yticklabels(units, fontsize=8)
    ax.set_xlabel(f"{_label(s.figure)} ({s.unit_of_measure})", fontsize=8)
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def to_json(groups: list[Group], code: int, unmerged: Unmerged | None = None) -> dict:
    unmerged = unmerged or Unmerged()
    return {**readers.header("fleet"), "exit": code, "verdict": meaning("fleet", code),
            "missing": unmerged.missing,
            "unreadable": [{"folder": str(n.folder), "why": n.problem}
                           for n in unmerged.broken],
            "shared_names": [{"name": runs[0].name, "folders": [str(r.folder) for r in runs],
                              "hosts": [r.verdict.get("host") for r in runs]}
                             for runs in unmerged.shared],
            "superseded": [str(n.folder) for n in unmerged.superseded],
            "groups": [{
                "profile": g.profile, "stack": g.stack,
                "nodes": [{"name": n.name, "folder": str(n.folder),
                           "exit": n.verdict.get("exit"), "problem": n.problem,
                           "worst_device": n.verdict.get("worst_device"),
                           "units": sorted(n.units)} for n in g.nodes],
                "figures": [{**asdict(s), "spread": round(s.spread, 4)} for s in g.spreads],
                "outliers": [{"figure": s.figure, **o} for s, o in g.outliers],
                "failing": [n.name for n in g.failing]} for g in groups]}


def expected_nodes(value: str) -> list[str]:
    """--expect-nodes: a file with one node name a line (`scontrol show hostnames` writes
    one), or names separated by commas."""
    path = Path(value)
    names = path.read_text().split() if path.is_file() else value.split(",")
    return sorted({n.strip() for n in names if n.strip()})


def parser() -> usage.Parser:
    p = usage.Parser(prog="stackqual fleet", description=__doc__)
    p.add_argument("reports", nargs="+", type=Path,
                   help="qualify folders, or folders holding them")
    usage.report_dir(p, "the fleet folder, fleet-<time>/ (fleet.md, fleet.json, the plots),")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="the fleet folder itself (default: REPORT_DIR/fleet-<time>/)")
    p.add_argument("--expect-nodes", metavar="FILE|A,B,...", type=expected_nodes,
                   help="the nodes asked for: each one without a report is named missing "
                        "(exit 1)")
    return p


def main(argv: list[str], repo: Path) -> int:
    args = parser().parse_args(argv)
    folders = find(args.reports)
    if not folders and not args.expect_nodes:
        return usage.refuse("stackqual fleet", "no qualify report (verdict.json) in "
                            + ", ".join(map(str, args.reports)))
    nodes = [load_node(folder) for folder in folders]
    unmerged = Unmerged(broken=[n for n in nodes if not n.verdict])
    kept, unmerged.superseded, unmerged.shared = latest_runs([n for n in nodes if n.verdict])
    reported = {n.name for n in nodes} | {n.folder.name for n in unmerged.broken}
    unmerged.missing = [name for name in args.expect_nodes or [] if name not in reported
                        and not any(f"-{name}-" in f.name for f in folders)]
    groups = merge(kept)
    code = verdict_code(groups, unmerged)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or (args.report_dir or repo / "reports") / f"fleet-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(groups, code, unmerged)
    (out / "fleet.md").write_text(text, encoding="utf-8", errors="backslashreplace")
    (out / "fleet.json").write_text(json.dumps(to_json(groups, code, unmerged), indent=2)
                                    + "\n")
    for gi, g in enumerate(groups):
        for s in g.spreads:
            if s.higher_is_better and not plots.missing():  # a rate
                name = f"fleet-{gi}-{_label(s.figure)}".replace(" ", "-").replace("/", "_")
                plot(s, out / f"{name}.png")
    print(text, end="")
    print(f"fleet: {out}")
    return code
