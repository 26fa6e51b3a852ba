"""The snapshot normaliser and the per-version snapshot folders."""

import pytest

from stackqual import snapshots
from stackqual.snapshots import normalise

A, B = "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "1f0a9c2e-7b3d-6e4f-8a1b-2c3d4e5f6a7b"


def test_ids_and_times_are_numbered_by_first_appearance_so_references_survive():
    data = {"call": {"id": A, "at": "2026-11-28T03:02:12+00:00"},
            "result": {"call_id": A, "id": B, "timestamp": 1764298932.5},
            "text": f"parent {B}, index {A.upper()}"}
    assert normalise(data) == {
        "call": {"id": "<id-1>", "at": "<time-1>"},
        "result": {"call_id": "<id-1>", "id": "<id-2>", "timestamp": "<time-2>"},
        "text": "parent <id-2>, index <id-1>"}


def test_floats_round_and_text_splits_into_lines():
    assert normalise({"score": 2.7437134857, "n": 3, "ok": True, "prompt": "a\nb"}) == \
        {"score": 2.74371, "n": 3, "ok": True, "prompt": ["a", "b"]}


def test_a_run_is_normalised_identically_whatever_the_ids():
    def run(first, second):
        return normalise([{"id": first}, {"parent": first, "id": second}])
    assert run(A, B) == run(B, A)


@pytest.mark.parametrize("folders,installed,updating,expected", [
    (["dspy-3.4"], "3.4.9", False, "dspy-3.4"),  # its own version
    (["dspy-3.2", "dspy-3.4"], "3.5.0", False, "dspy-3.4"),  # newer: the newest older one
    (["dspy-3.4"], "3.5.0", True, "dspy-3.5"),  # --snapshot-update writes its own
    (["dspy-3.6"], "3.5.0", False, "dspy-3.5"),  # only newer ones: its own (missing)
])
def test_snapshot_folder_per_framework_version(tmp_path, folders, installed, updating, expected):
    for name in folders:
        (tmp_path / name).mkdir()
    assert snapshots.snapshot_folder(tmp_path, "dspy", installed, updating).name == expected
