"""The IMDB test split through the real loading code paths, and how it is sampled.

Three sources, all read by the code a user would run: a hub dataset id through `datasets`
(the local cache unless --online), a folder in the HF parquet layout (`load_dataset` on
its parquet files), and an aclImdb folder (test/pos, test/neg, one review per .txt file).
The split is sampled with a fixed seed, stratified by label: the real test split is sorted
by label, so its first N rows are one class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from stackqual import assets

from . import policy as suite_policy
from .cases import SEED, DataSource

LABELS = ("neg", "pos")  # IMDB's ClassLabel: 0 negative, 1 positive


@dataclass(frozen=True)
class Split:
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    origin: str  # what was read, for messages


def _parquet(folder: Path, split: str) -> Split:
    datasets = pytest.importorskip("datasets", reason="datasets not installed (it reads the "
                                                      "parquet layout): `pip install -e "
                                                      "'.[models]'`")

    files = sorted(folder.glob(f"**/{split}-*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no {split}-*.parquet files (HF parquet layout: "
                                f"plain_text/{split}-00000-of-00001.parquet)")
    ds = datasets.load_dataset("parquet", data_files={split: [str(f) for f in files]},
                               split=split)
    return Split(tuple(ds["text"]), tuple(ds["label"]), f"parquet {folder}")


def _aclimdb(folder: Path, split: str) -> Split:
    texts, labels = [], []
    for label, name in enumerate(LABELS):
        files = sorted((folder / split / name).glob("*.txt"),
                       key=lambda p: int(p.stem.split("_")[0]))
        if not files:
            raise FileNotFoundError(f"{folder / split / name}: no reviews (aclImdb layout: "
                                    f"{split}/pos/*.txt and {split}/neg/*.txt)")
        texts += [f.read_text(encoding="utf-8") for f in files]
        labels += [label] * len(files)
    return Split(tuple(texts), tuple(labels), f"aclImdb {folder}")


@functools.cache
def load(source: DataSource, split: str = "test") -> Split:
    # A hub dataset is read from its snapshot at the pinned commit: the HF parquet layout.
    folder = assets.local(source.asset) or (
        assets.hub_snapshot(source.hub, source.asset) if source.on_hub else Path(source.ref))
    if (folder / split / "pos").is_dir():
        return _aclimdb(folder, split)
    return _parquet(folder, split)


def stratified_sample(labels, n: int, seed: int = SEED) -> list[int]:
    """n row indices, half from each class, each class shuffled with a fixed seed; sorted
    so the batches keep the split's order."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor(labels)
    picked = []
    for label in (0, 1):
        rows = torch.nonzero(labels == label).flatten()
        take = n // 2 + (n % 2 if label == 1 else 0)
        if len(rows) < take:
            raise ValueError(f"the split has {len(rows)} reviews labelled {LABELS[label]}, "
                             f"fewer than the {take} a stratified sample of {n} needs")
        picked += rows[torch.randperm(len(rows), generator=g)[:take]].tolist()
    return sorted(picked)


def sample(split: Split, n: int) -> Split:
    rows = stratified_sample(split.labels, n)
    return Split(tuple(split.texts[i] for i in rows), tuple(split.labels[i] for i in rows),
                 f"{split.origin}, {n} sampled (seed {SEED}, stratified)")


def class_balance(labels) -> dict[str, float]:
    n = len(labels)
    return {name: sum(1 for y in labels if y == label) / n for label, name in enumerate(LABELS)}


BALANCE_SOURCE = "suites/models/policy.py CLASS_BALANCE_MIN_SHARE (a stratified sample is 50/50)"


def check_balance(gate, sample: Split) -> dict:
    """Both classes present and neither under the policy share; returns the balance."""
    balance = class_balance(sample.labels)
    smaller = min(balance.values())
    gate.require("class_balance", smaller >= suite_policy.CLASS_BALANCE_MIN_SHARE,
                 measured=balance, expected=f">= {suite_policy.CLASS_BALANCE_MIN_SHARE} each",
                 source=BALANCE_SOURCE,
                 message=f"the evaluation sample of {len(sample.labels)} reviews from "
                         f"{sample.origin} is {balance}: the smaller class is {smaller:.1%}, "
                         f"under {suite_policy.CLASS_BALANCE_MIN_SHARE:.0%} ({BALANCE_SOURCE}); "
                         "the test split is sorted by label, so sample it stratified")
    return balance
