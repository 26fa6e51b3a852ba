"""The CPU's theoretical fp32 peak, where it can be derived from what the machine says
about itself: CPUs x fp32 lanes per vector x 2 (a fused multiply-add is two FLOPs) x FMA
units per core x clock.

- CPUs: those this process may use (os.sched_getaffinity). A logical CPU may be an SMT
  sibling sharing its core's FMA units, so on a hyperthreaded or cloud vCPU machine the
  figure is an upper bound (said in the source text).
- lanes: 16 with avx512f, 8 with avx/avx2, 4 otherwise (/proc/cpuinfo flags).
- FMA units per core: 2, the count of Intel server cores since Skylake-SP (Intel 64 and
  IA-32 Architectures Optimization Reference Manual, "two FMA units" on ports 0 and 5)
  and AMD Zen 2-4 (two FMA pipes: Software Optimization Guide for AMD Family 17h/19h
  Processors); an assumption where the part has one.
- clock: cpuinfo_max_freq from /sys (the boost clock), else /proc/cpuinfo's "cpu MHz"
  (on a VM usually the nominal clock).
"""

from __future__ import annotations

import os
from pathlib import Path

FMA_UNITS = 2


def _cpuinfo() -> dict:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    pairs = (line.partition(":") for line in text.split("\n\n")[0].splitlines())
    return {key.strip(): value.strip() for key, _, value in pairs}


def _clock_ghz(info: dict) -> tuple[float | None, str]:
    try:
        khz = int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text())
        return khz / 1e6, "cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        return float(info["cpu MHz"]) / 1e3, "/proc/cpuinfo cpu MHz"
    except (KeyError, ValueError):
        return None, ""


def fp32_gflops() -> tuple[float | None, str]:
    """(peak GFLOP/s or None, how it was derived or why it could not be)."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    ghz, clock_source = _clock_ghz(info)
    if not flags or ghz is None:
        return None, "not derivable: no /proc/cpuinfo flags or clock on this machine"
    lanes = 16 if "avx512f" in flags else 8 if {"avx", "avx2"} & flags else 4
    fma = 2 if "fma" in flags or "avx512f" in flags else 1
    cpus = len(os.sched_getaffinity(0))
    peak = cpus * lanes * fma * FMA_UNITS * ghz
    return round(peak, 1), (
        f"{cpus} CPUs x {lanes} fp32 lanes x {fma} (FMA) x {FMA_UNITS} FMA units x "
        f"{ghz:.2f} GHz ({clock_source}); an upper bound where CPUs are SMT siblings "
        "(stackqual/cpu_peak.py)")
