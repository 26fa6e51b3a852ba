"""Fault: the compile suite's MLP loops over its batch size in Python; range() needs a
concrete int, so dynamo specializes the graph on it and every batch size compiles again."""

from torch import nn

from . import rebuild_model


class LoopOverBatch(nn.Module):
    def forward(self, x):
        out = x
        for _ in range(x.shape[0]):
            out = out + 0.0
        return out


def pytest_configure(config):
    rebuild_model("mlp", lambda model: nn.Sequential(LoopOverBatch(), *model))
