"""Is this the machine a timing baseline was measured on? A calibration answers it.

A profile name (`cpu-avx512`) and even a CPU model string ("AMD EPYC") do not identify a
machine's speed: cloud hosts of one name differ by generations, and a ratio such as
eager/compiled moves with them, because memory-bound and compute-bound work scale
differently from host to host. One host's speed also moves in phases of seconds, when a
neighbour shares its physical core (docs/timing.md). So every timing is measured together
with a calibration: a few fixed yardstick workloads standing for what the timed cases
depend on, timed the same way as the cases (stackqual.timing: calibrated samples, GC off,
device-synchronised, fixed threads), just before the timing (about 0.6 s). The baseline
keeps the calibration of its own measurement; a timing is compared only when every
yardstick here is within `policy.CALIBRATION_TOLERANCE` of it. Otherwise the check is
*not comparable*: a verdict of its own, never "regressed".

Yardsticks (CPU sizes; CUDA sizes in brackets):
- gemm: one square fp32 [bf16] matmul, n=256 [8192]: compute-bound (FLOP/s).
- memory: copying a 64 MiB [1 GiB] tensor, more than the last-level cache one core reaches
  on most server CPUs: memory-bound (bytes read + written per second).
- dispatch: 100 tiny elementwise ops on an 8-element tensor: latency-bound, the Python and
  ATen dispatch overhead (and, on CUDA, kernel launch) that small models and compiled
  wrappers pay per call.
- python: pure interpreter work (formatting, sorting, dict building): what tracing and
  compiling (dynamo, inductor's code generation) run on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from . import timing

CPU_THREADS = 1  # the CPU timed cases run on one thread (each suite's speed table)
ROUNDS = 10
SAMPLE_S = 0.01


@dataclass(frozen=True)
class Yardstick:
    name: str
    unit: str  # what `rate` counts per second
    scale: float  # unit per second = work / time / scale
    build: Callable[[str], tuple[Callable, float]]  # device -> (function, work per call)


def _gemm(device: str):
    n, dtype = (8192, torch.bfloat16) if device.startswith("cuda") else (256, torch.float32)
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=g).to(device, dtype) for _ in range(2))
    return (lambda: torch.mm(a, b)), 2.0 * n ** 3


def _memory(device: str):
    numel = (2 ** 30 if device.startswith("cuda") else 2 ** 26) // 4
    src = torch.ones(numel, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    return (lambda: dst.copy_(src)), 2.0 * numel * 4  # read + write


def _dispatch(device: str):
    x = torch.ones(8, device=device)

    def run():
        for _ in range(100):
            x.add_(1e-6)
    return run, 100.0


def _python(device: str):
    def run():
        table = {f"node_{i}": (i * 7) % 13 for i in range(500)}
        return sorted(table, key=table.__getitem__)
    return run, 500.0


YARDSTICKS = (
    Yardstick("gemm", "GFLOP/s", 1e9, _gemm),
    Yardstick("memory", "GB/s", 1e9, _memory),
    Yardstick("dispatch", "Mops/s", 1e6, _dispatch),
    Yardstick("python", "Mitems/s", 1e6, _python),
)


def kind(device: str) -> str:
    """Calibrations are kept per kind of device: "cpu" or "cuda"."""
    return "cuda" if str(device).startswith("cuda") else "cpu"


def measure(device: str = "cpu") -> dict:
    """This machine's calibration on `device`: per yardstick the median time per call,
    its noise and rate; the thread count, the other load while it was measured and how
    long it took."""
    start = time.perf_counter()
    cpu = kind(device) == "cpu"
    with torch.no_grad(), timing.fixed_threads(CPU_THREADS if cpu else None):
        built = {y.name: y.build(device) for y in YARDSTICKS}
        sides, others_busy = timing.measure_each(
            {name: fn for name, (fn, _) in built.items()}, device=device, rounds=ROUNDS,
            sample_s=SAMPLE_S)
        threads = torch.get_num_threads()
    figures = {}
    for y in YARDSTICKS:
        side, work = sides[y.name], built[y.name][1]
        figures[y.name] = {"median_s": side.median, "noise": round(side.noise, 4),
                           "rate": round(work / side.median / y.scale, 3), "unit": y.unit}
    return {"device": kind(device), "threads": threads, "yardsticks": figures,
            "others_busy": None if others_busy is None else round(others_busy, 4),
            "seconds": round(time.perf_counter() - start, 2)}


def differences(recorded: dict | None, here: dict, tolerance: float) -> list[str]:
    """Why this machine is not the one `recorded` was measured on: one line per yardstick
    whose time differs by more than the factor 1 + tolerance (either way), or whose
    thread count differs. Empty: equivalent."""
    if not recorded:
        return ["the baseline was recorded without a calibration of its machine"]
    lines = []
    if recorded.get("threads") != here["threads"]:
        lines.append(f"threads: {recorded.get('threads')} recorded, {here['threads']} here")
    for y in YARDSTICKS:
        old, new = recorded.get("yardsticks", {}).get(y.name), here["yardsticks"][y.name]
        if not old:
            lines.append(f"{y.name}: not in the recorded calibration")
            continue
        factor = new["median_s"] / old["median_s"]
        if not 1 / (1 + tolerance) <= factor <= 1 + tolerance:
            speed = f"{factor:.2f}x slower" if factor > 1 else f"{1 / factor:.2f}x faster"
            lines.append(f"{y.name}: {new['rate']:g} {y.unit} here, {old['rate']:g} recorded "
                         f"({speed}, beyond the {tolerance:.0%} tolerance)")
    return lines


def usual(calibrations: list[dict], device: str) -> dict | None:
    """This machine at its usual speed in `calibrations` (those of `device`'s kind and the
    latest thread count): per yardstick the lower quartile of the times seen (the fastest
    while there are fewer than four), so that neither one lucky calibration nor a slow
    phase shorter than three quarters of the run sets it. A shared host's slow phase shows
    as a calibration slower than this."""
    mine = [c for c in calibrations if c.get("device") == kind(device)]
    if not mine:
        return None
    mine = [c for c in mine if c["threads"] == mine[-1]["threads"]]
    yardsticks = {}
    for y in YARDSTICKS:
        figures = sorted((c["yardsticks"][y.name] for c in mine), key=lambda f: f["median_s"])
        yardsticks[y.name] = figures[(len(figures) - 1) // 4] if len(figures) >= 4 else figures[0]
    return {"device": kind(device), "threads": mine[-1]["threads"], "yardsticks": yardsticks}


def run_summary(calibrations: list[dict]) -> str:
    """`gemm 69-86.2 GFLOP/s, ...`: the range of each yardstick's rate over the
    calibrations of one run, i.e. how much this machine's speed moved while it ran."""
    parts = []
    for y in YARDSTICKS:
        rates = [c["yardsticks"][y.name]["rate"] for c in calibrations]
        low, high = min(rates), max(rates)
        parts.append(f"{y.name} {low:g}" + (f"-{high:g}" if high != low else "") + f" {y.unit}")
    return ", ".join(parts) + f" ({len(calibrations)} calibrations)"


def side_by_side(recorded: dict | None, here: dict) -> str:
    """`gemm 48.1 vs 47.9 GFLOP/s, ...`: this machine's figures beside the recorded ones."""
    old = (recorded or {}).get("yardsticks", {})
    parts = []
    for y in YARDSTICKS:
        new = here["yardsticks"][y.name]["rate"]
        was = old.get(y.name, {}).get("rate", "?")
        parts.append(f"{y.name} {new:g} here vs {was} recorded {y.unit}")
    busy = here.get("others_busy")
    return "; ".join(parts) + ("" if busy is None else f" (other load {busy:.0%} here)")
