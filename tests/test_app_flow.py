"""The whole path a user takes, by keys alone: edit a setting on the configure screen, start,
pause, step one batch, resume, stop, inspect the weights, go back, and start again.

On both sessions: the in-process ThreadSession on a fake trainer, and the DetachedSession the
app trains with by default, on a real tiny run in a process of its own (the small MNIST of
conftest's `small_data`).
"""

from __future__ import annotations

import pytest
from fakes import SLOW, fast_config, make_app, predicted, status_text, until

from tui_mnist.session.detached import DetachedSession
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.training import TrainingScreen

# How long a paused run is watched for (the absence of) progress: an observation window, not a
# wait for anything (a slow machine makes it less telling, never failing).
QUIET = 0.1


def on_a_fake_trainer():
    """50 batches an epoch, 4 ms each: long enough to catch mid-run."""
    # val 1000: the settings refuse more than runs_env's 3000 training images hold.
    return make_app(initial=fast_config(epochs=1000, val=1000), batches_per_epoch=50, delay=0.004)


def on_a_detached_trainer():
    """A real run of 2000 batches an epoch (~0.2 s): the test, not the run, decides its end."""
    return make_app(session_factory=DetachedSession.new, initial=SLOW.with_changes(epochs=500))


@pytest.mark.parametrize(
    ("new_app", "batches"),
    [(on_a_fake_trainer, 50), (on_a_detached_trainer, 2000)],
    ids=["thread", "detached"],
)
async def test_configure_train_inspect_and_back(new_app, batches, runs_env):
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        assert isinstance(configure, ConfigureScreen)
        await pilot.press("tab", "tab", "tab")  # past the three presets, where focus starts
        await pilot.press("end", "backspace", "backspace", "3", "2")  # hidden layers: 16 -> 32
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        training = app.screen
        assert training.config.hidden == (32,)
        await until(pilot, lambda: training.view.latest is not None)
        started = training.view.started
        assert (started.architecture, started.batches_per_epoch) == ("784-32-10", batches)

        await pilot.press("space")
        await until(pilot, lambda: training.state == "paused")
        assert "paused" in status_text(training)
        paused_at = training.view.latest.step
        await pilot.press("n")
        await until(pilot, lambda: training.view.latest.step == paused_at + 1)
        await pilot.pause(QUIET)
        assert training.view.latest.step == paused_at + 1  # exactly one batch
        assert training.state == "paused"
        latest = training.view.latest
        batch_label, batch_done = training.query_one("#bars").parts[1]
        assert batch_label == f"batch {latest.batch}/{batches}"
        assert batch_done == latest.batch / batches

        await pilot.press("space")
        await until(pilot, lambda: training.state == "running")
        await until(pilot, lambda: training.view.latest.step > paused_at + 1)
        await pilot.press("s")
        await until(pilot, lambda: training.state == "stopped")
        finished = training.view.finished
        assert finished.stopped
        assert training.query_one("#result").display

        await pilot.press("i")
        inspector = await predicted(pilot)
        assert inspector.source.network.sizes == (784, 32, 10)
        step = training.view.latest.step
        assert inspector.source.title == f"live weights, epoch {finished.epochs_completed}, step {step}"
        await pilot.press("j")
        assert inspector.position == 1
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is training)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is configure)
        assert configure.query_one("#hidden").value == "32"  # the settings survive the run

        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen not in (configure, training))
        again = app.screen
        assert isinstance(again, TrainingScreen) and again.config == training.config
        await until(pilot, lambda: again.view.latest is not None)
        await pilot.press("s")
        await until(pilot, lambda: again.state == "stopped")


async def test_the_first_screen_is_styled_by_its_own_stylesheet():
    # Textual does not load the default screen's CSS_PATH by itself; the app must.
    app = make_app(batches_per_epoch=5, delay=0.0)
    async with app.run_test(size=(80, 24)):
        presets = app.screen.query_one("#presets")
        assert presets.styles.height.value == 1
        assert presets.styles.margin.bottom == 1
