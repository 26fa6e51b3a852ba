"""Performance gates (the `perf` fixture): a timing.Comparison judged against this
profile's baseline ratio, a wall time against its baseline, a policy floor.

Verdicts: pass, regressed (fails the test), improved (reported; consider re-recording),
inconclusive (reported, and a failure with --perf-inconclusive=fail): the interval
straddles the band's lower edge after the round and time caps, or the machine was busy
(policy.BUSY_MACHINE_MAX), or a regression was not confirmed by a second, independent
measurement. Each comparison is also handed to pytest-benchmark (the candidate side's
samples as its stats, the rest in extra_info), so --benchmark-json/-save/-compare carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from . import policy, timing
from .gate import Gate


@dataclass
class PerfOptions:
    timing: timing.TimingConfig = field(default_factory=timing.TimingConfig)
    tolerances: dict = field(default_factory=dict)  # --perf-tolerance overrides
    inconclusive_fails: bool = False
    fingerprint: dict = field(default_factory=dict)  # this run's stack fingerprint


# What a timing baseline must share with this run to be compared: the hardware (profile,
# CPU model, GPU model) and the thread count.
HARDWARE_KEYS = ("profile", "cpu", "gpu", "torch_threads")


class PerfGate:
    def __init__(self, gate: Gate, options: PerfOptions, benchmark):
        self.gate = gate
        self.options = options
        self.benchmark = benchmark

    # -- baselines ----------------------------------------------------------------------
    def _baseline(self, metric: str):
        """This profile's recorded value (None if none). A timing is compared only on the
        hardware and thread count it was measured with: a baseline of another profile is
        refused (a failure: --profile named the wrong folder); one of another CPU or GPU
        model or thread count under the same profile name skips, saying so."""
        store, suite = self.gate.store, self.gate.suite
        cid = self.gate.check_id(metric)
        value = store.get(suite, cid)
        if value is None:
            return None
        path = self.gate.baseline_path
        recorded, here = store.files[suite].fingerprint, self.options.fingerprint
        if recorded.get("profile") != here.get("profile"):
            pytest.fail(
                f"{cid}: the baseline in {path} was measured on hardware profile "
                f"{recorded.get('profile')!r}, and this machine is {here.get('profile')!r}; "
                "timings are not compared across profiles. Record this machine's own with "
                f"--profile {here.get('profile')} --update-baselines", pytrace=False)
        differences = [f"{key} {recorded.get(key)!r} -> {here.get(key)!r}"
                       for key in HARDWARE_KEYS if recorded.get(key) != here.get(key)]
        if differences:
            pytest.skip(
                f"{cid}: the baseline in {path} was measured with other hardware or threads "
                f"({'; '.join(differences)}), so it is not compared; record this machine's "
                "with --update-baselines (under its own --profile name to keep both)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            pytest.fail(f"{cid}: the baseline in {path} is {value!r}, not a positive number; "
                        "fix the file or re-record it with --update-baselines", pytrace=False)
        return float(value)

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
        tol, tol_source = policy.perf_tolerance(tolerance, self.options.tolerances)
        baseline = None if gate.update else self._baseline(metric)

        def decided(c: timing.Comparison) -> bool:
            floor_open = at_least and c.low <= at_least[0] <= c.high
            if baseline is None:  # recording, or nothing to compare: aim for precision
                return c.half_width <= tol / 2 and not floor_open
            verdict = timing.verdict(c.low, c.high, baseline, tol)
            return verdict != "inconclusive" and not floor_open

        def measure() -> timing.Comparison:
            return timing.measure(a, b, names=names, device=device,
                                  config=self.options.timing, decided=decided)

        c = measure()
        self._hand_to_benchmark(metric, f"{names[1]}; {names[0]} in extra_info", c.b.times_s,
                                c.calls_per_sample, c.as_dict())
        details = {**(context or {}), **c.as_dict(), "tolerance": tol,
                   "tolerance_source": tol_source, "baseline": baseline}
        measured = round(c.ratio, 4)
        busy = c.others_busy is not None and c.others_busy > policy.BUSY_MACHINE_MAX
        busy_note = (f"the machine was busy: other processes used {c.others_busy:.0%} of its "
                     f"CPUs during the rounds (policy.BUSY_MACHINE_MAX "
                     f"{policy.BUSY_MACHINE_MAX:.0%})") if busy else ""

        if at_least is not None:
            floor, source = at_least
            gate.require(f"{metric}_floor", c.low > floor, measured=measured,
                         expected=f"> {floor:g}", source=source, details=details,
                         message=(f"{names[1]} was not shown faster than {floor:g}x {names[0]}: "
                                  f"{c.describe()} ({source})"))
        path = gate.baseline_path
        if gate.update:
            if busy:
                gate.require(metric, False, measured=measured, expected="a quiet machine",
                             source="policy.BUSY_MACHINE_MAX", details=details,
                             message=f"not recorded, {busy_note}: {c.describe()}")
            gate.stage(metric, measured, details)
            return c
        if baseline is None:
            gate.no_baseline(metric, measured, c.describe(), details)

        verdict = timing.verdict(c.low, c.high, baseline, tol)
        floor_value = baseline * (1 - tol)
        band = f"{baseline:.3f} -{tol:.0%} = {floor_value:.3f}"
        source = f"baseline {path}; tolerance {tol:.0%} ({tol_source})"
        why_unsure = f"after {c.stopped}: {c.describe()} straddles the baseline {band}"
        if verdict == "regressed" and busy:
            verdict, why_unsure = "inconclusive", f"because {busy_note}: {c.describe()}"
        elif verdict == "regressed":  # confirm with an independent second measurement
            again = measure()
            details["confirmation"] = again.as_dict()
            if timing.verdict(again.low, again.high, baseline, tol) != "regressed":
                verdict = "inconclusive"
                why_unsure = (f"because a first measurement was below the baseline {band} "
                              f"({c.describe()}) but its confirmation was not "
                              f"({again.describe()})")
            c = again
        message = {
            "regressed": f"{metric} regressed: {c.describe()}, whole interval below the "
                         f"baseline {band}, in two measurements ({source})",
            "improved": f"{metric} improved: {c.describe()}, whole interval above the "
                        f"baseline {baseline:.3f} +{tol:.0%}: consider --update-baselines",
            "inconclusive": f"{metric} inconclusive {why_unsure}; rerun on a quieter machine "
                            "or raise --perf-max-time",
            "pass": "",
        }[verdict]
        gate.record(metric, measured, baseline, verdict, source, message, details)
        if verdict == "regressed" or (verdict == "inconclusive" and
                                      self.options.inconclusive_fails):
            pytest.fail(f"{gate.case_id}: {message}", pytrace=False)
        return c

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
        stats = bench._make_stats(calls)
        for t in samples_s:
            stats.update(t * calls)
        bench.extra_info[metric] = extra

    # -- wall times ---------------------------------------------------------------------
    def time(self, metric: str, seconds: float, *, tolerance: str,
             samples_s: list[float] | None = None, **details) -> None:
        """A wall time (e.g. compile time; `samples_s` are all the samples it was taken
        from), lower is better: regressed above baseline*(1+tol), improved below
        baseline/(1+tol)."""
        gate = self.gate
        tol, tol_source = policy.perf_tolerance(tolerance, self.options.tolerances)
        measured = round(seconds, 3)
        details = {"samples_s": samples_s or [seconds], **details}
        self._hand_to_benchmark(metric, "wall time", details["samples_s"], 1,
                                {"seconds": measured, **details})
        path = gate.baseline_path
        if gate.update:
            gate.stage(metric, measured, details)
            return
        baseline = self._baseline(metric)
        if baseline is None:
            gate.no_baseline(metric, measured, f"{measured} s", details)
        ceiling = baseline * (1 + tol)
        verdict = ("regressed" if measured > ceiling
                   else "improved" if measured < baseline / (1 + tol) else "pass")
        source = f"baseline {path}; tolerance {tol:.0%} ({tol_source})"
        message = {
            "regressed": f"{metric} = {measured} s, above the baseline {baseline} s +{tol:.0%} "
                         f"= {ceiling:.3f} s ({source})",
            "improved": f"{metric} = {measured} s, below the baseline {baseline} s by more "
                        f"than {tol:.0%}: consider --update-baselines",
            "pass": "",
        }[verdict]
        gate.record(metric, measured, baseline, verdict, source, message, details)
        if verdict == "regressed":
            pytest.fail(f"{gate.case_id}: {message}", pytrace=False)
