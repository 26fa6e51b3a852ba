"""A suite adds its own part of the run report through the pytest_stackqual_report_section
hook (stackqual/hookspecs.py); the harness itself knows no suite's fields."""

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.hookimpl
def pytest_stackqual_report_section(checks, directory, stem):
    widths = [c for c in checks if c.metric == "width"]
    if not widths:
        return None
    (directory / f"{stem}-widths.txt").write_text(str([c.measured for c in widths]))
    return ["## Widths", "", *(f"- {c.check_id}: {c.measured}" for c in widths),
            "", f"[widths]({stem}-widths.txt)"]
"""
TESTS = """
import pytest

@pytest.mark.parametrize("width", [3, 5])
def test_width(gate, width):
    gate.info("width", width)

def test_other(gate):
    gate.info("height", 2)
"""


def test_a_suite_section_lands_in_the_markdown_with_its_file(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shapes=TESTS)
    report_dir = pytester.path / "reports"
    result = pytester.runpytest("--profile", "cpu-test", "--report-dir", str(report_dir))
    result.assert_outcomes(passed=3)
    [markdown] = report_dir.glob("*.md")
    text = markdown.read_text()
    assert "## Widths" in text
    assert "- test_shapes.py::test_width[3]#width: 3" in text
    [widths] = report_dir.glob("*-widths.txt")
    assert widths.read_text() == "[3, 5]"
    assert f"[widths]({widths.name})" in text


def test_a_suite_with_nothing_to_add_adds_nothing(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shapes="def test_other(gate):\n    gate.info('height', 2)\n")
    report_dir = pytester.path / "reports"
    pytester.runpytest("--profile", "cpu-test", "--report-dir", str(report_dir))
    [markdown] = report_dir.glob("*.md")
    assert "## Widths" not in markdown.read_text()
    assert not list(report_dir.glob("*-widths.txt"))
