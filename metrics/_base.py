"""What a UI needs to know about a metric without computing it (the way Quantus declares its metrics)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    paper: str
    better: str
    """``higher`` or ``lower``: which way a better map moves the number."""
    value_range: tuple[float, float]
    cost: str
    """What it costs, in model passes."""
    reading: str
    """One sentence a clinician can read: what the number says about the map."""
    applies_to: str = "every method"

    @property
    def better_text(self) -> str:
        return f"{self.better} is better"
