"""Mutation tests: the models suite's gates fail, through real runs of the suite, when the
fault they exist to catch is injected (selftests/faults/); and every Mamba measurement says
which implementation ran."""

import pytest

from selftests.conftest import committed_baseline
from suites.models import loading

ACCURACY = "suites/models/test_accuracy.py::test_accuracy_at_least_expected"
LABELS = "suites/models/test_accuracy.py::test_positive_class_is_the_datasets_positive_label"


@pytest.mark.slow
def test_swapped_labels_fail_accuracy_and_the_label_check(run_suite):
    run = run_suite(f"{ACCURACY}[tiny-bert]", f"{LABELS}[tiny-bert]", faults=["swapped_labels"])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 2}, run.output
    assert "test_accuracy_at_least_expected[tiny-bert]: accuracy = 0.1" in run.output
    accuracy = committed_baseline("models", "test_accuracy.py::"
                                  "test_accuracy_at_least_expected[tiny-bert]#accuracy")
    assert f"the whole interval is below the baseline {accuracy}" in run.output
    assert "its output 1 means negative (labels swapped)" in run.output


@pytest.mark.slow
def test_unstratified_sample_of_the_sorted_split_is_caught(run_suite):
    run = run_suite(f"{ACCURACY}[tiny-bert]", faults=["unstratified_sampling"])
    assert run.returncode == 1, run.output
    assert "is {'neg': 1.0, 'pos': 0.0}: the smaller class is 0.0%, under 40%" in run.output
    assert "the test split is sorted by label, so sample it stratified" in run.output
    assert run.check("class_balance")["verdict"] == "fail"


@pytest.mark.slow
@pytest.mark.parametrize("fault,selection,messages", [
    pytest.param("sdpa_materialises_attention",
                 "suites/models/test_scaling.py::test_cost_grows_with_length_as_theory_says"
                 "[tiny-bert-sdpa]",
                 ["(bert-sdpa, transformers BERT, attn_implementation=sdpa): memory grows as "
                  "L^1.8", "outside <= 1.2: SDPA's fused kernels never materialise L x L"],
                 id="sdpa-materialises-attention"),
    pytest.param("memory_hungry_model",
                 "suites/models/test_cost.py::test_peak_memory_holds_against_baseline"
                 "[tiny-bert-cpu]",
                 ["test_peak_memory_holds_against_baseline[tiny-bert-cpu]: peak_memory_bytes = ",
                  "more than the baseline {peak} +5% = ",
                  "needs more memory for a batch of [32, 256] tokens than before"],
                 id="memory-hungry-model"),
])
def test_cost_gates_fire(run_suite, fault, selection, messages):
    if fault == "memory_hungry_model":
        peak = committed_baseline("models", "test_cost.py::test_peak_memory_holds_against_"
                                            "baseline[tiny-bert-cpu]#peak_memory_bytes")
        messages = [m.replace("{peak}", str(peak)) for m in messages]
    run = run_suite(selection, faults=[fault])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 1}, run.output
    for message in messages:
        assert message in run.output, f"{message!r} not in the output:\n{run.output}"


@pytest.mark.slow
def test_every_mamba_measurement_names_the_path_that_ran(run_suite):
    run = run_suite("suites/models", "-k", "tiny-mamba", "-m", "not gpu")
    assert run.returncode == 0, run.output
    measured = [c for c in run.report["checks"] if "tiny-mamba" in c["check_id"]
                and c["metric"] not in ("class_balance",)]
    paths = {c["check_id"]: c["details"].get("path") for c in measured}
    assert {"accuracy", "positive_is_label_1", "throughput_vs_yardstick", "peak_memory_bytes",
            "scaling"} <= {c["metric"] for c in measured}, paths
    for check_id, path in paths.items():
        assert path == f"transformers MambaModel, {loading.FALLBACK}", (check_id, path)


def test_mamba_path_is_kernels_only_with_both_packages_on_cuda(monkeypatch):
    monkeypatch.setattr(loading.importlib.util, "find_spec", lambda name: object())
    assert loading.mamba_path("cuda") == loading.KERNELS
    assert loading.mamba_path("cpu") == loading.FALLBACK
    monkeypatch.setattr(loading.importlib.util, "find_spec",
                        lambda name: None if name == "causal_conv1d" else object())
    assert loading.mamba_path("cuda") == loading.FALLBACK
