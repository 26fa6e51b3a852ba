"""Per-profile baselines: `baselines/<profile>/<suite>.json`.

One file per suite, sorted keys, one value per check id, together with the fingerprint of
the stack it was recorded under. Values are staged during a test and written as soon as
the test has passed (its teardown included), only with `--update-baselines`, and
atomically (temporary file in the same folder, fsync, `os.replace`, the file's mode kept):
an interrupted write leaves the previous file intact, and a run killed at its time limit
keeps every value measured before the kill. Stale keys are pruned when the run ends. The write holds an exclusive lock on the
profile folder (`.lock`, fcntl.flock) and merges into the file as it is then, not as it was
when the run started, so two runs recording different checks of one suite at the same
time both keep their values.

A file is refused (BaselineError, a usage error naming the file) when it is not valid JSON,
holds a non-finite number (NaN, Infinity: a gate compared with one can never fire), or
says it belongs to another profile or suite than the folder and name it is stored under.

A timing is stored with the calibration of the machine it was measured on, measured just
before it (`recorded.calibration`, by check id; see stackqual.calibration), so that each
timing is compared only on a machine equivalent to its own.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

SCHEMA = 1
SCALARS = (bool, int, float, str)
LOCK_NAME = ".lock"


class BaselineError(Exception):
    """A baseline file that cannot be trusted; the message names the file and the problem."""


class NotWritten(Exception):
    """Some baseline files could not be written; `written` lists those that were."""

    def __init__(self, message: str, written: list[Path]):
        super().__init__(message)
        self.written = written


@dataclass
class BaselineFile:
    path: Path
    values: dict = field(default_factory=dict)
    recorded: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> dict:
        return self.recorded.get("fingerprint", {})


def _non_finite(value, where: str):
    """The first non-finite float inside `value`, as (where, value), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    if isinstance(value, dict):
        for key, inner in value.items():
            found = _non_finite(inner, f"{where}.{key}")
            if found:
                return found
    return None


def load(path: Path, profile: str | None = None) -> BaselineFile:
    """Read and validate one baseline file; `profile`: the profile of the folder it is in,
    which the file's own `profile` must name."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BaselineError(f"{path}: not valid JSON ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BaselineError(f"{path}: cannot be read ({e})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise BaselineError(f"{path}: 'schema' is {data.get('schema')!r}, expected {SCHEMA}")
    for key, expected in (("profile", profile), ("suite", path.stem)):
        if expected is not None and data.get(key) != expected:
            raise BaselineError(
                f"{path}: its {key!r} is {data.get(key)!r}, but the file is stored as "
                f"{key} {expected!r}; a baseline is only compared on the {key} it was "
                "recorded for: move the file to its own folder or re-record it")
    values = data.get("values")
    if not isinstance(values, dict):
        raise BaselineError(f"{path}: 'values' must be an object mapping check ids to values")
    for check_id, value in values.items():
        if not isinstance(value, SCALARS):
            raise BaselineError(
                f"{path}: value of {check_id!r} is {value!r}; expected a number, string or bool")
    recorded = data.get("recorded", {})
    if not isinstance(recorded, dict):
        raise BaselineError(f"{path}: 'recorded' must be an object")
    found = _non_finite(values, "values") or _non_finite(recorded, "recorded")
    if found:
        raise BaselineError(f"{path}: {found[0]} is {found[1]}, not a finite number; a gate "
                            "compared with it could never fire: re-record it with "
                            "--update-baselines")
    return BaselineFile(path=path, values=values, recorded=recorded)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path, data: dict) -> None:
    """Replace `path` with `data` as sorted JSON, atomically, keeping the file's mode (a new
    file gets the mode `open` would give it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(folder: Path):
    """An exclusive lock on a baselines folder, held while its files are re-read, merged and
    written; another run waits for it. The lock file stays (removing it would race)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (or, where it does not exist yet, in the
    nearest folder above it that does), or None when a file could be created there."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".stackqual-write-check-"):
            pass
    except OSError as e:
        return f"cannot create a file in {existing}: {e.strerror or e}"
    return None


class BaselineStore:
    """All baseline files of one profile, loaded (and validated) up front."""

    def __init__(self, root: Path, profile: str):
        self.root = Path(root)
        self.profile = profile
        self.dir = self.root / profile
        self.files: dict[str, BaselineFile] = {}
        self._staged: dict[str, dict[str, tuple[object, str, dict | None]]] = {}
        if self.dir.is_dir():
            for path in sorted(self.dir.glob("*.json")):
                self.files[path.stem] = load(path, profile)

    def path_for(self, suite: str) -> Path:
        return self.dir / f"{suite}.json"

    def get(self, suite: str, check_id: str):
        """The recorded value, or None when this profile has none for the check."""
        bf = self.files.get(suite)
        return None if bf is None else bf.values.get(check_id)

    def stage(self, suite: str, check_id: str, value, nodeid: str,
              calibration: dict | None = None) -> None:
        """`calibration`: for a timing, the calibration of the machine it was measured on."""
        if not isinstance(value, SCALARS):
            raise TypeError(f"baseline value for {check_id} must be a scalar, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{check_id} measured {value}: a non-finite value cannot be "
                             "recorded as a baseline")
        self._staged.setdefault(suite, {})[check_id] = (value, nodeid, calibration)

    def stale(self, collected: dict[str, set[str]], gone: Callable[[str, str], bool]
              ) -> dict[str, list[str]]:
        """Per suite, the recorded keys no test produces any more: their test file was
        collected in full (`collected`: suite -> case ids, before deselection) without their
        case, or is gone from a collected suite (`gone(suite, file)`), after a rename or an
        id change. A suite that was not collected is never judged."""
        found = {}
        for suite, bf in sorted(self.files.items()):
            cases = collected.get(suite)
            if cases is None:
                continue
            files = {case.split("::")[0] for case in cases}
            keys = []
            for key in bf.values:
                case = key.rsplit("#", 1)[0]
                file = case.split("::")[0]
                if (file in files and case not in cases) or (file not in files
                                                             and gone(suite, file)):
                    keys.append(key)
            if keys:
                found[suite] = sorted(keys)
        return found

    def commit(self, passed_nodeids: set[str], fingerprint: dict,
               prune: dict[str, list[str]] | None = None) -> list[Path]:
        """Merge staged values of passing tests (and the calibrations of timings) into their
        files as they are now (under the folder's lock), leaving out the `prune` keys (stale
        ones); returns the files written. Check ids that were not run keep their values."""
        accepted = {suite: {} for suite in prune or {}}
        for suite, staged in sorted(self._staged.items()):
            kept = {cid: entry for cid, entry in staged.items() if entry[1] in passed_nodeids}
            if kept:
                accepted.setdefault(suite, {}).update(kept)
        self._staged.clear()
        if not accepted:
            return []
        written, failed = [], []
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            with locked(self.dir):
                for suite, staged in accepted.items():
                    try:
                        written.append(self._merge(suite, staged, fingerprint, now,
                                                   set((prune or {}).get(suite, ()))))
                    except (OSError, BaselineError) as e:
                        failed.append(f"{self.path_for(suite)}: {e}")
        except OSError as e:  # the folder or its lock cannot be created
            failed.append(f"{self.dir}: {e}")
        if failed:
            raise NotWritten("; ".join(failed), written)
        return written

    def _merge(self, suite: str, staged: dict, fingerprint: dict, now: str,
               pruned: set[str]) -> Path:
        path = self.path_for(suite)
        current = load(path, self.profile) if path.exists() else BaselineFile(path)
        values = {**{k: v for k, v in current.values.items() if k not in pruned},
                  **{cid: v for cid, (v, _, _) in staged.items()}}
        calibrations = {**{k: c for k, c in current.recorded.get("calibration", {}).items()
                           if k not in pruned},
                        **{cid: c for cid, (_, _, c) in staged.items() if c}}
        # Only pruned: the values left were recorded under the stack the file names.
        recorded = ({"fingerprint": fingerprint, "at": now} if staged else
                    {k: v for k, v in current.recorded.items() if k != "calibration"})
        if calibrations:
            recorded["calibration"] = calibrations
        write_atomic(path, {
            "schema": SCHEMA,
            "profile": self.profile,
            "suite": suite,
            "recorded": recorded,
            "values": values,
        })
        self.files[suite] = BaselineFile(path=path, values=values, recorded=recorded)
        return path
