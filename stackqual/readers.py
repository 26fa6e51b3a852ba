"""The one way the commands read the files stackqual wrote: a JSON file checked for the
kind it must be (a run report, an ab result, a node's verdict), with one error that names
the file and what is wrong with it; and "the newest" of a folder's files, the one that
started last by the time written in it (a name sort put `...Z-2.json` before `...Z.json`,
`-10` before `-2`, and one profile's reports before another's whatever their times).

Every file a command writes for another to read says what it is: `kind` (run-report,
qualify-verdict, ab, fleet) and `schema`, the version of its layout (`header`). A reader
refuses a file of another kind, or of a newer schema than it knows, in one line; a file
that says neither (written before they existed) is read as before.

Used by compare (run reports), ab and compare --ab (ab results) and fleet (verdicts)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable


SCHEMA = 1  # the layout version of every file below; raise it when a reader must change


class Unreadable(ValueError):
    """A file that is not what a command reads, said in one line."""


def header(kind: str) -> dict:
    """What a written file says it is."""
    return {"kind": kind, "schema": SCHEMA}


def read_json(path: Path, what: str, problem: Callable[[object], str | None],
              kind: str | None = None) -> dict:
    """`path` as JSON: refused if it says it is another kind than `kind` or has a newer
    schema, then checked by `problem(data)` (None when it is a `what`)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8", errors="strict"))
    except FileNotFoundError:
        raise Unreadable(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Unreadable(f"{path}: not a readable {what} ({e})") from None
    if isinstance(data, dict) and kind is not None:
        said_kind, schema = data.get("kind"), data.get("schema")
        if said_kind is not None and said_kind != kind:
            raise Unreadable(f"{path}: a stackqual {said_kind} file, not a {what}")
        if isinstance(schema, int) and schema > SCHEMA:
            raise Unreadable(f"{path}: a {what} of schema {schema}, written by a newer "
                             f"stackqual; this one reads schema {SCHEMA}: upgrade it")
    said = problem(data)
    if said:
        raise Unreadable(f"{path}: not a stackqual {what} ({said})")
    return data


def started(path: Path, data: dict) -> tuple[str, int]:
    """When a file's run started, to order files: the time written in it (the file's
    modification time where an older version wrote none), then the `-N` that a run
    started in the same second got in its name."""
    when = data.get("started") or datetime.fromtimestamp(
        Path(path).stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    tail = Path(path).stem.rsplit("-", 1)[-1]
    return str(when), int(tail) if tail.isdigit() else 1


def newest(found: list[tuple[Path, dict]]) -> tuple[Path, dict]:
    return max(found, key=lambda pair: started(*pair))
