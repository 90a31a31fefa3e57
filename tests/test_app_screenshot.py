"""ctrl+t: an SVG picture of whichever screen is shown, in the screenshots folder
($TUI_MNIST_SCREENSHOTS here: a temporary one), its path told; a folder that cannot be written
is an error notice, and the app goes on."""

from __future__ import annotations

import pytest
from fakes import RecordingApp, until

from tui_mnist.tui.app import SCREENSHOTS_ENV
from tui_mnist.tui.screens.help import key_help


@pytest.fixture
def shots(tmp_path, monkeypatch):
    folder = tmp_path / "pictures" / "tui-mnist"  # not there yet: the key creates it
    monkeypatch.setenv(SCREENSHOTS_ENV, str(folder))
    return folder


async def test_ctrl_t_saves_an_svg_of_the_screen_and_says_where(shots):
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.screen.query_one("#hidden")
        field.focus()  # a text field does not swallow the key
        typed = field.value
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.notes, what="the notice")
        (picture,) = shots.glob("*.svg")
        assert app.notes == [("information", str(picture))]
        assert picture.name.startswith("tui-mnist-configure-")
        svg = picture.read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "hidden&#160;layers" in svg
        assert field.value == typed and app.focused is field

        await pilot.press("ctrl+t")  # the same second, likely: a new file all the same
        await until(pilot, lambda: len(app.notes) == 2, what="the second notice")
        assert len(list(shots.glob("*.svg"))) == 2


async def test_a_screenshot_that_cannot_be_written_is_an_error_notice(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(SCREENSHOTS_ENV, str(blocker / "shots"))
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.notes, what="the notice")
        assert app.notes == [("error", f"{blocker / 'shots'}: cannot write (Not a directory)")]
        assert app.is_running


async def test_help_and_the_palette_offer_the_screenshot(shots):
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        rows = [row for row in key_help(app.screen) if row.action == "screenshot"]
        assert [(row.keys, row.enabled) for row in rows] == [("^t", True)]
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        assert str(shots) in command.help and "ctrl+t" in command.help
        command.callback()
        await until(pilot, lambda: list(shots.glob("*.svg")), what="the picture")
