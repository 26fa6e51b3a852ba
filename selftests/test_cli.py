"""The `stackqual` command."""

import json
import sys

import pytest

from stackqual import cli, exits, profile, usage


def test_profile_prints_profile_and_fingerprint(capsys):
    assert cli.main(["profile"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == profile.detect_profile()
    assert data["fingerprint"]["torch"]


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["qualifyy"])
    assert info.value.code == 4
    assert "invalid choice: 'qualifyy'" in capsys.readouterr().err


def test_an_error_of_stackqual_is_exit_70_never_a_verdict(tmp_path, capsys):
    """`ab` asked to write into a file: before, a traceback and exit 1, which reads as "the
    candidate is slower"."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    python = sys.executable
    code = cli.main(["ab", "--base", python, "--candidate", python, "--report-dir",
                     str(a_file)])
    err = capsys.readouterr().err
    assert code == exits.Exit.INTERNAL == 70
    assert "NotADirectoryError" in err  # the traceback
    assert err.strip().splitlines()[-1].startswith(
        "stackqual ab: internal error, exit 70 (not a verdict on the stack: a defect of "
        "stackqual, or a folder it cannot write): NotADirectoryError: ")


def test_the_exit_codes_are_one_table():
    assert [int(e) for e in exits.Exit] == [0, 1, 2, 3, 4, 70]
    assert usage.USAGE_ERROR == exits.Exit.USAGE == pytest.ExitCode.USAGE_ERROR


def documented_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every `stackqual ...` command line in the code blocks (fenced or
    indented) of README.md and docs/*.md; lines with placeholders ([OPTIONAL], ...) are
    syntax, not examples."""
    import re
    import shlex

    from selftests.support import REPO

    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        block = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                block = not block
                continue
            code = block or line.startswith("    ")  # fenced, or an indented code block
            m = re.match(r"\s*(?:\$ )?(?:\S*/)?stackqual (.*)$", line) if code else None
            if m and "[" not in m.group(1) and "..." not in m.group(1):
                found.append((f"{path.name}:{number}", shlex.split(m.group(1), comments=True)))
    return found


def test_every_documented_command_parses():
    """array-api-tests checks its documentation's examples; here every example command of
    the docs must be accepted by the command's own parser (nothing is run): a renamed or
    removed option fails this, not a reader."""
    from stackqual import cli

    commands = documented_commands()
    assert len(commands) >= 10, commands
    refused = []
    for where, argv in commands:
        try:
            cli.parse(argv)
        except SystemExit as e:
            refused.append(f"{where}: stackqual {' '.join(argv)} (exit {e.code})")
    assert not refused, "documented commands the parsers refuse:\n" + "\n".join(refused)


def test_the_documented_command_check_fires_on_a_removed_option():
    from stackqual import cli

    with pytest.raises(SystemExit) as raised:
        cli.parse(["qualify", "--each-node"])
    assert raised.value.code == 4
