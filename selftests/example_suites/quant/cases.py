"""The example suite's cases: tensors to quantize to int8, by size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    id: str
    numel: int


CASES = (
    Case(id="vector-4k", numel=4096),
    Case(id="vector-1m", numel=1 << 20),
)
