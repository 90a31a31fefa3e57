"""The keys that open the views of one network (draw, confusion, weights, health, gradient check),
shared by the screens that show a network: the training screen (the run's live weights) and the
inspector (its own). A view of a run also gets the run's folder, to replay its past epochs."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.epoch_replay import EpochReplay
from tui_mnist.tui.screens.source_view import SourceFetch

VIEW_BINDINGS = [
    Binding("w", "draw", "draw", show=False,
            tooltip="Draw a digit and see what the network makes of it"),
    Binding("x", "confusion", "confusion", show=False,
            tooltip="Confusion matrix: per epoch on the validation set, or now on the test set"),
    Binding("u", "weights", "weights", show=False,
            tooltip="The network's weights: first-layer units as images, deeper layers as strips"),
    Binding("h", "health", "health", show=False,
            tooltip="Health per layer and epoch: norms, update sizes, dead units, with hints"),
    Binding("G", "gradcheck", "gradient check", show=False,
            tooltip="Check backprop against finite differences, layer by layer"),
]
VIEW_ACTIONS = tuple(binding.action for binding in VIEW_BINDINGS)


def view_of(view: type[Screen], title: str, fetch: SourceFetch, records: RunFolder | None) -> Screen:
    """The view on the network `fetch` brings; one that replays epochs also gets the run's
    folder (None: a network without a run, or a run without a folder yet)."""
    if issubclass(view, EpochReplay):
        return view(title, fetch, records=records)
    return view(title, fetch)


class NetworkViews:
    """Mixin for a screen that shows a network: `open_view` says how a view gets it (see
    `view_of`)."""

    def open_view(self, view: type[Screen]) -> None:
        raise NotImplementedError

    # The views import the inspector (its InspectSource), which uses this mixin: imported late.
    def action_draw(self) -> None:
        from tui_mnist.tui.screens.draw import DrawScreen

        self.open_view(DrawScreen)

    def action_confusion(self) -> None:
        from tui_mnist.tui.screens.confusion import ConfusionScreen

        self.open_view(ConfusionScreen)

    def action_weights(self) -> None:
        from tui_mnist.tui.screens.weights import WeightsScreen

        self.open_view(WeightsScreen)

    def action_health(self) -> None:
        from tui_mnist.tui.screens.health import HealthScreen

        self.open_view(HealthScreen)

    def action_gradcheck(self) -> None:
        from tui_mnist.tui.screens.gradcheck import GradcheckScreen

        self.open_view(GradcheckScreen)
