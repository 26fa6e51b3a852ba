"""The GPUs of this node, one by one (`stackqual qualify --each-gpu`).

Each visible GPU is qualified by processes that see only it: `CUDA_VISIBLE_DEVICES` set to
that GPU's entry. Where the scheduler already narrowed the node (Slurm's and Kubernetes'
device plugins set `CUDA_VISIBLE_DEVICES` to the GPUs a job got, as indices or UUIDs), the
entries of that outer list are used, so a process never sees a GPU outside the job's.
Integer entries are NVML/PCI bus order: the children get `CUDA_DEVICE_ORDER=PCI_BUS_ID`,
because CUDA's default order ("fastest first") need not be NVML's, and then "GPU 3" of the
report would be another board than nvidia-smi's GPU 3
(https://docs.nvidia.com/cuda/cuda-c-programming-guide/#env-vars).

Each device carries its index among the visible ones, its NVML index, UUID, serial and name
(NVML's nvmlDeviceGetUUID / nvmlDeviceGetSerial; None where NVML is not there or does not
say), so that a report names the board an operator pulls.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Device:
    index: int  # its position among the visible GPUs
    visible: str  # what CUDA_VISIBLE_DEVICES is for its processes: an index or a UUID
    nvml_index: int | None = None
    uuid: str | None = None
    serial: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return "node" if self.index < 0 else f"gpu{self.index}"

    def environ(self) -> dict:
        return {"CUDA_VISIBLE_DEVICES": self.visible, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}

    def describe(self) -> str:
        known = [f"{k} {v}" for k, v in (("uuid", self.uuid), ("serial", self.serial),
                                          ("name", self.name)) if v]
        return self.label + (f" ({', '.join(known)})" if known else "")

    def as_dict(self) -> dict:
        return {"label": self.label, **asdict(self)}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _about(nvml, entry: str) -> dict:
    """NVML's index, UUID, serial and name of the GPU a CUDA_VISIBLE_DEVICES entry names."""
    if nvml is None:
        return {}
    try:
        handle = (nvml.nvmlDeviceGetHandleByIndex(int(entry)) if entry.isdigit()
                  else nvml.nvmlDeviceGetHandleByUUID(entry))
    except nvml.NVMLError:
        return {}
    about = {}
    for key, query in (("nvml_index", nvml.nvmlDeviceGetIndex),
                       ("uuid", nvml.nvmlDeviceGetUUID), ("serial", nvml.nvmlDeviceGetSerial),
                       ("name", nvml.nvmlDeviceGetName)):
        try:
            value = query(handle)
        except nvml.NVMLError:
            continue
        about[key] = value if key == "nvml_index" else _text(value)
    return about


def visible(nvml=None) -> list[Device]:
    """The GPUs this process may use: the entries of CUDA_VISIBLE_DEVICES where it is set,
    else every GPU NVML counts (none without NVML: then torch's count, in PCI order)."""
    outer = os.environ.get("CUDA_VISIBLE_DEVICES")
    if outer is not None:
        entries = [e.strip() for e in outer.split(",") if e.strip()]
    elif nvml is not None:
        entries = [str(i) for i in range(nvml.nvmlDeviceGetCount())]
    else:
        import torch

        entries = [str(i) for i in range(torch.cuda.device_count())]
    return [Device(i, entry, **_about(nvml, entry)) for i, entry in enumerate(entries)]


def not_here(gpus: list[Device], nvml=None) -> tuple[list[str], str]:
    """The CUDA_VISIBLE_DEVICES entries that are no GPU of this node, and who says so: NVML
    knows no such index or UUID; without NVML, torch sees fewer GPUs than the entries (CUDA
    ignores an invalid entry and every one after it). A scheduler's list with a GPU that
    fell off the bus, or a made-up list, is never qualified as GPUs."""
    if nvml is not None:
        return [g.visible for g in gpus if g.nvml_index is None], "NVML knows no such GPU"
    import torch

    count = torch.cuda.device_count()
    return ([g.visible for g in gpus[count:]],
            f"torch.cuda sees {count} of the {len(gpus)} entries (NVML not loaded)")


def whole_node(gpus: list[Device]) -> Device:
    """All of `gpus` at once, for the tests that need the whole node (the interconnect)."""
    return Device(-1, ",".join(g.visible for g in gpus))
