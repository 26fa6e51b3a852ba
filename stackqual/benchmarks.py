"""pytest-benchmark, made profile-aware.

pytest-benchmark keys its storage by OS and Python only, so an H100 run and an A10 run
land in one folder and get compared. Here:

- the storage defaults to `baselines/<profile>/benchmarks/` (not `./.benchmarks`), so
  `--benchmark-compare` compares with runs of this hardware profile only;
- a saved run's machine info carries the profile, GPU, driver, CUDA and the stack's
  versions (the stackqual fingerprint);
- comparing with a run recorded on another profile is refused (a usage error), whatever
  storage or file was named; so is a run id that matches no saved run, which
  pytest-benchmark only warns about;
- a profile with no saved run at all (a new machine's first run) still runs: the header
  and the end of the run say that nothing was compared, name each timed check, and give
  the command that records a run;
- saving into the baselines folder is a baseline write, so it needs --update-baselines,
  which also saves the run (`NNNN_baseline.json`) when a benchmark ran, so that
  --benchmark-compare has one; only the timings of tests that passed are saved (one
  refused as measured on a busy machine is not);
- a run that neither saves nor compares never touches (or creates) that folder.

The samples themselves are measured by stackqual.timing (interleaved A/B) and handed to
the `benchmark` fixture by stackqual.perf.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_STORAGE = "file://./.benchmarks"  # pytest-benchmark's own default


RECORD = "record one with --update-baselines on this hardware (or --benchmark-save)"


class BenchmarkGlue:
    def __init__(self, profile: str, fingerprint: dict, save_to: Path | None,
                 nothing_saved: str = ""):
        self.profile = profile
        self.fingerprint = fingerprint
        self.save_to = save_to  # --update-baselines: where the run is saved, if any ran
        self.nothing_saved = nothing_saved  # why --benchmark-compare has nothing to compare
        self.failed: set[str] = set()  # nodeids that failed: their timings are not saved

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.add(report.nodeid)

    def pytest_report_header(self, config):
        if self.nothing_saved:
            return [f"--benchmark-compare: {self.nothing_saved}: nothing is compared; {RECORD}"]
        return []

    def pytest_terminal_summary(self, terminalreporter, config):
        bench = getattr(config, "_benchmarksession", None)
        if not self.nothing_saved or bench is None:
            return
        names = [b.fullname for b in bench.benchmarks if b]
        terminalreporter.section("benchmark-compare")
        terminalreporter.line(f"{self.nothing_saved}: none of the {len(names)} timed checks "
                              f"was compared with a saved run; {RECORD}", yellow=True)
        for name in names:
            terminalreporter.line(f"  not compared: {name}")

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session):
        """Runs around pytest-benchmark's own session finish, which saves: with
        --update-baselines, the run is saved into the profile's folder when a benchmark
        ran (and the folder is created only then)."""
        bench = getattr(session.config, "_benchmarksession", None)
        if self.save_to is not None and bench is not None:
            # A timing whose test failed (refused as measured on a busy machine, say) is no
            # baseline: it is not saved either.
            bench.benchmarks = [b for b in bench.benchmarks if b.fullname not in self.failed]
        if self.save_to is not None and bench is not None and any(bench.benchmarks):
            from pytest_benchmark.utils import load_storage

            bench.save = "baseline"
            bench.storage = load_storage(f"file://{self.save_to}", logger=bench.logger,
                                         default_machine_id=bench.machine_id, netrc="")
        yield

    def pytest_sessionstart(self, session):
        """After pytest-benchmark's configure loaded the run to compare with: none is a
        usage error, not a warning above the header and a run that compares nothing."""
        bench = getattr(session.config, "_benchmarksession", None)
        if bench is None or not bench.compare or bench.compared_mapping:
            return
        if bench.compare is True:  # the profile's folder holds no run yet: a first run
            self.nothing_saved = f"{bench.storage} holds no saved run"
            bench.compare = False
            return
        raise pytest.UsageError(
            f"--benchmark-compare: {bench.storage} has no saved run matching "
            f"{bench.compare!r}; {RECORD}, or name an existing run (the NNNN prefix of a "
            "file in that folder)")

    def pytest_benchmark_update_machine_info(self, config, machine_info):
        machine_info["stackqual"] = {"profile": self.profile, "fingerprint": self.fingerprint}

    @pytest.hookimpl(tryfirst=True)
    def pytest_benchmark_compare_machine_info(self, config, benchmarksession, machine_info,
                                              compared_benchmark):
        theirs = compared_benchmark.get("machine_info", {}).get("stackqual", {})
        recorded = theirs.get("profile")
        if recorded != self.profile:
            where = (f"recorded on profile {recorded!r}" if recorded
                     else "recorded without a stackqual profile (plain pytest-benchmark)")
            raise pytest.UsageError(
                f"--benchmark-compare: the saved run in {benchmarksession.storage} was {where}, "
                f"and this run is on profile {self.profile!r}; timings are only compared "
                "within one hardware profile. Compare with a run of this profile (saved with "
                "--update-baselines or --benchmark-save), or leave out --benchmark-compare.")


def configure(config, baselines_dir: Path, cache_dir: Path, profile: str, fingerprint: dict,
              update: bool) -> None:
    """Point pytest-benchmark at the profile's folder; runs before pytest-benchmark's own
    (trylast) configure, which opens the storage (creating its folder) and loads the run to
    compare with. A run that neither saves nor compares gets a folder in the cache instead,
    so that reading the baselines never creates anything in them."""
    if not config.pluginmanager.hasplugin("benchmark"):
        return
    option = config.option
    if option.benchmark_storage == DEFAULT_STORAGE:
        folder = baselines_dir / profile / "benchmarks"
        saving = option.benchmark_save or option.benchmark_autosave
        if saving and not update:
            raise pytest.UsageError(
                f"--benchmark-save/--benchmark-autosave would write into {folder}, and "
                "baselines change only with --update-baselines: add it, or pass "
                "--benchmark-storage to save elsewhere")
        nothing_saved = ""
        if option.benchmark_compare and not update and not folder.is_dir():
            if option.benchmark_compare is not True:
                raise pytest.UsageError(
                    f"--benchmark-compare={option.benchmark_compare}: profile {profile!r} has "
                    f"no saved benchmark runs ({folder} does not exist); {RECORD}")
            nothing_saved = f"profile {profile!r} has no saved benchmark run ({folder} does " \
                            "not exist)"
            option.benchmark_compare = False  # a first run on this profile: it still runs
        save_to = folder if update and not saving else None
        uses_storage = saving or option.benchmark_compare
        option.benchmark_storage = f"file://{folder if uses_storage else cache_dir}"
    else:
        save_to, nothing_saved = None, ""
    config.pluginmanager.register(BenchmarkGlue(profile, fingerprint, save_to, nothing_saved),
                                  "stackqual-benchmarks")


def saved_runs(folder: Path) -> set[Path]:
    """The saved runs (NNNN_*.json) in a profile's benchmark folder, any machine id."""
    return set(folder.glob("*/[0-9][0-9][0-9][0-9]_*.json")) if folder.is_dir() else set()


def merge_saved(runs: list[Path]) -> Path | None:
    """One saved run from the runs that the suite processes of one recording
    (`stackqual qualify --record`) saved each: `--benchmark-compare` compares with one
    saved run, so the suites' parts become the first part, whole (written beside it and
    renamed), and the other parts are removed."""
    import json
    import os

    runs = sorted(runs)
    if len(runs) < 2:
        return runs[0] if runs else None
    merged = json.loads(runs[0].read_text())
    for part in runs[1:]:
        merged["benchmarks"] += json.loads(part.read_text())["benchmarks"]
    staged = runs[0].with_name(f".{runs[0].name}.{os.getpid()}")
    staged.write_text(json.dumps(merged, indent=4) + "\n")
    os.replace(staged, runs[0])
    for part in runs[1:]:
        part.unlink()
    return runs[0]
