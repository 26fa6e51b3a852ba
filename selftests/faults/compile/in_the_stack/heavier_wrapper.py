"""Fault, in the stack itself: a torch whose compiled-module wrapper checks every parameter
of the module STACKQUAL_FAULT_REPEAT times (default 7) on each call, a guard-like check
that adds 8.4% to the instructions of a compiled mlp call on a tiny input (411,394 ->
446,090 on cpu-avx2, 2026-12-02) and changes no output.

Installed by this folder's `sitecustomize` (STACKQUAL_STACK_FAULTS=heavier_wrapper): the
per-call counts are taken in a child process under callgrind, which must run the faulted
stack too. It patches `torch._dynamo.eval_frame.OptimizedModule.__call__` (what calling
`torch.compile(module)` runs)."""

import os

REPEAT = int(os.environ.get("STACKQUAL_FAULT_REPEAT", "7"))


def install():
    from torch._dynamo import eval_frame

    call = eval_frame.OptimizedModule.__call__

    def checked_call(self, *args, **kwargs):
        parameters = self.__dict__.get("_fault_parameters")
        if parameters is None:
            parameters = self.__dict__["_fault_parameters"] = list(self._orig_mod.parameters())
        for _ in range(REPEAT):
            for p in parameters:
                if not p.is_leaf:
                    raise AssertionError(f"unexpected parameter {p.shape}")
        return call(self, *args, **kwargs)

    eval_frame.OptimizedModule.__call__ = checked_call


install()
