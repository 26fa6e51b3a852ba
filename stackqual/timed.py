"""The one place that decides a timed check's verdict, for every kind of timed check.

A timed figure is either a ratio where higher is better (eager/compiled, math/flash,
model/yardstick) or a time where lower is better (a cold compile's CPU seconds). Each comes
as an interval at the run's confidence (a bootstrap interval over interleaved rounds, or
the range of a few samples) and is judged against this profile's baseline and its declared
tolerance (`policy.PERF_TOLERANCE`, or the suite's suite.toml: stackqual.declared):

- regressed: the whole interval is worse than the band's edge, on a quiet machine, and a
  second measurement of fresh rounds, its size fixed before it starts (where the check can
  take one: stackqual.timing.measure_again), says the same;
- improved: the whole interval is better than the band's other edge;
- pass: the interval cannot be worse than the band's edge;
- inconclusive: the interval straddles the edge, or the machine was busy
  (`policy.BUSY_MACHINE_MAX`), or the confirmation disagreed.

"Not comparable" (the machine is not the one the baseline was measured on) is decided
before anything is measured, by stackqual.calibration; stackqual.perf applies it.

Every verdict carries its *minimum detectable change*: the smallest slowdown of the
measured path (its time multiplied by 1 + s) that this measurement, with its noise and
rounds, would have called regressed. With u the interval's half-width relative to the
figure and t the tolerance: s = (1 + u) / (1 - t) - 1 for a ratio, (1 + t)(1 + u) - 1 for
a time. A "pass" then means "no slowdown of s or more". When u alone exceeds t the check is
*noise-limited*: its own spread is wider than the band it gates on, and it says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from . import judge as rules
from . import policy
from .verdicts import Verdict


@dataclass(frozen=True)
class Band:
    baseline: float
    tolerance: float
    higher_is_better: bool
    source: str  # where the baseline and tolerance come from
    unit: str = ""

    def edge(self) -> str:
        """The band's failing edge, as the message shows it."""
        b, t = self.baseline, self.tolerance
        if self.higher_is_better:
            return f"{b:.3f} -{t:.0%} = {b * (1 - t):.3f}"
        return f"{b:.4g}{self.unit} +{t:.0%} = {b * (1 + t):.4g}{self.unit}"


@dataclass(frozen=True)
class Measured:
    value: float
    low: float
    high: float
    described: str  # how it was measured, for the message
    others_busy: float | None = None  # share of the CPUs other processes used meanwhile
    stopped: str = ""  # why the rounds stopped (decided, a round or time cap), if rounds

    @classmethod
    def of(cls, c) -> "Measured":
        """From a stackqual.timing.Comparison (a ratio with its interval)."""
        return cls(round(c.ratio, 4), c.low, c.high, c.describe(), c.others_busy, c.stopped)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / (2 * self.value) if self.value else float("inf")

    @property
    def busy(self) -> bool:
        return self.others_busy is not None and self.others_busy > policy.BUSY_MACHINE_MAX


@dataclass(frozen=True)
class Judgement(rules.Judgement):
    detectable: float = 0.0  # minimum detectable slowdown, a fraction
    noise_limited: bool = False
    value: float | None = None  # the figure the verdict rests on, when a confirmation's

    @property
    def detectable_text(self) -> str:
        text = f"would have caught a slowdown of {self.detectable:.0%} or more"
        return text + (" (noise-limited: its own spread is wider than the tolerance)"
                       if self.noise_limited else "")


def placement(m: Measured, band: Band) -> str:
    """regressed / improved / pass / inconclusive from where the interval lies."""
    b, t = band.baseline, band.tolerance
    if band.higher_is_better:
        return rules.band(m.low, m.high, b * (1 - t), b * (1 + t))
    # A time: judge its inverse (a speed), so that one rule serves both.
    return rules.band(1 / m.high, 1 / m.low, 1 / (b * (1 + t)), (1 + t) / b)


def detectable_change(m: Measured, band: Band) -> float:
    u, t = m.half_width, band.tolerance
    return (1 + u) / (1 - t) - 1 if band.higher_is_better else (1 + t) * (1 + u) - 1


def busy_note(share: float) -> str:
    return (f"the machine was busy: other processes used {share:.0%} of its CPUs while it "
            f"was measured (policy.BUSY_MACHINE_MAX {policy.BUSY_MACHINE_MAX:.0%})")


def judge(metric: str, m: Measured, band: Band,
          confirm: Callable[[], Measured] | None = None) -> Judgement:
    """The verdict and its message. `confirm` takes a second measurement of a fixed size; it
    is called only for a regression on a quiet machine, and the verdict then rests on
    it."""
    verdict = placement(m, band)
    direction = "below" if band.higher_is_better else "above"
    why_unsure = (f"after {m.stopped}: " if m.stopped else "") + (
        f"{m.described} straddles the baseline {band.edge()}")
    confirmed = False
    if verdict == Verdict.REGRESSED and m.busy:
        verdict = Verdict.INCONCLUSIVE
        why_unsure = f"because {busy_note(m.others_busy)}: {m.described}"
    elif verdict == Verdict.REGRESSED and confirm is not None:
        again = confirm()
        if again.busy:
            verdict = Verdict.INCONCLUSIVE
            why_unsure = (f"because {busy_note(again.others_busy)} during the confirmation "
                          f"of a first measurement {direction} the baseline: {again.described}")
        elif placement(again, band) != Verdict.REGRESSED:
            verdict = Verdict.INCONCLUSIVE
            why_unsure = (f"because a first measurement was {direction} the baseline "
                          f"{band.edge()} ({m.described}) but its confirmation was not "
                          f"({again.described})")
        confirmed = True
        m = again
    judgement = Judgement(verdict, "", detectable_change(m, band),
                          m.half_width > band.tolerance, m.value if confirmed else None)
    better = "above" if band.higher_is_better else "below"
    message = {
        Verdict.REGRESSED: f"{metric} regressed: {m.described}, whole interval {direction} the "
                     f"baseline {band.edge()}" + (", in two measurements" if confirmed else "")
                     + f" ({band.source})",
        Verdict.IMPROVED: f"{metric} improved: {m.described}, whole interval {better} the baseline "
                    f"{band.baseline:.4g} by more than {band.tolerance:.0%}: consider "
                    "--update-baselines",
        Verdict.INCONCLUSIVE: f"{metric} inconclusive {why_unsure}; rerun on a quieter machine or "
                        "raise --perf-max-time",
        Verdict.PASS: f"{metric} pass: {judgement.detectable_text}",
    }[verdict]
    if verdict != Verdict.PASS and judgement.noise_limited:
        message += f" ({judgement.detectable_text})"
    return dataclasses.replace(judgement, message=message)
