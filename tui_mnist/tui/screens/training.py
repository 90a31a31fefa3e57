"""The training screen: live charts and numbers of one run, and the keys that steer it."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Digits, Footer, Static

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.engine.published import closest_mlp
from tui_mnist.live.events import (
    FINAL_STATES,
    Batches,
    Event,
    LearningRateScaled,
    RunFailed,
    RunStarted,
    StateChanged,
    final_state,
)
from tui_mnist.live.text import how_far
from tui_mnist.session.protocol import CommandRefused, Session
from tui_mnist.tui.screens.inspector import InspectorScreen, InspectSource
from tui_mnist.tui.screens.network_views import VIEW_ACTIONS, VIEW_BINDINGS, NetworkViews, view_of
from tui_mnist.tui.screens.save_dialog import SaveDialog
from tui_mnist.tui.training_view import TrainingView, duration
from tui_mnist.tui.widgets.chart import Axes, Chart, Reference, Series, redraw_pause
from tui_mnist.tui.widgets.epoch_table import EpochTable
from tui_mnist.tui.widgets.progress_line import ProgressLine

# While a run goes, numbers repaint at most every REPAINT_INTERVAL seconds, and charts as
# widgets.chart.redraw_pause allows: every repaint is Python on the UI thread, taken from the
# trainer's share of the two cores (and on two BLAS threads it stalls both). At 0.25 s the app
# used 9 % of a core, at 0.5 s 5 %, and the run went from 0.84 to 0.96 of its headless speed
# (benchmarks/app_throughput.py). Answers to keys and state changes are shown at once; nothing
# is repainted while a view is on top.
REPAINT_INTERVAL = 0.5
LR_FACTOR = 1.25
ACTIVE = ("loading", "running", "paused", "stopping")
STEP_KEYS = Binding.Group("step")  # n and N: one footer entry, "n N step"


class TrainingScreen(NetworkViews, Screen):
    CSS_PATH = "training.tcss"
    TITLE = "Training"
    BINDINGS = [
        # The footer shows the keys that apply now (check_action hides the others) and must fit
        # 80 columns in every state: the rarer keys are in the help (f1) and the palette only.
        Binding("space", "pause", "pause", tooltip="Pause training"),
        Binding("space", "resume", "resume", tooltip="Resume training"),
        Binding("n", "step('batch')", "step", tooltip="Train one batch (while paused)",
                group=STEP_KEYS),
        Binding("N", "step('epoch')", "step epoch", key_display="N",
                tooltip="Train to the end of the epoch (while paused)", group=STEP_KEYS),
        Binding("s", "stop", "stop", tooltip="Stop: finish with a test evaluation"),
        Binding("plus", f"scale_lr({LR_FACTOR})", "lr+", key_display="+", show=False,
                tooltip=f"Multiply the learning rate by {LR_FACTOR}"),
        Binding("minus", f"scale_lr({1 / LR_FACTOR})", "lr-", key_display="-", show=False,
                tooltip=f"Divide the learning rate by {LR_FACTOR}"),
        Binding("z", "toggle_zoom", "zoom", show=False,
                tooltip="Zoom both charts to the latest epoch, or back out to the whole run"),
        Binding("l", "toggle_log", "log", show=False,
                tooltip="Draw the loss on a log scale, or a linear one"),
        Binding("i", "inspect", "inspect", tooltip="Inspect the current weights on the test set"),
        *VIEW_BINDINGS,
        Binding("ctrl+s", "save", "save", tooltip="Save the model to a file"),
        Binding("escape,c", "back", "back",
                tooltip="Back to the settings (once the run has ended)"),
        Binding("d", "detach", "detach",
                tooltip="Quit, leaving the run training in the background "
                "(`tui-mnist attach` reconnects)"),
        # The app's ctrl+o, kept out of this footer (f1 and the palette list it).
        Binding("ctrl+o", "app.runs", "runs", show=False,
                tooltip="List the runs: compare them, attach to a live one, resume one"),
    ]

    # From this height on, the per-epoch table is shown below the charts.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    state: reactive[str] = reactive("loading")

    def __init__(
        self,
        config: TrainConfig,
        session: Session,
        clock: Callable[[], float] = time.monotonic,
        attached: bool = False,
    ) -> None:
        """`attached`: a run this window did not start, which esc leaves training."""
        super().__init__()
        self.config = config
        self.session = session
        self.attached = attached
        self.clock = clock
        self.view = TrainingView(config.epochs)
        # The view has news that the numbers / the charts do not show yet.
        self._numbers_stale = self._charts_stale = False
        self._charts_due = 0.0  # perf_counter time before which the charts are not redrawn
        self._elapsed = 0.0  # seconds spent running, before `_running_since`
        self._running_since: float | None = None
        self.save_path = SaveDialog().path
        self._shown: dict[str, str] = {}  # selector -> the text it shows
        self._allowed: dict[str, bool] = {}  # what the footer was last built for
        self.log_loss = True  # the loss chart's y scale (l toggles)
        self.zoomed = False  # both charts on the latest epoch only (z toggles)

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ProgressLine(id="bars")
        yield Static(id="stats")
        with Horizontal(id="result"):
            yield Digits(id="result-digits")
            yield Static(id="result-text")
        with Horizontal(id="charts"):
            yield Chart("loss", id="loss-chart")
            yield Chart("accuracy %", id="accuracy-chart")
        yield EpochTable(id="epochs")
        yield Footer(compact=True, show_command_palette=False)  # f1 lists ctrl+p

    def on_mount(self) -> None:
        self.set_interval(REPAINT_INTERVAL, self._tick)
        self._show_numbers()
        self.query_one("#epochs", EpochTable).show(self.view.epoch_rows)
        # Laying out and drawing the screen first keeps that work out of the run's time.
        self.call_after_refresh(self.follow_session)

    @work(exclusive=True, group="session")
    async def follow_session(self) -> None:
        await self.session.start(self.config)
        async for event in self.session.events():
            self.apply(event)

    def apply(self, event: Event) -> None:
        view = self.view
        if isinstance(event, Batches):
            view.add_batches(event.records)
        elif isinstance(event, EpochProgress):
            view.add_epoch(event)
            self.query_one("#epochs", EpochTable).show(view.epoch_rows)
        elif isinstance(event, StateChanged):
            if self.state != "stopping":  # a stop outranks a pause still in the queue
                self.state = event.state
        elif isinstance(event, RunStarted):
            view.start(event)
            if self.state == "loading":
                self.state = "running"
        elif isinstance(event, LearningRateScaled):
            view.lr, view.lr_scale = event.lr, event.scale
        elif isinstance(event, RunFinished):
            view.finished = event
            self.state = final_state(event)
            self._show_result()
        elif isinstance(event, RunFailed):
            self.state = "failed"
            self.notify(event.message, title="Training failed", severity="error", timeout=10)
            self._show_failure(event.message)
        elif isinstance(event, CommandRefused):
            self.notify(event.message, severity="warning")
            return
        self._numbers_stale = self._charts_stale = True
        # A key's answer, shown at once (unless a view is on top: then at the next tick there).
        if (self.state != "running" or isinstance(event, LearningRateScaled)) and self.is_current:
            self._show_numbers()
            self._plot()

    def watch_state(self, old: str, new: str) -> None:
        now = self.clock()
        if old == "running" and self._running_since is not None:
            self._elapsed += now - self._running_since
            self._running_since = None
        if new == "running":
            self._running_since = now
        self.set_class(new in FINAL_STATES, "-ended")
        self.set_class(new == "failed", "-failed")
        allowed = self.allowed_actions()
        if allowed != self._allowed:  # rebuilding the footer is costly: only on a change
            self._allowed = allowed
            self.refresh_bindings()
        self._show_numbers()

    def elapsed(self) -> float:
        running = self.clock() - self._running_since if self._running_since is not None else 0.0
        # The run's own count wins when it began before this screen (attached, resumed).
        trained = self.view.latest.seconds if self.view.latest else 0.0
        return max(self._elapsed + running, trained)

    def _show_numbers(self) -> None:
        if not self.is_mounted:
            return
        self._numbers_stale = False
        view, config, latest = self.view, self.config, self.view.latest
        lr = view.lr if view.lr is not None else config.lr
        scale = f" (×{view.lr_scale:.3g})" if view.lr_scale != 1 else ""
        # The network's input and output sizes are the data's: known once the run has started.
        network = f"{view.started.architecture} " if view.started else ""
        self._show(
            "#status",
            f"[reverse b] {self.state} [/]   {network}"
            f"{config.activation} · {config.optimizer} · batch {config.batch_size}"
            f"   lr {lr:.4g}{scale}",
        )
        epoch = latest.epoch if latest else 0
        batch, batches = (latest.batch, latest.batches) if latest else (0, 0)
        self.query_one("#bars", ProgressLine).show([
            (f"epoch {epoch}/{view.epochs}", view.epochs_done / view.epochs),
            (f"batch {batch}/{batches}", batch / batches if batches else 0.0),
        ])
        self._show_times()

    def _show_times(self) -> None:
        rate = self.view.samples_per_second
        eta = self.view.eta_seconds if self.state in ACTIVE else None
        run = f"   run {self.session.run_id}" if self.session.run_id else ""
        self._show(
            "#stats",
            (f"{rate:,.0f} samples/s" if rate else "-- samples/s")
            + f"   elapsed {duration(self.elapsed())}   ETA {duration(eta)}{run}",
        )

    def _show(self, selector: str, text: str) -> None:
        """Update a one-line Static only when its text changed, and never relayout it (its
        size is fixed by the CSS): every repaint costs the training thread."""
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            self.query_one(selector, Static).update(text, layout=False)

    def _tick(self) -> None:
        if not self.is_current:  # under a view: repainted once it is on top again
            return
        if self._numbers_stale:
            self._show_numbers()
        elif self.state == "running":
            self._show_times()
        if self._charts_stale and time.perf_counter() >= self._charts_due:
            self._plot()

    def _plot(self) -> None:
        self._charts_stale = False
        h = self.view
        loss = self.query_one("#loss-chart", Chart)
        accuracy = self.query_one("#accuracy-chart", Chart)
        self._charts_due = time.perf_counter() + redraw_pause([loss, accuracy])
        window = h.recent_window() if self.zoomed else None
        per_epoch = h.started.batches_per_epoch if h.started else 0
        loss.plot([
            Series("train (smoothed)", h.train_x, h.train_loss, "hd", "cyan"),
            Series("val", h.val_x, h.val_loss, "x", "red"),
        ], Axes(log_y=self.log_loss, x_range=window, batches_per_epoch=per_epoch))
        accuracy.plot([
            Series("train (smoothed)", h.train_x, h.train_acc, "hd", "cyan"),
            Series("val", h.val_x, h.val_acc, "x", "red"),
        ], Axes(x_range=window, batches_per_epoch=per_epoch, reference=self.paper_line()))

    def paper_line(self) -> Reference | None:
        """The published test accuracy of the classic MLP closest to this run's network (known
        once the run has started: the data sets its input size), or None when none is close."""
        if self.view.started is None:
            return None
        sizes = [int(size) for size in self.view.started.architecture.split("-")]
        paper = closest_mlp(sizes)
        return None if paper is None else Reference(paper.label, paper.test_accuracy, paper.short_label)

    def action_toggle_zoom(self) -> None:
        self.zoomed = not self.zoomed
        self._plot()

    def action_toggle_log(self) -> None:
        self.log_loss = not self.log_loss
        self._plot()

    def _show_result(self) -> None:
        finished = self.view.finished
        # Stopped: how far it got, down to the batch ("stopped in epoch 1 after 806 of 860").
        how = f"finished {finished.epochs_completed} epochs"
        if finished.stopped:
            how = how_far(finished)
        self.query_one("#result-digits", Digits).update(f"{100 * finished.test_acc:.2f}")
        self.query_one("#result-text", Static).update(
            f"[b]% test accuracy[/b]\n{how},"
            f" {duration(finished.seconds)} training\nctrl+s save · i inspect · esc settings"
        )

    def _show_failure(self, message: str) -> None:
        self.query_one("#result-digits", Digits).display = False
        self.query_one("#result-text", Static).update(
            f"[b]training failed[/b]: {message}\n"
            "esc: back to the settings to change them and start again"
        )

    def allowed_actions(self) -> dict[str, bool]:
        # Loading allows what running does (a pause or an lr change waits for the first batch),
        # so the footer need not be rebuilt, at a cost to the run, when training starts.
        state, started = self.state, self.view.started is not None
        return {
            "pause": state in ("loading", "running"),
            "resume": state == "paused",
            "step": state == "paused",
            "stop": state in ("loading", "running", "paused"),
            "scale_lr": state in ("loading", "running", "paused"),
            "inspect": state != "failed",
            **dict.fromkeys(VIEW_ACTIONS, state != "failed"),
            "save": started and state in ("paused", "stopped", "finished"),
            "back": state in FINAL_STATES or self.attached,
            "detach": self.session.detachable and state in ("running", "paused"),
        }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allowed_actions().get(action, True)

    def action_pause(self) -> None:
        self.session.pause()

    def action_resume(self) -> None:
        self.session.resume()

    def action_step(self, unit: str) -> None:
        self.session.step(unit)

    def action_stop(self) -> None:
        self.session.stop()
        self.state = "stopping"

    def action_scale_lr(self, factor: float) -> None:
        self.session.scale_lr(factor)

    def action_inspect(self) -> None:
        # Open first: the weights' trip from the trainer happens in the inspector's worker.
        self.app.push_screen(InspectorScreen(self.weights_title, self.live_weights, records=self.session.folder))

    def open_view(self, view: type[Screen]) -> None:
        self.app.push_screen(view_of(view, self.weights_title, self.live_weights, self.session.folder))

    weights_title = "live weights"  # what the views say they show until the weights are there

    async def live_weights(self) -> InspectSource:
        snapshot = await self.session.snapshot()
        if snapshot is None:
            raise EngineError("no weights yet: the run has not started")
        return InspectSource.of_snapshot(snapshot)

    def action_save(self) -> None:
        self.app.push_screen(SaveDialog(self.save_path), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if path is not None:
            self.save_path = path
            self.save_model(path)

    @work(group="save")
    async def save_model(self, path: str) -> None:
        try:
            saved = await self.session.save_model(path)
        except EngineError as error:
            self.notify(str(error), title="Not saved", severity="error", timeout=10)
        except OSError as error:  # whatever the way to the file, a notice, never a crash
            reason = error.strerror or error
            self.notify(f"{path}: cannot write ({reason})", title="Not saved", severity="error", timeout=10)
        else:
            self.notify(f"saved to {saved}", title="Model saved")

    def action_back(self) -> None:
        self.dismiss()

    def action_detach(self) -> None:
        from tui_mnist.tui.screens.runs import RunsScreen

        if isinstance(self.app.screen_stack[-2], RunsScreen):  # opened from the runs list
            self.dismiss()  # back to it; the app lets go of the run, which goes on
            return
        run = self.session.run_id
        message = f"Run {run} goes on training in the background: tui-mnist attach {run}"
        self.notify(message, title="Detached")
        self.app.exit(message=message)  # the app's exit never stops a detachable run
