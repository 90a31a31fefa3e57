"""The whole path a user takes, by keys alone: edit a setting on the configure screen, start,
pause, step, resume, stop, inspect the live weights, go back, and start again."""

from __future__ import annotations

from fakes import make_app, until

from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.inspector import InspectorScreen
from tui_mnist.tui.screens.training import TrainingScreen


async def test_configure_train_inspect_and_back():
    app = make_app(batches_per_epoch=50, delay=0.004)
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        assert isinstance(configure, ConfigureScreen)
        await pilot.press("end", "backspace", "backspace", "3", "2")  # hidden layers: 16 -> 32
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        training = app.screen
        assert training.config.hidden == (32,)
        await until(pilot, lambda: training.state == "running")
        assert training.session._trainer.network.sizes == (784, 32, 10)

        await pilot.press("space")
        await until(pilot, lambda: training.state == "paused")
        paused_at = training.history.latest.step
        await pilot.press("n")
        await until(pilot, lambda: training.history.latest.step == paused_at + 1)
        await pilot.press("space")
        await until(pilot, lambda: training.history.latest.step > paused_at + 1)
        await pilot.press("s")
        await until(pilot, lambda: training.state == "stopped")

        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        inspector = app.screen
        assert inspector.source.network.sizes == (784, 32, 10)
        await pilot.press("j")
        assert inspector.position == 1
        await pilot.press("escape")
        assert app.screen is training
        await pilot.press("escape")
        assert app.screen is configure
        assert configure.query_one("#hidden").value == "32"  # the settings survive the run

        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen is not training)
        assert isinstance(app.screen, TrainingScreen)
        assert app.screen.config == training.config


async def test_the_first_screen_is_styled_by_its_own_stylesheet():
    # Textual does not load the default screen's CSS_PATH by itself; the app must.
    app = make_app(batches_per_epoch=5, delay=0.0)
    async with app.run_test(size=(80, 24)):
        presets = app.screen.query_one("#presets")
        assert presets.styles.height.value == 1
        assert presets.styles.margin.bottom == 1
