"""Fault: the compile suite's "inductor" backend adds STACKQUAL_FAULT_OFFSET to every
floating output of the compiled graph (a miscompile of known size)."""

import os

import torch

OFFSET = float(os.environ["STACKQUAL_FAULT_OFFSET"])


def perturbing_inductor(gm, example_inputs):
    from torch._inductor.compile_fx import compile_fx

    compiled = compile_fx(gm, example_inputs)

    def run(*args):
        outs = compiled(*args)
        return type(outs)(o + OFFSET if isinstance(o, torch.Tensor) and o.is_floating_point()
                          else o for o in outs)
    return run


def pytest_configure(config):
    from suites.compile import running

    running.BACKENDS["inductor"] = perturbing_inductor
