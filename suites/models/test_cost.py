"""Throughput and peak memory of one evaluation batch (32 reviews padded to max_length 256)
hold against this profile's baseline. Throughput is timed against a fixed
yardstick workload in interleaved rounds in one process (stackqual.timing), so the gated
ratio does not move with the machine's clock; reviews/s is reported beside it. Every
measurement carries the path that ran (for Mamba: CUDA kernels or the pure-torch
fallback)."""

import pytest
import torch

from stackqual import timing

from . import cost, data
from . import policy as suite_policy
from .cases import cost_cases



def first_batch(case, loaded, device, padding="max_length"):
    """The first evaluation batch, padded to max_length: a workload fixed by the case's
    configuration (batch x max_length tokens), not by the reviews' lengths."""
    sample = data.sample(data.load(case.data), case.samples)
    enc = loaded.tokenize(sample.texts[:case.batch], case.max_length, padding).to(device)
    return enc["input_ids"], enc["attention_mask"]


@pytest.mark.parametrize("row", cost_cases())
def test_throughput_holds_against_baseline(row, perf, gate, load_model):
    case, device = row.model, row.device
    loaded = load_model(case, device=device)
    ids, mask = first_batch(case, loaded, device)
    with torch.no_grad(), timing.fixed_threads(row.threads):
        comparison = perf.speed("throughput_vs_yardstick", cost.yardstick(device),
                                lambda: loaded.logits(ids, mask),
                                names=("yardstick", case.name), device=device,
                                context={"path": loaded.path, "batch": list(ids.shape)},
                                tolerance="throughput")
    if comparison is not None:
        gate.info("reviews_per_s", round(len(ids) / comparison.b.median, 2),
                  path=loaded.path, batch=list(ids.shape), threads=row.threads)


@pytest.mark.parametrize("row", cost_cases())
def test_peak_memory_holds_against_baseline(row, gate, load_model):
    case, device = row.model, row.device
    loaded = load_model(case, device=device)
    ids, mask = first_batch(case, loaded, device)
    with torch.no_grad():
        peak = cost.peak_bytes(lambda: loaded.logits(ids, mask), device)
    gate.at_most_baseline(
        "peak_memory_bytes", peak, tolerance=suite_policy.PEAK_MEMORY_TOLERANCE,
        details={"path": loaded.path, "batch": list(ids.shape)},
        explain=f"{case.name} ({loaded.path}) needs more memory for a batch of "
                f"{list(ids.shape)} tokens than before")
