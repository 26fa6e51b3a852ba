"""The case language every suite's cases.py speaks: a case is a frozen dataclass row with an
`id` (the test id and the baseline key), written with keywords; `param` turns it into a
pytest parameter with the marks its device needs. One helper each for what every suite
needs of a row: its dtype's short name, its device's marks, and its timing thread count.
"""

from __future__ import annotations

import pytest
import torch

DTYPE_NAMES = {torch.float64: "fp64", torch.float32: "fp32", torch.bfloat16: "bf16",
               torch.float16: "fp16"}


def dtype_name(dtype: torch.dtype) -> str:
    """fp32, bf16, fp16, fp64: how ids and messages name a dtype."""
    return DTYPE_NAMES[dtype]


def device_marks(device: str, min_sm: tuple[int, int] | None = None,
                 full: bool = False) -> tuple:
    """The marks of a row on `device`: a CUDA row is `gpu` (the qualification tier,
    `pytest -m gpu`) or, with `full`, `gpu_full` (the rest of the GPU tables, nightly);
    either skips with the reason without CUDA; `min_sm` where the kernels under test need
    a compute capability (stackqual.capabilities)."""
    if device != "cuda":
        return ()
    tier = pytest.mark.gpu_full if full else pytest.mark.gpu
    return (tier,) + ((pytest.mark.min_sm(*min_sm),) if min_sm else ())


def param(row, *more, marks: tuple = (), min_sm: tuple[int, int] | None = None,
          full: bool = False):
    """A row as a pytest parameter: its id, its device's marks (a row without a `device`
    runs anywhere; `full`: a CUDA row outside the qualification tier) and any `marks` of
    its own; `more` values follow the row."""
    device = getattr(row, "device", "cpu")
    return pytest.param(row, *more, id=row.id,
                        marks=device_marks(device, min_sm, full) + marks)


# Timed CPU cases run on one thread. Measured on a shared 2-vCPU machine (docs/timing.md):
# with 2 threads the compile speedup of one case moved by up to 20% between processes (a
# busy neighbour slows inductor's OpenMP-parallel kernels more than eager's small, mostly
# single-threaded ops, and /proc/stat showed no load); with 1 thread by at most 3% over 6
# processes. On CUDA the run's --threads stands (None).
CPU_TIMING_THREADS = 1


def timing_threads(device: str) -> int | None:
    """The thread count a timed case on `device` runs with (timing.fixed_threads)."""
    return CPU_TIMING_THREADS if device == "cpu" else None
