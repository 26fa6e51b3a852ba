"""Per-profile baselines: `baselines/<profile>/<suite>.json`.

One file per suite, sorted keys, one value per check id, together with the fingerprint of
the stack it was recorded under. Values are staged during a run and written at the end of
the session, only with `--update-baselines`, only for tests that passed, and atomically
(temporary file in the same folder, fsync, `os.replace`): an interrupted write leaves the
previous file intact.

A timing is stored with the calibration of the machine it was measured on, measured just
before it (`recorded.calibration`, by check id; see stackqual.calibration), so that each
timing is compared only on a machine equivalent to its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = 1
SCALARS = (bool, int, float, str)


class BaselineError(Exception):
    """A baseline file that cannot be trusted; the message names the file and the problem."""


@dataclass
class BaselineFile:
    path: Path
    values: dict = field(default_factory=dict)
    recorded: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> dict:
        return self.recorded.get("fingerprint", {})


def load(path: Path) -> BaselineFile:
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
    values = data.get("values")
    if not isinstance(values, dict):
        raise BaselineError(f"{path}: 'values' must be an object mapping check ids to values")
    for check_id, value in values.items():
        if not isinstance(value, SCALARS):
            raise BaselineError(
                f"{path}: value of {check_id!r} is {value!r}; expected a number, string or bool"
            )
    recorded = data.get("recorded", {})
    if not isinstance(recorded, dict):
        raise BaselineError(f"{path}: 'recorded' must be an object")
    return BaselineFile(path=path, values=values, recorded=recorded)


def write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
                self.files[path.stem] = load(path)

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
        self._staged.setdefault(suite, {})[check_id] = (value, nodeid, calibration)

    def commit(self, passed_nodeids: set[str], fingerprint: dict) -> list[Path]:
        """Merge staged values of passing tests (and the calibrations of timings) into their
        files; returns the files written. Check ids that were not run keep their recorded
        values."""
        written = []
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for suite, staged in sorted(self._staged.items()):
            accepted = {cid: staged[cid] for cid, (_, node, _) in staged.items()
                        if node in passed_nodeids}
            if not accepted:
                continue
            path = self.path_for(suite)
            current = self.files.get(suite) or BaselineFile(path=path)
            values = {**current.values, **{cid: v for cid, (v, _, _) in accepted.items()}}
            calibrations = {**current.recorded.get("calibration", {}),
                            **{cid: c for cid, (_, _, c) in accepted.items() if c}}
            recorded = {"fingerprint": fingerprint, "at": now}
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
            written.append(path)
        self._staged.clear()
        return written
