"""How a run's numbers read as text, the same in the CLI's lines and the app's tables."""

from __future__ import annotations

from tui_mnist.engine.progress import RunFinished


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f}%"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def started_text(created: str) -> str:
    """"2025-06-12T15:30:12+02:00" -> "2025-06-12 15:30" (the run's own clock and zone)."""
    return created[:16].replace("T", " ")


def epochs_text(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def how_far(record: RunFinished) -> str:
    """How far a run got: "finished after 3 epochs", "stopped after 2 epochs", or, stopped
    mid-epoch, "stopped in epoch 1 after 806 of 860 batches"."""
    into = record.batches_into_epoch
    if record.stopped and into:
        return (
            f"stopped in epoch {record.epochs_completed + 1} "
            f"after {into} of {record.batches_per_epoch} batches"
        )
    state = "stopped" if record.stopped else "finished"
    return f"{state} after {epochs_text(record.epochs_completed)}"
