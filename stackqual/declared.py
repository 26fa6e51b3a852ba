"""What a suite declares about itself, in its own folder, so that the harness names no
suite: `<suites folder>/<suite>/suite.toml`. The suites folder is configuration: the ini
option `stackqual_suites` (pyproject.toml), a path relative to the rootdir. A suite is a
folder in it that holds test modules (`test_*.py`) or a suite.toml.

Keys of suite.toml:
- `packages`: the distributions the suite depends on beyond python, torch and the
  hardware. A baseline file recorded under another stack is noted, `stackqual compare`
  lists stack changes per suite, and a `pip check` conflict fails the run, only for these
  (and profile.HARNESS_PACKAGES).
- `[tolerances.NAME]`: the band of each kind of timed metric the suite's tests name
  (`perf.speed/time/rate(..., tolerance=NAME)`): `band`, a fraction (0 <= band < 1), and
  `why`, where it comes from; for a time, optionally `slack_s` and `slack_why`: its band is
  never narrower than that many seconds above its baseline. A name is declared once: by the
  harness (stackqual/policy.py PERF_TOLERANCE) or by one suite. `--perf-tolerance NAME=F`
  overrides any of them for a run.
- `[qualify]`: its place in `stackqual qualify`: `first = true` runs it before the other
  suites (the machine's own rates before anything depends on them); `whole_node = true`
  runs its tests marked `whole_node` once more with every GPU of a node at once (an
  interconnect), when the node has two or more.
- `[[first_run]]`: its sections of the one-screen table that ends a first run on a new GPU
  (stackqual/first_run.py): `title`; `metric`, the checks it shows; `row`, either "group"
  (the cases grouped by measured value and verdict) or a format of one line per case over
  `measured` and the check's details (e.g. "{measured:.0%} of {peak} {unit}").

A folder without suite.toml (a suite made on the spot, `qualify --suites-dir`) declares
nothing beyond the harness's packages; this project's suites each have one (a self-test
says so). A declaration that cannot be read is an error naming the file and the key, never
an empty declaration (`Malformed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

FILE = "suite.toml"
DEFAULT_DIR = "suites"  # the ini option stackqual_suites's default


class Malformed(ValueError):
    """A suite.toml that cannot be read, or a key of the wrong form; the message says
    which."""


@dataclass(frozen=True)
class Tolerance:
    """How far a timed metric may move from its baseline, and where that comes from."""
    band: float
    why: str
    slack_s: float = 0.0  # a time's band: at least this many seconds above its baseline
    slack_why: str = ""
    owner: str = "stackqual/policy.py"  # who declares it, for messages

    def for_baseline(self, baseline: float | None = None) -> tuple[float, str]:
        """(band, why); for a time with a slack, at least the slack relative to
        `baseline`."""
        if self.slack_s and baseline and self.slack_s / baseline > self.band:
            return self.slack_s / baseline, f"{self.why}; {self.slack_why}"
        return self.band, self.why


def suite_folders(suites_dir: Path) -> list[Path]:
    """The suites in `suites_dir`: its folders that hold test modules or a suite.toml, by
    name."""
    if not suites_dir.is_dir():
        return []
    return sorted(f for f in suites_dir.iterdir()
                  if f.is_dir() and ((f / FILE).is_file() or any(f.glob("test_*.py"))))


def declaration(folder: Path) -> dict:
    """The suite's suite.toml, checked: `packages` a list of distribution names."""
    path = folder / FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {"packages": []}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise Malformed(f"{path}: not readable TOML: {e}") from None
    packages = data.get("packages")
    if not isinstance(packages, list) or not all(isinstance(p, str) and p for p in packages):
        raise Malformed(f"{path}: `packages` must be a list of distribution names, "
                        f"e.g. packages = [\"torch\", \"numpy\"]; found {packages!r}")
    _tolerances(path, data.get("tolerances", {}))
    qualify = data.get("qualify", {})
    if not isinstance(qualify, dict) or any(
            k not in ("first", "whole_node") or not isinstance(v, bool)
            for k, v in qualify.items()):
        raise Malformed(f"{path}: `qualify` may hold only `first` and `whole_node`, each true "
                        f"or false; found {qualify!r}")
    _first_run(path, data.get("first_run", []))
    return data


@dataclass(frozen=True)
class Section:
    """A suite's section of the first run's table: the checks of one metric, a line per
    case (`row` a format over `measured` and the check's details) or grouped ("group")."""
    title: str
    metric: str
    row: str


def _first_run(path: Path, table) -> list[Section]:
    example = ('e.g. [[first_run]] title = "hardware against its peak", metric = '
               '"share_of_peak", row = "{measured:.0%} of {peak} {unit}"')
    if not isinstance(table, list):
        raise Malformed(f"{path}: `first_run` must be an array of tables ([[first_run]]); "
                        f"{example}")
    sections = []
    for t in table:
        if not isinstance(t, dict) or set(t) != {"title", "metric", "row"} or not all(
                isinstance(v, str) and v for v in t.values()):
            raise Malformed(f"{path}: each [[first_run]] needs `title`, `metric` and `row` "
                            f"(\"group\" or a format of a line), nothing else; found {t!r}; "
                            f"{example}")
        sections.append(Section(**t))
    return sections


def first_run_sections(suites_dir: Path) -> list[Section]:
    """Every suite's sections of the first run's table, in the suites' order."""
    return [section for folder in suite_folders(suites_dir)
            for section in _first_run(folder / FILE, declaration(folder).get("first_run", []))]


def qualify_place(folder: Path) -> dict[str, bool]:
    """The suite's [qualify] table: `first`, `whole_node` (each false unless declared)."""
    return {"first": False, "whole_node": False,
            **declaration(folder).get("qualify", {})}


def configured_dir(rootdir: Path) -> Path:
    """The folder of suites of the project at `rootdir`, for the commands that run pytest in
    a child process: the ini option stackqual_suites of its pyproject.toml, relative to it
    (the plugin reads the same option through pytest)."""
    try:
        ini = tomllib.loads((rootdir / "pyproject.toml").read_text())["tool"]["pytest"][
            "ini_options"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        ini = {}
    return rootdir / str(ini.get("stackqual_suites", DEFAULT_DIR))


def _tolerances(path: Path, table) -> dict[str, Tolerance]:
    """The `[tolerances.NAME]` tables of one suite.toml, checked."""
    example = ('e.g. [tolerances.throughput] band = 0.35, why = "29% spread measured"')
    if not isinstance(table, dict):
        raise Malformed(f"{path}: `tolerances` must be a table of tables; {example}")
    found = {}
    for name, t in table.items():
        if not isinstance(t, dict):
            raise Malformed(f"{path}: `tolerances.{name}` must be a table; {example}")
        band, why = t.get("band"), t.get("why")
        slack, slack_why = t.get("slack_s", 0.0), t.get("slack_why", "")
        unknown = set(t) - {"band", "why", "slack_s", "slack_why"}
        if (unknown or isinstance(band, bool) or not isinstance(band, (int, float))
                or not 0 <= band < 1 or not isinstance(why, str) or not why
                or isinstance(slack, bool) or not isinstance(slack, (int, float)) or slack < 0
                or (slack and not (isinstance(slack_why, str) and slack_why))):
            raise Malformed(
                f"{path}: `tolerances.{name}` needs `band` (a fraction, 0 <= band < 1) and "
                "`why` (where it comes from), and may have `slack_s` (seconds, with "
                f"`slack_why`); found {t!r}; {example}")
        found[name] = Tolerance(float(band), why, float(slack), slack_why, str(path))
    return found


def tolerances(suites_dir: Path, harness: dict[str, Tolerance]) -> dict[str, Tolerance]:
    """Every timed metric's tolerance: the harness's own and each suite's declared ones. A
    name declared twice is an error naming both places."""
    known = dict(harness)
    for folder in suite_folders(suites_dir):
        for name, t in _tolerances(folder / FILE, declaration(folder).get("tolerances",
                                                                          {})).items():
            if name in known:
                raise Malformed(f"{folder / FILE}: `tolerances.{name}` is already declared "
                                f"by {known[name].owner}; a name is declared once")
            known[name] = t
    return known


def packages(suites_dir: Path) -> dict[str, tuple[str, ...]]:
    """suite -> the packages it declares, for every suite in `suites_dir`."""
    return {folder.name: tuple(declaration(folder)["packages"])
            for folder in suite_folders(suites_dir)}
