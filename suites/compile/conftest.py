import os

import pytest
import torch

# Deterministic cuBLAS needs this before CUDA initializes (see torch.use_deterministic_algorithms).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every case compiles new module instances of the same classes: without a reset, their
    guards pile up on the shared code objects until dynamo's recompile limit (8) is reached
    and later cases silently run eager."""
    torch.compiler.reset()
    yield
    torch.compiler.reset()


@pytest.fixture
def deterministic_algorithms():
    """Compiled results are judged against eager, and eager against itself (two runs must
    agree bitwise). On CUDA, atomics (e.g. the embedding backward) make eager gradients
    differ run to run; deterministic algorithms remove that noise. An op without a
    deterministic implementation then raises, naming itself. Used by the parity tests only:
    timings measure the kernels users run."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)
