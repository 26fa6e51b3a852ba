"""Fault: every fused SDPA backend is switched off for the whole run, so attention always
takes the math path (what a build without flash kernels, or a dispatcher change, does)."""

import torch


def pytest_configure(config):
    torch.backends.cuda.enable_flash_sdp(False)  # also switches off the CPU flash kernel
    torch.backends.cuda.enable_mem_efficient_sdp(False)
    torch.backends.cuda.enable_cudnn_sdp(False)
