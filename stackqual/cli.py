"""`stackqual`: the qualification run and a look at this machine's profile.

    stackqual qualify [PYTEST ARGS...]   run every suite this machine can run; report written
    stackqual profile                    print the detected profile and the stack fingerprint
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def qualify(pytest_args: list[str]) -> int:
    """The suites (not the self-tests), GPU cases included when CUDA is present; the run
    report goes to reports/ unless --report-dir says otherwise."""
    import pytest

    if not (REPO / "suites").is_dir():
        print(f"stackqual qualify: no suites/ next to the package ({REPO}); run it from a "
              "checkout installed with `pip install -e .`", file=sys.stderr)
        return 4
    os.chdir(REPO)
    return int(pytest.main(["suites", "-p", "no:cacheprovider", *pytest_args]))


def show_profile() -> int:
    from . import profile

    print(json.dumps({"profile": profile.detect_profile(), "fingerprint": profile.fingerprint()},
                     indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stackqual", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("qualify", help="run every suite this machine can run and write the report")
    sub.add_parser("profile", help="print the detected profile and stack fingerprint")
    args, rest = parser.parse_known_args(argv)
    if args.command == "profile":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return show_profile()
    return qualify(rest)


if __name__ == "__main__":
    sys.exit(main())
