"""The node's interconnect: the bus bandwidth of an all-reduce across every visible GPU
(suites/hardware/interconnect.py, as nccl-tests reports it), per message size; the largest
size is gated against this profile's baseline and, where the GPU's link is in the datasheet
table (suites/hardware/policy.py GPU_LINK_PEAK_GBPS), against a floor of its share of the
link's peak (GPU_PEAK_SHARE_FLOOR["all_reduce"])."""

import pytest
import torch


from . import interconnect
from . import policy as suite_policy


# Node qualification (`stackqual qualify` runs every tier), not the six-minute `-m gpu` tier
# an upgrade's CI runs: an upgrade moves NCCL rarely, and the run costs a process per GPU.
@pytest.mark.gpu_full
@pytest.mark.whole_node
@pytest.mark.slow
def test_all_reduce_bus_bandwidth_holds_against_baseline(perf, gate, tmp_path):
    world = torch.cuda.device_count()
    if world < 2:
        pytest.skip(f"needs 2 or more GPUs for an all-reduce; {world} visible "
                    "(CUDA_VISIBLE_DEVICES; `stackqual qualify --each-gpu` runs it once with the "
                    "whole node's GPUs)")
    if not torch.distributed.is_nccl_available():
        pytest.skip("this torch build has no NCCL: install a CUDA build of torch")
    found = interconnect.measure(world, tmp_path)
    for m in found:
        gate.info(f"busbw_{m.size >> 20}MiB", round(m.busbw_gbps, 2), unit="GB/s",
                  world=world, times_s=m.times_s)
    largest = max(found, key=lambda m: m.size)
    name = torch.cuda.get_device_name(0)
    peak, source = suite_policy.gpu_link_peak(name)
    busbw = largest.busbw_gbps
    if peak is not None:
        floor, floor_source = suite_policy.GPU_PEAK_SHARE_FLOOR["all_reduce"]
        share = round(busbw / peak, 4)
        gate.require("share_floor", share >= floor, measured=share, expected=f">= {floor}",
                     source=floor_source, message=(
                         f"all-reduce of {largest.size >> 20} MiB across {world} GPUs: bus "
                         f"bandwidth {busbw:.4g} GB/s, {share:.0%} of the link's {peak:g} "
                         f"GB/s ({source}); the floor is {floor:.0%} ({floor_source})"))
    perf.rate("rate", largest.times_s, work=largest.bus_bytes, unit="GB/s", scale=1e9,
              device="cuda", world=world, size=largest.size, peak=peak, peak_source=source)
