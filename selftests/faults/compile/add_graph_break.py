"""Fault: the compile suite's MLP gets a graph break between its first two layers, in
the top-level forward (dynamo splits it into two graphs)."""

import torch
from torch import nn

from . import rebuild_model


class BreakAfterFirstLayer(nn.Module):
    def __init__(self, inner: nn.Sequential):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        x = self.inner[:2](x)
        torch._dynamo.graph_break()
        return self.inner[2:](x)


def pytest_configure(config):
    rebuild_model("mlp", BreakAfterFirstLayer)
