import pytest
import torch


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every case compiles new module instances of the same classes: without a reset, their
    guards pile up on the shared code objects until dynamo's recompile limit (8) is reached
    and later cases silently run eager."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()
