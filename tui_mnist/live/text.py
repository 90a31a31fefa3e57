"""How a run's numbers read as text, the same in the CLI's lines and the app's tables."""

from __future__ import annotations


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f}%"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def started_text(created: str) -> str:
    """"2025-06-12T15:30:12+02:00" -> "2025-06-12 15:30" (the run's own clock and zone)."""
    return created[:16].replace("T", " ")
