"""Hub assets are pinned and reproducible: each loads at the commit in the lock file, the
commit loaded is recorded, `stackqual fetch-assets` downloads every hub asset the suites
name and `--pin` writes their commits. A stand-in replaces huggingface_hub's download:
nothing here reaches the hub."""

import json
import subprocess
import sys

import pytest

from selftests.support import REPO, unguarded_environ
from stackqual import assets

BERT = assets.Hub("textattack/bert-base-uncased-imdb")
IMDB = assets.Hub("stanfordnlp/imdb", "dataset", files=("*test-*.parquet",))


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A stand-in hub: every repository's newest commit is "c0ffee<n>"; each download is
    recorded; the lock file is a temporary one."""
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, repo_type="model", revision=None, allow_patterns=None,
                          local_files_only=False):
        calls.append({"repo_id": repo_id, "repo_type": repo_type, "revision": revision,
                      "allow_patterns": allow_patterns, "local_only": local_files_only})
        commit = revision or f"c0ffee{len(calls)}"
        folder = tmp_path / "cache" / repo_id / "snapshots" / commit
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(assets, "LOCK", tmp_path / "hub-revisions.json")
    monkeypatch.setattr(assets, "_RESOLVED", {})
    return calls


def test_fetch_pins_every_commit_and_the_next_load_uses_it(hub):
    said = []
    commits = assets.fetch({"bert-imdb": BERT, "imdb": IMDB}, pin_to=assets.LOCK,
                           say=said.append)
    assert commits == {"model:textattack/bert-base-uncased-imdb": "c0ffee1",
                       "dataset:stanfordnlp/imdb": "c0ffee2"}
    assert [c["local_only"] for c in hub] == [False, False]
    assert hub[1]["allow_patterns"] == ["*test-*.parquet"]
    assert json.loads(assets.LOCK.read_text()) == commits
    assert "bert-imdb: model:textattack/bert-base-uncased-imdb at c0ffee1 (unpinned" in said[0]

    folder = assets.hub_snapshot(BERT, "bert-imdb")  # offline now, at the pinned commit
    assert hub[-1] == {"repo_id": BERT.repo_id, "repo_type": "model", "revision": "c0ffee1",
                       "allow_patterns": None, "local_only": True}
    assert folder.name == "c0ffee1"
    assert assets.resolved()[BERT.key] == {"pinned": "c0ffee1", "loaded": "c0ffee1"}


def test_pinning_again_keeps_the_other_assets_pins(hub):
    assets.LOCK.write_text(json.dumps({"model:other/model": "abc123"}))
    assets.fetch({"bert-imdb": BERT}, pin_to=assets.LOCK, say=lambda line: None)
    assert json.loads(assets.LOCK.read_text()) == {
        "model:other/model": "abc123", BERT.key: "c0ffee1"}


def test_an_unpinned_load_records_the_commit_the_cache_had(hub):
    assets.hub_snapshot(BERT, "bert-imdb")
    assert assets.resolved() == {BERT.key: {"pinned": None, "loaded": "c0ffee1"}}


@pytest.mark.parametrize("text", ["{not json", '["a list"]', '{"model:x": 3}'])
def test_a_malformed_lock_is_a_usage_error_naming_the_file(hub, text):
    assets.LOCK.write_text(text)
    with pytest.raises(pytest.UsageError, match="hub-revisions.json"):
        assets.pinned()


@pytest.mark.slow
def test_fetch_assets_lists_what_the_suites_name():
    out = subprocess.run([sys.executable, "-m", "stackqual.cli", "fetch-assets", "--dry-run"],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env=unguarded_environ())
    assert out.returncode == 0, out.stdout + out.stderr
    names = {line.split(":")[0] for line in out.stdout.splitlines()}
    assert {"bert-imdb", "imdb", "mamba-imdb", "mamba-imdb-tokenizer"} <= names, out.stdout
