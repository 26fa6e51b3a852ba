"""Snapshots of what a framework produces (prompts, parsed outputs, traces, graphs):
one normaliser, and syrupy JSON snapshots kept per framework version.

Normalising: the only run-to-run differences are ids (uuid4/uuid6, checkpoint ids,
Haystack's default index), timestamps and float noise. Ids and timestamps are replaced by
`<id-N>` / `<time-N>` in order of first appearance, so that a value that appears twice
(a tool call id and its result, a parent checkpoint) keeps pointing at the same thing;
floats are rounded to 6 significant digits. A multi-line string becomes its list of lines,
so that a snapshot file is reviewable and a diff names the line that changed.

Versions: snapshots live next to the suite, in `__snapshots__/<framework>-<major.minor>/`
(syrupy's own convention: outside the test folder it cannot tell a deselected test's
snapshot from an unused one). A run reads the folder of the installed version, or else
that of the newest older version recorded, so a run on a newer release compares against
the last recorded artifacts and its diff shows exactly what the upgrade changed;
`--snapshot-update` writes the installed version's folder. Each test module has its own
subfolder, each snapshot its own file.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from syrupy.extensions.json import JSONSnapshotExtension

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
# Keys whose numeric value is a clock reading (epoch seconds, durations), not content.
TIME_KEYS = {"timestamp", "created", "created_at", "updated_at", "ts", "time", "duration",
             "latency", "start_time", "end_time", "elapsed", "execution_time"}
FLOAT_DIGITS = 6


class Normaliser:
    """Replaces volatile values by stable placeholders, numbered by first appearance."""

    def __init__(self, extra_ids: tuple[str, ...] = ()):
        self.seen: dict[tuple[str, str], str] = {}
        self.extra_ids = extra_ids  # literal strings to treat as ids (e.g. a random index)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.seen:
            count = sum(1 for k in self.seen if k[0] == kind) + 1
            self.seen[key] = f"<{kind}-{count}>"
        return self.seen[key]

    def text(self, value: str) -> str:
        for literal in self.extra_ids:
            if literal in value:
                value = value.replace(literal, self._placeholder("id", literal))
        value = UUID.sub(lambda m: self._placeholder("id", m.group(0).lower()), value)
        return ISO_TIME.sub(lambda m: self._placeholder("time", m.group(0)), value)

    def __call__(self, value, key: str | None = None):
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)) and key in TIME_KEYS:
            return self._placeholder("time", repr(value))
        if isinstance(value, float):
            return float(f"{value:.{FLOAT_DIGITS}g}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and "\n" in value:  # reviewable: a diff names the line
            return [self.text(line) for line in value.split("\n")]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return self.text(repr(value))  # an object the caller did not flatten: its repr


def normalise(value, extra_ids: tuple[str, ...] = ()):
    """One artifact, normalised with its own numbering."""
    return Normaliser(extra_ids)(value)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def snapshot_folder(root: Path, framework: str, installed: str, updating: bool) -> Path:
    """The folder of `framework`'s snapshots for the installed version (see module doc)."""
    own = root / f"{framework}-{'.'.join(map(str, version_key(installed)))}"
    if updating or own.is_dir():
        return own
    older = sorted((p for p in root.glob(f"{framework}-*") if p.is_dir()
                    and version_key(p.name.removeprefix(f"{framework}-")) < version_key(installed)),
                   key=lambda p: version_key(p.name.removeprefix(f"{framework}-")))
    return older[-1] if older else own


def extension_for(root: Path, framework: str, package: str, updating: bool):
    """A syrupy JSON extension whose snapshots live in the framework version's folder."""
    folder = snapshot_folder(root, framework, metadata.version(package), updating)

    class VersionedJSONSnapshots(JSONSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location) -> str:
            return str(folder / test_location.basename)

    VersionedJSONSnapshots.__name__ = f"{framework}JSONSnapshots"
    return VersionedJSONSnapshots
