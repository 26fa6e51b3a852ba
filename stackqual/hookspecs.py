"""Hooks a suite implements (in its conftest.py) to add to what the harness produces, so
that the harness itself knows no suite."""

import pluggy

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_stackqual_report_section(checks: list, directory, stem: str) -> list[str] | None:
    """Markdown lines for the run report from this run's check records (stackqual.report
    CheckRecord), or None when the suite has nothing to add. A figure goes into
    `directory`, named after `stem` (the report's own name), and is linked by its file
    name."""
