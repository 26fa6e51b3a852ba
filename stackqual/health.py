"""The node's health, checked before any suite runs (`stackqual qualify`'s preflight).

Each check has a verdict (pass, fail, not-judged, info, skip) and a reason; all of them go
into the qualification report. What a GPU check reads comes from NVML (`pynvml`, the
`nvidia-ml-py` distribution), as DCGM's and nvidia-smi's own health checks do:

- count: GPUs found against `--expect-gpus N`;
- ecc: ECC mode on, and no volatile or aggregate uncorrected ECC error;
- row remapping: no uncorrectable remapped row, no remap pending, no remap failure
  (Ampere and later; on earlier parts, no retired page pending);
- throttle: clock event reasons while a GEMM load runs; a hardware slowdown, thermal
  slowdown (hardware or software) or power brake fails; a software power cap is reported;
- clocks: SM and memory clocks under that load against their maxima (reported);
- power limit: the enforced limit against the default (a lowered limit is reported);
- pcie: link generation and width against the maxima, read while the GEMM load runs (an
  idle GPU trains its link down to save power, so a link read at idle proves nothing);
  a link still below the maximum under load fails. The maximum generation is NVML's
  device-and-system one (nvmlDeviceGetMaxPcieLinkGeneration: a gen 5 board in a gen 4
  slot is at its maximum at gen 4);
- mig and persistence mode (reported); driver, CUDA driver, CUDA runtime and cuDNN
  versions (reported); each GPU's UUID and serial (reported: the board to pull).

NVML's reference: https://docs.nvidia.com/deploy/nvml-api/ (nvmlDevice* queries,
nvmlClocksEventReason* bits). A query this GPU does not support is reported "skip" with
NVML's error, never a pass.

On CPU: the machine is quiet (other processes' share of the CPUs over two seconds, from
/proc/stat: a busy machine cannot be qualified, its timings would be judged against
someone else's load), the CPUs this process may use, and the memory available.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import policy, timing
from .verdicts import Verdict

PASS, FAIL, NOT_JUDGED, INFO, SKIP = (Verdict.PASS, Verdict.FAIL, Verdict.NOT_JUDGED,
                                      Verdict.INFO, Verdict.SKIP)

# nvmlClocksEventReason* bits (nvml.h); the first four mean the GPU is slowed by a fault
# or by heat, the power cap by its configured limit.
THROTTLE_BAD = {0x8: "hardware slowdown", 0x40: "hardware thermal slowdown",
                0x80: "hardware power brake", 0x20: "software thermal slowdown"}
THROTTLE_INFO = {0x4: "software power cap", 0x1: "idle", 0x2: "applications clocks setting",
                 0x10: "sync boost"}


@dataclass
class Health:
    name: str
    verdict: Verdict  # pass, fail, not-judged, info or skip (stackqual.verdicts)
    value: object = None
    reason: str = ""

    def __post_init__(self):
        if Verdict(self.verdict) not in (PASS, FAIL, NOT_JUDGED, INFO, SKIP):
            raise ValueError(f"not a health verdict: {self.verdict!r}")
        self.verdict = Verdict(self.verdict)

    def as_dict(self) -> dict:
        return asdict(self)


def machine_quiet(seconds: float = 2.0) -> Health:
    """Other processes' share of the CPUs while this one sleeps for `seconds` (0: not
    watched, said so)."""
    if seconds <= 0:
        return Health("machine quiet", SKIP, None, "not watched (--quiet-seconds 0)")
    load = timing.OtherLoad()
    time.sleep(seconds)
    share = load.share()
    if share is None:
        return Health("machine quiet", SKIP, None, "/proc/stat is not readable here")
    limit = policy.BUSY_MACHINE_MAX
    if share > limit:
        return Health("machine quiet", NOT_JUDGED, round(share, 3),
                      f"machine busy: other processes used {share:.0%} of the CPUs over "
                      f"{seconds:g} s (policy.BUSY_MACHINE_MAX {limit:.0%}); stop them and "
                      "qualify again")
    return Health("machine quiet", PASS, round(share, 3),
                  f"other processes used {share:.0%} of the CPUs (at most {limit:.0%})")


def cpu_checks(quiet_s: float = 2.0) -> list[Health]:
    usable, present = len(os.sched_getaffinity(0)), os.cpu_count()
    checks = [machine_quiet(quiet_s),
              Health("cpus", INFO, usable, f"{usable} of {present} CPUs usable by this "
                                              "process")]
    with contextlib.suppress(OSError, ValueError, StopIteration):
        line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                    if ln.startswith("MemAvailable:"))
        gib = int(line.split()[1]) / 2 ** 20
        checks.append(Health("memory available", INFO, round(gib, 1),
                             f"{gib:.1f} GiB available (/proc/meminfo)"))
    return checks


def load_nvml():
    """pynvml, initialised; or the reason it is not there."""
    try:
        import pynvml
    except ImportError:
        return None, ("nvidia-ml-py not installed: the GPU health checks need NVML's Python "
                      "binding (`pip install nvidia-ml-py`)")
    try:
        pynvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        return None, f"NVML did not initialise ({e}): no NVIDIA driver on this machine"
    return pynvml, ""


def _query(name: str, nvml, call, judge) -> Health:
    """One NVML query, judged; a query the GPU does not support is a skip with why."""
    try:
        value = call()
    except nvml.NVMLError as e:
        return Health(name, SKIP, None, f"NVML: {e}")
    return judge(value)


def gpu_checks(nvml, expect_gpus: int | None, under_load=contextlib.nullcontext) -> list[Health]:
    """The GPU checks through `nvml` (pynvml, or a stand-in with its names); `under_load`:
    a context manager during which the GPUs are kept busy (the throttle and clock checks
    read inside it)."""
    count = nvml.nvmlDeviceGetCount()
    checks = []
    if expect_gpus is not None:
        checks.append(Health("gpu count", PASS if count == expect_gpus else FAIL, count,
                             f"{count} GPUs found, {expect_gpus} expected (--expect-gpus)"))
    else:
        checks.append(Health("gpu count", INFO, count, f"{count} GPUs found"))
    checks.append(_query("driver", nvml, nvml.nvmlSystemGetDriverVersion,
                         lambda v: Health("driver", INFO, _text(v), "NVIDIA driver")))
    checks.append(_query("cuda driver", nvml, nvml.nvmlSystemGetCudaDriverVersion,
                         lambda v: Health("cuda driver", INFO, f"{v // 1000}.{v % 1000 // 10}",
                                          "the CUDA version the driver supports")))
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    for i, h in enumerate(handles):
        checks += _device_checks(nvml, i, h)
    with under_load():
        for i, h in enumerate(handles):
            checks += _loaded_checks(nvml, i, h)
    return checks


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _device_checks(nvml, i: int, h) -> list[Health]:
    p = f"gpu{i} "
    name = _text(nvml.nvmlDeviceGetName(h))
    checks = [Health(p + "name", INFO, name)]
    for label, query in (("uuid", nvml.nvmlDeviceGetUUID), ("serial", nvml.nvmlDeviceGetSerial)):
        checks.append(_query(p + label, nvml, lambda q=query: q(h),
                             lambda v, label=label: Health(p + label, INFO, _text(v),
                                                           "the board, as NVML names it")))

    def ecc_mode(v):
        current = v[0]
        return Health(p + "ecc mode", PASS if current else FAIL, bool(current),
                      "ECC on" if current else "ECC is off: memory errors go undetected")
    checks.append(_query(p + "ecc mode", nvml, lambda: nvml.nvmlDeviceGetEccMode(h), ecc_mode))
    for counter, label in ((nvml.NVML_VOLATILE_ECC, "volatile"),
                           (nvml.NVML_AGGREGATE_ECC, "aggregate")):
        def uncorrected(v, label=label):
            return Health(p + f"ecc uncorrected ({label})", PASS if v == 0 else FAIL, v,
                          f"{v} uncorrected ECC errors ({label} counter)")
        checks.append(_query(p + f"ecc uncorrected ({label})", nvml,
                             lambda c=counter: nvml.nvmlDeviceGetTotalEccErrors(
                                 h, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, c), uncorrected))

    def remapped(v):
        corrected, uncorrectable, pending, failed = v
        bad = [f"{uncorrectable} rows remapped for uncorrectable errors"] if uncorrectable else []
        bad += ["a row remap is pending (reset the GPU)"] if pending else []
        bad += ["a row remap failed (the board needs service)"] if failed else []
        return Health(p + "row remapping", FAIL if bad else PASS,
                      {"corrected": corrected, "uncorrectable": uncorrectable,
                       "pending": bool(pending), "failed": bool(failed)},
                      "; ".join(bad) or f"no pending or failed remap ({corrected} corrected)")
    row = _query(p + "row remapping", nvml, lambda: nvml.nvmlDeviceGetRemappedRows(h), remapped)
    if row.verdict == SKIP:  # before Ampere: page retirement instead
        row = _query(p + "retired pages", nvml,
                     lambda: nvml.nvmlDeviceGetRetiredPagesPendingStatus(h),
                     lambda v: Health(p + "retired pages", FAIL if v else PASS, bool(v),
                                      "a page retirement is pending (reset the GPU)" if v
                                      else "no page retirement pending"))
    checks.append(row)

    def power(v):
        enforced, default = v
        return Health(p + "power limit", PASS if enforced >= default else INFO,
                      {"enforced_w": enforced / 1000, "default_w": default / 1000},
                      f"power limit {enforced / 1000:g} W (default {default / 1000:g} W)"
                      + ("" if enforced >= default else ": lowered, the GPU will run slower"))
    checks.append(_query(p + "power limit", nvml, lambda: (
        nvml.nvmlDeviceGetEnforcedPowerLimit(h),
        nvml.nvmlDeviceGetPowerManagementDefaultLimit(h)), power))
    checks.append(_query(p + "mig mode", nvml, lambda: nvml.nvmlDeviceGetMigMode(h),
                         lambda v: Health(p + "mig mode", INFO, bool(v[0]),
                                          "MIG on: the suites see one instance" if v[0]
                                          else "MIG off")))
    checks.append(_query(p + "persistence mode", nvml,
                         lambda: nvml.nvmlDeviceGetPersistenceMode(h),
                         lambda v: Health(p + "persistence mode", INFO, bool(v),
                                          "on" if v else "off: the driver unloads when idle "
                                          "(slower first CUDA call)")))
    return checks


def _loaded_checks(nvml, i: int, h) -> list[Health]:
    p = f"gpu{i} "

    def throttle(bits):
        bad = [why for bit, why in THROTTLE_BAD.items() if bits & bit]
        seen = [why for bit, why in THROTTLE_INFO.items() if bits & bit]
        return Health(p + "throttle under load", FAIL if bad else PASS, hex(bits),
                      ("slowed by " + ", ".join(bad)) if bad else
                      ("no slowdown" + (f" ({', '.join(seen)})" if seen else "")))
    reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    checks = [_query(p + "throttle under load", nvml, lambda: reasons(h), throttle),
              _query(p + "pcie link", nvml, lambda: _pcie_under_load(nvml, h),
                     lambda v: _pcie(p, v))]
    for clock, label in ((nvml.NVML_CLOCK_SM, "sm"), (nvml.NVML_CLOCK_MEM, "memory")):
        def clocks(v, label=label):
            now, most = v
            return Health(p + f"{label} clock under load", INFO,
                          {"mhz": now, "max_mhz": most}, f"{now} MHz of {most} MHz")
        checks.append(_query(p + f"{label} clock under load", nvml, lambda c=clock: (
            nvml.nvmlDeviceGetClockInfo(h, c), nvml.nvmlDeviceGetMaxClockInfo(h, c)), clocks))
    return checks


PCIE_READS, PCIE_READ_GAP_S = 5, 0.1  # the link retrains within milliseconds of load


def _pcie_under_load(nvml, h) -> tuple:
    """((gen, max gen), (width, max width)): the best link seen in a few reads under load
    (the first read at the maximum ends it)."""
    best = None
    for _ in range(PCIE_READS):
        now = ((nvml.nvmlDeviceGetCurrPcieLinkGeneration(h),
                nvml.nvmlDeviceGetMaxPcieLinkGeneration(h)),
               (nvml.nvmlDeviceGetCurrPcieLinkWidth(h), nvml.nvmlDeviceGetMaxPcieLinkWidth(h)))
        best = now if best is None else max(best, now, key=lambda v: (v[0][0], v[1][0]))
        if _pcie_ok(best):
            break
        time.sleep(PCIE_READ_GAP_S)
    return best


def _pcie_ok(v) -> bool:
    (gen, max_gen), (width, max_width) = v
    return gen >= max_gen and width >= max_width


def _pcie(p: str, v) -> Health:
    (gen, max_gen), (width, max_width) = v
    ok = _pcie_ok(v)
    return Health(p + "pcie link", PASS if ok else FAIL,
                  {"gen": gen, "max_gen": max_gen, "width": width, "max_width": max_width},
                  f"PCIe gen {gen} x{width} under load (capable of gen {max_gen} x{max_width})"
                  + ("" if ok else ": a link still degraded under load (reseat the board or "
                                   "check the riser and the slot's BIOS setting)"))


@contextlib.contextmanager
def gemm_load(seconds: float = 2.0):
    """Every GPU kept busy with bf16 GEMMs, queued for about `seconds`, while the body
    reads NVML; then synchronised."""
    import torch

    streams = []
    for d in range(torch.cuda.device_count()):
        a = torch.randn(8192, 8192, device=f"cuda:{d}", dtype=torch.bfloat16)
        torch.mm(a, a)
        torch.cuda.synchronize(d)
        start = time.perf_counter()
        torch.mm(a, a)
        torch.cuda.synchronize(d)
        per_call = max(time.perf_counter() - start, 1e-4)
        for _ in range(int(seconds / per_call)):
            torch.mm(a, a)
        streams.append(d)
    time.sleep(min(seconds / 2, 1.0))  # well into the queued work
    try:
        yield
    finally:
        for d in streams:
            torch.cuda.synchronize(d)


def versions() -> list[Health]:
    import torch

    found = [Health("torch", INFO, torch.__version__),
             Health("cuda runtime", INFO, torch.version.cuda)]
    if torch.cuda.is_available():
        found.append(Health("cudnn", INFO, torch.backends.cudnn.version()))
    return found


def preflight(expect_gpus: int | None, quiet_s: float = 2.0, nvml_module=None) -> list[Health]:
    """All the health checks of this node. `nvml_module`: a stand-in for pynvml (self-
    tests); by default pynvml itself, where installed and a driver is loaded."""
    import torch

    checks = cpu_checks(quiet_s) + versions()
    nvml, why = (nvml_module, "") if nvml_module is not None else load_nvml()
    if nvml is None:
        if expect_gpus:
            checks.append(Health("gpu count", FAIL, 0, f"{expect_gpus} GPUs expected "
                                                        f"(--expect-gpus), none usable: {why}"))
        else:
            checks.append(Health("gpu", SKIP, None, why))
        return checks
    load = gemm_load if nvml_module is None and torch.cuda.is_available() \
        else contextlib.nullcontext
    return checks + gpu_checks(nvml, expect_gpus, load)
