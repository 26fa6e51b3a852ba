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
