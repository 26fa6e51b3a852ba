"""A stand-in for pynvml (nvidia-ml-py): the names stackqual.health and stackqual.devices
call, answering as a node of healthy H100s unless told otherwise. The self-tests use the
class in-process; a child process that has this folder on its PYTHONPATH imports it as
pynvml, a node whose NVML knows $STANDIN_NVML_GPUS GPUs (default 8), GPU-0, GPU-1, ..."""

import contextlib
import os


class StandInNVML:
    """The pynvml names health.py calls, answering as a healthy H100 unless told."""

    class NVMLError(Exception):
        pass

    NVML_VOLATILE_ECC, NVML_AGGREGATE_ECC, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 0, 1, 1
    NVML_CLOCK_SM, NVML_CLOCK_MEM = 1, 2

    def __init__(self, count=1, ecc=(1, 1), uncorrected=0, remapped=(0, 0, 0, 0),
                 throttle=0x4, pcie=((5, 5), (16, 16)), power=(700_000, 700_000),
                 pcie_idle=None):
        self.count, self.ecc, self.uncorrected = count, ecc, uncorrected
        self.remapped, self.throttle, self.power = remapped, throttle, power
        # The link as read under load, and at idle (a GPU trains its link down when idle).
        self.pcie_loaded, self.pcie_idle = pcie, pcie_idle or pcie
        self.loaded = False

    @contextlib.contextmanager
    def load(self):
        """The GEMM load (stackqual.health.gemm_load) as NVML sees it."""
        self.loaded = True
        try:
            yield
        finally:
            self.loaded = False

    @property
    def pcie(self):
        return self.pcie_loaded if self.loaded else self.pcie_idle

    def nvmlDeviceGetCount(self): return self.count
    def nvmlSystemGetDriverVersion(self): return "575.51.03"
    def nvmlSystemGetCudaDriverVersion(self): return 12090
    def nvmlDeviceGetHandleByIndex(self, i):
        if not 0 <= i < self.count:
            raise self.NVMLError("Invalid Argument")
        return i

    def nvmlDeviceGetHandleByUUID(self, uuid):
        tail = uuid.rsplit("-", 1)[-1]
        if not uuid.startswith("GPU-") or not tail.isdigit() or int(tail) >= self.count:
            raise self.NVMLError("Not Found")
        return int(tail)

    def nvmlDeviceGetIndex(self, h): return h
    def nvmlDeviceGetUUID(self, h): return f"GPU-{h}"
    def nvmlDeviceGetSerial(self, h): return f"165000000{h}"
    def nvmlDeviceGetName(self, h): return "NVIDIA H100 80GB HBM3"
    def nvmlDeviceGetEccMode(self, h): return self.ecc
    def nvmlDeviceGetTotalEccErrors(self, h, kind, counter): return self.uncorrected
    def nvmlDeviceGetRemappedRows(self, h): return self.remapped
    def nvmlDeviceGetRetiredPagesPendingStatus(self, h): return 0
    def nvmlDeviceGetCurrPcieLinkGeneration(self, h): return self.pcie[0][0]
    def nvmlDeviceGetMaxPcieLinkGeneration(self, h): return self.pcie[0][1]
    def nvmlDeviceGetCurrPcieLinkWidth(self, h): return self.pcie[1][0]
    def nvmlDeviceGetMaxPcieLinkWidth(self, h): return self.pcie[1][1]
    def nvmlDeviceGetEnforcedPowerLimit(self, h): return self.power[0]
    def nvmlDeviceGetPowerManagementDefaultLimit(self, h): return self.power[1]
    def nvmlDeviceGetMigMode(self, h): return (0, 0)
    def nvmlDeviceGetPersistenceMode(self, h): return 1
    def nvmlDeviceGetCurrentClocksEventReasons(self, h): return self.throttle
    def nvmlDeviceGetClockInfo(self, h, clock): return 1980 if clock == 1 else 2619
    def nvmlDeviceGetMaxClockInfo(self, h, clock): return 1980 if clock == 1 else 2619


_NODE = StandInNVML(count=int(os.environ.get("STANDIN_NVML_GPUS", "8")))
NVMLError = StandInNVML.NVMLError


def nvmlInit():
    pass


def __getattr__(name):  # the node's queries (PEP 562)
    return getattr(_NODE, name)
