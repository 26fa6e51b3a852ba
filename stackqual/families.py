"""One package family moved to its newest release, the rest of the stack kept pinned.

`tox -e candidate-torch` (and -transformers, -agents) installs through this script (its
`install_command`): `python stackqual/families.py FAMILY [pip options] PACKAGES...` writes
constraints/pinned.txt without the family's packages to a file beside the tox env, then
runs `pip install --upgrade -c <that file>`, so the family's packages resolve to their
newest releases and every other package stays at its pinned version. A failure of such an
environment names the family that broke it.

When the family's newest release needs a newer version of a package outside it, pip
refuses with the conflict: that family cannot move alone (that is the finding; `tox -e
candidate` moves everything).

It runs before stackqual is installed in the environment, so it imports nothing of it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PINNED = Path(__file__).resolve().parents[1] / "constraints" / "pinned.txt"

# A family is every pinned distribution whose normalised name matches one of its patterns.
FAMILIES = {
    "torch": ("torch", "triton", "nvidia-.*"),
    "transformers": ("transformers", "tokenizers", "safetensors", "huggingface-hub", "hf-xet",
                     "datasets", "accelerate"),
    # gepa: DSPy 3.0.x pins it exactly; langgraph-prebuilt and -sdk move with LangGraph
    "agents": ("dspy", "dspy-.*", "gepa", "haystack-ai", "haystack-experimental", "langgraph",
               "langgraph-.*", "langchain-.*", "crewai", "crewai-.*", "litellm"),
}


def normalise(name: str) -> str:
    """PEP 503: runs of -, _ and . are one -, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def in_family(name: str, family: str) -> bool:
    return any(re.fullmatch(p, normalise(name)) for p in FAMILIES[family])


def constraints_without(family: str, pinned: str) -> str:
    """The pinned constraints with the family's lines left out (comments kept)."""
    kept = []
    for line in pinned.splitlines():
        name = re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0]
        if line.strip() and not line.lstrip().startswith("#") and in_family(name, family):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in FAMILIES:
        print(f"usage: families.py FAMILY [pip install arguments]; FAMILY one of "
              f"{', '.join(FAMILIES)}", file=sys.stderr)
        return 2
    family, rest = argv[0], argv[1:]
    out = Path(os.environ.get("VIRTUAL_ENV", ".")) / f"constraints-without-{family}.txt"
    out.write_text(f"# {PINNED} without the {family} family (stackqual/families.py)\n"
                   + constraints_without(family, PINNED.read_text()))
    cmd = [sys.executable, "-m", "pip", "install", "--upgrade", "-c", str(out), *rest]
    print(f"families.py: moving {family}; the rest pinned by {out}", flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
