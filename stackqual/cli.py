"""`stackqual`: the qualification run and a look at this machine's profile.

    stackqual qualify [OPTIONS] [-- PYTEST ARGS...]
                                         the node's verdict: health, every suite in its own
                                         process; exit 0 qualified, 1 failed, 2 not judged,
                                         3 broke, 4 usage (`stackqual qualify --help`)
    stackqual fleet REPORTS... [--expect-nodes FILE]
                                         many nodes' qualify folders (or folders holding
                                         them) merged: per figure the spread across nodes
                                         and GPUs, the outliers, failing and missing nodes
                                         named
    stackqual profile                    print the detected profile and the stack fingerprint
    stackqual fetch-assets [--pin]       download every hub model and dataset the suites name
                                         into the HF cache (for air-gapped machines to copy);
                                         --pin writes their commits to suites/hub-revisions.json
    stackqual compare BASE CANDIDATE     what an upgrade changes, from two run reports (files,
                                         or folders: their newest); exit 1 when it blocks,
                                         2 when the candidate judged nothing
    stackqual ab --base PYTHON --candidate PYTHON [--rounds N] [TESTS] [-- PYTEST ARGS]
                                         the two stacks (two environments' interpreters)
                                         timed against each other on this machine, in
                                         alternating processes, and their compiler counts;
                                         exit 1 when the candidate is slower or compiles to
                                         more (`stackqual ab --help`)
    stackqual compare BASE CANDIDATE --ab AB
                                         the same, with ab's figures in the comparison
    stackqual accept BASE CANDIDATE --reason TEXT [-- PYTEST ARGS...]
                                         after review: record the installed (candidate) stack's
                                         baselines and snapshots on this machine and append the
                                         comparison and the reason to baselines/CHANGELOG.md

Every command exits with one of stackqual.exits.Exit: 0 ok, 1 failed, 2 not judged, 3 the
run broke, 4 bad usage, 70 an internal error (a traceback, never a verdict).
"""

from __future__ import annotations

import contextlib
import filecmp
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import declared, exits, usage
from .exits import Exit

REPO = Path(__file__).resolve().parents[1]


def qualify(argv: list[str]) -> int:
    """The node's verdict (stackqual.qualify): health, then each suite in its own process;
    `stackqual qualify --help` lists its options and exit codes."""
    from . import qualify as qualifying

    return qualifying.main(argv, REPO)


def hub_assets() -> dict:
    """The hub assets the suites declare, from an in-process collection of the suites."""
    import pytest

    from . import assets

    os.chdir(REPO)
    # --online: collection must not set HF_HUB_OFFLINE, which huggingface_hub reads once.
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = pytest.main([str(declared.configured_dir(REPO)), "--collect-only", "-q",
                            "--online", "-p",
                            "no:cacheprovider", "-p", "no:syrupy"])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise SystemExit(f"{out.getvalue()}\nstackqual fetch-assets: collecting the suites "
                         f"failed (exit {code})")
    return assets.hub_assets()


def fetch_assets(pin: bool, dry_run: bool) -> int:
    from . import assets

    hubs = hub_assets()
    if dry_run:
        for name, hub in hubs.items():
            print(f"{name}: {hub.key} at {hub.revision or 'unpinned (newest)'}")
        return 0
    assets.fetch(hubs, pin_to=assets.LOCK if pin else None)
    return 0


def compared(base: str, candidate: str, command: str):
    """(the comparison of two run reports, the base's data, the candidate's data), or None
    when they cannot be compared (said on stderr)."""
    from . import compare

    try:
        (base_path, base_data), (cand_path, cand_data) = (compare.load(Path(base)),
                                                          compare.load(Path(candidate)))
        return (compare.compare(base_data, cand_data, base_path.name, cand_path.name),
                base_data, cand_data)
    except compare.CompareError as e:
        print(f"stackqual {command}: {e}", file=sys.stderr)
        return None


def compare_reports(base: str, candidate: str, json_path: str | None,
                    markdown_path: str | None, ab_path: str | None = None) -> int:
    from . import ab, compare

    found = compared(base, candidate, "compare")
    if found is None:
        return Exit.USAGE
    result, base_data, cand_data = found
    if ab_path:
        try:
            compare.add_ab(result, ab.load(Path(ab_path)), base_data, cand_data)
        except (ValueError, compare.CompareError) as e:
            print(f"stackqual compare: --ab {e}", file=sys.stderr)
            return Exit.USAGE
    nothing = compare.judged_nothing(cand_data)
    if nothing and not result.blocking:
        text = (f"# stackqual compare: not judged\n\nThe candidate `{result.candidate}` judged "
                f"nothing: {nothing}. Run the suites on the candidate against this profile's "
                "baselines, then compare again (exit 2).\n")
        print(text, end="")
        if markdown_path:
            Path(markdown_path).write_text(text)
        return Exit.NOT_JUDGED
    text = compare.markdown(result)
    print(text, end="")
    if markdown_path:
        Path(markdown_path).write_text(text)
    if json_path:
        Path(json_path).write_text(json.dumps(compare.to_json(result), indent=2, default=str)
                                   + "\n")
    return (Exit.FAILED if result.blocking else Exit.NOT_JUDGED if result.unjudged
            else Exit.OK)


def accept(base: str, candidate: str, reason: str, pytest_args: list[str]) -> int:
    """Record the reviewed candidate: its stack must be the one installed here, the suites
    run with --update-baselines --snapshot-update (timings are not recorded from a busy
    machine: stackqual.perf) into a copy of the baselines folder, and only when that run
    passes are the changed files published and the CHANGELOG appended. An interrupted or
    failed run changes no baseline and prunes no snapshot (stackqual.active)."""

    from . import profile
    from .gate import shown

    found = compared(base, candidate, "accept")
    if found is None:
        return Exit.USAGE
    result, _, cand_data = found
    if not reason.strip():
        print("stackqual accept: --reason is required: say why these changes are accepted",
              file=sys.stderr)
        return Exit.USAGE
    here = profile.fingerprint()
    recorded_on = pytest_option(pytest_args, "--profile") or profile.detect_profile()
    if cand_data["profile"] != recorded_on:
        print(f"stackqual accept: the reviewed candidate ran on profile "
              f"{cand_data['profile']!r}, and this machine records for {recorded_on!r}: "
              "accept on a machine of the candidate's profile (or pass --profile)",
              file=sys.stderr)
        return Exit.USAGE
    moved = profile.stack_differences(cand_data.get("fingerprint") or {}, here)
    if moved:
        print(f"stackqual accept: the installed stack is not the reviewed candidate "
              f"({result.candidate}): {'; '.join(moved)}. Install the candidate's stack, or "
              "compare a report of this one", file=sys.stderr)
        return Exit.USAGE
    target = baselines_dir(pytest_args)
    with tempfile.TemporaryDirectory(prefix="stackqual-accept-") as staging:
        staged = Path(staging) / "baselines"
        if target.is_dir():
            shutil.copytree(target, staged)
        code, broke = recording_run(["--update-baselines", "--snapshot-update",
                                     *with_option(pytest_args, "--baselines-dir", str(staged))],
                                    Path(staging))
        if code != 0 or broke:
            print(f"stackqual accept: the recording run exited {code} (pytest)"
                  f"{'; it broke: ' + broke if broke else ''}; {shown(target)} is as it was "
                  "and nothing was appended to its CHANGELOG. Snapshots it wrote for tests "
                  "that ran are listed above; none was pruned", file=sys.stderr)
            return Exit.BROKE if broke else PYTEST_EXITS.get(code, Exit.BROKE)
        published = publish(staged, target)
    changelog = target / "CHANGELOG.md"
    append_changelog(changelog, changelog_entry(result, reason, here))
    print(f"stackqual accept: recorded {len(published)} baseline files into {shown(target)}; "
          f"{shown(changelog)} appended")
    return Exit.OK


def recording_run(pytest_args: list[str], folder: Path) -> tuple[int, str]:
    """accept's recording: the suites (or the tests the arguments name) in a suite process
    of their own (stackqual.suite_process: each test under pytest-timeout, its stream and
    log in `folder`), its output shown as it comes; (its exit status, why it broke or "").
    Its run report goes where the arguments say, else to the repository's reports/."""
    from . import suite_process

    named = any((REPO / arg.split("::")[0]).exists() for arg in pytest_args
                if not arg.startswith("-"))
    suites = declared.configured_dir(REPO)
    report = [] if pytest_option(pytest_args, "--report-dir") else [
        "--report-dir", str(REPO / "reports")]
    cmd = suite_process.command(sys.executable, [] if named else [str(suites)], folder,
                                [*suite_process.declarations_of(suites), *pytest_args,
                                 *report])
    code = suite_process.run_shown(cmd, REPO, folder, os.environ.copy())
    return code, suite_process.broke_in(folder, code)


# What a failed recording run's pytest exit says, in the commands' table (stackqual.exits).
PYTEST_EXITS = {1: Exit.FAILED, 2: Exit.BROKE, 3: Exit.INTERNAL,
                4: Exit.USAGE, 5: Exit.NOT_JUDGED}


def with_option(pytest_args: list[str], name: str, value: str) -> list[str]:
    """The pytest arguments with option `name` set to `value` (replacing `--name V` or
    `--name=V`)."""
    args, skip = [], False
    for i, arg in enumerate(pytest_args):
        if skip:
            skip = False
        elif arg == name and i + 1 < len(pytest_args):
            skip = True
        elif not arg.startswith(f"{name}="):
            args.append(arg)
    return [*args, name, value]


def publish(staged: Path, target: Path) -> list[Path]:
    """Every file of the staged baselines folder that is new or differs from `target`'s,
    moved into `target` under its lock, each atomically. An accept records into a copy
    (stackqual.cli.accept) and publishes only when its whole run passed, so an interrupted
    or failed one leaves `target` as it was, never a partial set under a new fingerprint."""
    from .baselines import LOCK_NAME, locked

    published = []
    with locked(target):
        for source in sorted(p for p in staged.rglob("*") if p.is_file()):
            dest = target / source.relative_to(staged)
            if source.name == LOCK_NAME or (dest.is_file() and filecmp.cmp(source, dest,
                                                                             shallow=False)):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(f".{dest.name}.{os.getpid()}")
            shutil.copy2(source, partial)
            os.replace(partial, dest)
            published.append(dest)
    return published


def append_changelog(changelog: Path, entry: str) -> None:
    """Append `entry` whole, under the baselines folder's lock: a concurrent accept appends
    after this one, never over it."""
    from .baselines import locked

    with locked(changelog.parent):
        before = changelog.read_text() if changelog.is_file() else (
            "# Baselines changelog\n\nEach upgrade accepted with `stackqual accept`: what "
            "the comparison listed, and why it was accepted.\n")
        staged = changelog.with_name(f".{changelog.name}.{os.getpid()}")
        staged.write_text(before + entry)
        os.replace(staged, changelog)  # whole or not at all


def pytest_option(pytest_args: list[str], name: str) -> str | None:
    """The value of pytest option `name` (`--name V` or `--name=V`) among the arguments."""
    for i, arg in enumerate(pytest_args):
        if arg == name and i + 1 < len(pytest_args):
            return pytest_args[i + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def baselines_dir(pytest_args: list[str]) -> Path:
    """--baselines-dir from the pytest arguments, else the repository's baselines/."""
    given = pytest_option(pytest_args, "--baselines-dir")
    return Path(given).resolve() if given else REPO / "baselines"


def changelog_entry(result, reason: str, fingerprint: dict) -> str:
    """What was accepted and why: the comparison's summary (its changes, not the diffs)."""
    from datetime import datetime, timezone

    stack = "; ".join(result.stack) or "the same stack"
    lines = ["", f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, `{result.profile}`: "
             f"{stack}", "", f"Why accepted: {reason.strip()}", "",
             f"Compared `{result.base}` with `{result.candidate}`: {len(result.blocking)} "
             f"blocking, {len(result.changes)} changes in all; recorded on {fingerprint['cpu']}"
             + (f", {fingerprint['gpu']}" if "gpu" in fingerprint else "") + ".", ""]
    lines += [f"- {c.kind}: `{c.what}` ({c.suite}) {first_line(c.note)}".rstrip()
              for c in result.changes] or ["- no changes"]
    return "\n".join(lines) + "\n"


def first_line(text: str) -> str:
    lines = str(text or "").splitlines()
    return lines[0][:200] if lines else ""


def show_profile() -> int:
    from . import profile

    print(json.dumps({"profile": profile.detect_profile(), "fingerprint": profile.fingerprint()},
                     indent=2))
    return 0


# The commands that parse their own arguments (and --help).
OWN_PARSERS = ("qualify", "ab", "fleet")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # what a framework printed may not be UTF-8
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return run(argv)
    except Exception as e:  # a traceback is never read as a verdict (stackqual.exits)
        return exits.internal_error(argv[0] if argv else "", e)


def parser() -> usage.Parser:
    """The parser of the commands that do not parse their own arguments."""
    parser = usage.Parser(prog="stackqual", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("qualify", add_help=False,  # its own --help (stackqual.qualify)
                   help="the node's verdict: health preflight, every suite in its own "
                        "process, exit 0/1/2/3")
    sub.add_parser("ab", add_help=False,  # its own --help (stackqual.ab)
                   help="two environments' stacks timed against each other on this machine")
    sub.add_parser("fleet", add_help=False,  # its own --help (stackqual.fleet)
                   help="merge many nodes' qualifications; name the outliers")
    sub.add_parser("profile", help="print the detected profile and stack fingerprint")
    fetch = sub.add_parser("fetch-assets", help="download every hub asset the suites name into "
                                                "the HF cache (needs network)")
    fetch.add_argument("--pin", action="store_true",
                       help="write the commits fetched to suites/hub-revisions.json")
    fetch.add_argument("--dry-run", action="store_true",
                       help="list the hub assets and their pinned commits; download nothing")
    comparing = sub.add_parser("compare", help="what an upgrade changes, from two run reports")
    comparing.add_argument("base", help="the base run's report (or a folder of reports)")
    comparing.add_argument("candidate", help="the candidate run's report (or folder)")
    comparing.add_argument("--json", help="also write the comparison as JSON here")
    comparing.add_argument("--markdown", help="also write the Markdown here")
    comparing.add_argument("--ab", metavar="AB", help="a `stackqual ab` result of the same two "
                                                     "stacks (ab.json, or its folder): its "
                                                     "figures join the comparison")
    accepting = sub.add_parser(
        "accept", help="after review: record the candidate's baselines and snapshots and "
                       "append the comparison and why to baselines/CHANGELOG.md (pytest "
                       "arguments after `--`)")
    accepting.add_argument("base", help="the base run's report (or folder)")
    accepting.add_argument("candidate", help="the reviewed candidate run's report (or folder); "
                                             "its stack must be the one installed")
    accepting.add_argument("--reason", required=True, help="why the changes are accepted")
    return parser


def parse(argv: list[str]):
    """(the command, its options, the pytest arguments) as the command parses them, running
    nothing: a usage error exits 4 (SystemExit), as the command would."""
    import importlib

    if argv and argv[0] in OWN_PARSERS:
        return (argv[0], *usage.parse(importlib.import_module(f"stackqual.{argv[0]}").parser(),
                                      argv[1:]))
    commands = parser()
    own, rest = usage.split(argv)
    args = commands.parse_args(own)
    if args.command != "accept" and rest:
        commands.error(f"{args.command} takes no pytest arguments (after `--`): "
                       f"{' '.join(rest)}")
    return args.command, args, rest


def run(argv: list[str]) -> int:
    if argv and argv[0] in OWN_PARSERS:
        return delegate(argv[0], argv[1:])
    _, args, rest = parse(argv)
    if args.command == "profile":
        return show_profile()
    if args.command == "fetch-assets":
        return fetch_assets(args.pin, args.dry_run)
    if args.command == "compare":
        return compare_reports(args.base, args.candidate, args.json, args.markdown, args.ab)
    return accept(args.base, args.candidate, args.reason, rest)


def delegate(command: str, argv: list[str]) -> int:
    """qualify, ab and fleet: their own parsers, their own --help."""
    if command == "qualify":
        return qualify(argv)
    if command == "ab":
        from . import ab

        return ab.main(argv, REPO)
    from . import fleet

    return fleet.main(argv, REPO)


if __name__ == "__main__":
    sys.exit(main())
