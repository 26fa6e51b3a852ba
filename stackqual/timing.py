"""Interleaved A/B timing in one process, and the statistics behind a speed verdict.

A timing is only ever a ratio of two paths measured side by side (eager vs compiled,
math vs flash): absolute times depend on the machine's mood, ratios much less.

- Rounds alternate A,B then B,A (slow drift and order effects cancel in the pair).
- Each sample is `calls` back-to-back calls, calibrated so that a sample is long enough
  for the clock; on CUDA the clock is a pair of CUDA events, read after a synchronise.
- Warm-up calls run first (the compiled side compiles there); during the rounds GC is off,
  the thread count must not change, and a recompile is an error
  (`torch._dynamo.config.error_on_recompile`), because it would time the compiler.
- The ratio is the median of the per-round ratios A/B, with a percentile-bootstrap
  confidence interval over rounds (stackqual.intervals, scipy.stats.bootstrap's percentile
  method without scipy; fixed seed, so the verdict is a function of the samples alone).
- More rounds are taken while the verdict is "inconclusive", up to a round and time cap.
- The machine's other load during the rounds is measured (/proc/stat: CPU time used by
  other processes or stolen by the hypervisor, as a share of all CPUs), so that a slowdown
  can be told apart from a busy machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from . import intervals, plugin


@dataclass(frozen=True)
class TimingConfig:
    min_rounds: int = plugin.MIN_ROUNDS  # first batch; every later batch has this size too
    max_rounds: int = 200
    max_time_s: float = plugin.MAX_TIME_S  # per comparison, rounds only (warm-up excluded)
    sample_s: float = 0.01  # calibrated length of one sample (all its calls)
    warmup_calls: int = 3
    confidence: float = 0.95
    l2_flush: bool = False  # CUDA: overwrite a buffer twice the L2 size before each sample


@dataclass
class Side:
    name: str
    times_s: list[float] = field(default_factory=list)  # per call, one entry per round
    calls: int = 1  # calls per sample, calibrated for this side

    @property
    def median(self) -> float:
        return statistics.median(self.times_s)

    @property
    def iqr(self) -> float:
        q1, _, q3 = statistics.quantiles(self.times_s, n=4, method="inclusive")
        return q3 - q1

    @property
    def noise(self) -> float:
        """IQR / median: the spread of this side's samples, as a fraction."""
        return self.iqr / self.median

    def as_dict(self) -> dict:
        return {"name": self.name, "median_s": self.median, "iqr_s": self.iqr,
                "noise": round(self.noise, 4), "samples": len(self.times_s),
                "calls_per_sample": self.calls}


@dataclass
class Comparison:
    """A and B measured against each other; `ratio` = time(A) / time(B), so a ratio above
    1 means B is faster (for eager vs compiled, the speedup)."""

    a: Side
    b: Side
    ratio: float
    low: float
    high: float
    confidence: float
    device: str
    threads: int
    elapsed_s: float
    stopped: str  # why the rounds stopped: decided, max rounds, time cap
    others_busy: float | None = None  # share of the machine's CPU others used; None: unknown

    @property
    def rounds(self) -> int:
        return len(self.a.times_s)

    @property
    def calls_text(self) -> str:
        a, b = self.a.calls, self.b.calls
        return f"{a} calls" if a == b else f"{a} ({self.a.name}) and {b} ({self.b.name}) calls"

    @property
    def half_width(self) -> float:
        """Half the interval's width relative to the ratio: its precision."""
        return (self.high - self.low) / (2 * self.ratio)

    def describe(self) -> str:
        return (f"{self.a.name}/{self.b.name} = {self.ratio:.3f} "
                f"[{self.low:.3f}, {self.high:.3f}] ({self.confidence:.0%} interval, "
                f"{self.rounds} rounds of {self.calls_text}; {self.a.name} "
                f"{self.a.median * 1e3:.3f} ms ±{self.a.noise:.1%}, {self.b.name} "
                f"{self.b.median * 1e3:.3f} ms ±{self.b.noise:.1%} IQR/median"
                + ("" if self.others_busy is None else
                   f"; other load {self.others_busy:.0%} of the CPUs") + ")")

    def as_dict(self) -> dict:
        return {"a": self.a.as_dict(), "b": self.b.as_dict(), "ratio": self.ratio,
                "low": self.low, "high": self.high, "confidence": self.confidence,
                "rounds": self.rounds,
                "device": self.device, "threads": self.threads,
                "elapsed_s": round(self.elapsed_s, 2), "stopped": self.stopped,
                "others_busy": None if self.others_busy is None else round(self.others_busy, 4)}


@contextlib.contextmanager
def fixed_threads(n: int | None):
    """Run with `n` intra-op threads (None: the run's own), restored afterwards. Compile
    and time under it alike: dynamo guards on the thread count."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def ratio_interval(a_times, b_times, confidence: float = 0.95, seed: int = 0):
    """Median of the paired ratios a_i/b_i and its percentile-bootstrap interval
    (computed on log ratios, so it is symmetric in A and B)."""
    logs = np.log(np.asarray(a_times, dtype=float) / np.asarray(b_times, dtype=float))
    estimate = float(np.exp(np.median(logs)))
    if np.ptp(logs) == 0:  # identical ratios: the interval is the point
        return estimate, estimate, estimate
    low, high = intervals.percentile_bootstrap(logs, np.median, confidence, seed=seed)
    return estimate, float(np.exp(low)), float(np.exp(high))


# glibc serves an allocation above its mmap threshold with fresh pages (page faults on every
# call) and moves that threshold up, to at most 32 MiB, each time it frees such a block, so
# the time of any path that allocates tens of MiB depends on what the process ran before:
# SDPA's math backend at L=1024 (an 8 x 1024 x 1024 fp32 score matrix, 32 MiB) took 98 ms
# in a fresh process, 81 ms inside a full run and 58 ms with the threshold fixed high, while
# the flash kernel beside it stayed at 24 ms (docs/timing.md). A fixed threshold (and trim
# threshold) makes every process of a run, and of every run, allocate alike.
GLIBC_MALLOC_THRESHOLD = 2 ** 30
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


def fix_allocator() -> str:
    """Fix glibc's mmap and trim thresholds for this process (see above); returns what was
    set, for the fingerprint. Elsewhere (not glibc) nothing is changed, and it says so."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = all(libc.mallopt(option, GLIBC_MALLOC_THRESHOLD) == 1
                   for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD))
    except (OSError, AttributeError):
        done = False
    return (f"glibc mmap/trim threshold {GLIBC_MALLOC_THRESHOLD}" if done
            else "default (not glibc: mallopt unavailable)")


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a compiler it ran), user
    and system: unlike wall time, it does not grow when other processes take the CPUs."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """CPU time that others (processes, the hypervisor) used while we measured, as a share
    of all the machine's CPUs, from /proc/stat and the CPU time of this process and its
    finished children. None where /proc/stat is not available."""

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self._read()

    @staticmethod
    def _busy_jiffies():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = fields
        return user + nice + system + irq + softirq + steal

    def _read(self):
        busy = self._busy_jiffies()
        if busy is None:
            return None
        # Our own CPU time includes the children we waited for (the C++ compiler that
        # inductor runs), so that compiling is not mistaken for other processes' load.
        return busy, cpu_seconds() * self.tick, time.perf_counter()

    def share(self) -> float | None:
        now = self._read()
        if now is None or self.start is None:
            return None
        busy, own, wall = (b - a for a, b in zip(self.start, now))
        capacity = wall * self.tick * (os.cpu_count() or 1)
        return max(0.0, (busy - own) / capacity) if capacity > 0 else None


class _Clock:
    """Times `calls` calls of a function: perf_counter on CPU; CUDA events on GPU, read
    after one synchronise per round."""

    def __init__(self, device: str, l2_flush: bool):
        self.cuda = device.startswith("cuda")
        self.flush_buffer = None
        if self.cuda and l2_flush:
            l2 = torch.cuda.get_device_properties(device).L2_cache_size
            self.flush_buffer = torch.empty(2 * l2, dtype=torch.uint8, device=device)

    def sample(self, fn: Callable, calls: int):
        if self.flush_buffer is not None:
            self.flush_buffer.zero_()
        if self.cuda:
            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            for _ in range(calls):
                fn()
            end.record()
            return lambda: start.elapsed_time(end) / 1e3 / calls
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = (time.perf_counter() - t0) / calls
        return lambda: elapsed

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def _calibrate(clock: _Clock, fns, target_s: float) -> int:
    """Calls per sample so that a sample of the fastest of `fns` lasts about `target_s`."""
    fastest = math.inf
    for fn in fns:
        read = clock.sample(fn, 1)
        clock.sync()
        fastest = min(fastest, read())
    return max(1, min(10_000, math.ceil(target_s / max(fastest, 1e-9))))


def measure(a: Callable, b: Callable, *, names=("a", "b"), device: str = "cpu",
            config: TimingConfig = TimingConfig(),
            decided: Callable[[Comparison], bool] | None = None) -> Comparison:
    """Time `a` against `b` (both called without arguments) in interleaved rounds.
    `decided(comparison)` says whether enough rounds have been taken; without it the
    first batch is all."""
    clock = _Clock(device, config.l2_flush)
    for _ in range(config.warmup_calls):
        a()
        b()
    clock.sync()
    threads = torch.get_num_threads()
    # Each side its own calls per sample: one count for both made a slow side's sample
    # last hundreds of times the target when the other side is fast (a 50 us yardstick
    # against a 50 ms model: 100 s a test).
    side_a, side_b = (Side(name, calls=1 if config.l2_flush else
                           _calibrate(clock, (fn,), config.sample_s))
                      for name, fn in zip(names, (a, b)))

    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    load = OtherLoad()
    try:
        with torch._dynamo.config.patch(error_on_recompile=True):
            while True:
                for _ in range(config.min_rounds):
                    order = ((a, side_a), (b, side_b))
                    if len(side_a.times_s) % 2:
                        order = order[::-1]
                    reads = [(side, clock.sample(fn, side.calls)) for fn, side in order]
                    clock.sync()
                    for side, read in reads:
                        side.times_s.append(read())
                    if torch.get_num_threads() != threads:
                        raise RuntimeError(
                            f"the thread count changed during timing ({threads} -> "
                            f"{torch.get_num_threads()}): a compiled function guarded on it "
                            "recompiles, and the timing would include the compiler")
                comparison = _compare(side_a, side_b, device, threads, config,
                                      time.perf_counter() - start, load.share())
                if decided is None or decided(comparison):
                    comparison.stopped = "decided"
                    return comparison
                if comparison.rounds >= config.max_rounds:
                    comparison.stopped = f"max rounds ({config.max_rounds})"
                    return comparison
                if comparison.elapsed_s >= config.max_time_s:
                    comparison.stopped = f"time cap ({config.max_time_s:g} s)"
                    return comparison
    finally:
        if gc_was_enabled:
            gc.enable()


def measure_again(a: Callable, b: Callable, first: Comparison, *, names=("a", "b"),
                  device: str = "cpu", config: TimingConfig = TimingConfig()) -> Comparison:
    """A confirmation of `first`: a fresh measurement of exactly as many rounds as `first`
    took, its interval computed once. `first` stopped when its interval decided (optional
    stopping, which raises the chance that noise alone crosses a bound); a measurement whose
    size is fixed before it starts crosses one side of its 95% interval by chance at most
    2.5% of the time, whatever `first` did, so a verdict resting on it keeps that rate
    (docs/timing.md, "The false-alarm rate")."""
    fixed = dataclasses.replace(config, min_rounds=first.rounds, max_rounds=first.rounds)
    again = measure(a, b, names=names, device=device, config=fixed)
    again.stopped = f"fixed {first.rounds} rounds"
    return again


def _compare(side_a, side_b, device, threads, config, elapsed, others_busy) -> Comparison:
    ratio, low, high = ratio_interval(side_a.times_s, side_b.times_s, config.confidence)
    return Comparison(a=Side(side_a.name, list(side_a.times_s), side_a.calls),
                      b=Side(side_b.name, list(side_b.times_s), side_b.calls), ratio=ratio,
                      low=low, high=high, confidence=config.confidence, device=device,
                      threads=threads, elapsed_s=elapsed, stopped="", others_busy=others_busy)


def measure_each(fns: dict[str, Callable], *, device: str = "cpu", rounds: int = 10,
                 sample_s: float = 0.01,
                 warmup_calls: int = 2) -> tuple[dict[str, Side], float | None]:
    """Absolute time per call of each function, in `rounds` rounds that run every function
    once each (the order rotating from round to round), with the same clock, GC and
    thread rules as `measure`; each function's calls per sample calibrated on its own.
    For the machine's calibration (stackqual.calibration), never for a verdict on the
    code. Returns the sides and the other load during the rounds."""
    clock = _Clock(device, l2_flush=False)
    for fn in fns.values():
        for _ in range(warmup_calls):
            fn()
    clock.sync()
    calls = {name: _calibrate(clock, (fn,), sample_s) for name, fn in fns.items()}
    sides = {name: Side(name) for name in fns}
    names = list(fns)
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    load = OtherLoad()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                read = clock.sample(fns[name], calls[name])
                clock.sync()
                sides[name].times_s.append(read())
    finally:
        if gc_was_enabled:
            gc.enable()
    return sides, load.share()
