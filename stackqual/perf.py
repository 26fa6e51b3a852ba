"""Performance gates (the `perf` fixture): a timing.Comparison (a ratio, higher is better)
or a few samples of a time (lower is better) judged against this profile's baseline, and
a policy floor.

Before anything is compared, the baseline must come from an equivalent machine: the same
profile (else the test fails: --profile named the wrong folder), the same CPU and GPU model
and thread count, and a calibration of the machine (stackqual.calibration) within
policy.CALIBRATION_TOLERANCE of this one's. Otherwise the check is *not comparable*: reported
as such, with the yardsticks side by side and the command that records this machine's
baselines, and skipped; never "regressed". The verdict itself (pass, regressed, improved,
inconclusive, and the minimum detectable change) is decided by stackqual.timed, the same
rules for every timed check. Each comparison is also handed to pytest-benchmark (the
candidate side's samples as its stats, the rest in extra_info), so
--benchmark-json/-save/-compare carry it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from . import calibration
from . import judge as rules
from . import incompatible, policy, timed, timing
from .gate import Gate
from .verdicts import BLOCKING, Verdict


@dataclass
class PerfOptions:
    timing: timing.TimingConfig = field(default_factory=timing.TimingConfig)
    tolerances: dict = field(default_factory=dict)  # --perf-tolerance overrides
    # every declared tolerance: the harness's and the suites' (stackqual.declared)
    known: dict = field(default_factory=lambda: dict(policy.PERF_TOLERANCE))
    inconclusive_fails: bool = False
    fingerprint: dict = field(default_factory=dict)  # this run's stack fingerprint
    calibrations: list = field(default_factory=list)  # every calibration of the run
    # Seconds this run may still spend waiting for the machine to match a baseline's
    # calibration (policy.CALIBRATION_WAIT_S).
    wait_left_s: float = policy.CALIBRATION_WAIT_S[0]


# What a timing baseline must share with this run to be compared, besides the calibration:
# the hardware (CPU model, GPU model), the thread count and the allocator setting.
HARDWARE_KEYS = ("cpu", "gpu", "torch_threads", "allocator")
# The whole suites, not --benchmark-only: a timing is recorded in the process context a
# normal run compares it in. On cpu-avx2, within one hour, the encoder-layer speedup read
# 1.27-1.30 with its test file alone and 1.17 and 1.19 in two full runs, which then called
# unchanged code regressed against the 1.348 the timed tier alone had recorded.
RECORD_COMMAND = ("pytest suites --update-baselines (add --profile NAME to keep the other "
                  "machine's baselines under their own name)")


class PerfGate:
    def __init__(self, gate: Gate, options: PerfOptions, benchmark):
        self.gate = gate
        self.options = options
        self.benchmark = benchmark
        self._usual: dict | None = None  # recording: this machine's usual speed in this run

    def tolerance(self, name: str, baseline: float | None = None) -> tuple[float, str]:
        """(band, where it comes from) of the timed metric kind `name`, as declared by the
        harness or a suite (policy.perf_tolerance); a name declared nowhere fails the test
        with where to declare it."""
        if name not in self.options.known:
            pytest.fail(f"{self.gate.case_id}: tolerance {name!r} is declared nowhere; "
                        f"declare it in the suite's suite.toml as [tolerances.{name}] with "
                        "`band` and `why` (docs/adding-a-suite.md); declared: "
                        f"{', '.join(sorted(self.options.known))}", pytrace=False)
        return policy.perf_tolerance(name, self.options.known, self.options.tolerances,
                                     baseline)

    # -- baselines ----------------------------------------------------------------------
    def _calibrate(self, device: str) -> dict:
        now = calibration.measure(device)
        self.options.calibrations.append(now)
        return now

    def _recorded_calibration(self, metric: str) -> dict | None:
        return self.gate.recorded().get("calibration", {}).get(self.gate.check_id(metric))

    def _calibrate_for(self, metric: str, device: str) -> dict:
        """This machine's calibration, before a timing. Where it differs from the
        baseline's (when recording: from this machine at its fastest in this run), calibrate
        again while the run's waiting budget lasts: a shared host leaves a slow phase within
        seconds (policy.CALIBRATION_WAIT_S)."""
        now = self._calibrate(device)
        if self.gate.update:  # the usual speed before any waiting, for _stage too
            self._usual = calibration.usual(self.options.calibrations, device)
        was = self._usual if self.gate.update else self._recorded_calibration(metric)
        check_left_s = policy.CALIBRATION_WAIT_S[1]
        while (was and min(self.options.wait_left_s, check_left_s) > 0 and
               calibration.differences(was, now, policy.CALIBRATION_TOLERANCE[0])):
            start = time.perf_counter()
            now = self._calibrate(device)
            # at least a real calibration's length, so that the budget bounds the count too
            spent = max(time.perf_counter() - start, 0.5)
            self.options.wait_left_s -= spent
            check_left_s -= spent
        return now

    def _band(self, metric: str, now: dict, tolerance: str, higher_is_better: bool,
              unit: str = "", details: dict | None = None,
              equivalence: tuple[float, str] | None = policy.CALIBRATION_TOLERANCE
              ) -> timed.Band | None:
        """This profile's baseline with its tolerance, or None when recording or when
        there is none. A baseline of another profile fails the test; one measured on a
        machine that is not equivalent to this one (`now`: its calibration, within
        `equivalence`; None: the hardware keys only) skips as "not comparable", its record
        keeping the check's `details` (which path ran)."""
        gate = self.gate
        value = None if gate.update else gate.baseline(metric, "positive number")
        if value is None:
            return None
        fingerprint = gate.recorded().get("fingerprint", {})
        here = self.options.fingerprint
        if fingerprint.get("profile") != here.get("profile"):
            pytest.fail(
                f"{gate.check_id(metric)}: the baseline in {gate.baseline_path} was measured "
                f"on hardware profile {fingerprint.get('profile')!r}, and this machine is "
                f"{here.get('profile')!r}; timings are not compared across profiles. Record "
                f"this machine's own with --profile {here.get('profile')} --update-baselines",
                pytrace=False)
        reasons = [f"{key} {fingerprint.get(key)!r} -> {here.get(key)!r}"
                   for key in HARDWARE_KEYS if fingerprint.get(key) != here.get(key)]
        if equivalence or reasons:
            self._require_equivalent(metric, now, reasons, details=details,
                                     within=equivalence or policy.CALIBRATION_TOLERANCE)
        tol, tol_source = self.tolerance(tolerance, None if higher_is_better else float(value))
        source = f"baseline {gate.baseline_path}; tolerance {tol:.0%} ({tol_source})"
        return timed.Band(float(value), tol, higher_is_better, source, unit)

    def _require_equivalent(self, metric: str, now: dict, reasons: tuple | list = (),
                            when: str = "", details: dict | None = None,
                            within: tuple[float, str] = policy.CALIBRATION_TOLERANCE) -> None:
        """Skip as "not comparable" unless this machine's calibration `now` (and the
        hardware `reasons` found) say it is equivalent to the machine that measured the
        baseline, as that baseline's own calibration describes it."""
        gate = self.gate
        was = self._recorded_calibration(metric)
        reasons = [*reasons, *calibration.differences(was, now, within[0])]
        if not reasons:
            return
        message = (
            f"not comparable: this machine{when} is not the one the baseline in "
            f"{gate.baseline_path} was measured on ({'; '.join(reasons)}). Calibration: "
            f"{calibration.side_by_side(was, now)}. A timing is compared only on an "
            f"equivalent machine ({within[1]}); record this machine's "
            f"with: {RECORD_COMMAND}")
        gate.record(metric, None, None, Verdict.NOT_COMPARABLE, "stackqual.calibration", message,
                    {**(details or {}), "reasons": reasons, "calibration_recorded": was,
                     "calibration_here": now})
        pytest.skip(f"{gate.check_id(metric)}: {message}")

    def _stage(self, metric: str, value: float, m: timed.Measured, now: dict,
               details: dict) -> None:
        """--update-baselines: stage a timing with the calibration `now` of the machine
        that measured it; never from a busy machine (during the timing or calibration)."""
        shares = [s for s in (m.others_busy, now.get("others_busy")) if s is not None]
        if shares and max(shares) > policy.BUSY_MACHINE_MAX:
            self.gate.require(metric, False, measured=value, expected="a quiet machine",
                              source="policy.BUSY_MACHINE_MAX", details=details,
                              message=f"not recorded, {timed.busy_note(max(shares))}: "
                                      f"{m.described}")
        # Nor from a slow phase of a shared host (a neighbour on the physical core, which
        # /proc/stat does not show): a baseline recorded there would make every later run
        # at the host's usual speed "not comparable". The calibration taken before the
        # timing (after waiting, _calibrate_for) must match the machine's usual speed in this
        # run (calibration.usual). Not the one after it: a long timing leaves the host's
        # core slower for a while (8-17% on the GEMM, dispatch and Python yardsticks right
        # after the mamba speedup on the CI VM), in judged runs too, which calibrate before.
        tol = policy.CALIBRATION_TOLERANCE
        slow = calibration.differences(self._usual, now, tol[0])
        if slow:
            self.gate.require(
                metric, False, measured=value, expected="this machine at its usual speed",
                source=tol[1], details=details,
                message=f"not recorded: this machine ran slower than its usual speed in this "
                        f"run ({'; '.join(slow)}), a shared host's slow phase; "
                        "record again when it is quiet")
        self.gate.stage(metric, value, details, calibration=now)

    def _gate(self, metric: str, m: timed.Measured, band: timed.Band | None, device: str,
              details: dict, stage: Callable[[], None],
              confirm: Callable[[], timed.Measured] | None = None,
              recheck: bool = True) -> None:
        """The baseline gate (Gate.against_baseline) of a timing, judged by stackqual.timed.
        A regression is believed only if a calibration measured right after it still
        matches the baseline's: a shared host's speed moves in phases of seconds (a
        neighbour on the same physical core); otherwise the check is not comparable."""
        def decide(baseline) -> timed.Judgement:
            judgement = timed.judge(metric, m, band, confirm)
            if judgement.verdict == Verdict.REGRESSED and recheck:
                now = self._calibrate(device)
                details["calibration_after"] = now
                self._require_equivalent(
                    metric, now, when=" (calibrated again after a regressed timing)",
                    details={**details, "measured": judgement.value or m.value,
                             "regressed": judgement.message})
            details.update(detectable_slowdown=round(judgement.detectable, 4),
                           noise_limited=judgement.noise_limited)
            return judgement

        fail_on = BLOCKING | ({Verdict.INCONCLUSIVE} if self.options.inconclusive_fails else set())
        self.gate.against_baseline(metric, m.value, decide, kind="positive number",
                                   details=details, source=band.source if band else "",
                                   stage=stage, described=m.described, fail_on=fail_on)

    # -- speed ratios -------------------------------------------------------------------
    def speed(self, metric: str, a: Callable, b: Callable, *, names=("eager", "compiled"),
              device: str = "cpu", tolerance: str = "speedup",
              at_least: tuple[float, str] | None = None,
              context: dict | None = None) -> timing.Comparison | None:
        """Time a against b; gate the ratio time(a)/time(b) (higher: b faster) against the
        profile's baseline and, with `at_least=(floor, source)`, a policy floor. `context`
        (e.g. which implementation ran) is reported with the measurement."""
        gate = self.gate
        if self.benchmark.disabled:  # --benchmark-disable: run once, measure nothing
            a(), b()
            gate.info(metric, None, note="--benchmark-disable: not measured")
            return None
        now = self._calibrate_for(metric, device)
        band = self._band(metric, now, tolerance, higher_is_better=True, details=context)
        tol = self.tolerance(tolerance)[0]

        def decided(c: timing.Comparison) -> bool:
            floor_open = at_least and c.low <= at_least[0] <= c.high
            if band is None:  # recording, or nothing to compare: aim for precision
                return c.half_width <= tol / 2 and not floor_open
            undecided = timed.placement(timed.Measured.of(c), band) == Verdict.INCONCLUSIVE
            return not undecided and not floor_open

        c = timing.measure(a, b, names=names, device=device, config=self.options.timing,
                           decided=decided)
        self._hand_to_benchmark(metric, f"{names[1]}; {names[0]} in extra_info", c.b.times_s,
                                c.b.calls, c.as_dict())
        details = {**(context or {}), **c.as_dict(), "kind": "speed", "tolerance": tol,
                   "baseline": None if band is None else band.baseline, "calibration": now}
        if at_least is not None:
            floor, source = at_least
            gate.require(f"{metric}_floor", c.low > floor, measured=round(c.ratio, 4),
                         expected=f"> {floor:g}", source=source, details=details,
                         message=(f"{names[1]} was not shown faster than {floor:g}x {names[0]}: "
                                  f"{c.describe()} ({source})"))
        confirmations = []

        def confirm() -> timed.Measured:
            confirmations.append(timing.measure_again(a, b, c, names=names, device=device,
                                                      config=self.options.timing))
            details["confirmation"] = confirmations[-1].as_dict()
            return timed.Measured.of(confirmations[-1])

        m = timed.Measured.of(c)
        self._gate(metric, m, band, device, details, confirm=confirm,
                   stage=lambda: self._stage(metric, m.value, m, now, details))
        return confirmations[-1] if confirmations else c

    def _hand_to_benchmark(self, metric: str, what: str, samples_s, calls: int,
                           extra: dict) -> None:
        """pytest-benchmark's runner times one callable; ours interleaves two, so the
        candidate side's samples (seconds per call) become its stats, with `calls` calls
        per sample as its iterations, and the rest goes in extra_info."""
        bench = self.benchmark
        bench._mode = "stackqual.perf"
        if bench.disabled:
            return
        bench.group = f"{self.gate.suite}: {metric} ({what})"
        with incompatible.harness("pytest-benchmark's BenchmarkFixture._make_stats"):
            make_stats = bench._make_stats
        stats = make_stats(calls)
        for t in samples_s:
            stats.update(t * calls)
        bench.extra_info[metric] = extra

    # -- rates --------------------------------------------------------------------------
    def rate(self, metric: str, times_s: list[float], *, work: float, unit: str,
             scale: float, tolerance: str, device: str = "cpu",
             others_busy: float | None = None, **details) -> float:
        """An absolute rate of which higher is better (the hardware's GEMM FLOP/s, memory
        GB/s): `work / scale` per second, from the per-call times of samples; the median
        counts, the interquartile range is its interval. Returns the median rate.
        Compared only on the same device model (the profile, the fingerprint's CPU or GPU
        model); on CPU also only where the calibration is within
        policy.RATE_CPU_EQUIVALENCE of the baseline's (a CPU model string such as "AMD
        EPYC" covers several generations), on CUDA never excused by it: a slower GPU is what
        the check exists to catch. `tolerance`: the declared band's name."""
        rates = [work / t / scale for t in times_s]
        ordered = sorted(rates)
        q = len(ordered) // 4
        median = round(ordered[len(ordered) // 2], 3)
        m = timed.Measured(median, ordered[q], ordered[-1 - q],
                           f"{metric} = {median} {unit} (median of {len(rates)} samples, "
                           f"interquartile {ordered[q]:.4g}-{ordered[-1 - q]:.4g})",
                           others_busy)
        tol = self.tolerance(tolerance)[0]
        details = {"rates": [round(r, 4) for r in rates], "unit": unit, "kind": "rate",
                   "tolerance": tol, "others_busy": others_busy, **details}
        self._hand_to_benchmark(metric, f"seconds per call; {unit} in extra_info", times_s, 1,
                                {unit: median, **details})
        now = self._calibrate_for(metric, device)
        details["calibration"] = now
        cpu = calibration.kind(device) == "cpu"
        band = self._band(metric, now, tolerance, higher_is_better=True, unit=f" {unit}",
                          details=details,
                          equivalence=policy.RATE_CPU_EQUIVALENCE if cpu else None)
        self._gate(metric, m, band, device, details, recheck=False,
                   stage=lambda: self._stage(metric, median, m, now, details))
        return median

    # -- times --------------------------------------------------------------------------
    def time(self, metric: str, samples_s: list[float], *, tolerance: str, device: str = "cpu",
             what: str = "CPU time", others_busy: float | None = None, **details) -> None:
        """A time of which lower is better (a cold compile's CPU seconds), from a few
        samples: the fastest counts, the samples' range is its interval. `others_busy`:
        the share of the CPUs other processes used while the samples were taken."""
        fastest = round(min(samples_s), 3)
        m = timed.Measured(fastest, min(samples_s), max(samples_s),
                           f"{metric} = {fastest} s ({what}, the fastest of "
                           f"{[round(s, 3) for s in samples_s]})", others_busy)
        details = {"samples_s": samples_s, "what": what, "kind": "time",
                   "tolerance": self.tolerance(tolerance)[0],
                   "others_busy": others_busy, **details}
        self._hand_to_benchmark(metric, what, samples_s, 1, {"seconds": fastest, **details})
        now = self._calibrate_for(metric, device)
        details["calibration"] = now
        band = self._band(metric, now, tolerance, higher_is_better=False, unit=" s",
                          details=details)
        self._gate(metric, m, band, device, details,
                   stage=lambda: self._stage(metric, fastest, m, now, details))
