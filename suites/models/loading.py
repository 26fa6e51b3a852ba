"""Load a case's model and tokenizer through the real code paths, and run it on reviews.

BERT: `AutoModelForSequenceClassification.from_pretrained` (hub id or folder) with the
attn_implementation asked for; max_length is capped at the model's positions. Mamba: the
checkpoint's own mamba_ssm format into transformers' MambaModel + a linear head
(mamba_format.py); which path ran (mamba_ssm/causal_conv1d CUDA kernels, or transformers'
pure-torch fallback, as suites/mamba_kernels.py reads it) is recorded with every
measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from stackqual import assets
from suites import mamba_kernels

from . import mamba_format
from .cases import ModelCase

@dataclass
class Loaded:
    case: ModelCase
    module: torch.nn.Module
    tokenizer: object
    max_positions: int | None
    path: str  # which implementation ran: recorded next to every measurement
    logits: Callable  # (input_ids, attention_mask) -> logits

    def tokenize(self, texts, max_length: int, padding="longest"):
        return self.tokenizer(list(texts), padding=padding, truncation=True,
                              max_length=max_length, return_tensors="pt")


def folder(case: ModelCase) -> Path:
    """--asset's folder for the case, else the hub snapshot or the fixture folder."""
    if case.on_hub:
        return assets.hub_snapshot(case.hub, case.asset)
    return assets.local(case.asset) or Path(case.ref)


def _tokenizer(case: ModelCase, where: Path):
    import transformers

    if (where / "tokenizer.json").exists() or (where / "vocab.txt").exists():
        return transformers.AutoTokenizer.from_pretrained(where)
    fallback = case.tokenizer_fallback
    if fallback is None:
        raise FileNotFoundError(f"{where}: no tokenizer files")
    tokenizer = transformers.AutoTokenizer.from_pretrained(assets.hub_snapshot(
        fallback, f"{case.asset}-tokenizer"))
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return tokenizer


def load(case: ModelCase, device: str = "cpu", attn_implementation: str = "sdpa") -> Loaded:
    pytest.importorskip("transformers", reason="transformers not installed: "
                                               "`pip install -e '.[models]'`")
    import transformers

    where = folder(case)
    tokenizer = _tokenizer(case, where)
    if case.kind == "bert":
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            where, attn_implementation=attn_implementation).to(device).eval()
        return Loaded(case, model, tokenizer, model.config.max_position_embeddings,
                      f"transformers BERT, attn_implementation={attn_implementation}",
                      lambda ids, mask: model(input_ids=ids, attention_mask=mask).logits)
    model = mamba_format.load_transformers(where).to(device)
    return Loaded(case, model, tokenizer, None,
                  f"transformers MambaModel, {mamba_kernels.path(device)}",
                  lambda ids, mask: model(ids))


def capped_length(loaded: Loaded, wanted: int) -> int | None:
    """`wanted` if the model has that many positions, else None (BERT: 512; the caller
    skips, saying so)."""
    limit = loaded.max_positions
    return wanted if limit is None or wanted <= limit else None


@torch.no_grad()
def predict(loaded: Loaded, texts, max_length: int, batch: int, device: str = "cpu"):
    """Logits for every text, in batches padded to their longest review (as the reference
    lab's collator did)."""
    out = []
    for start in range(0, len(texts), batch):
        enc = loaded.tokenize(texts[start:start + batch], max_length).to(device)
        out.append(loaded.logits(enc["input_ids"], enc["attention_mask"]).float().cpu())
    return torch.cat(out)
