"""The node's interconnect: all-reduce bus bandwidth across its GPUs, as nccl-tests reports it.

One process per GPU (torch.multiprocessing, spawned), all in one process group (NCCL on
CUDA; gloo on CPU, which the self-tests use to run this same code) joined through a TCP
store on loopback. Per message size each rank all-reduces a float32 buffer: `WARMUP` calls,
then `ROUNDS` samples of `CALLS` back-to-back calls, each sample synchronised with the device
and timed; a sample's time per call is the slowest rank's (an all-reduce ends when the last
rank has its result). From it, as nccl-tests defines them
(https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md):

- algorithm bandwidth = bytes / time;
- bus bandwidth = algorithm bandwidth x 2 (n - 1) / n: what each link carries in a ring
  all-reduce of n ranks, comparable with the link's peak whatever n is.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

SIZES = (8 << 20, 64 << 20, 512 << 20)  # bytes: latency-bound to bandwidth-bound
WARMUP = 5
ROUNDS = 7
CALLS = 10


def bus_factor(world: int) -> float:
    """Bus bandwidth / algorithm bandwidth of a ring all-reduce of `world` ranks."""
    return 2 * (world - 1) / world


@dataclass(frozen=True)
class Measured:
    size: int  # bytes per rank
    world: int
    times_s: list[float]  # per sample: the slowest rank's time per call

    @property
    def bus_bytes(self) -> float:
        """Bytes one call moves over each link (the work a bus bandwidth counts)."""
        return self.size * bus_factor(self.world)

    @property
    def busbw_gbps(self) -> float:
        """The median sample's bus bandwidth, GB/s."""
        return self.bus_bytes / sorted(self.times_s)[len(self.times_s) // 2] / 1e9


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, backend: str, device: str, sizes, rounds: int,
            calls: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    if device == "cuda":
        torch.cuda.set_device(rank)
    where = torch.device(device, rank) if device == "cuda" else torch.device("cpu")

    def sync():
        if device == "cuda":
            torch.cuda.synchronize(where)

    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        found = {}
        for size in sizes:
            x = torch.ones(size // 4, dtype=torch.float32, device=where)
            for _ in range(WARMUP):
                dist.all_reduce(x)
            sync()
            times = []
            for _ in range(rounds):
                dist.barrier()
                sync()
                start = time.perf_counter()
                for _ in range(calls):
                    dist.all_reduce(x)
                sync()
                times.append((time.perf_counter() - start) / calls)
            slowest = torch.tensor(times, dtype=torch.float64, device=where)
            dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
            found[size] = slowest.cpu().tolist()
            del x
        if rank == 0:
            Path(out).write_text(json.dumps({str(k): v for k, v in found.items()}))
    finally:
        dist.destroy_process_group()


def measure(world: int, folder: Path, *, backend: str = "nccl", device: str = "cuda",
            sizes=SIZES, rounds: int = ROUNDS, calls: int = CALLS) -> list[Measured]:
    """All-reduce of each size across `world` ranks (GPUs 0..world-1 on CUDA)."""
    import torch.multiprocessing as mp

    out = Path(folder) / "all_reduce.json"
    mp.spawn(_worker, args=(world, _free_port(), backend, device, tuple(sizes), rounds, calls,
                            str(out)), nprocs=world, join=True)
    found = json.loads(out.read_text())
    return [Measured(int(size), world, times) for size, times in found.items()]
