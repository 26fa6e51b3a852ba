"""Fault: the compile suite's MLP branches on whether its batch size is even. Dynamo guards
on the branch, so odd and even batch sizes need separate graphs: one more recompile than
the baseline, without reaching the recompile limit."""

from torch import nn

from . import rebuild_model


class BranchOnParity(nn.Module):
    def forward(self, x):
        return x * 1.0 if x.shape[0] % 2 == 0 else x * 1.0 + 0.0


def pytest_configure(config):
    rebuild_model("mlp", lambda model: nn.Sequential(BranchOnParity(), *model))
