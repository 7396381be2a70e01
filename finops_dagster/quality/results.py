"""The result of one check on one day, independent of Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DayResult:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)
