"""The Mamba sentiment checkpoint's own format, and the two ways to load it.

trinhxuankhai/mamba_text_classification is a mamba_ssm `MambaLMHeadModel` subclass: a
config.json in mamba_ssm's MambaConfig form (d_model, n_layer, vocab_size, ssm_cfg, ...; no
model_type, so AutoModel cannot read it), weights in pytorch_model.bin under `backbone.*`
and `classification_head.classification_head.{weight,bias}`, and its forward is
`backbone(input_ids).mean(dim=1)` (over every position, padding included) into that linear
head. transformers has no MambaForSequenceClassification; the same weights load into
transformers' `MambaModel` plus a linear head through KEY_MAP below.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import torch
from torch import nn

# mamba_ssm key (regex) -> transformers MambaModel / head key
KEY_MAP = (
    (r"^backbone\.embedding\.weight$", "backbone.embeddings.weight"),
    (r"^backbone\.layers\.(\d+)\.mixer\.(.+)$", r"backbone.layers.\1.mixer.\2"),
    (r"^backbone\.layers\.(\d+)\.norm\.weight$", r"backbone.layers.\1.norm.weight"),
    (r"^backbone\.norm_f\.weight$", "backbone.norm_f.weight"),
    (r"^classification_head\.classification_head\.(weight|bias)$", r"head.\1"),
)


def to_transformers_key(key: str) -> str:
    for pattern, replacement in KEY_MAP:
        if re.match(pattern, key):
            return re.sub(pattern, replacement, key)
    raise KeyError(f"checkpoint key {key!r} has no transformers counterpart (KEY_MAP)")


def to_mamba_ssm_key(key: str) -> str:
    """The inverse mapping (used by fixtures/train_tiny_models.py to save the format)."""
    inverse = {"backbone.embeddings.weight": "backbone.embedding.weight",
               "backbone.norm_f.weight": "backbone.norm_f.weight",
               "head.weight": "classification_head.classification_head.weight",
               "head.bias": "classification_head.classification_head.bias"}
    return inverse.get(key, key)


def transformers_config(ssm_config: dict):
    """transformers.MambaConfig for a mamba_ssm config.json."""
    import transformers

    if "model_type" in ssm_config:
        raise ValueError("config.json has a model_type: this is a transformers checkpoint, "
                         "not the mamba_ssm format")
    ssm = ssm_config.get("ssm_cfg", {})
    multiple = ssm_config.get("pad_vocab_size_multiple", 8)
    vocab = math.ceil(ssm_config["vocab_size"] / multiple) * multiple  # as mamba_ssm pads
    d_model = ssm_config["d_model"]
    return transformers.MambaConfig(
        vocab_size=vocab, hidden_size=d_model, num_hidden_layers=ssm_config["n_layer"],
        state_size=ssm.get("d_state", 16), conv_kernel=ssm.get("d_conv", 4),
        expand=ssm.get("expand", 2), time_step_rank=math.ceil(d_model / 16),
        residual_in_fp32=ssm_config.get("residual_in_fp32", True), layer_norm_epsilon=1e-5,
        use_bias=False, use_conv_bias=True)


class MambaClassifier(nn.Module):
    """transformers' MambaModel + the checkpoint's head, with the checkpoint's pooling."""

    def __init__(self, config, num_labels: int = 2):
        super().__init__()
        import transformers

        self.backbone = transformers.MambaModel(config)
        self.head = nn.Linear(config.hidden_size, num_labels)
        self.config = config

    def forward(self, input_ids, attention_mask=None):
        hidden = self.backbone(input_ids=input_ids).last_hidden_state
        return self.head(hidden.mean(dim=1))  # every position, as the checkpoint was trained


def read_config(folder: Path) -> dict:
    path = Path(folder) / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable mamba_ssm config.json ({e})") from None


def load_transformers(folder: Path) -> MambaClassifier:
    """The checkpoint in transformers' MambaModel through KEY_MAP; every key must map and
    every parameter must be filled."""
    folder = Path(folder)
    model = MambaClassifier(transformers_config(read_config(folder)))
    state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    mapped = {to_transformers_key(k): v for k, v in state.items() if k != "lm_head.weight"}
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder}: the mamba_ssm checkpoint does not fill transformers' "
                         f"MambaModel: missing {missing}, unexpected {unexpected}")
    return model.eval()


def load_mamba_ssm(folder: Path, device: str):
    """The checkpoint through mamba_ssm itself (its CUDA kernels), as its authors ran it."""
    from mamba_ssm.models.config_mamba import MambaConfig
    from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel

    folder = Path(folder)
    config = read_config(folder)
    model = MambaLMHeadModel(MambaConfig(**{k: v for k, v in config.items()
                                            if k in MambaConfig.__dataclass_fields__}),
                             device=device)
    head = nn.Linear(config["d_model"], 2, device=device)
    state = torch.load(folder / "pytorch_model.bin", map_location=device, weights_only=True)
    head.load_state_dict({"weight": state.pop("classification_head.classification_head.weight"),
                          "bias": state.pop("classification_head.classification_head.bias")})
    model.load_state_dict(state, strict=False)  # no lm_head in the classifier's weights

    def forward(input_ids, attention_mask=None):
        return head(model.backbone(input_ids).mean(dim=1))
    return forward
