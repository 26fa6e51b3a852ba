"""stackqual: a pytest-based conformance and regression suite for deep-learning stacks.

The harness (this package) is a pytest plugin, one concern per module:

- profile    which hardware profile a run belongs to, and the stack fingerprint
- baselines  per-profile recorded expectations: read, validate, write atomically under a
             lock, merging with what other runs wrote
- numerics   compare a result with an fp64 reference, scaled by the trusted path's error
- policy     the general thresholds that are policy rather than measurement, with their
             sources (each suite keeps its own in suites/<suite>/policy.py)
- judge      the baseline gates' verdict rules, as pure functions
- gate       the per-test object suites use to record, compare and fail checks: one
             baseline-gate skeleton (`against_baseline`) over the rules of judge
- cases      the case language of every suite's cases.py: rows with an id, dtype names,
             device marks, timing thread counts
- timing     interleaved A/B measurement in one process, and its statistics
- calibration  yardsticks that tell whether this machine is the one a timing baseline
             was measured on
- timed      the one place every timed verdict is decided (and its minimum detectable change)
- perf       the `perf` fixture: timings gated against baselines, handed to pytest-benchmark
- report     the JSON + Markdown run report (suites add sections through hookspecs)
- plots      the report's timing figure (matplotlib)
- hookspecs  the hooks a suite implements to add to the report
- declared   what each suite declares in its own folder (suite.toml: its packages,
             the bands of its timed metrics, its place in qualify)
- benchmarks pytest-benchmark's storage and comparisons, per profile
- capabilities  skip rules for hardware markers (gpu, min_sm)
- assets     where models and datasets come from, offline by default (--asset, --online),
             hub assets at pinned commits (suites/hub-revisions.json)
- netguard   the network guard: an audit hook refusing anything beyond loopback, children
             included (netguard_child/ carries it into child processes)
- snapshots  normalisation of what the agents suite snapshots
- verdicts   the one vocabulary of verdicts, and which block or are not judged
- exits      the commands' one table of exit codes, and what each means per command
- readers    reading the JSON files stackqual wrote, and the newest of a folder
- callgrind  instruction counts of a child process under valgrind
- compare    what an upgrade changes, from two run reports
- cpu_peak   the CPU's own peak FLOP/s, derived from its ISA, cores and clock
- incompatible  the "API incompatible" and "harness incompatible" verdicts
- intervals  the bootstrap and exact binomial intervals, without scipy
- supported  the oldest torch and transformers the suites support, checked at start
- usage      the commands' argument convention: usage errors exit 4, `--` before pytest's
- health     the node's health preflight (NVML on GPUs, a quiet machine on CPU)
- devices    the GPUs `qualify --each-gpu` qualifies one by one
- qualify    `stackqual qualify`: the node's verdict, each suite in its own process
- suite_process  one suite's pytest in a process of its own: its command, its stream,
                 whether it broke (qualify, ab and accept)
- first_run  the one-screen table of scripts/first-gpu-run.sh, its sections declared by the
             suites
- ab         `stackqual ab`: two stacks timed against each other in alternating processes
- figures    the timed figures ab and fleet compare
- fleet      `stackqual fleet`: many nodes merged, outliers named
- families   the package families of the per-family candidate environments
- cli        the `stackqual` command (qualify, ab, fleet, profile, fetch-assets, compare,
             accept); `python3 -m stackqual` from a checkout
- plugin     the entry point: options, and whether to act at all (active does the work)
- active     the pytest hooks that wire the above together in a run
"""

__version__ = "0.1.0"
