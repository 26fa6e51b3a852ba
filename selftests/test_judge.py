"""The baseline gates' verdict rules (stackqual.judge), on their own: each can fail, and
each message names the metric, the value, the baseline and where it was recorded."""

import pytest

from stackqual import judge

WHERE = judge.Where("cpu-test", "baselines/cpu-test/models.json", "torch 2.13.0")


@pytest.mark.parametrize("low,high,expected", [
    (0.80, 0.89, "fail"),  # the whole interval below the baseline 0.90
    (0.85, 0.95, "pass"),  # straddles it: the sample cannot tell
    (0.91, 0.97, "improved"),
])
def test_at_least_fails_only_when_the_whole_interval_is_below(low, high, expected):
    v = judge.at_least("accuracy", (low + high) / 2, low, high, 0.90, WHERE, "tiny-bert")
    assert v.verdict == expected
    if expected == "fail":
        assert v.message == (f"accuracy = {(low + high) / 2:.4f} [{low:.4f}, {high:.4f}]: the "
                             "whole interval is below the baseline 0.9 recorded on profile "
                             "'cpu-test' (baselines/cpu-test/models.json). tiny-bert")


@pytest.mark.parametrize("value,fraction,expected", [
    (3, 0.0, "fail"), (2, 0.0, "pass"), (1, 0.0, "improved"),
    (104, 0.05, "pass"), (106, 0.05, "fail"), (94, 0.05, "improved"),
])
def test_at_most_fails_above_the_baseline_and_its_tolerance(value, fraction, expected):
    baseline = 2 if fraction == 0 else 100
    v = judge.at_most("graph_breaks", value, baseline, WHERE, fraction)
    assert v.verdict == expected
    if expected == "fail":
        bound = "the baseline 2" if fraction == 0 else "the baseline 100 +5% = 105"
        assert v.message.startswith(f"graph_breaks = {value}, more than {bound} recorded on "
                                    "profile 'cpu-test'")


def test_same_fails_or_reports_a_change_as_the_suite_decides():
    def fails(before, now):
        return before == "flash"
    lost = judge.same("backend", "math", "flash", WHERE, fails, "the fused path was lost")
    gained = judge.same("backend", "flash", "math", WHERE, fails)
    assert (lost.verdict, gained.verdict) == ("fail", "changed")
    assert lost.message == ("backend is 'math', the baseline recorded on profile 'cpu-test' "
                            "under torch 2.13.0 is 'flash' (baselines/cpu-test/models.json). "
                            "the fused path was lost")
    assert judge.same("backend", "flash", "flash", WHERE, fails).verdict == "pass"


def test_a_set_fails_on_a_new_member_and_reports_a_lost_one():
    new = judge.no_new("aten_ops", {"aten.mm", "aten.pow"}, {"aten.mm", "aten.sqrt"}, WHERE,
                       "see the lowering")
    assert new.verdict == "fail"
    assert new.message == ("aten_ops differ from the 2 recorded on profile 'cpu-test' "
                           "(baselines/cpu-test/models.json) under torch 2.13.0: new: "
                           "aten.pow; lost: aten.sqrt. see the lowering")
    lost = judge.no_new("aten_ops", {"aten.mm"}, {"aten.mm", "aten.sqrt"}, WHERE)
    assert lost.verdict == "changed" and lost.message.endswith("lost: aten.sqrt.")
    assert judge.no_new("aten_ops", {"aten.mm"}, {"aten.mm"}, WHERE).verdict == "pass"


@pytest.mark.parametrize("low,high,expected", [
    (0.70, 0.85, "regressed"), (0.85, 0.95, "inconclusive"), (0.92, 1.05, "pass"),
    (1.15, 1.30, "improved"),
])
def test_band_places_the_whole_interval(low, high, expected):
    assert judge.ratio_band(low, high, expected=1.0, tolerance=0.10) == expected
