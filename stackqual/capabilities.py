"""Hardware capability markers and the skip they cause, always with a reason and a fix.

    @pytest.mark.gpu          needs a CUDA device: the qualification tier (`pytest -m gpu`)
    @pytest.mark.gpu_full     needs a CUDA device: the rest of the GPU tables (nightly,
                              `pytest -m gpu_full`)
    @pytest.mark.min_sm(8, 0) needs CUDA compute capability >= 8.0 (implies a CUDA device)
"""

from __future__ import annotations

import torch

MARKERS = (
    "gpu: needs a CUDA GPU; the GPU qualification tier is `pytest -m gpu`",
    "gpu_full: needs a CUDA GPU; the rest of the GPU tables (nightly), `pytest -m gpu_full`",
    "min_sm(major, minor=0): needs CUDA compute capability >= major.minor (e.g. sm80 for flash)",
    "slow: takes more than a few seconds (compiles, subprocess runs); deselect with -m 'not slow'",
    "whole_node: needs every GPU of the node at once (the interconnect); `stackqual qualify "
    "--each-gpu` runs these once, with all the node's GPUs visible",
    "timed: set on every test that uses the `perf` fixture (a timed check); `stackqual ab` "
    "runs `-m \"timed or counted\"`",
    "counted: a test that gates exact counts (details kind \"count\" or \"set\"; e.g. the "
    "kernels inductor generates), set by its suite; `stackqual ab` compares them too, "
    "counted by one process of each side",
)


def skip_reason(item) -> str | None:
    """Why this test cannot run on this machine, or None."""
    needs_gpu = any(item.get_closest_marker(m) for m in ("gpu", "gpu_full", "min_sm"))
    if needs_gpu and not torch.cuda.is_available():
        return (f"needs a CUDA GPU: torch.cuda.is_available() is False (torch {torch.__version__}, "
                f"CUDA build {torch.version.cuda}); run the GPU tier on a CUDA machine with "
                "`pytest -m gpu` (and -m gpu_full), or deselect it with "
                "-m 'not gpu and not gpu_full'")
    sm = item.get_closest_marker("min_sm")
    if sm:
        need = (sm.args[0], sm.args[1] if len(sm.args) > 1 else sm.kwargs.get("minor", 0))
        have = torch.cuda.get_device_capability()
        if have < need:
            return (f"needs CUDA sm{need[0]}{need[1]}+: this GPU "
                    f"({torch.cuda.get_device_name()}) is sm{have[0]}{have[1]}")
    return None
