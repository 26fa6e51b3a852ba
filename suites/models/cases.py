"""The models suite's table: which model, on which data, how it is evaluated and scaled.

Fixture cases run everywhere (fixtures/: a generated IMDB-like corpus and tiny checkpoints
in the real formats); hub cases (published IMDB classifiers, on 1000 test reviews at
max_length 256, batch 32) run where the HF cache (or --online, or --asset NAME=PATH) has
the model and the dataset. Each row is a frozen dataclass with an `id` (stackqual.cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stackqual import assets
from stackqual.cases import param, timing_threads

REPO = Path(__file__).resolve().parents[2]
# The tokenizer's files of a hub repository whose weights are not wanted.
TOKENIZER_HUB_FILES = ("tokenizer*.json", "special_tokens_map.json", "vocab.json",
                       "merges.txt")
FIXTURES = REPO / "fixtures"
SEED = 0


@dataclass(frozen=True)
class DataSource:
    name: str
    ref: str  # a hub dataset id, or a folder (HF parquet layout or aclImdb layout)
    asset: str  # --asset NAME=PATH replaces it

    @property
    def id(self) -> str:
        return self.name

    @property
    def on_hub(self) -> bool:
        return not Path(self.ref).is_absolute()

    @property
    def hub(self) -> assets.Hub | None:
        return assets.Hub(self.ref, "dataset", files=("*test-*.parquet",)) if self.on_hub else None


FIXTURE_PARQUET = DataSource("fixture-parquet", str(FIXTURES / "data" / "imdb-tiny"),
                             "imdb-tiny")
FIXTURE_ACLIMDB = DataSource("fixture-aclimdb", str(FIXTURES / "data" / "aclImdb-tiny"),
                             "aclimdb-tiny")
HUB_IMDB = DataSource("hub-imdb", "stanfordnlp/imdb", "imdb")


@dataclass(frozen=True)
class ModelCase:
    name: str
    kind: str  # bert | mamba
    ref: str  # a hub id, or a folder
    asset: str  # --asset NAME=PATH replaces it
    data: DataSource
    samples: int  # reviews sampled (stratified, seeded) from the test split
    max_length: int
    batch: int
    scaling_lengths: tuple[int, ...]
    scaling_batch: int

    @property
    def id(self) -> str:
        return self.name

    @property
    def on_hub(self) -> bool:
        return not Path(self.ref).is_absolute()

    @property
    def hub(self) -> assets.Hub | None:
        return assets.Hub(self.ref) if self.on_hub else None

    @property
    def tokenizer_fallback(self) -> assets.Hub | None:
        """Where the tokenizer comes from when the model folder has none: the real Mamba
        classifier was trained with GPT-NeoX's."""
        return (assets.Hub("EleutherAI/gpt-neox-20b", files=TOKENIZER_HUB_FILES)
                if self.kind == "mamba" else None)


FIXTURE_LENGTHS = (256, 512, 1024, 2048)
MODELS = (
    ModelCase(name="tiny-bert", kind="bert", ref=str(FIXTURES / "models" / "tiny-bert"),
              asset="tiny-bert", data=FIXTURE_PARQUET, samples=500, max_length=256, batch=32,
              scaling_lengths=FIXTURE_LENGTHS, scaling_batch=2),
    ModelCase(name="tiny-mamba", kind="mamba", ref=str(FIXTURES / "models" / "tiny-mamba"),
              asset="tiny-mamba", data=FIXTURE_PARQUET, samples=500, max_length=256,
              batch=32, scaling_lengths=FIXTURE_LENGTHS, scaling_batch=2),
    ModelCase(name="bert-base-uncased-imdb", kind="bert",
              ref="textattack/bert-base-uncased-imdb", asset="bert-imdb", data=HUB_IMDB,
              samples=1000, max_length=256, batch=32, scaling_lengths=(256, 512, 1024),
              scaling_batch=8),
    ModelCase(name="mamba-text-classification", kind="mamba",
              ref="trinhxuankhai/mamba_text_classification", asset="mamba-imdb",
              data=HUB_IMDB, samples=1000, max_length=256, batch=32,
              scaling_lengths=(256, 512, 1024, 2048), scaling_batch=8),
)
BY_NAME = {m.name: m for m in MODELS}


def _marks(case: ModelCase) -> tuple:
    return (pytest.mark.slow,) if case.on_hub else ()


def model_cases(kind: str | None = None) -> list:
    return [param(m, marks=_marks(m)) for m in MODELS if kind is None or m.kind == kind]


@dataclass(frozen=True)
class CostCase:
    """A model's evaluation batch timed and measured on a device."""

    model: ModelCase
    device: str

    @property
    def id(self) -> str:
        return f"{self.model.name}-{self.device}"

    @property
    def threads(self) -> int | None:
        return timing_threads(self.device)


def cost_cases() -> list:
    """On CUDA the fixture models are in the GPU qualification tier, the hub models
    `gpu_full`."""
    return [param(CostCase(model=m, device=device), marks=_marks(m), full=m.on_hub)
            for m in MODELS for device in ("cpu", "cuda")]


def data_cases() -> list:
    """Every way to load the test split: both fixture layouts and the hub dataset."""
    return [param(d) for d in (FIXTURE_PARQUET, FIXTURE_ACLIMDB, HUB_IMDB)]


# Scaling variants: BERT with eager attention (materialises L x L) and with SDPA; Mamba.
SCALING = (("bert", "eager"), ("bert", "sdpa"), ("mamba", None))


@dataclass(frozen=True)
class ScalingCase:
    """A model's cost against sequence length, on CPU with the timing thread count; for
    BERT once per attn_implementation."""

    model: ModelCase
    impl: str | None  # attn_implementation; None for Mamba
    device: str = "cpu"

    @property
    def id(self) -> str:
        return f"{self.model.name}-{self.impl}" if self.impl else self.model.name

    @property
    def variant(self) -> str:
        """The key of suites/models/policy.py SCALING_EXPONENT."""
        return f"{self.model.kind}-{self.impl}" if self.impl else self.model.kind


def scaling_cases() -> list:
    return [param(ScalingCase(model=m, impl=impl), marks=_marks(m))
            for m in MODELS for kind, impl in SCALING if m.kind == kind]


# What a folder given with --asset must hold (stackqual.assets checks it before any test).
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
           "pytorch_model.bin.index.json")
TOKENIZER = ("tokenizer.json", "vocab.txt")
TOKENIZER_FILES = "tokenizer files (" + " or ".join(TOKENIZER) + ")"


def model_folder_lacks(case: ModelCase):
    def lacks(folder: Path) -> str | None:
        missing = []
        if not (folder / "config.json").is_file():
            missing.append("config.json")
        if not any((folder / name).is_file() for name in WEIGHTS):
            missing.append("weights (" + " or ".join(WEIGHTS) + ")")
        if case.tokenizer_fallback is None and tokenizer_folder_lacks(folder):
            missing.append(TOKENIZER_FILES)
        return ("no " + ", no ".join(missing)) if missing else None
    return lacks


def tokenizer_folder_lacks(folder: Path) -> str | None:
    return None if any((folder / n).is_file() for n in TOKENIZER) else "no " + TOKENIZER_FILES


def data_folder_lacks(folder: Path) -> str | None:
    if (folder / "test" / "pos").is_dir() and (folder / "test" / "neg").is_dir():
        return None
    if any(folder.glob("**/test-*.parquet")):
        return None
    return ("neither the aclImdb layout (test/pos/*.txt, test/neg/*.txt) nor the HF parquet "
            "layout (**/test-*.parquet)")


for _m in MODELS:
    assets.declare(_m.asset, f"a {_m.kind} classifier folder ({_m.ref})", model_folder_lacks(_m),
                   _m.hub)
    if _m.tokenizer_fallback:
        assets.declare(f"{_m.asset}-tokenizer",
                       f"a tokenizer folder ({_m.tokenizer_fallback.repo_id})",
                       tokenizer_folder_lacks, _m.hub and _m.tokenizer_fallback)
for _d in (FIXTURE_PARQUET, FIXTURE_ACLIMDB, HUB_IMDB):
    assets.declare(_d.asset, f"an IMDB dataset folder ({_d.ref})", data_folder_lacks, _d.hub)
