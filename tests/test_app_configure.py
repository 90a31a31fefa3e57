"""The configure screen, driven by key presses in a host app that records what it is asked to do
(or in the real app, for its own keys and the runs list)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import make_app, paste, retype, tab_to, until
from textual.app import App
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from tui_mnist.engine import memory
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.idx import IMAGE_MAGIC, SPLITS
from tui_mnist.engine.layer_sizes import architecture, parameter_count
from tui_mnist.engine.presets import PRESETS
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.edit_settings import EditSettingsScreen
from tui_mnist.tui.screens.help import HelpScreen
from tui_mnist.tui.screens.runs import RunsScreen


class Host(App):
    def __init__(self, initial: TrainConfig | None = None) -> None:
        super().__init__()
        self.initial = initial or TrainConfig()
        self.started: list[TrainConfig] = []

    def on_mount(self) -> None:
        self.push_screen(ConfigureScreen(self.initial))

    def on_configure_screen_start_requested(self, message: ConfigureScreen.StartRequested) -> None:
        self.started.append(message.config)


def shown(app: App, widget_id: str) -> str:
    return str(app.screen.query_one(widget_id, Static).render())


def footer_keys(app: App) -> set[str]:
    """The keys the footer offers on the screen now (greyed out ones included)."""
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show}


def write_idx_headers(folder: Path, stems: tuple[str, ...], images: int = 1) -> None:
    """IDX files of `images` 28x28 images by name: a header is all the form reads of them."""
    header = IMAGE_MAGIC.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (images, 28, 28))
    for stem in stems:
        (folder / stem).write_bytes(header)


def start_disabled(app: App) -> bool:
    return app.screen.query_one("#start", Button).disabled


async def test_an_invalid_field_names_itself_and_blocks_start_until_fixed():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        assert "all settings valid" in shown(app, "#problems")
        assert not start_disabled(app)

        await retype(pilot, "#hidden", "12a")
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
    app = Host(TrainConfig(warmup_epochs=2.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "#hidden", "-1")  # issue 11: this was "not a number"
        assert shown(app, "#problems") == "✗ hidden layers: a layer must have at least 1 unit, not -1"
        await retype(pilot, "#hidden", "128")
        await retype(pilot, "#lr", "0")
        await retype(pilot, "#epochs", "2.5")
        await retype(pilot, "#data_dir", "gone")
        await retype(pilot, "#dropout", "1")
        problems = shown(app, "#problems")
        assert "learning rate must be a positive number" in problems
        assert "dropout must be in [0, 0.95]" in problems
        assert 'epochs: "2.5" is not a whole number' in problems
        assert 'data directory: "gone" is not a directory' in problems
        assert start_disabled(app)

        await retype(pilot, "#lr", "0.1")
        await retype(pilot, "#epochs", "2")
        await retype(pilot, "#data_dir", "")
        await retype(pilot, "#dropout", "0.5")
        # Each field is fine alone; together with the warmup of 2 epochs the run is not.
        assert shown(app, "#problems") == "✗ warmup must be shorter than the run"
        assert start_disabled(app)


async def test_a_preset_fills_every_field_and_the_summary_follows():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")  # on arrival: focus is on the presets, not in a text field
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
        await retype(pilot, "#hidden", "64, 32")
        await retype(pilot, "#lr", "0.05")
        await retype(pilot, "#batch_size", "32")
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


async def test_on_arrival_the_screens_keys_act_instead_of_being_typed():
    """Issue 11: focus started in "hidden layers" with its text selected, so 2 (the fast preset)
    made the network 784-2-10, and ? and y were typed into the field too."""
    app = make_app()  # the real app: ? (help) is its key
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        assert {"1", "2", "3", "y", "ctrl+r"} <= footer_keys(app)
        await pilot.press("2")
        await pilot.pause()
        fast = PRESETS["fast"][1]
        assert configure.query_one("#hidden", Input).value == "256"
        assert configure.query_one("#nesterov", Select).value is True
        await pilot.press("y")
        assert app.clipboard == fast.command_line()
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the key help")
        assert configure.query_one("#hidden", Input).value == "256"


async def test_the_focused_field_stands_out_and_its_label_is_marked():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await tab_to(pilot, "#lr")
        screen = app.screen
        lr, epochs = screen.query_one("#lr", Input), screen.query_one("#epochs", Input)
        assert lr.styles.background != epochs.styles.background  # was a 5 % tint of the same
        assert screen.query_one("#label-lr", Label).has_class("-focused")
        await tab_to(pilot, "#schedule")
        assert not screen.query_one("#label-lr", Label).has_class("-focused")
        assert screen.query_one("#label-schedule", Label).has_class("-focused")
        assert lr.styles.background == epochs.styles.background


async def test_esc_in_a_field_goes_back_to_the_presets_where_the_screens_keys_act():
    app = make_app()  # the real app: the settings are its first screen, esc there has no other use
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        await retype(pilot, "#hidden", "64")
        await pilot.press("escape")
        assert app.focused is configure.query_one("#preset-classic")
        assert configure.query_one("#hidden", Input).value == "64"
        await pilot.press("2")  # a preset now, not a "2" typed into the field
        await pilot.pause()
        assert configure.query_one("#hidden", Input).value == "256"

        optimizer = configure.query_one("#optimizer", Select)
        optimizer.focus()
        await pilot.press("enter")
        await until(pilot, lambda: optimizer.expanded, what="the list open")
        await pilot.press("escape")  # closes the list first
        await until(pilot, lambda: not optimizer.expanded, what="the list closed")
        assert app.focused is optimizer
        await pilot.press("escape")
        assert app.focused is configure.query_one("#preset-classic")

        await pilot.press("escape")  # on the presets: nothing to leave
        await pilot.pause()
        assert app.screen is configure and app.focused is configure.query_one("#preset-classic")


async def test_esc_in_a_field_of_a_runs_settings_goes_to_the_presets_then_back():
    back = Host()  # under the form, as the runs list is
    async with back.run_test(size=(80, 24)) as pilot:
        settings = await until(pilot, lambda: isinstance(back.screen, ConfigureScreen) and back.screen,
                               what="the first screen")
        form = EditSettingsScreen(TrainConfig(), "20250101-000000-abcd")
        await back.push_screen(form)
        await retype(pilot, "#lr", "0.5")
        await pilot.press("escape")
        assert back.screen is form and back.focused is form.query_one("#preset-classic")
        await pilot.press("escape")
        await until(pilot, lambda: back.screen is settings, what="the screen under the form")


@pytest.mark.parametrize("where", ["weight_decay", "schedule", "threads", "preset-best"])
async def test_back_from_the_runs_list_focus_is_where_it_was(where):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        await tab_to(pilot, f"#{where}")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs list")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is configure, what="the settings")
        await pilot.pause()
        assert app.focused is configure.query_one(f"#{where}")


async def test_settings_once_only_on_the_command_line_are_set_in_the_form():
    """Issue 11: the fast preset turns Nesterov on, and the form could not turn it off; threads,
    warmup and dtype were not in the form either."""
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await tab_to(pilot, "#nesterov")
        await pilot.press("enter", "up", "enter")  # yes -> no
        await tab_to(pilot, "#warmup_epochs")
        await pilot.press(*"0.5")  # over the text, which tab selected
        await tab_to(pilot, "#dtype")
        await pilot.press("enter", "down", "enter")  # float32 -> float64
        await tab_to(pilot, "#threads")
        await pilot.press("1")
        await pilot.pause()
        expected = PRESETS["fast"][1].with_changes(nesterov=False, warmup_epochs=0.5, dtype="float64", threads=1)
        assert app.screen.query_one("#command", TextArea).text == expected.command_line()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.started == [expected]


async def test_a_data_directory_must_hold_the_four_idx_files(tmp_path):
    """Issue 11: a folder without them got a ✓, then the run failed after ctrl+r."""
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "#data_dir", "")
        await paste(pilot, str(tmp_path))  # a path is pasted more often than typed
        assert shown(app, "#problems") == f"✗ data directory: no MNIST IDX files in {tmp_path}"
        assert start_disabled(app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.started == []

        write_idx_headers(tmp_path, SPLITS["train"][:1])
        await pilot.press("/")  # the same folder, checked again
        await pilot.pause()
        others = ", ".join((SPLITS["train"][1], *SPLITS["test"]))
        assert shown(app, "#problems") == f"✗ data directory: {tmp_path} has no {others} (.gz or plain)"

        write_idx_headers(tmp_path, (SPLITS["train"][1], *SPLITS["test"]))
        await pilot.press("backspace")
        await pilot.pause()
        # One training image: the default 5000 held out for validation would leave none.
        assert shown(app, "#problems") == "✗ validation size must be less than the 1 training images"
        await retype(pilot, "#val", "0")
        assert shown(app, "#problems") == "✓ all settings valid"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert [config.data_dir for config in app.started] == [str(tmp_path)]


async def test_the_memory_a_run_needs_is_shown_and_warned_about_before_the_guard_refuses(monkeypatch):
    """Issue 11: 512,256256 (134 M parameters) was accepted without a word."""
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * 10**9)  # 6.4 GB usable
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        assert shown(app, "#parameters") == "network 784-128-10: 101,770 parameters · needs about 6 MB"
        await retype(pilot, "#hidden", "512,256256")
        count = parameter_count((784, 512, 256256, 10))
        assert shown(app, "#parameters") == f"network 784-512-256256-10: {count:,} parameters · needs about 3.9 GB"
        assert shown(app, "#problems") == (
            "✓ all settings valid\n⚠ training needs about 3.9 GB, over 25% of the 6.4 GB that can be used here"
        )
        assert not start_disabled(app)

        await pilot.press("0")  # the guard would refuse this one: the form does
        await pilot.pause()
        assert shown(app, "#problems") == (
            "✗ training a 784-512-2562560-10 network needs about 39.2 GB, more than the 6.4 GB that can "
            "be used here: use fewer or narrower hidden layers, or a smaller batch"
        )
        assert start_disabled(app)
