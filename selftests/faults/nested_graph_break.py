"""Fault: a graph break inside a module nested in nn.Sequential. On torch 2.13 dynamo then
captures no graph at all and the "compiled" MLP runs entirely eager, while
torch._dynamo.explain reports graph_break_count = -1."""

import dataclasses

import torch
from torch import nn


class GraphBreak(nn.Module):
    def forward(self, x):
        torch._dynamo.graph_break()
        return x


def pytest_configure(config):
    from suites.compile import models

    spec = models.MODELS["mlp"]

    def build():
        model = spec.build()
        model.insert(2, GraphBreak())
        return model

    models.MODELS["mlp"] = dataclasses.replace(spec, build=build)
