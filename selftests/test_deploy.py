"""The fleet templates (deploy/): the Slurm scripts parse and, with stand-ins for
`scontrol`, `sbatch` and `srun`, submit one job per node and a fleet merge after them, each
job running `stackqual qualify --each-gpu` on its node; the Kubernetes Indexed Job has the
fields one pod per node needs."""

import os
import subprocess
from pathlib import Path

import pytest

from selftests.support import REPO
from stackqual import qualify

SLURM = REPO / "deploy" / "slurm"
LOG = "$STANDIN_LOG"

# Stand-ins record their arguments, one line per call, in $STANDIN_LOG.
STANDINS = {
    "scontrol": 'echo "scontrol $*" >> "$STANDIN_LOG"\n'
                '[ "$1 $2" = "show hostnames" ] && printf "gpu001\\ngpu002\\ngpu003\\n"\n',
    "sbatch": 'echo "sbatch $*" >> "$STANDIN_LOG"\n'
              'n=$(wc -l < "$STANDIN_LOG"); echo "$((1000 + n));cluster"\n',
    "srun": 'echo "srun $*" >> "$STANDIN_LOG"\n'
            'while [ "${1#--}" != "$1" ]; do shift; done\nexec "$@"\n',
}


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
            "STACKQUAL_VENV": str(venv.parent), "HOME": str(tmp_path)}


def calls(env) -> list[str]:
    return Path(env["STANDIN_LOG"]).read_text().splitlines()


@pytest.mark.parametrize("script", ["submit.sh", "qualify-node.sbatch"])
def test_the_slurm_scripts_parse(script):
    done = subprocess.run(["bash", "-n", str(SLURM / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_submit_pins_one_job_to_each_node_then_merges_the_fleet_after_them(standins):
    done = subprocess.run([str(SLURM / "submit.sh"), "gpu[001-003]", "/shared/q", "-p", "h100"],
                          capture_output=True, text=True, env=standins)
    assert done.returncode == 0, done.stdout + done.stderr
    sbatch = [c for c in calls(standins) if c.startswith("sbatch")]
    assert len(sbatch) == 4
    for call, node in zip(sbatch, ("gpu001", "gpu002", "gpu003")):
        assert f"--nodelist={node} " in call and "STACKQUAL_REPORTS=/shared/q" in call
        assert "-p h100" in call and call.endswith("qualify-node.sbatch")
    assert "--dependency=afterany:1002:1003:1004" in sbatch[-1]
    assert "fleet '/shared/q' --out '/shared/q/fleet'" in sbatch[-1]
    assert "--expect-nodes 'gpu001,gpu002,gpu003'" in sbatch[-1]  # each one accounted for


def test_submit_without_arguments_is_bad_usage(standins):
    done = subprocess.run([str(SLURM / "submit.sh")], capture_output=True, text=True,
                          env=standins)
    assert done.returncode == 4 and "usage:" in done.stderr


def test_the_node_job_qualifies_every_gpu_of_its_node_into_the_shared_folder(standins,
                                                                             tmp_path):
    shared = tmp_path / "shared"
    env = {**standins, "STACKQUAL_REPORTS": str(shared), "SLURMD_NODENAME": "gpu002"}
    done = subprocess.run(["bash", str(SLURM / "qualify-node.sbatch")], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    [srun, stackqual] = calls(env)
    assert srun.startswith("srun --ntasks=1 ")
    assert stackqual == (f"stackqual qualify --each-gpu --expect-gpus 8 --node gpu002 "
                         f"--report-dir {shared}")
    assert shared.is_dir()


def test_the_node_job_needs_the_shared_folder(standins):
    done = subprocess.run(["bash", str(SLURM / "qualify-node.sbatch")], capture_output=True,
                          text=True, env=standins)
    assert done.returncode != 0 and "STACKQUAL_REPORTS" in done.stderr


def test_the_kubernetes_job_runs_one_indexed_pod_per_node_on_all_its_gpus():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: pip install pyyaml")
    job = yaml.safe_load((REPO / "deploy" / "kubernetes" / "qualify-job.yaml").read_text())
    spec = job["spec"]
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
    [mount] = container["volumeMounts"]
    assert command[command.index("--report-dir") + 1] == mount["mountPath"]
    assert mount["name"] in {v["name"] for v in pod["volumes"]}
    # Verdicts are not retried; a broken run is.
    [rule] = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex" and spec["backoffLimitPerIndex"] >= 1
    not_retried = set(rule["onExitCodes"]["values"])
    assert not_retried == set(qualify.EXIT_MEANING) - {0, 3} | {4}
