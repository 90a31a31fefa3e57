"""The configure screen, driven by key presses in a host app that records what it is asked to do."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button, Input, Select, Static, TextArea

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.presets import PRESETS
from tui_mnist.tui.screens.configure import ConfigureScreen


class Host(App):
    def __init__(self, initial: TrainConfig | None = None) -> None:
        super().__init__()
        self.initial = initial or TrainConfig()
        self.started: list[TrainConfig] = []

    def on_mount(self) -> None:
        self.push_screen(ConfigureScreen(self.initial))

    def on_configure_screen_start_requested(self, message: ConfigureScreen.StartRequested) -> None:
        self.started.append(message.config)


async def retype(pilot, field: str, text: str) -> None:
    """Focus a text field, delete what is there and type `text`, as a user would."""
    pilot.app.screen.query_one(f"#{field}", Input).focus()
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


def shown(app: App, widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).render())


def start_disabled(app: App) -> bool:
    return app.screen.query_one("#start", Button).disabled


async def test_an_invalid_field_names_itself_and_blocks_start_until_fixed():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        assert "all settings valid" in shown(app, "#problems")
        assert not start_disabled(app)

        await retype(pilot, "hidden", "12a")
        assert 'hidden layers: "12a" is not a number' in shown(app, "#problems")
        assert start_disabled(app)
        assert "fix the hidden layers" in shown(app, "#parameters")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.started == []

        await pilot.press("backspace")
        await pilot.pause()
        assert "all settings valid" in shown(app, "#problems")
        assert not start_disabled(app)
        assert "784-12-10: 9,550 parameters" in shown(app, "#parameters")


async def test_range_rules_come_from_the_config():
    app = Host(TrainConfig(warmup_epochs=2.0))  # a setting the form does not show
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "lr", "0")
        await retype(pilot, "epochs", "2.5")
        await retype(pilot, "data_dir", "no-such-dir")
        await retype(pilot, "dropout", "1")
        problems = shown(app, "#problems")
        assert "learning rate must be a positive number" in problems
        assert "dropout must be in [0, 1)" in problems
        assert 'epochs: "2.5" is not a whole number' in problems
        assert 'data directory: "no-such-dir" is not a directory' in problems
        assert start_disabled(app)

        await retype(pilot, "lr", "0.1")
        await retype(pilot, "epochs", "2")
        await retype(pilot, "data_dir", "")
        await retype(pilot, "dropout", "0.5")
        # Each field is fine alone; together with the hidden warmup the run is not.
        assert shown(app, "#problems") == "✗ warmup must be shorter than the run"
        assert start_disabled(app)


async def test_a_preset_fills_every_field_and_the_summary_follows():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#activation", Select).focus()  # digits type into text fields
        await pilot.press("3")
        await pilot.pause()
        best = PRESETS["best"][1]
        screen = app.screen
        assert screen.query_one("#hidden", Input).value == ",".join(map(str, best.hidden))
        assert screen.query_one("#epochs", Input).value == str(best.epochs)
        assert screen.query_one("#schedule", Select).value == best.schedule
        assert screen.query_one("#augment", Select).value == best.augment
        assert screen.query_one("#dropout", Input).value == str(best.dropout) != "0.0"
        assert screen.query_one("#standardize", Select).value is True
        sizes = (784, *best.hidden, 10)
        weights_and_biases = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
        assert f"{architecture(sizes)}: {weights_and_biases:,} parameters" in shown(app, "#parameters")
        assert screen.query_one("#command", TextArea).text == best.command_line()
        await pilot.press("y")
        assert app.clipboard == best.command_line()


async def test_start_posts_the_config_the_form_shows():
    app = Host(TrainConfig(warmup_epochs=1.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "hidden", "64, 32")
        await retype(pilot, "lr", "0.05")
        await retype(pilot, "batch_size", "32")
        app.screen.query_one("#optimizer", Select).focus()
        await pilot.press("enter", "down", "enter")  # momentum -> adam
        await pilot.pause()
        expected = TrainConfig(
            hidden=(64, 32), lr=0.05, batch_size=32, optimizer="adam", warmup_epochs=1.0
        )
        command = app.screen.query_one("#command", TextArea).text
        assert command == expected.command_line()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.started == [expected]
