"""The fleet templates (deploy/): the Slurm scripts parse and, with stand-ins for
`scontrol`, `sinfo`, `sbatch`, `scancel` and `srun`, submit one job per node into a dated
run folder and a fleet merge after them, each job running `stackqual qualify` on its node
with the operator's arguments; unknown names, down or drained nodes, a refused
submission and an unwritable folder each end with their own exit code and nothing left
behind. The Kubernetes Indexed Job has the fields one pod per node needs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.support import REPO
from stackqual.exits import Exit

SLURM = REPO / "deploy" / "slurm"
LOG = "$STANDIN_LOG"

# Stand-ins record their arguments, one line per call, in $STANDIN_LOG. sinfo knows the
# nodes of $STANDIN_SINFO ("name state" lines); sbatch fails at its $STANDIN_SBATCH_FAILS-th
# call, as on a scheduler refusing a job.
STANDINS = {
    "scontrol": 'echo "scontrol $*" >> "$STANDIN_LOG"\n'
                '[ "$1 $2" = "show hostnames" ] && printf "gpu001\\ngpu002\\ngpu003\\n"\n',
    "sinfo": 'echo "sinfo $*" >> "$STANDIN_LOG"\nprintf "%b" "$STANDIN_SINFO"\n',
    "sbatch": 'echo "sbatch $*" >> "$STANDIN_LOG"\n'
              'n=$(grep -c ^sbatch "$STANDIN_LOG")\n'
              '[ "$n" = "${STANDIN_SBATCH_FAILS:-0}" ] && '
              '{ echo "sbatch: error: refused" >&2; exit 1; }\n'
              'echo "$((1000 + n));cluster"\n',
    "scancel": 'echo "scancel $*" >> "$STANDIN_LOG"\n',
    "srun": 'echo "srun $*" >> "$STANDIN_LOG"\n'
            'while [ "${1#--}" != "$1" ]; do shift; done\nexec "$@"\n',
}
IDLE = "gpu001 idle\\ngpu002 mix\\ngpu003 idle\\n"


@pytest.fixture
def standins(tmp_path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STANDINS.items():
        (bin_dir / name).write_text("#!/bin/bash\n" + body)
        (bin_dir / name).chmod(0o755)
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "stackqual").write_text('#!/bin/bash\necho "stackqual $*" >> "$STANDIN_LOG"\n')
    (venv / "stackqual").chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STANDIN_LOG": str(log),
            "STACKQUAL_VENV": str(venv.parent), "HOME": str(tmp_path), "STANDIN_SINFO": IDLE}


def calls(env) -> list[str]:
    return Path(env["STANDIN_LOG"]).read_text().splitlines()


def submit(env, *args, **more) -> subprocess.CompletedProcess:
    return subprocess.run([str(SLURM / "submit.sh"), *map(str, args)], capture_output=True,
                          text=True, env={**env, **more})


@pytest.mark.parametrize("script", ["submit.sh", "qualify-node.sbatch"])
def test_the_slurm_scripts_parse(script):
    done = subprocess.run(["bash", "-n", str(SLURM / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_submit_pins_one_job_to_each_node_then_merges_the_fleet_after_them(standins, tmp_path):
    done = submit(standins, "gpu[001-003]", tmp_path / "q", "-p", "h100", "-A", "infra",
                  "--", "--suite", "hardware", "-m", "not slow")
    assert done.returncode == 0, done.stdout + done.stderr
    [run] = (tmp_path / "q").iterdir()  # this submission's own dated folder
    assert (run / "logs").is_dir()
    sbatch = [c for c in calls(standins) if c.startswith("sbatch")]
    assert len(sbatch) == 4
    for call, node in zip(sbatch, ("gpu001", "gpu002", "gpu003")):
        assert f"--nodelist={node} " in call and f"STACKQUAL_REPORTS={run}," in call
        assert "--gres=gpu:8 " in call and f"--output={run}/logs/" in call
        assert "-p h100 -A infra" in call
        # the arguments after `--` reach qualify through the node script
        assert call.endswith("qualify-node.sbatch --suite hardware -m not slow")
    merge = sbatch[-1]
    assert "-p h100 -A infra" in merge and "--gres" not in merge  # the operator's options
    assert "--dependency=afterany:1001:1002:1003" in merge
    assert f"fleet '{run}' --out '{run}/fleet'" in merge and f"--output={run}/logs/" in merge
    assert "--expect-nodes 'gpu001,gpu002,gpu003'" in merge  # each one accounted for


def test_two_submissions_never_share_a_run_folder(standins, tmp_path):
    for _ in range(2):
        assert submit(standins, "gpu[001-003]", tmp_path / "q").returncode == 0
    assert len(list((tmp_path / "q").iterdir())) == 2


def test_an_unknown_node_name_is_bad_usage_and_submits_nothing(standins, tmp_path):
    done = submit(standins, "gpu[001-003]", tmp_path / "q",
                  STANDIN_SINFO="gpu001 idle\\ngpu003 idle\\n")
    assert done.returncode == 4 and "not Slurm nodes (sinfo does not know them): gpu002" in \
        done.stderr
    assert not [c for c in calls(standins) if c.startswith("sbatch")]


def test_a_drained_node_is_not_submitted_and_the_merge_still_expects_it(standins, tmp_path):
    done = submit(standins, "gpu[001-003]", tmp_path / "q",
                  STANDIN_SINFO="gpu001 idle\\ngpu002 drain\\ngpu003 idle\\n")
    assert done.returncode == 0 and "gpu002: not submitted, the node is drain" in done.stderr
    sbatch = [c for c in calls(standins) if c.startswith("sbatch")]
    assert len(sbatch) == 3 and "--nodelist=gpu002" not in " ".join(sbatch)
    assert "--deadline=now+1days" in sbatch[0]  # drained later: Slurm ends the pending job
    assert "--expect-nodes 'gpu001,gpu002,gpu003'" in sbatch[-1]
    every = submit(standins, "gpu[001-003]", tmp_path / "q", STANDIN_SINFO="gpu001 down\\n"
                   "gpu002 drain\\ngpu003 down\\n")
    assert every.returncode == 2 and "nothing submitted" in every.stderr


def test_a_refused_submission_cancels_what_was_submitted(standins, tmp_path):
    done = submit(standins, "gpu[001-003]", tmp_path / "q", STANDIN_SBATCH_FAILS="3")
    assert done.returncode == 3 and "cancelling the 2 jobs" in done.stderr
    assert "scancel 1001 1002" in calls(standins)


def test_cpu_nodes_ask_for_no_gpu(standins, tmp_path):
    assert submit(standins, "gpu[001-003]", tmp_path / "q", STACKQUAL_GPUS="0").returncode == 0
    assert "--gres" not in " ".join(calls(standins))
    assert submit(standins, "gpu[001-003]", tmp_path / "q", STACKQUAL_GPUS="eight"
                  ).returncode == 4


def test_an_unwritable_reports_folder_is_not_a_verdict(standins, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the folder should be
    done = submit(standins, "gpu[001-003]", blocked / "q")
    assert done.returncode == 70 and "cannot create a run folder" in done.stderr
    env = {**standins, "STACKQUAL_REPORTS": str(blocked / "q"), "SLURMD_NODENAME": "gpu002"}
    node = subprocess.run(["bash", str(SLURM / "qualify-node.sbatch")], capture_output=True,
                          text=True, env=env)
    assert node.returncode == 70 and "not a verdict" in node.stderr


def test_submit_without_arguments_is_bad_usage(standins):
    done = subprocess.run([str(SLURM / "submit.sh")], capture_output=True, text=True,
                          env=standins)
    assert done.returncode == 4 and "usage:" in done.stderr


@pytest.mark.parametrize("gpus,expected", [
    (None, "qualify --each-gpu --expect-gpus 8 --node gpu002"),
    ("4", "qualify --each-gpu --expect-gpus 4 --node gpu002"),
    ("0", "qualify --node gpu002"),
])
def test_the_node_job_qualifies_its_node_into_the_shared_folder(standins, tmp_path, gpus,
                                                                 expected):
    shared = tmp_path / "shared"
    env = {**standins, "STACKQUAL_REPORTS": str(shared), "SLURMD_NODENAME": "gpu002",
           **({"STACKQUAL_GPUS": gpus} if gpus else {})}
    done = subprocess.run(["bash", str(SLURM / "qualify-node.sbatch"), "--suite", "hardware"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    [srun, stackqual] = calls(env)
    assert srun.startswith("srun --ntasks=1 ")
    assert stackqual == f"stackqual {expected} --report-dir {shared} --suite hardware"
    assert shared.is_dir()


def test_the_node_job_needs_the_shared_folder(standins):
    done = subprocess.run(["bash", str(SLURM / "qualify-node.sbatch")], capture_output=True,
                          text=True, env=standins)
    assert done.returncode != 0 and "STACKQUAL_REPORTS" in done.stderr


def test_the_kubernetes_job_runs_one_indexed_pod_per_node_on_all_its_gpus():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: pip install pyyaml")
    claim, job = yaml.safe_load_all((REPO / "deploy" / "kubernetes" / "qualify-job.yaml")
                                    .read_text())
    spec = job["spec"]
    assert claim["kind"] == "PersistentVolumeClaim" and "ReadWriteMany" in claim["spec"][
        "accessModes"]
    assert spec["activeDeadlineSeconds"] > 0  # a pod pending forever ends
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    [anti] = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    [container] = pod["containers"]
    command = container["command"]
    assert command[:3] == ["stackqual", "qualify", "--each-gpu"]
    gpus = container["resources"]["limits"]["nvidia.com/gpu"]
    assert command[command.index("--expect-gpus") + 1] == str(gpus)
    assert command[command.index("--node") + 1] == "$(NODE_NAME)"
    [node_env] = [e for e in container["env"] if e["name"] == "NODE_NAME"]
    assert node_env["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    # Guaranteed: no other pod's work on the CPUs the timed checks use
    assert container["resources"]["requests"] == container["resources"]["limits"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[command[command.index("--report-dir") + 1]]][
        "persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"  # NCCL, > 64 MiB
    # Verdicts are not retried; a broken run is.
    [rule] = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex" and spec["backoffLimitPerIndex"] >= 1
    not_retried = set(rule["onExitCodes"]["values"])
    assert not_retried == {Exit.FAILED, Exit.NOT_JUDGED, Exit.USAGE}


def test_the_kubernetes_merge_reads_the_claim_the_nodes_wrote():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: pip install pyyaml")
    kube = REPO / "deploy" / "kubernetes"
    claim, _ = yaml.safe_load_all((kube / "qualify-job.yaml").read_text())
    merge = yaml.safe_load((kube / "fleet-job.yaml").read_text())
    pod = merge["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "stackqual fleet /reports" in container["command"][-1]
    [volume] = pod["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_one_kubernetes_job_per_node_each_pinned_to_its_node():
    """An Indexed Job ties no index to a node: a retried index could land on a node already
    qualified. qualify-nodes.sh emits one Job per node, pinned by node affinity."""
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: pip install pyyaml")
    script = REPO / "deploy" / "kubernetes" / "qualify-nodes.sh"
    done = subprocess.run([str(script), "gpu-a", "gpu.b"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    jobs = [d for d in yaml.safe_load_all(done.stdout) if d]
    for job, node in zip(jobs, ("gpu-a", "gpu.b"), strict=True):
        pod = job["spec"]["template"]["spec"]
        [term] = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"]
        assert term["matchFields"] == [{"key": "metadata.name", "operator": "In",
                                        "values": [node]}]
        [container] = pod["containers"]
        command = container["command"]
        assert command[command.index("--node") + 1] == node
        assert container["resources"]["requests"] == container["resources"]["limits"]
        [rule] = job["spec"]["podFailurePolicy"]["rules"]
        assert set(rule["onExitCodes"]["values"]) == {Exit.FAILED, Exit.NOT_JUDGED, Exit.USAGE}
    assert jobs[1]["metadata"]["name"] == "stackqual-qualify-gpu-b"
    bad = subprocess.run([str(script), "Bad_Name"], capture_output=True, text=True)
    assert bad.returncode == 4 and "not a Kubernetes node name" in bad.stderr


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed: pip install -e '.[test]'")
    return found


@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])  # what docs/fleet.md claims
def test_the_kubernetes_manifests_validate_against_the_schemas_of_the_versions_claimed(
        tmp_path, version):
    kube = REPO / "deploy" / "kubernetes"
    per_node = tmp_path / "per-node.yaml"
    per_node.write_text(subprocess.run([str(kube / "qualify-nodes.sh"), "gpu-a", "gpu-b"],
                                       capture_output=True, text=True, check=True).stdout)
    done = subprocess.run([_tool("kubernetes-validate"), "--strict", "-k", version,
                           str(kube / "qualify-job.yaml"), str(kube / "fleet-job.yaml"),
                           str(per_node)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") + done.stderr.count("passed") == 5


def test_the_workflow_validates_against_the_github_workflow_schema():
    done = subprocess.run([_tool("check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows",
                           str(REPO / ".github" / "workflows" / "upgrade-gate.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
