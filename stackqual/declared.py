"""What a suite declares about itself, in its own folder, so that the harness names no
suite: `<suites folder>/<suite>/suite.toml`. The suites folder is configuration: the ini
option `stackqual_suites` (pyproject.toml), a path relative to the rootdir. A suite is a
folder in it that holds test modules (`test_*.py`).

Keys of suite.toml:
- `packages`: the distributions the suite depends on beyond python, torch and the
  hardware. A baseline file recorded under another stack is noted, `stackqual compare`
  lists stack changes per suite, and a `pip check` conflict fails the run, only for these
  (and profile.HARNESS_PACKAGES).

A folder without suite.toml (a suite made on the spot, `qualify --suites-dir`) declares
nothing beyond the harness's packages; this project's suites each have one (a self-test
says so). A declaration that cannot be read is an error naming the file and the key, never
an empty declaration (`Malformed`).
"""

from __future__ import annotations

from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

FILE = "suite.toml"


class Malformed(ValueError):
    """A suite.toml that cannot be read, or a key of the wrong form; the message says
    which."""


def suite_folders(suites_dir: Path) -> list[Path]:
    """The suites in `suites_dir`: its folders that hold test modules, by name."""
    if not suites_dir.is_dir():
        return []
    return sorted(f for f in suites_dir.iterdir()
                  if f.is_dir() and any(f.glob("test_*.py")))


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
    return data


def packages(suites_dir: Path) -> dict[str, tuple[str, ...]]:
    """suite -> the packages it declares, for every suite in `suites_dir`."""
    return {folder.name: tuple(declaration(folder)["packages"])
            for folder in suite_folders(suites_dir)}
