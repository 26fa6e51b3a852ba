"""Fault: a graph break inside a module nested in nn.Sequential. On torch 2.13 dynamo then
captures no graph at all and the "compiled" MLP runs entirely eager, while
torch._dynamo.explain reports graph_break_count = -1."""

import torch
from torch import nn

from . import rebuild_model


class GraphBreak(nn.Module):
    def forward(self, x):
        torch._dynamo.graph_break()
        return x


def with_break_inside(model: nn.Sequential) -> nn.Sequential:
    model.insert(2, GraphBreak())
    return model


def pytest_configure(config):
    rebuild_model("mlp", with_break_inside)
