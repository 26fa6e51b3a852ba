"""Two verdicts that are not regressions of the stack's behaviour, each named as such in
the run report and by `stackqual compare`:

- **API incompatible**: a framework release that lacks a name a test imports, changed a
  constructor's arguments, or fails to import at all. The test module (or test) fails with
  "API incompatible: <distribution> <version>: ...", naming the missing name or argument;
  the other frameworks' modules still run (collection errors do not stop the session:
  `--continue-on-collection-errors` in pyproject.toml).
- **harness incompatible**: the harness itself reads a private API that the candidate stack
  renamed. That is a defect of stackqual (it must be updated for that release), not of the
  stack. Every such access goes through `harness(name)`.

The private APIs the harness relies on, each read inside `harness(...)` (a self-test,
selftests/test_vocabulary.py, fails on a private name of the stack read anywhere else, but
for the few it lists as documented knobs: `torch._dynamo.config`, `torch._inductor.config`,
`torch._ops.OpOverload`, `atexit._ncallbacks`):
- pytest-benchmark's `BenchmarkFixture._make_stats` (stackqual.perf: our timings in its
  tables and --benchmark-compare files);
- syrupy's session, `config._syrupy` (stackqual.snapshots: an assertion without the
  default extension's whole-folder discovery);
- `torch._dynamo` internals: `utils.counters`, `testing.CompileCounter*`,
  `exc.FailOnRecompileLimitHit`, `config.recompile_limit` (suites/compile);
- the compiler's counters: `torch._dynamo.utils.get_compilation_metrics`, and in
  `torch._inductor`: `compile_fx.compile_fx`/`compile_fx_inner`, `metrics`,
  `utils.run_and_get_code` (suites/compile/counts.py);
- `torch._fused_sdp_choice` (suites/attention/backends.py);
- `torch.distributed._tools.mem_tracker.MemTracker` (suites/models/cost.py).

Keep each `with incompatible.harness(...)` block to the access itself: an AttributeError
raised by the code being measured is that code's failure, not the harness's.
"""

from __future__ import annotations

import contextlib
import re
from importlib import metadata

import pytest

HARNESS = "harness incompatible"
API = "API incompatible"

# TypeErrors that mean a call no longer fits the callee's signature (Python's own wording).
SIGNATURE_ERROR = re.compile(r"unexpected keyword argument|required (positional|keyword-only)"
                             r" argument|takes \d+ positional arguments? but \d+ (was|were) given"
                             r"|takes no arguments")


@contextlib.contextmanager
def harness(name: str):
    """Access a private API; its absence fails the test (or the module's collection) as
    "harness incompatible", naming it."""
    try:
        yield
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{HARNESS}: stackqual relies on {name}, which this stack does not offer "
                    f"({type(e).__name__}: {e}). stackqual needs updating for this release; "
                    "this is not a regression of the stack under test", pytrace=False)


def installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def stack_api(distribution: str, not_installed: str):
    """A test module's imports of a framework: skipped (with `not_installed`) when the
    distribution is absent; anything else that goes wrong importing it fails the module
    as "API incompatible", naming the distribution's version and the error."""
    version = installed(distribution)
    if version is None:
        pytest.skip(not_installed, allow_module_level=True)
    try:
        yield
    except Exception as e:  # an ImportError of a moved name, or a release that breaks on import
        pytest.fail(f"{API}: {distribution} {version}: {type(e).__name__}: {e}", pytrace=False)


def signature_break(error: BaseException, distribution: str) -> str | None:
    """"API incompatible: ..." when `error` says a call no longer fits a signature, else
    None."""
    if isinstance(error, TypeError) and SIGNATURE_ERROR.search(str(error)):
        return f"{API}: {distribution} {installed(distribution)}: TypeError: {error}"
    return None
