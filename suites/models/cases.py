"""The models suite's table: which model, on which data, how it is evaluated and scaled.

Fixture cases run everywhere (fixtures/: a generated IMDB-like corpus and tiny checkpoints
in the real formats); hub cases are the reference lab's comparison and run where the HF
cache (or --online, or --asset NAME=PATH) has the model and the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stackqual import assets

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
SEED = 0


@dataclass(frozen=True)
class DataSource:
    name: str
    ref: str  # a hub dataset id, or a folder (HF parquet layout or aclImdb layout)
    asset: str  # --asset NAME=PATH replaces it

    @property
    def on_hub(self) -> bool:
        return not Path(self.ref).is_absolute()


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
    def on_hub(self) -> bool:
        return not Path(self.ref).is_absolute()

    @property
    def tokenizer_fallback(self) -> str | None:
        """Where the tokenizer comes from when the model folder has none: the real Mamba
        classifier was trained with GPT-NeoX's."""
        return "EleutherAI/gpt-neox-20b" if self.kind == "mamba" else None


FIXTURE_LENGTHS = (256, 512, 1024, 2048)
MODELS = (
    ModelCase("tiny-bert", "bert", str(FIXTURES / "models" / "tiny-bert"), "tiny-bert",
              FIXTURE_PARQUET, 500, 256, 32, FIXTURE_LENGTHS, 2),
    ModelCase("tiny-mamba", "mamba", str(FIXTURES / "models" / "tiny-mamba"), "tiny-mamba",
              FIXTURE_PARQUET, 500, 256, 32, FIXTURE_LENGTHS, 2),
    # The reference lab's comparison: 1000 test reviews, max_length 256, batch 32.
    ModelCase("bert-base-uncased-imdb", "bert", "textattack/bert-base-uncased-imdb",
              "bert-imdb", HUB_IMDB, 1000, 256, 32, (256, 512, 1024), 8),
    ModelCase("mamba-text-classification", "mamba", "trinhxuankhai/mamba_text_classification",
              "mamba-imdb", HUB_IMDB, 1000, 256, 32, (256, 512, 1024, 2048), 8),
)
BY_NAME = {m.name: m for m in MODELS}


def _marks(case: ModelCase) -> tuple:
    return (pytest.mark.slow,) if case.on_hub else ()


def model_cases(kind: str | None = None) -> list:
    return [pytest.param(m, id=m.name, marks=_marks(m)) for m in MODELS
            if kind is None or m.kind == kind]


def data_cases() -> list:
    """Every way to load the test split: both fixture layouts and the hub dataset."""
    return [pytest.param(d, id=d.name) for d in (FIXTURE_PARQUET, FIXTURE_ACLIMDB, HUB_IMDB)]


# Scaling variants: BERT with eager attention (materialises L x L) and with SDPA; Mamba.
SCALING = (("bert", "eager"), ("bert", "sdpa"), ("mamba", None))


def scaling_cases() -> list:
    return [pytest.param(m, impl, id=f"{m.name}-{impl}" if impl else m.name, marks=_marks(m))
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
    assets.declare(_m.asset, f"a {_m.kind} classifier folder ({_m.ref})", model_folder_lacks(_m))
    if _m.tokenizer_fallback:
        assets.declare(f"{_m.asset}-tokenizer", f"a tokenizer folder ({_m.tokenizer_fallback})",
                       tokenizer_folder_lacks)
for _d in (FIXTURE_PARQUET, FIXTURE_ACLIMDB, HUB_IMDB):
    assets.declare(_d.asset, f"an IMDB dataset folder ({_d.ref})", data_folder_lacks)
