"""Pick where a run continues from: one of its checkpoint epochs, and how many epochs in all.
Dismisses with a ResumeChoice, or None."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import Bounds, whole_in
from tui_mnist.live.text import percent
from tui_mnist.runs.ledger import RunSummary


@dataclass(frozen=True)
class ResumeChoice:
    epoch: int  # the checkpoint to start from
    epochs: int  # the run's length in epochs (more than its own: trains it longer)


class ResumeDialog(ModalScreen[ResumeChoice | None]):
    CSS_PATH = "resume_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, run: RunSummary, checkpoints: list[int], metrics: dict[int, dict]) -> None:
        """`checkpoints`: the epochs with a checkpoint; `metrics`: epoch -> its record."""
        super().__init__()
        self.run = run
        self.checkpoints = checkpoints
        self.metrics = metrics

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = f"Resume run {self.run.id}"
            box.border_subtitle = "enter resumes · tab · esc cancels"
            yield Label("Continue from the checkpoint of epoch:")
            options = [
                Option(
                    f"epoch {epoch:>3}   val {percent(self.metrics.get(epoch, {}).get('val_acc'))}",
                    id=str(epoch),
                )
                for epoch in reversed(self.checkpoints)
            ]
            yield OptionList(*options, id="epochs")
            with Horizontal(id="length"):
                yield Label("epochs in all:")
                yield Input(str(self.run.epochs), id="total", type="integer", compact=True)
            yield Static(
                "Same settings from the newest checkpoint continue this run; an earlier "
                "epoch or another length makes a new run that records this one as its parent.",
                id="hint",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.choose()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.choose()

    def choose(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.notify("pick an epoch first", severity="warning")
            return
        try:
            total = whole_in(self.query_one("#total", Input).value, Bounds(1), "epochs in all")
        except ConfigError as error:
            self.notify(str(error), severity="warning")
            return
        epoch = int(options.get_option_at_index(options.highlighted).id)
        self.dismiss(ResumeChoice(epoch, total))

    def action_cancel(self) -> None:
        self.dismiss(None)
