"""The `stackqual` command."""

import json

import pytest

from stackqual import cli, profile


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
