"""The models the compile suite runs, small enough for a 2-core CPU tier.

Every model is built deterministically in float32 (seeded), without dropout, so that two
eager runs agree bitwise and training (forward + backward) is deterministic: compiled
dropout draws from inductor's own RNG stream, which PyTorch's benchmark harness works
around with `fallback_random`; leaving dropout out keeps the comparison exact instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn

from suites import mamba_kernels
from suites.pretrained import minilm_dir

SEED = 0


def _seeded(build):
    def wrapper():
        torch.manual_seed(SEED)
        return build()
    return wrapper


def _randn(*shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(SEED))


def _token_ids(batch, length, low, high):
    return torch.randint(low, high, (batch, length), generator=torch.Generator().manual_seed(SEED))


@contextlib.contextmanager
def mha_fastpath(enabled: bool):
    """torch.backends.mha fast path (the fused `_transformer_encoder_layer_fwd` kernel,
    used by TransformerEncoderLayer in eval mode under no_grad)."""
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(enabled)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[], nn.Module]  # float32, on CPU, deterministic
    inputs: Callable[[int], tuple]  # batch size -> inputs (float32 or integer, on CPU)
    batch: int  # batch size of the parity cases
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    # An op the eager inference run must contain, or the case does not test what it says.
    expects_op: str | None = None
    # Why the model has no training cases ("" = it has them).
    inference_only: str = ""
    description: str = ""
    marks: tuple = field(default_factory=tuple)
    # The implementation that runs on a device, for the report ("" = the model's own code);
    # skips with the reason where it cannot run there.
    runs_on: Callable[[str], str] = lambda device: ""
    # The context of the fp64 reference run (a path that takes float64).
    reference_context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    # Why two eager training runs may differ bitwise on a device ("" = they must not).
    nondeterministic: Callable[[str], str] = lambda device: ""


@_seeded
def launch_bound_mlp():
    return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


@_seeded
def encoder_layer():
    return nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                      batch_first=True)


@_seeded
def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def pretrained_bert():
    transformers = pytest.importorskip(
        "transformers", reason="transformers not installed: `pip install -e '.[compile]'`")
    return transformers.AutoModel.from_pretrained(
        minilm_dir(), attn_implementation="sdpa",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def bert_inputs(batch):
    ids = _token_ids(batch, 16, 1000, 30000)  # real WordPiece ids, past the special tokens
    mask = torch.ones_like(ids)
    mask[-1, 12:] = 0  # the last sequence is padded: the attention mask path is exercised
    return ids, mask


@_seeded
def small_mamba():
    transformers = pytest.importorskip(
        "transformers", reason="transformers not installed: `pip install -e '.[compile]'`")
    config = transformers.MambaConfig(vocab_size=256, hidden_size=32, state_size=8,
                                      num_hidden_layers=2, expand=2, conv_kernel=4)
    return transformers.MambaModel(config)


MODELS = {spec.name: spec for spec in (
    ModelSpec("mlp", launch_bound_mlp, lambda b: (_randn(b, 256),), batch=128,
              description="a small launch-bound MLP: Linear 256->512->512->10, input 128x256"),
    ModelSpec("encoder-layer", encoder_layer, lambda b: (_randn(b, 16, 64),), batch=4,
              context=lambda: mha_fastpath(False),
              description="TransformerEncoderLayer, eval fast path off"),
    ModelSpec("encoder-layer-fastpath", encoder_layer, lambda b: (_randn(b, 16, 64),), batch=4,
              context=lambda: mha_fastpath(True), expects_op="aten::_transformer_encoder_layer_fwd",
              inference_only="the fast path runs only in eval mode under no_grad; training "
                             "would repeat the encoder-layer case",
              description="TransformerEncoderLayer, eval fast path on"),
    ModelSpec("cnn", small_cnn, lambda b: (_randn(b, 3, 32, 32),), batch=8,
              description="Conv-BN-ReLU x2, pooling, linear head; BatchNorm in train mode "
                          "for training cases"),
    ModelSpec("bert", pretrained_bert, bert_inputs, batch=2,
              description="pretrained all-MiniLM-L6-v2 (6-layer BERT), SDPA attention, "
                          "padded batch"),
    ModelSpec("mamba", small_mamba, lambda b: (_token_ids(b, 8, 0, 256),), batch=2,
              runs_on=mamba_kernels.path, reference_context=mamba_kernels.pure_torch,
              nondeterministic=lambda device: (mamba_kernels.nondeterministic_backward()
                                               if device == "cuda" else ""),
              description="transformers MambaModel from a config (2 layers, hidden 32): "
                          "mamba_ssm's kernels where transformers binds them, else its "
                          "pure-torch path (suites/mamba_kernels.py)"),
)}
