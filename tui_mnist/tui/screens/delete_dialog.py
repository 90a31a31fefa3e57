"""Ask before a run's folder is deleted: y (or the Delete button) deletes, n or esc keeps it."""

from __future__ import annotations

from textual.binding import Binding

from tui_mnist.runs.ledger import RunSummary
from tui_mnist.tui.screens.confirm_dialog import ConfirmDialog


class DeleteDialog(ConfirmDialog):
    BINDINGS = [
        Binding("y", "answer(True)", "delete", tooltip="Delete the run's folder"),
        Binding("n,escape", "answer(False)", "keep", key_display="n", tooltip="Keep the run"),
    ]

    def __init__(self, run: RunSummary, checkpoints: int) -> None:
        saved = f"{checkpoints} checkpoint{'' if checkpoints == 1 else 's'}"
        super().__init__(
            f"Delete run {run.id}?",
            f"{run.architecture}, {run.state} at epoch {run.epoch}/{run.epochs}: "
            f"its settings, metrics and {saved} go, for good.",
            "y deletes · n or esc keeps",
            safe="Keep",
            act="Delete",
        )
