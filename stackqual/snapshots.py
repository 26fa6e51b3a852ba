"""Snapshots of what a framework produces (prompts, parsed outputs, traces, graphs):
one normaliser, syrupy JSON snapshots kept per framework version, and one file per kind of
artifact, each kind with its severity.

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
`--snapshot-update` writes the installed version's folder and never touches another one.
Each test module has its own subfolder, each snapshot its own file.

Kinds: a test hands over its artifacts by kind (`Snapshots.check(messages=..., outputs=...)`),
each stored as `<test>[<kind>].json`. The suite's policy says which kinds block (what the LM
is sent, what the application reads) and which are reported for review (events, drawings,
serialisation): a changed blocking kind fails the test; a changed review kind is reported
"changed" and the test passes. Either way the run report carries the complete unified diff
of the stored file against this run's (syrupy's own assertion diff shows a window after the
first difference, and pytest truncates it).
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from . import incompatible
from .verdicts import Verdict

# syrupy is imported where a snapshot is taken, not here: the agents suite's policy and the
# self-tests import this module on nodes where syrupy is not installed (the agents suite
# then skips, naming it: suites/agents/conftest.py).

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


def extension_for(folder: Path):
    """A syrupy JSON extension whose snapshots live in `folder` (a framework version's)."""
    from syrupy.extensions.json import JSONSnapshotExtension

    class VersionedJSONSnapshots(JSONSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location) -> str:
            return str(folder / test_location.basename)

    VersionedJSONSnapshots.__name__ = f"{folder.name}JSONSnapshots"
    return VersionedJSONSnapshots


@dataclass(frozen=True)
class Kind:
    """A kind of artifact: whether a change to it blocks (fails the test), and why."""
    blocks: bool
    why: str


def full_diff(stored: str | None, received: str, stored_name: str, received_name: str) -> str:
    """The complete unified diff, every changed line with three lines of context."""
    return "\n".join(difflib.unified_diff(
        (stored or "").splitlines(), received.splitlines(), stored_name, received_name,
        lineterm=""))


class Snapshots:
    """One test's snapshots of one framework's artifacts, one file per kind, in the folder
    of the installed version (or the newest older one recorded).

    The SnapshotAssertion is built here rather than taken from syrupy's `snapshot` fixture:
    that fixture registers an assertion with the default extension, whose discovery walks
    the whole `__snapshots__` folder and would call every other version's files "unused"
    (and delete them under --snapshot-update)."""

    def __init__(self, request, root: Path, framework: str, distribution: str,
                 kinds: dict[str, Kind], gate, kinds_source: str):
        from syrupy.assertion import SnapshotAssertion
        from syrupy.location import PyTestLocation

        config = request.config
        self.update = bool(config.option.update_snapshots)
        self.installed = f"{distribution} {metadata.version(distribution)}"
        self.folder = snapshot_folder(root, framework, metadata.version(distribution),
                                      self.update)
        self.kinds, self.kinds_source, self.gate = kinds, kinds_source, gate
        extension_class = extension_for(self.folder)
        self.extension = extension_class()
        self.location = PyTestLocation(request.node)
        with incompatible.harness("syrupy's session (config._syrupy)"):
            session = config._syrupy
        self.assertion = SnapshotAssertion(
            update_snapshots=self.update,
            update_new_snapshots_only=config.option.update_new_snapshots_only,
            extension_class=extension_class, test_location=self.location,
            session=session)

    def path(self, kind: str) -> Path:
        return Path(self.extension.get_location(test_location=self.location, index=kind))

    def check(self, *, extra_ids: tuple[str, ...] = (), **artifacts) -> None:
        """Compare each artifact with its stored snapshot (one numbering of ids across all
        of them, so a tool call's id in the messages and in the events stays one id).
        Records one check per kind; fails the test, with the full diffs, when a blocking
        kind changed; skips it as not judged, with the command that records them, when a
        snapshot is missing."""
        unknown = sorted(set(artifacts) - set(self.kinds))
        if unknown:
            raise ValueError(f"snapshot kinds {unknown} are not in {self.kinds_source} "
                             f"(known: {', '.join(self.kinds)})")
        normalised = Normaliser(extra_ids)(artifacts)
        failures, review, missing = [], [], []
        for kind, value in normalised.items():
            path = self.path(kind)
            stored = path.read_text() if path.is_file() else None
            same = self.assertion(name=kind) == value
            if same:
                self.gate.record(f"snapshot[{kind}]", "same", None,
                                 Verdict.RECORDED if self.update else Verdict.PASS, str(path))
                continue
            diff = full_diff(stored, self.extension.serialize(value),
                             f"{path.parent.parent.name}/{path.parent.name}/{path.name}",
                             f"this run ({self.installed})")
            severity = self.kinds[kind]
            if stored is None:  # nothing recorded to judge against: not judged, not failed
                summary = (f"no snapshot {path}: record one with: pytest "
                           f"'{self.gate.nodeid}' --snapshot-update")
                self.gate.record(f"snapshot[{kind}]", "missing", None, Verdict.NO_BASELINE,
                                 f"{path} ({self.kinds_source})", summary,
                                 {"kind": kind, "blocks": severity.blocks})
                missing.append(summary)
                continue
            summary = (f"{kind} changed ({'blocks' if severity.blocks else 'for review'}"
                       f": {severity.why})")
            verdict = Verdict.FAIL if severity.blocks else Verdict.CHANGED
            self.gate.record(f"snapshot[{kind}]", "changed", "same", verdict,
                             f"{path} ({self.kinds_source})", summary,
                             {"diff": diff, "kind": kind, "blocks": severity.blocks})
            (failures if verdict == Verdict.FAIL else review).append(f"{summary}\n{diff}")
        if review:
            warnings.warn(f"{self.gate.case_id}: " + "\n".join(review), SnapshotChanged,
                          stacklevel=2)
        if failures:
            pytest.fail(f"{self.gate.case_id}: " + "\n\n".join(failures), pytrace=False)
        if missing:
            pytest.skip(f"{self.gate.case_id}: not judged: " + "; ".join(missing))


class SnapshotChanged(UserWarning):
    """A snapshot of a kind that is reported for review, not failed, changed."""
