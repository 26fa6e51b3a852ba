"""`stackqual fleet`: the outlier of a fleet named, and only it.

First on qualify folders written here with chosen figures (the rule's edges), then on real
`stackqual qualify` runs of the hardware suite given different node names, one of them
slowed on purpose (selftests/faults/hardware/throttled.py)."""

import json
import subprocess
import sys

import pytest

from selftests.support import REPO, unguarded_environ
from stackqual import fleet, policy

GEMM = "test_peak.py::test_hardware_reaches_its_baseline_share_of_peak[gemm-fp32-cpu]#rate"
COPY = "test_peak.py::test_hardware_reaches_its_baseline_share_of_peak[copy-cpu]#rate"


def write_node(root, name, figures: dict, exit=0, profile="cpu-test", torch="2.13.0",
               devices=(), not_a_pass=(), kind="cpu", host=None, stamp="20261202T000000Z"):
    """A qualify folder as `stackqual qualify` writes it: verdict.json and, per suite (and
    per device), the stream of its checks."""
    folder = root / f"qualify-{profile}-{name}-{stamp}"
    suites = {}
    for device in devices or [""]:
        where = f"{device}/hardware" if device else "hardware"
        (folder / where).mkdir(parents=True)
        lines = [json.dumps({"event": "check", "check_id": cid, "suite": "hardware",
                             "metric": "rate", "verdict": "pass",
                             "details": {"kind": "rate", "rates": [v] * 5, "unit": "GB/s",
                                         "calibration": {"device": kind}}})
                 for cid, v in figures.get(device, figures).items()
                 if not isinstance(v, dict)]
        (folder / where / "stream.jsonl").write_text("\n".join(lines) + "\n")
        suites[where] = {"folder": where, "device": device, "returncode": 0}
    (folder / "verdict.json").write_text(json.dumps({
        "exit": exit, "verdict": "qualified" if exit == 0 else "not qualified", "node": name,
        "profile": profile, "fingerprint": {"torch": torch, "python": "3.11.7"},
        "not_a_pass": list(not_a_pass), "suites": suites, "host": host or name,
        "worst_device": None}))
    return folder


def merged(root):
    [group] = fleet.merge([fleet.load_node(f) for f in fleet.find([root])])
    return group


def outliers(group) -> set:
    return {o["unit"] for _, o in group.outliers}


def test_the_slow_node_and_only_it_is_named_with_its_figures(tmp_path):
    for i, gemm in enumerate((151.0, 148.5, 153.2, 150.1, 149.7)):
        write_node(tmp_path, f"n{i}", {GEMM: gemm, COPY: 30.0 + i / 10})
    write_node(tmp_path, "n-slow", {GEMM: 75.2, COPY: 30.2})
    group = merged(tmp_path)
    assert outliers(group) == {"n-slow"}
    text = fleet.markdown([group], 1)
    assert "**n-slow**: `gemm-fp32-cpu rate` = 75.2 GB/s, 50% below the fleet median" in text
    assert "FLEET_OUTLIER_Z 3.5" in text


def test_a_difference_within_the_deviation_floor_is_not_an_outlier_even_with_mad_zero(
        tmp_path):
    floor = policy.FLEET_MIN_DEVIATION["cpu"][0]
    for i in range(5):
        write_node(tmp_path, f"n{i}", {GEMM: 100.0})
    write_node(tmp_path, "n-a-bit-slow", {GEMM: 100.0 * (1 - floor * 0.9)})
    assert outliers(merged(tmp_path)) == set()
    write_node(tmp_path, "n-slow", {GEMM: 100.0 * (1 - floor * 1.1)})
    assert outliers(merged(tmp_path)) == {"n-slow"}


def test_a_faster_node_is_listed_not_flagged(tmp_path):
    for i in range(5):
        write_node(tmp_path, f"n{i}", {GEMM: 100.0 + i})
    write_node(tmp_path, "n-fast", {GEMM: 200.0})
    group = merged(tmp_path)
    assert outliers(group) == set()
    assert [o["unit"] for s in group.spreads for o in s.better] == ["n-fast"]


def test_too_few_units_are_not_judged(tmp_path):
    write_node(tmp_path, "n0", {GEMM: 100.0})
    write_node(tmp_path, "n1", {GEMM: 10.0})
    group = merged(tmp_path)
    assert outliers(group) == set() and not group.spreads[0].judged
    assert f"not judged: fewer than {policy.FLEET_MIN_UNITS} units" in fleet.markdown([group], 0)


def test_each_gpu_is_a_unit_and_the_slow_gpu_is_named(tmp_path):
    for i in range(3):
        rates = {f"gpu{d}": {GEMM: 700.0 + d} for d in range(4)}
        if i == 1:
            rates["gpu2"] = {GEMM: 560.0}
        write_node(tmp_path, f"n{i}", rates, devices=[f"gpu{d}" for d in range(4)],
                   kind="cuda")
    assert outliers(merged(tmp_path)) == {"n1/gpu2"}  # 20% slower: beyond the CUDA floor


def test_profiles_and_stacks_are_grouped_apart(tmp_path):
    for i in range(3):
        write_node(tmp_path, f"a{i}", {GEMM: 100.0})
        write_node(tmp_path, f"b{i}", {GEMM: 50.0}, torch="2.14.1")
        write_node(tmp_path, f"c{i}", {GEMM: 20.0}, profile="cpu-other")
    groups = fleet.merge([fleet.load_node(f) for f in fleet.find([tmp_path])])
    assert len(groups) == 3 and all(not g.outliers for g in groups)
    assert sorted(len(g.nodes) for g in groups) == [3, 3, 3]


def test_a_node_not_qualified_is_named_with_what_it_said(tmp_path, capsys):
    for i in range(3):
        write_node(tmp_path, f"n{i}", {GEMM: 100.0})
    write_node(tmp_path, "n-sick", {GEMM: 100.0}, exit=1, not_a_pass=[
        {"kind": "failed", "where": "health: gpu3 row remapping", "why": "a remap is pending"}])
    out = tmp_path / "fleet"
    assert fleet.main([str(tmp_path), "--out", str(out)], REPO) == 1
    text = (out / "fleet.md").read_text()
    assert "- **n-sick**: exit 1" in text and "health: gpu3 row remapping" in text
    assert json.loads((out / "fleet.json").read_text())["groups"][0]["failing"] == ["n-sick"]
    assert list(out.glob("fleet-0-*.png")), "a plot per hardware figure"


# -- every node accounted for ------------------------------------------------------------
def run_fleet(tmp_path, *args) -> tuple[int, str, dict]:
    out = tmp_path / "fleet-out"
    code = fleet.main([str(tmp_path / "reports"), "--out", str(out), *args], REPO)
    return code, (out / "fleet.md").read_text(), json.loads((out / "fleet.json").read_text())


def three_good(root):
    for i in range(3):
        write_node(root, f"n{i}", {GEMM: 100.0 + i})


def test_a_killed_node_is_named_and_the_others_still_merged(tmp_path):
    """Defect: a node without verdict.json (killed, its stream cut mid-line) was skipped,
    and the fleet read "every node qualified"."""
    reports = tmp_path / "reports"
    three_good(reports)
    killed = reports / "qualify-cpu-test-n-killed-20261202T000000Z" / "hardware"
    killed.mkdir(parents=True)
    (killed / "stream.jsonl").write_text('{"event": "check", "check_id": "x", "verd')
    code, text, data = run_fleet(tmp_path)
    assert code == 1, text
    assert "no verdict.json: the node's run was killed" in text
    assert data["unreadable"][0]["folder"].endswith("n-killed-20261202T000000Z")
    assert len(data["groups"][0]["nodes"]) == 3


@pytest.mark.parametrize("damage,why", [
    (lambda f: (f / "verdict.json").write_text(""), "verdict.json: not a readable qualify verdict"),
    (lambda f: (f / "verdict.json").write_bytes(b"\xff\xfe{"),
     "verdict.json: not a readable qualify verdict"),
    (lambda f: (f / "hardware" / "stream.jsonl").write_text(
        (f / "hardware" / "stream.jsonl").read_text().replace("100.0", "NaN")),
     "not a finite number"),
    (lambda f: (f / "hardware" / "stream.jsonl").write_bytes(
        b"\xff\n" + (f / "hardware" / "stream.jsonl").read_bytes()), "damaged at line 1"),
])
def test_one_bad_node_is_named_and_never_breaks_the_fleet(tmp_path, damage, why):
    """Defect: a NaN rate, a non-UTF-8 stream or an empty verdict.json ended `fleet` with
    a traceback and no fleet.md."""
    reports = tmp_path / "reports"
    three_good(reports)
    damage(write_node(reports, "n-bad", {GEMM: 100.0}))
    code, text, _ = run_fleet(tmp_path)
    assert code == 1 and "n-bad" in text, text
    assert why in text, text


def test_a_retried_node_counts_once_and_one_name_on_two_hosts_is_named(tmp_path):
    """Defect: a retried node kept its stale exit-3 folder beside the new one, and two
    machines with one name overwrote each other's figures (a slow one was hidden)."""
    reports = tmp_path / "reports"
    three_good(reports)
    write_node(reports, "n0", {GEMM: 100.0}, exit=3, stamp="20261201T000000Z")  # the retry's
    code, text, data = run_fleet(tmp_path)
    assert code == 0, text
    assert len(data["superseded"]) == 1 and "20261201T000000Z" in data["superseded"][0]
    write_node(reports, "n1", {GEMM: 50.0}, host="other-host", stamp="20261203T000000Z")
    code, text, data = run_fleet(tmp_path)
    assert code == 1 and "One node name on several hosts" in text, text
    assert data["shared_names"][0]["name"] == "n1"


def test_fewer_units_than_can_be_judged_is_not_judged_exit_2(tmp_path):
    """Defect: two nodes, one at half speed, read "every node qualified, no outlier"."""
    write_node(tmp_path / "reports", "n0", {GEMM: 100.0})
    write_node(tmp_path / "reports", "n1", {GEMM: 50.0})
    code, text, _ = run_fleet(tmp_path)
    assert code == 2 and "not judged" in text, text


def test_a_node_asked_for_without_a_report_is_missing(tmp_path):
    three_good(tmp_path / "reports")
    (tmp_path / "nodes").write_text("n0\nn1\nn2\nn3\n")  # as `scontrol show hostnames` says
    code, text, data = run_fleet(tmp_path, "--expect-nodes", str(tmp_path / "nodes"))
    assert code == 1 and "- **n3**: missing" in text, text
    assert data["missing"] == ["n3"]
    assert run_fleet(tmp_path, "--expect-nodes", "n0,n1,n2")[0] == 0


def test_no_report_is_bad_usage(tmp_path, capsys):
    assert fleet.main([str(tmp_path)], REPO) == 4
    assert "no qualify report" in capsys.readouterr().err


# -- real qualify runs of the hardware suite -----------------------------------------------

def qualify_hardware(reports, node: str, *pytest_args) -> subprocess.CompletedProcess:
    """The hardware suite qualified as node `node`, against no baselines (the figures are
    what the fleet compares; each run's own verdict is "not judged")."""
    empty = reports / "no-baselines"
    empty.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "stackqual.cli", "qualify", "--suite", "hardware", "--node", node,
         "--report-dir", str(reports), "--quiet-seconds", "0", "--baselines-dir", str(empty),
         *pytest_args], cwd=REPO, capture_output=True, text=True, timeout=600,
        env=unguarded_environ())


# Compute-bound GEMM moved by a few percent across processes on the CI VM; a shared host in
# a noisy phase has moved it by 25% (137-170 GFLOP/s), and then no robust rule can tell a
# half-rate node from the fleet's own spread.
NOISY_GEMM = 0.10


@pytest.mark.slow
def test_a_throttled_node_among_real_runs_is_the_one_outlier(tmp_path):
    reports = tmp_path / "reports"
    for node in ("node-1", "node-2", "node-3"):
        done = qualify_hardware(reports, node)
        assert done.returncode in (0, 2), done.stdout + done.stderr
    clean = merged(reports)
    assert len(clean.nodes) == 3 and clean.spreads, "the hardware rates of three nodes"
    [gemm] = [s for s in clean.spreads if "[gemm-" in s.figure]
    widest = max(gemm.values.values()) / min(gemm.values.values()) - 1
    if widest > NOISY_GEMM:
        pytest.skip(f"this machine's GEMM rate moved by {widest:.0%} across three clean "
                    f"processes (the test presumes at most {NOISY_GEMM:.0%}): a half-rate "
                    "node is then within the fleet's own noise; rerun on a quieter machine")
    # Three processes of one machine are one machine: a figure that moved between them by
    # more than the deviation floor is the host's phase, not a node's defect (seen
    # 2026-12-03: one clean process's single-thread triad at 44.6 GB/s against 70.0 and
    # 73.5, which the rule rightly names). Then nothing can be told; never a pass.
    floor = policy.FLEET_MIN_DEVIATION["cpu"][0]
    moved = {s.figure: f"{min(s.values.values()):.4g}-{max(s.values.values()):.4g}"
             for s in clean.spreads if min(s.values.values()) < (1 - floor) * s.median}
    if moved:
        pytest.skip(f"this machine's rates moved by more than the fleet's {floor:.0%} floor "
                    f"across three clean processes of one machine ({moved}); rerun on a "
                    "quieter machine")
    assert outliers(clean) == set(), fleet.markdown([clean], 0)
    done = qualify_hardware(reports, "node-4", "--", "-p", "selftests.faults.hardware.throttled")
    assert done.returncode in (0, 2), done.stdout + done.stderr
    group = merged(reports)
    assert outliers(group) == {"node-4"}, fleet.markdown([group], 1)
    # The GEMM rate, compute-bound, spreads by a few percent across processes: half of it
    # stands out. The single-thread copy and triad rates of this shared VM spread by 13-15%
    # (MAD) across processes: at half rate the throttled node is named only where its
    # figure clears the deviation floor and the z-score both (docs/fleet.md).
    [gemm] = [s for s in group.spreads if "[gemm-" in s.figure]
    assert [o["unit"] for o in gemm.outliers] == ["node-4"], fleet.markdown([group], 1)
