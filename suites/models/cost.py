"""What a forward pass costs: peak memory (exact), and time against a fixed yardstick.

Peak memory is the most a forward allocates above what was resident before it:
`torch.cuda.max_memory_allocated` on CUDA; on CPU, PyTorch's MemTracker
(torch.distributed._tools.mem_tracker, a dispatch-mode tracker of every tensor storage),
which counts bytes exactly where RSS would see the allocator's reuse (tracemalloc sees no
tensor memory at all).
"""

from __future__ import annotations

import torch

from stackqual import incompatible

# An 8-step chain of 512x512 fp32 matmuls (~20 ms on one CPU thread): a fixed piece of
# work, long enough that one call of it is one sample, so the slow model (the Mamba
# fallback, ~370 ms a batch) is not run several times per sample.
YARDSTICK_N = 512


def peak_bytes(fn, device: str) -> int:
    if device == "cuda":
        # Warm up first: the first cuBLAS call on a stream allocates its workspace through
        # the caching allocator, and it stays; without this the figure depends on whether
        # an earlier test made that call (`-k peak` alone measured more than the full run).
        fn()
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    with incompatible.harness("torch.distributed._tools.mem_tracker.MemTracker"):
        from torch.distributed._tools.mem_tracker import MemTracker

    tracker = MemTracker()
    with tracker:
        fn()
    peaks = tracker.get_tracker_snapshot("peak")
    return int(sum(p["Total"] for dev, p in peaks.items() if torch.device(dev).type == "cpu"))


def yardstick(device: str):
    """A fixed workload to time a model against in the same process: time(model) over
    time(yardstick) is a machine-normalised cost, free of the machine's clock drift."""
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(YARDSTICK_N, YARDSTICK_N, generator=g) / YARDSTICK_N ** 0.5).to(device)

    def run():
        y = x
        for _ in range(8):
            y = y @ x
        return y
    return run
