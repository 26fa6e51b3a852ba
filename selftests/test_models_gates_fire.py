"""Mutation tests: the models suite's gates fail, through real runs of the suite, when the
fault they exist to catch is injected (selftests/faults/); and every Mamba measurement says
which implementation ran."""

import pytest

from selftests.faults import Fault
from suites import mamba_kernels

ACCURACY = "suites/models/test_accuracy.py::test_accuracy_at_least_expected"
LABELS = "suites/models/test_accuracy.py::test_positive_class_is_the_datasets_positive_label"
SCALING = "suites/models/test_scaling.py::test_cost_grows_with_length_as_theory_says"
MEMORY = "suites/models/test_cost.py::test_peak_memory_holds_against_baseline"


def clean_figure(started, metric: str):
    """The baseline a gate compares with, as a clean run of the same test reports it
    (`started` with the faulted run: neither depends on the other, and neither judges a
    clock)."""
    clean = started.result()
    assert clean.returncode == 0, clean.output
    return clean.check(metric)["expected"]


@pytest.mark.slow
def test_swapped_labels_fail_accuracy_and_the_label_check(run_suite):
    fault = Fault(id="swapped-labels", plugins=("models.swapped_labels",),
                  selection=(f"{ACCURACY}[tiny-bert]", f"{LABELS}[tiny-bert]"), failures=2,
                  messages=("test_accuracy_at_least_expected[tiny-bert]: accuracy = 0.1",
                            "its output 1 means negative (labels swapped)"))
    clean, faulted = run_suite.start(f"{ACCURACY}[tiny-bert]"), run_suite.start_fault(fault)
    accuracy = clean_figure(clean, "accuracy")
    run_suite.fired(fault, faulted,
                    messages=[f"the whole interval is below the baseline {accuracy}"])


@pytest.mark.slow
def test_unstratified_sample_of_the_sorted_split_is_caught(run_suite):
    run = run_suite.fires(Fault(
        id="unstratified-sample", plugins=("models.unstratified_sampling",),
        selection=(f"{ACCURACY}[tiny-bert]",), messages=(
            "is {'neg': 1.0, 'pos': 0.0}: the smaller class is 0.0%, under 40%",
            "the test split is sorted by label, so sample it stratified")))
    assert run.check("class_balance")["verdict"] == "fail"


COST_FAULTS = [
    Fault(id="sdpa-materialises-attention", plugins=("models.sdpa_materialises_attention",),
          selection=(f"{SCALING}[tiny-bert-sdpa]",), messages=(
              "(bert-sdpa, transformers BERT, attn_implementation=sdpa): memory grows as L^1.8",
              "outside <= 1.2: SDPA's fused kernels never materialise L x L")),
    Fault(id="memory-hungry-model", plugins=("models.memory_hungry_model",),
          selection=(f"{MEMORY}[tiny-bert-cpu]",), messages=(
              "test_peak_memory_holds_against_baseline[tiny-bert-cpu]: peak_memory_bytes = ",
              "needs more memory for a batch of [32, 256] tokens than before")),
]


@pytest.mark.slow
@pytest.mark.parametrize("fault", [f.param() for f in COST_FAULTS])
def test_cost_gates_fire(run_suite, fault):
    figures = []
    clean = run_suite.start(fault.selection[0]) if fault.id == "memory-hungry-model" else None
    faulted = run_suite.start_fault(fault)
    if clean:
        peak = clean_figure(clean, "peak_memory_bytes")
        figures.append(f"more than the baseline {peak} +5% = ")
    run_suite.fired(fault, faulted, messages=figures)


@pytest.mark.slow
def test_every_mamba_measurement_names_the_path_that_ran(run_suite):
    run = run_suite("suites/models", "-k", "tiny-mamba", "-m", "not gpu and not gpu_full")
    assert run.returncode == 0, run.output
    measured = [c for c in run.report["checks"] if "tiny-mamba" in c["check_id"]
                and c["metric"] not in ("class_balance",)]
    paths = {c["check_id"]: c["details"].get("path") for c in measured}
    assert {"accuracy", "positive_is_label_1", "throughput_vs_yardstick", "peak_memory_bytes",
            "scaling"} <= {c["metric"] for c in measured}, paths
    for check_id, path in paths.items():
        assert path == f"transformers MambaModel, {mamba_kernels.FALLBACK}", (check_id, path)
