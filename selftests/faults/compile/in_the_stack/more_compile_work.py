"""Fault, in the stack itself: a torch whose inductor runs one more pass over each graph
dynamo hands it, re-walking the FX graph STACKQUAL_FAULT_WALKS times (default 12) to
generate its Python code again, the kind of work an upgrade adds to the compiler without
changing what it generates. It adds about 5% to the instructions of the mlp's cold compile
(494,571,859 -> 518,240,446, +4.8%, in a run of the suite on cpu-avx512 on a loaded
machine, 2026-12-02; each walk about 2 M instructions) and changes no output, no kernel and
no count of suites/compile/counts.py.

Installed by this folder's `sitecustomize` (STACKQUAL_STACK_FAULTS=more_compile_work): the
compile is counted in a child process under callgrind. It patches
`torch._inductor.compile_fx.compile_fx`, which the "inductor" backend imports at each
compile (torch/_dynamo/backends/inductor.py)."""

import os

WALKS = int(os.environ.get("STACKQUAL_FAULT_WALKS", "12"))


def install():
    from torch._inductor import compile_fx as module

    compile_fx = module.compile_fx

    def with_another_pass(gm, example_inputs, *args, **kwargs):
        for _ in range(WALKS):
            gm.graph.python_code(root_module="self")
        return compile_fx(gm, example_inputs, *args, **kwargs)

    module.compile_fx = with_another_pass


install()
