"""Cost grows with sequence length as theory says.

For each model (BERT with eager attention and with SDPA; Mamba) the forward pass on a batch
of seeded token ids is timed at every scaling length (lengths interleaved round by round,
median of the rounds, one CPU thread) and its peak memory counted (cost.peak_bytes). The
exponent k of cost ~ L^k, fitted on log-log axes, must lie within the bounds theory sets
(suites/models/policy.py SCALING_EXPONENT: BERT eager super-linear, SDPA memory linear, Mamba about
linear). Lengths beyond a model's positions (BERT: 512) are not run, and the test says so.
The report plots throughput and memory against length for every model.
"""

import statistics
import time

import numpy as np
import pytest
import torch

from stackqual import timing
from stackqual.cases import timing_threads

from . import cost, loading
from . import policy as suite_policy
from .cases import scaling_cases

ROUNDS = 5


def exponent(lengths, values) -> float:
    return float(np.polyfit(np.log(lengths), np.log(values), 1)[0])


def measure(loaded, lengths, batch, device):
    """Per length: median seconds over ROUNDS interleaved rounds, and peak bytes."""
    g = torch.Generator().manual_seed(0)
    vocab = loaded.tokenizer.vocab_size
    inputs = {L: (torch.randint(5, vocab, (batch, L), generator=g).to(device),
                  torch.ones(batch, L, dtype=torch.long, device=device)) for L in lengths}
    seconds = {L: [] for L in lengths}
    with torch.no_grad():
        for L in lengths:  # warm-up
            loaded.logits(*inputs[L])
        for _ in range(ROUNDS):
            for L in lengths:
                if device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                loaded.logits(*inputs[L])
                if device == "cuda":
                    torch.cuda.synchronize()
                seconds[L].append(time.perf_counter() - start)
        peaks = [cost.peak_bytes(lambda: loaded.logits(*inputs[L]), device) for L in lengths]
    return [statistics.median(seconds[L]) for L in lengths], peaks


@pytest.mark.parametrize("row", scaling_cases())
def test_cost_grows_with_length_as_theory_says(row, gate, load_model):
    case, impl, device = row.model, row.impl, row.device
    loaded = load_model(case, device, impl or "sdpa")
    lengths = [L for L in case.scaling_lengths if loading.capped_length(loaded, L)]
    beyond = sorted(set(case.scaling_lengths) - set(lengths))
    if len(lengths) < 3:
        pytest.skip(f"{case.name} has {loaded.max_positions} positions: only {lengths} of "
                    f"{list(case.scaling_lengths)} can run, too few to fit an exponent")
    with timing.fixed_threads(timing_threads(device)):
        seconds, peaks = measure(loaded, lengths, case.scaling_batch, device)
    variant = row.variant
    fitted = {"time": exponent(lengths, seconds), "memory": exponent(lengths, peaks)}
    gate.info("scaling", {k: round(v, 3) for k, v in fitted.items()}, variant=variant,
              path=loaded.path, lengths=lengths, seconds=seconds, peak_bytes=peaks,
              batch=case.scaling_batch, model=case.name,
              not_run=[f"{L}: beyond the model's {loaded.max_positions} positions"
                       for L in beyond])
    for metric, (low, high, why) in suite_policy.SCALING_EXPONENT.get(variant, {}).items():
        k = fitted[metric]
        bounds = " and ".join(b for b in (f">= {low}" if low is not None else "",
                                          f"<= {high}" if high is not None else "") if b)
        inside = (low is None or k >= low) and (high is None or k <= high)
        series = seconds if metric == "time" else peaks
        gate.require(
            f"{metric}_exponent", inside, measured=round(k, 3), expected=bounds,
            source=f"suites/models/policy.py SCALING_EXPONENT: {why}",
            details={"path": loaded.path},
            message=f"{case.name} ({variant}, {loaded.path}): {metric} grows as L^{k:.2f} over "
                    f"L = {lengths} (batch {case.scaling_batch}; {metric} "
                    f"{[f'{v:.4g}' for v in series]}), outside {bounds}: {why}")
