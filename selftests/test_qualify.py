"""`stackqual qualify`'s verdict, each exit code earned by a real run: stand-in suites in
their own folder (a passing check, a failing one, one without a baseline, a test that
hangs, a process that segfaults), a busy machine, the real hardware suite with an empty
baselines folder and slowed on purpose; and the health checks through a stand-in NVML."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selftests.support import REPO, processes_naming, unguarded_environ
from selftests.standin_nvml.pynvml import StandInNVML
from stackqual import health

SUITES = {
    "ok": """
def test_ok(gate):
    gate.require("answer", True, measured=42, expected=42, source="the question",
                 message="unused")
""",
    "failing": """
def test_wrong(gate):
    gate.require("answer", False, measured=41, expected=42, source="the question",
                 message="answer = 41, expected 42 (the question)")
""",
    "surrogate": """
def test_says_what_a_framework_printed(gate):
    gate.require("answer", False, measured=41, expected=42, source="the question",
                 message="the framework printed a byte as \\udcff")
""",
    "unjudged": """
def test_breaks(gate):
    gate.at_most_baseline("graph_breaks", 0)
""",
    "hanging": """
import time
import pytest

def test_before(gate):
    gate.info("seen", 1)

@pytest.mark.timeout(2)
def test_hangs():
    time.sleep(120)
""",
    "sleeping": """
import time

def test_before(gate):
    gate.info("seen", 1)

def test_sleeps():
    time.sleep(300)
""",
    "sleeping_crewai": """
import os
import signal
import time

def test_before(gate):
    # CrewAI's telemetry replaces SIGTERM's and SIGINT's handlers when it starts (unless
    # told not to: the agents suite's isolation does); a terminated run must still end.
    for name in ("CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING", "OTEL_SDK_DISABLED"):
        os.environ.pop(name, None)
    from crewai.telemetry import Telemetry
    Telemetry()
    gate.info("seen", 1)
    gate.info("sigterm", signal.getsignal(signal.SIGTERM).__qualname__)

def test_sleeps():
    time.sleep(300)
""",
    "per_device": """
import os
import signal

def test_device(gate):
    gate.info("visible", os.environ["CUDA_VISIBLE_DEVICES"],
              order=os.environ["CUDA_DEVICE_ORDER"])
    if os.environ["CUDA_VISIBLE_DEVICES"] == "5":
        os.kill(os.getpid(), signal.SIGSEGV)
""",
    "links": """
import os
import pytest

def test_per_device(gate):
    gate.info("visible", os.environ["CUDA_VISIBLE_DEVICES"])

@pytest.mark.whole_node
def test_whole_node(gate):
    gate.info("visible_to_all", os.environ["CUDA_VISIBLE_DEVICES"])
""",
    "crashing": """
import os
import signal

def test_before(gate):
    gate.info("seen", 1)

def test_segfaults():
    os.kill(os.getpid(), signal.SIGSEGV)
""",
}


@pytest.fixture
def project(tmp_path) -> Path:
    for name, text in SUITES.items():
        folder = tmp_path / "suites" / name
        folder.mkdir(parents=True)
        (folder / f"test_{name}.py").write_text(text)
    # a suite whose whole_node tests run once more with every GPU (stackqual.declared)
    (tmp_path / "suites" / "links" / "suite.toml").write_text(
        "packages = []\n[qualify]\nwhole_node = true\n")
    return tmp_path


def qualify(project: Path, *args, quiet="0", env=None):
    done = subprocess.run(
        [sys.executable, "-m", "stackqual.cli", "qualify", "--suites-dir",
         str(project / "suites"), "--report-dir", str(project / "reports"),
         "--quiet-seconds", quiet, "--profile=cpu-test", *args],
        capture_output=True, text=True, cwd=REPO, env={**unguarded_environ(), **(env or {})},
        timeout=600)
    [folder] = sorted((project / "reports").glob("qualify-*"))[-1:]
    verdict = json.loads((folder / "verdict.json").read_text())
    assert verdict["exit"] == done.returncode, done.stdout + done.stderr
    return done, folder, verdict


pytestmark = pytest.mark.slow
# qualify's own process on a node whose NVML knows 8 healthy GPUs (the stand-in pynvml).
NODE = {"PYTHONPATH": str(REPO / "selftests" / "standin_nvml")}


def test_exit_0_when_every_check_passes(project):
    done, folder, _ = qualify(project, "--suite", "ok")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("stackqual qualify: exit 0: QUALIFIED")
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("# Node QUALIFIED: exit 0")
    assert (folder / "ok" / "junit.xml").is_file() and (folder / "ok" / "stream.jsonl").is_file()


def test_exit_1_names_the_failed_check_first(project):
    done, folder, verdict = qualify(project, "--suite", "ok", "--suite", "failing")
    assert done.returncode == 1, done.stdout
    [item] = verdict["not_a_pass"]
    assert item["kind"] == "failed" and "answer = 41, expected 42" in item["why"]
    summary = (folder / "summary.md").read_text()
    assert summary.splitlines()[0] == "# Node NOT QUALIFIED: exit 1, not qualified: a check failed"
    assert summary.index("## Not a pass") < summary.index("## Suites")


def test_exit_2_lists_what_has_no_baseline_and_record_makes_it_0(project):
    done, _, verdict = qualify(project, "--suite", "unjudged")
    assert done.returncode == 2, done.stdout
    [item] = verdict["not_a_pass"]
    assert item["kind"] == "not judged" and "no-baseline" in item["why"]
    assert qualify(project, "--suite", "unjudged", "--record")[0].returncode == 0
    assert qualify(project, "--suite", "unjudged")[0].returncode == 0


def test_exit_3_on_a_timeout_keeps_what_was_measured_before(project):
    done, folder, verdict = qualify(project, "--suite", "hanging")
    assert done.returncode == 3, done.stdout
    [item] = verdict["not_a_pass"]
    assert "ran past its timeout during" in item["why"] and "test_hangs" in item["why"]
    events = [json.loads(line) for line in (folder / "hanging" / "stream.jsonl").open()]
    assert any(e["event"] == "check" and e["metric"] == "seen" for e in events)
    assert "Timeout" in (folder / "hanging" / "pytest.log").read_text()  # with the stacks


@pytest.mark.parametrize("suite,sig", [("sleeping", signal.SIGTERM),
                                       ("sleeping", signal.SIGINT),
                                       ("sleeping_crewai", signal.SIGTERM)])
def test_a_stop_signal_ends_qualify_with_a_verdict_and_no_process_left(project, suite, sig):
    """What Slurm and Kubernetes send at a time limit or an eviction: the verdict says
    "interrupted" (exit 3) within 10 s, the suite's own process session is stopped too, and
    what it measured before is kept; also when the suite imported a framework that
    replaced the signal handlers (CrewAI's telemetry)."""
    if suite == "sleeping_crewai":
        pytest.importorskip("crewai", reason="crewai not installed: pip install -e '.[agents]'")
    reports = project / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackqual.cli", "qualify", "--suites-dir",
         str(project / "suites"), "--report-dir", str(reports), "--quiet-seconds", "0",
         "--profile=cpu-test", "--suite", suite],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        env=unguarded_environ())
    stream = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(reports.glob(f"qualify-*/{suite}/stream.jsonl"))
        if found and '::test_sleeps", "time"' in found[0].read_text():  # its start event
            stream = found[0]
            break
        time.sleep(0.2)
    assert stream is not None, "the sleeping test never started"
    assert processes_naming(str(project / "suites" / suite))  # the suite's pytest
    sent = time.monotonic()
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 3, output
    assert took < 10, f"{took:.1f} s from {sig.name} to exit"
    print(f"{suite}: {took:.2f} s from {sig.name} to exit")  # for the record (-s)
    assert "Traceback" not in output, output
    verdict = json.loads((stream.parent.parent / "verdict.json").read_text())
    assert verdict["exit"] == 3 and f"interrupted by {sig.name}" in verdict["verdict"]
    assert "INTERRUPTED" in (stream.parent.parent / "summary.md").read_text()
    assert not processes_naming(str(project / "suites" / suite)), "a suite process is left"
    events = [json.loads(line) for line in stream.open()]
    assert any(e.get("metric") == "seen" for e in events)  # measured before: kept
    if suite == "sleeping_crewai":  # the handlers were CrewAI's when the signal came
        [handler] = [e["measured"] for e in events if e.get("metric") == "sigterm"]
        assert "Telemetry" in handler, handler


def test_exit_3_on_a_crashed_suite_and_the_other_suites_still_run(project):
    done, folder, verdict = qualify(project, "--suite", "crashing", "--suite", "ok")
    assert done.returncode == 3, done.stdout
    assert verdict["suites"]["crashing"]["returncode"] == -signal.SIGSEGV
    assert "killed by SIGSEGV during" in verdict["suites"]["crashing"]["broke"]
    assert verdict["suites"]["ok"] == {**verdict["suites"]["ok"], "returncode": 0, "broke": ""}
    events = [json.loads(line) for line in (folder / "crashing" / "stream.jsonl").open()]
    assert any(e["event"] == "test" and e["outcome"] == "passed" for e in events)


def test_a_busy_machine_is_not_qualified(project):
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(os.cpu_count() or 1)]
    try:
        done, _, verdict = qualify(project, "--suite", "ok", quiet="1")
    finally:
        for p in spinners:
            p.kill()
    assert done.returncode == 2, done.stdout
    assert "machine busy" in verdict["not_a_pass"][0]["why"]
    assert verdict["suites"] == {}  # nothing run on it


def test_the_real_hardware_suite_without_baselines_is_not_judged(tmp_path):
    empty = tmp_path / "baselines"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "stackqual.cli", "qualify", "--suite", "hardware",
         "--quiet-seconds", "0", "--report-dir", str(tmp_path / "reports"),
         "--baselines-dir", str(empty)],
        capture_output=True, text=True, cwd=REPO, env=unguarded_environ(), timeout=600)
    assert done.returncode == 2, done.stdout + done.stderr
    [folder] = (tmp_path / "reports").glob("qualify-*")
    summary = (folder / "summary.md").read_text()
    for kernel in ("gemm-fp32-cpu", "copy-cpu", "triad-cpu"):
        assert f"[{kernel}]#rate" in summary, summary
    assert "stackqual qualify --record" in summary


# -- the hardware slowed on purpose -----------------------------------------------------
PEAK = "suites/hardware/test_peak.py::test_hardware_reaches_its_baseline_share_of_peak"


def test_throttled_hardware_fails_its_baseline(run_suite, tmp_path):
    baselines = ("--baselines-dir", str(tmp_path / "baselines"))
    selection = (f"{PEAK}[gemm-fp32-cpu]", f"{PEAK}[copy-cpu]")
    recorded = run_suite(*selection, *baselines, "--update-baselines")
    if "not recorded" in recorded.output:
        pytest.skip("the machine was busy or in a slow phase: baselines are not recorded "
                    "then; rerun on a quiet machine")
    assert recorded.returncode == 0, recorded.output
    run = run_suite(*selection, *baselines, faults=["hardware.throttled"])
    verdicts = {c["check_id"]: c["verdict"] for c in run.report["checks"]
                if c["metric"] == "rate"}
    if "pass" in verdicts.values():
        # A baseline recorded in a slow phase the calibration did not see: in CI on
        # 2026-12-03 the two-thread GEMM was recorded at 107.7 GFLOP/s and the throttled one
        # measured 89.7 (the copy halved, 38.9 -> 19.2 GB/s); the one-thread yardsticks had
        # matched. Clean code judged against that baseline then reads "improved".
        clean = run_suite(*selection, *baselines)
        again = {c["check_id"]: c["verdict"] for c in clean.report["checks"]
                 if c["metric"] == "rate"}
        if "improved" in again.values():
            pytest.skip(f"the baselines were recorded in a slow phase of this shared host "
                        f"(clean code now reads {again}; the throttled run read {verdicts}): "
                        "a halved rate cannot be judged against them; rerun on a quiet machine")
    assert "pass" not in verdicts.values(), run.output  # a halved rate never passes
    if {"inconclusive", "not-comparable"} & set(verdicts.values()):
        pytest.skip(f"this machine's rates were too noisy, or its calibration moved too far "
                    f"since the recording, to judge a halved rate (an honest not judged, never "
                    f"a pass): {verdicts}; rerun on a quiet machine")
    assert set(verdicts.values()) == {"regressed"}, run.output
    assert run.returncode == 1 and "rate = " in run.output


def test_each_gpu_runs_every_visible_device_in_its_own_processes_and_names_the_worst(project):
    """Stand-in devices: the outer CUDA_VISIBLE_DEVICES a scheduler would set (3,5,7); the
    process of device 5 crashes, the others still run, and the node's verdict names it."""
    done, folder, verdict = qualify(project, "--suite", "per_device", "--each-gpu", "--node",
                                    "node-a", env={"CUDA_VISIBLE_DEVICES": "3,5,7", **NODE})
    assert done.returncode == 3, done.stdout + done.stderr
    assert verdict["node"] == "node-a" and folder.name.startswith("qualify-cpu-test-node-a-")
    assert [(d["label"], d["visible"], d["exit"]) for d in verdict["devices"]] == [
        ("gpu0", "3", 0), ("gpu1", "5", 3), ("gpu2", "7", 0)]
    assert verdict["worst_device"] == "gpu1"
    [item] = verdict["not_a_pass"]
    assert item["kind"] == "broke" and item["where"] == "gpu1: per_device"
    for label, visible in (("gpu0", "3"), ("gpu2", "7")):
        events = [json.loads(line)
                  for line in (folder / label / "per_device" / "stream.jsonl").open()]
        [seen] = [e for e in events if e.get("metric") == "visible"]
        assert seen["measured"] == visible and seen["details"]["order"] == "PCI_BUS_ID"
    summary = (folder / "summary.md").read_text()
    assert "Worst device: **gpu1 (uuid GPU-5, serial 1650000005" in summary
    assert "## Devices" in summary and verdict["devices"][1]["not_a_pass"] == [item]


def test_each_gpu_runs_the_whole_node_tests_once_with_every_gpu(project):
    done, folder, verdict = qualify(project, "--suite", "links", "--each-gpu",
                                    env={"CUDA_VISIBLE_DEVICES": "3,5", **NODE})
    assert done.returncode == 0, done.stdout + done.stderr
    seen = {}
    for where in ("gpu0/links", "gpu1/links", "node/links"):
        events = [json.loads(line) for line in (folder / where / "stream.jsonl").open()]
        seen[where] = {e["metric"]: e["measured"] for e in events if e.get("event") == "check"}
    assert seen == {"gpu0/links": {"visible": "3"}, "gpu1/links": {"visible": "5"},
                    "node/links": {"visible_to_all": "3,5"}}
    assert verdict["suites"]["node/links"]["device"] == "node"


@pytest.mark.parametrize("nvml", [NODE, {}], ids=["nvml", "no-nvml"])
def test_each_gpu_never_qualifies_gpus_that_are_not_there(project, nvml):
    """Defect: CUDA_VISIBLE_DEVICES=garbage,junk on a machine with no GPU was "gpu0",
    "gpu1" and exit 0, QUALIFIED. NVML (a stand-in node of 8) or, without it, torch
    (this machine: none) says which entries are GPUs; the rest fail the node."""
    done, _, verdict = qualify(project, "--suite", "ok", "--each-gpu",
                               env={"CUDA_VISIBLE_DEVICES": "1,garbage,junk", **nvml})
    assert done.returncode == 1, done.stdout + done.stderr
    [item] = verdict["not_a_pass"]
    assert item["where"] == "health: gpus to qualify" and "garbage, junk" in item["why"]
    assert verdict["suites"] == {}  # nothing ran on made-up devices


def test_each_gpu_with_no_gpu_visible_is_not_judged(project):
    done, _, verdict = qualify(project, "--suite", "ok", "--each-gpu",
                               env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 2, done.stdout
    assert verdict["not_a_pass"][0]["where"] == "health: gpus to qualify"


# -- health, through a stand-in NVML --------------------------------------------------------
def verdicts(nvml, expect_gpus=1) -> dict:
    return {h.name: h for h in health.gpu_checks(nvml, expect_gpus, nvml.load)}


def test_a_healthy_gpu_passes_every_check():
    found = verdicts(StandInNVML())
    assert {h.verdict for h in found.values()} <= {"pass", "info"}, found
    assert found["gpu0 pcie link"].verdict == "pass"
    assert found["gpu0 throttle under load"].reason == "no slowdown (software power cap)"


@pytest.mark.parametrize("fault,check,reason", [
    (dict(count=7), "gpu count", "7 GPUs found, 8 expected"),
    (dict(ecc=(0, 0)), "gpu0 ecc mode", "ECC is off"),
    (dict(uncorrected=3), "gpu0 ecc uncorrected (volatile)", "3 uncorrected ECC errors"),
    (dict(remapped=(2, 1, 1, 0)), "gpu0 row remapping", "a row remap is pending"),
    (dict(remapped=(0, 0, 0, 1)), "gpu0 row remapping", "a row remap failed"),
    (dict(throttle=0x8 | 0x40), "gpu0 throttle under load",
     "slowed by hardware slowdown, hardware thermal slowdown"),
    (dict(pcie=((5, 5), (8, 16))), "gpu0 pcie link",
     "PCIe gen 5 x8 under load (capable of gen 5 x16)"),
    (dict(pcie_idle=((1, 5), (8, 16)), pcie=((3, 5), (8, 16))), "gpu0 pcie link",
     "PCIe gen 3 x8 under load (capable of gen 5 x16): a link still degraded under load"),
])
def test_each_health_check_fails_on_its_fault(fault, check, reason):
    found = verdicts(StandInNVML(**fault), expect_gpus=8 if "count" in fault else 1)
    assert found[check].verdict == "fail", found[check]
    assert reason in found[check].reason


def test_a_link_trained_down_at_idle_passes_when_it_trains_up_under_load():
    """GPUs lower their PCIe generation at idle to save power: read before the load, a
    healthy node failed its preflight."""
    found = verdicts(StandInNVML(pcie_idle=((1, 5), (16, 16)), pcie=((5, 5), (16, 16))))
    assert found["gpu0 pcie link"].verdict == "pass", found["gpu0 pcie link"]
    assert found["gpu0 pcie link"].value == {"gen": 5, "max_gen": 5, "width": 16,
                                             "max_width": 16}


def test_an_unsupported_query_is_a_skip_with_nvmls_error():
    nvml = StandInNVML()

    def unsupported(h):
        raise nvml.NVMLError("Not Supported")
    nvml.nvmlDeviceGetRemappedRows = unsupported
    found = verdicts(nvml)
    assert "gpu0 row remapping" not in found  # before Ampere: retired pages instead
    assert found["gpu0 retired pages"].verdict == "pass"


def test_expected_gpus_without_nvml_fail():
    checks = health.preflight(expect_gpus=2, quiet_s=0)
    if any(h.name.startswith("gpu0") for h in checks):
        pytest.skip("this machine has an NVIDIA driver")
    [count] = [h for h in checks if h.name == "gpu count"]
    assert count.verdict == "fail" and "2 GPUs expected" in count.reason


@pytest.mark.parametrize("outer, expected", [
    (None, [("0", 0, "GPU-0"), ("1", 1, "GPU-1"), ("2", 2, "GPU-2")]),
    ("2,0", [("2", 2, "GPU-2"), ("0", 0, "GPU-0")]),
    ("GPU-1", [("GPU-1", 1, "GPU-1")]),
])
def test_devices_follow_the_outer_visible_list_and_carry_uuid_and_serial(monkeypatch, outer,
                                                                        expected):
    from stackqual import devices

    if outer is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", outer)
    found = devices.visible(StandInNVML(count=3))
    assert [(d.visible, d.nvml_index, d.uuid) for d in found] == expected
    assert [d.label for d in found] == [f"gpu{i}" for i in range(len(expected))]
    assert found[0].serial == f"165000000{expected[0][1]}"
    assert found[0].environ()["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_gpu_health_names_each_board():
    found = verdicts(StandInNVML(count=2), expect_gpus=2)
    assert found["gpu1 uuid"].value == "GPU-1" and found["gpu1 serial"].value == "1650000001"


def test_two_runs_of_one_node_in_the_same_second_get_their_own_folders(tmp_path):
    """Defect: two `qualify --node X` runs that started in the same second shared one
    folder, and one verdict overwrote the other."""
    from stackqual import qualify as qualifying

    path = tmp_path / "qualify-cpu-test-node-20261202T000000Z"
    first, second = qualifying.new_folder(path), qualifying.new_folder(path)
    assert (first, second) == (path, path.with_name(path.name + "-2"))


def test_a_message_with_a_lone_surrogate_still_gets_its_verdict(project):
    """Defect: a surrogate in a failure message crashed the summary write: a 0-byte
    summary.md and no verdict.json (and the same in the run report's Markdown)."""
    done, folder, verdict = qualify(project, "--suite", "surrogate")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "\\udcff" in (folder / "summary.md").read_text()
    [markdown] = (folder / "surrogate").glob("stackqual-*.md")
    assert "\\udcff" in markdown.read_text()


def test_a_suite_that_declares_itself_first_runs_first(tmp_path):
    """The order is the suites' own declaration (suite.toml [qualify] first), not a name
    the harness knows: here a suite called `zz` before `aa`."""
    from stackqual.qualify import discover

    for name in ("aa", "zz"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"test_{name}.py").write_text("")
    assert discover(tmp_path, []) == ["aa", "zz"]
    (tmp_path / "zz" / "suite.toml").write_text("packages = []\n[qualify]\nfirst = true\n")
    assert discover(tmp_path, []) == ["zz", "aa"]
