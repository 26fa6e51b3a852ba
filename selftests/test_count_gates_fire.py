"""The compiler-count gates (suites/compile/test_counts.py) fire on the faults they exist
to catch and on nothing else, on a loaded machine (one spinning process per CPU), against
baselines a clean run records here and now: a lost fusion is one more kernel, a changed
decomposition a new aten op; clean code passes every count, also where the baselines were
recorded on a machine of another CPU model (the counts carry no calibration to mismatch)."""

import json
import os

import pytest

from selftests.support import co_runners
from suites.compile import counts, policy

pytestmark = pytest.mark.filterwarnings("ignore:dynamo_pgo force disabled:UserWarning")

COUNTS = ("suites/compile/test_counts.py", "-k", "cnn-cpu")
METRICS = {"graphs", "guards", "fx_nodes", "aten_nodes", "kernels", "code_lines", "aten_ops"}
FOREIGN_CPU = "Intel(R) Xeon(R) Platinum 8480C"


def verdicts(run) -> dict:
    return {c["metric"]: c["verdict"] for c in run.report["checks"] if c["metric"] in METRICS}


def test_every_count_has_a_tolerance_and_every_tolerance_a_count():
    assert policy.COUNT_TOLERANCE.keys() == set(counts.NUMERIC)
    assert METRICS == {*counts.NUMERIC, "aten_ops"}


@pytest.mark.slow
def test_count_gates_fire_on_their_faults_and_pass_clean_code_on_a_loaded_machine(
        run_suite, tmp_path):
    folder = tmp_path / "baselines"
    at = ("--baselines-dir", str(folder))
    with co_runners(os.cpu_count() or 1):
        recorded = run_suite(*COUNTS, *at, "--update-baselines")
        assert recorded.returncode == 0, recorded.output
        lost = run_suite(*COUNTS, *at, faults=("compile.lose_a_fusion",))
        assert lost.returncode == 1 and verdicts(lost)["kernels"] == "fail", lost.output
        before, after = recorded.check("kernels")["measured"], lost.check("kernels")["measured"]
        assert after > before, lost.output  # 7 -> 8 on cpu-avx2 and torch 2.13.0
        assert f"kernels = {after}, more than the baseline {before} recorded on profile" \
            in lost.output
        assert "The smallest growth this gate catches is 1 (" in lost.output
        assert verdicts(lost)["aten_ops"] == "pass", lost.output  # a lowering, not an op

        new_op = run_suite(*COUNTS, *at, faults=("compile.new_aten_op",))
        assert new_op.returncode == 1 and verdicts(new_op)["aten_ops"] == "fail", \
            new_op.output
        assert "new: aten.pow.Tensor_Scalar; lost: aten.sqrt.default" in new_op.output

        # Clean code, judged against baselines that say another CPU model recorded them.
        [baseline_file] = folder.glob("*/compile.json")
        content = json.loads(baseline_file.read_text())
        content["recorded"]["fingerprint"]["cpu"] = FOREIGN_CPU
        baseline_file.write_text(json.dumps(content))
        clean = run_suite(*COUNTS, *at)
    assert clean.returncode == 0, clean.output
    assert verdicts(clean) == dict.fromkeys(METRICS, "pass"), clean.output
