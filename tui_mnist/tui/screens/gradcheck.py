"""A gradient check of the network on screen: backprop against central finite differences
(`engine.gradcheck.gradient_check`) on the first few test images, the worst relative error per
layer, and a verdict. A small modal over the screen it was opened from; esc closes it.

The network comes the way the other views' does (`InspectSource`, through a `fetch` that may
take a trip to a live run's trainer) in a worker, and the check on a thread, behind a loading
indicator (the check is two forward passes per sampled entry: about 0.01 s at 784-128-10 and
0.06 s at 784-1024-10 on 32 images, but never on the UI thread).
"""

from __future__ import annotations

import asyncio

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.gradcheck import LayerCheck, gradient_check
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView

IMAGES = 32  # the first test images of the source the check runs on
AGREES = 1e-4  # a worst relative error below this passes: a correct network scores ~4e-6 or less
AGREES_TEXT = "1e-4"


def layer_row(check: LayerCheck, sizes: tuple[int, ...]) -> str:
    """"layer 1 (784→128): worst relative error 3.1e-07 over 16 entries ✓"."""
    mark = "✓" if check.worst_error < AGREES else "✗"
    return (f"layer {check.layer} ({sizes[check.layer - 1]}→{sizes[check.layer]}): "
            f"worst relative error {check.worst_error:.1e} over {check.entries} entries {mark}")


def verdict(checks: list[LayerCheck]) -> str:
    """One line: every layer agrees, or which do not and what that means."""
    wrong = [str(check.layer) for check in checks if check.worst_error >= AGREES]
    if not wrong:
        return f"✓ backprop agrees with finite differences in every layer (below {AGREES_TEXT})"
    layers = f"layer{'s' * (len(wrong) > 1)} {', '.join(wrong)}"
    return (f"✗ {layers}: backprop and the forward pass disagree (at or above {AGREES_TEXT}): "
            "the backward pass has a bug, an activation's derivative for one")


class GradcheckScreen(SourceView, ModalScreen):
    CSS_PATH = "gradcheck.tcss"
    BINDINGS = [Binding("escape", "dismiss", "back", key_display="esc", tooltip="Close the gradient check")]

    def __init__(self, title: str, fetch: SourceFetch, **kwargs) -> None:
        """`fetch` brings the network and the test set (EngineError explains why it cannot):
        the screen shows `title` and a loading indicator until the check is done."""
        super().__init__(**kwargs)
        self.title_text = title
        self.fetch = fetch
        self.source: InspectSource | None = None  # both set when the `check` worker succeeds
        self.checks: list[LayerCheck] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Gradient check"
            yield Static(self.title_text, id="title", markup=False)
            yield Static("", id="layers", markup=False)
            yield Static("comparing backprop with finite differences…", id="verdict", markup=False)
            yield Static("esc closes", id="hint")

    def on_mount(self) -> None:
        self.query_one("#layers").loading = True
        self.check()

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def check(self) -> tuple[InspectSource, list[LayerCheck]]:
        # The fetch may be a trip to the trainer, on the app's loop; the finite differences run
        # on a thread, never on the UI's (a thread worker waiting on the loop could outlive it).
        source = await self.fetch()
        images, labels = source.images[:IMAGES], source.labels[:IMAGES]
        checks = await asyncio.to_thread(
            gradient_check, source.network, images, labels, source.normalizer
        )
        return source, checks

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "analysis":
            return
        if event.state == WorkerState.SUCCESS:
            self.query_one("#layers").loading = False
            self.source, self.checks = event.worker.result
            sizes = self.source.network.sizes
            count = min(IMAGES, len(self.source.labels))
            self.query_one("#title", Static).update(f"{self.source.title} · {count} test images")
            self.query_one("#layers", Static).update("\n".join(layer_row(c, sizes) for c in self.checks))
            self.query_one("#verdict", Static).update(verdict(self.checks))
        elif event.state == WorkerState.ERROR:
            self.query_one("#layers").loading = False
            self.query_one("#verdict", Static).update(f"no gradient check: {event.worker.error}")
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))
