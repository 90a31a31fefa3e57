"""The training screen driven by key presses, on fake sessions (the main path through it, on
both kinds of session, is test_app_flow.py's)."""

from __future__ import annotations

import io
import threading

import numpy as np
from fakes import (
    PATIENCE,
    FakeTrainer,
    fast_config,
    final_test_accuracy,
    make_app,
    predicted,
    status_text,
    tiny_dataset,
    until,
)
from rich.console import Console

from tui_mnist.engine.idx import IMAGE_MAGIC, SPLITS
from tui_mnist.engine.model_io import load_model
from tui_mnist.session.thread import ThreadSession
from tui_mnist.tui.app import run_app
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.help import HelpScreen
from tui_mnist.tui.screens.inspector import InspectorScreen
from tui_mnist.tui.screens.quit_dialog import QuitDialog
from tui_mnist.tui.screens.save_dialog import SaveDialog
from tui_mnist.tui.screens.too_small import TooSmallScreen
from tui_mnist.tui.screens.training import TrainingScreen

SLOW = dict(batches_per_epoch=50, delay=0.004)  # long enough to catch mid-run


async def start(pilot) -> TrainingScreen:
    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(pilot.app.screen, TrainingScreen))
    return pilot.app.screen


async def test_keys_that_do_not_apply_are_ignored():
    app = make_app(**SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "running")
        await pilot.press("escape", "n")  # no leaving a running run, no stepping one
        assert app.screen is screen and screen.state == "running"
        await until(pilot, lambda: screen.state == "finished")
        await pilot.press("space", "s")
        assert screen.state == "finished"
        shown = screen.query_one("#result-digits").value
        assert shown == f"{100 * final_test_accuracy(3):.2f}"


async def test_learning_rate_keys_scale_the_rate_and_show_it():
    app = make_app(initial=fast_config(epochs=1000), **SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "running")
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        await pilot.press("plus", "plus", "minus")
        await until(pilot, lambda: "×1.25" in status_text(screen))
        assert "lr 0.125" in status_text(screen)
        await pilot.press("n")
        await until(pilot, lambda: abs(screen.view.latest.lr - 0.125) < 1e-12)


async def test_help_opens_and_closes():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        configure = app.screen
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is configure
        screen = await start(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=76, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#body Static").content)
        listed = console.export_text()
        for words in ("space", "Pause training", "Train one batch (while paused) (not now)",
                      "^q", "Save the model", "esc/c", "Zoom both charts", "log scale"):
            assert words in listed
        assert listed.count("^o") == 1  # the screen's ctrl+o shadows the app's
        await pilot.press("q")
        assert app.screen is screen


async def test_quitting_mid_run_ends_the_worker():
    trainers = []
    app = make_app(initial=fast_config(epochs=1000), trainers=trainers, **SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "running")
        await pilot.press("ctrl+q")  # asks first: n keeps the run going
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("n")
        assert app.screen is screen and screen.state == "running"
        await pilot.press("ctrl+q")
        await pilot.press("y")
    (session,) = app.sessions
    assert session.join(PATIENCE)
    (trainer,) = trainers
    assert trainer.stop_requested and trainer.epoch < 1000
    assert ("information", "Stopped the run started in this window") in app.notes


async def test_quitting_after_the_run_ended_asks_nothing():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "finished")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running)
    assert not app.notes


async def test_quick_steps_then_a_stop_say_how_far_the_run_got():
    """Issue 11: quick presses of n while paused dropped steps and stacked warnings; a run
    stopped mid-epoch said "stopped after 0 epochs"."""
    app = make_app(initial=fast_config(epochs=1000), batches_per_epoch=1000, delay=0.004)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.view.latest)
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        paused_at = screen.view.latest.step
        assert paused_at + 10 < 1000  # paused within the first epoch's 4 s
        await pilot.press(*"nnnnnnnnnn")
        await until(pilot, lambda: screen.view.latest.step == paused_at + 10)
        assert screen.state == "paused"
        await pilot.press("s")
        await until(pilot, lambda: screen.state == "stopped")
        assert screen.view.latest.step == paused_at + 10  # one batch per press, no more
        result = str(screen.query_one("#result-text").render())
    assert f"stopped in epoch 1 after {paused_at + 10} of 1000 batches" in result
    assert app.notes == []


async def test_divergence_is_reported_and_a_new_run_can_start():
    app = make_app(fail_at_step=7, batches_per_epoch=5)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "failed")
        assert ("error", "loss diverged at step 7 (fake)") in app.notes
        assert "diverged" in str(screen.query_one("#result-text").render())
        assert screen.view.latest.step == 6  # the batches before the failure were shown
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfigureScreen))
        second = await start(pilot)
        assert second is not screen and app.sessions == [second.session]


async def test_a_data_directory_without_mnist_is_reported_without_a_traceback(tmp_path):
    # The settings refuse a folder without the four files (test_app_configure.py); this one
    # has them when the form checks it and loses one before the run reads it.
    empty = str(tmp_path)
    header = IMAGE_MAGIC.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (60000, 28, 28))
    for stem in (*SPLITS["train"], *SPLITS["test"]):
        (tmp_path / stem).write_bytes(header)
    app = make_app(
        session_factory=lambda: ThreadSession(trainer_factory=FakeTrainer),
        initial=fast_config(data_dir=empty),
    )
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        (tmp_path / SPLITS["test"][1]).unlink()
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "failed")
        assert any(
            severity == "error" and "file not found" in text and empty in text
            for severity, text in app.notes
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigureScreen))


async def test_the_inspector_opens_at_once_and_waits_there_for_the_weights():
    loaded = threading.Event()

    def load_data(config):
        loaded.wait(timeout=PATIENCE)  # the run stays "loading" until the test lets it go
        return tiny_dataset()

    app = make_app(session_factory=lambda: ThreadSession(trainer_factory=FakeTrainer, load_data=load_data))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await start(pilot)
        assert screen.state == "loading"
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        inspector = app.screen
        assert inspector.query_one("#body").loading
        assert "live weights" in str(inspector.query_one("#heading").render())
        assert inspector.predictions is None
        loaded.set()
        assert await predicted(pilot) is inspector
        assert inspector.source.title.startswith("live weights, epoch ")
        assert not inspector.query_one("#body").loading
        assert not [note for note in app.notes if note[0] == "error"]


async def test_save_writes_the_model_to_the_edited_path(tmp_path):
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "finished")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SaveDialog)
        field = app.screen.query_one("#answer")
        assert field.value == "./model.npz"
        field.value = str(tmp_path / "missing" / "m.npz")
        await pilot.press("enter")
        await until(pilot, lambda: any(s == "error" for s, _ in app.notes))
        assert "cannot write" in app.notes[-1][1]

        await pilot.press("ctrl+s")
        assert app.screen.query_one("#answer").value.endswith("m.npz")  # remembers the last path
        app.screen.query_one("#answer").value = str(tmp_path / "m.npz")
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "m.npz").exists())
        saved = load_model(tmp_path / "m.npz")
        live = (await screen.session.snapshot()).network
        assert np.array_equal(saved.network.weights[0], live.weights[0])


async def test_a_tiny_window_shows_a_notice_then_recovers():
    app = make_app()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert "40×12" in str(app.screen.query_one("#message").render())
        await pilot.press("ctrl+r", "f1")  # keys for hidden screens do nothing
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: isinstance(app.screen, ConfigureScreen))
        screen = await start(pilot)
        await pilot.resize_terminal(40, 12)
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: app.screen is screen)


async def test_the_command_palette_offers_the_screen_actions():
    app = make_app(initial=fast_config(epochs=1000), **SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "running")
        titles = [command.title for command in app.get_system_commands(screen)]
        assert "Pause training" in titles
        assert "Stop: finish with a test evaluation" in titles
        assert "Train one batch (while paused)" not in titles  # not while running
        assert "Resume training" not in titles
        assert "Help" in titles and "Keys" not in titles  # ours, not also Textual's
        assert titles.count("Quit") == 1 and titles.count("Runs") == 1
        (quitting,) = [c for c in app.get_system_commands(screen) if c.title == "Quit"]
        assert "stops the run" in quitting.help
        pause = next(c for c in app.get_system_commands(screen) if c.title.startswith("Pause"))
        await pause.callback()
        await until(pilot, lambda: screen.state == "paused")


def test_run_app_on_an_unreadable_model_says_why_and_fails(tmp_path, capsys):
    assert run_app(inspect_model=tmp_path / "missing.npz") == 1
    assert "missing.npz: file not found" in capsys.readouterr().err


def footer_text(screen) -> str:
    """The footer as drawn: its keys and group labels, left to right."""
    from textual.widgets._footer import FooterKey, FooterLabel

    parts = sorted(screen.query("Footer FooterKey, Footer FooterLabel"), key=lambda w: w.region.x)
    assert all(part.region.right <= 80 for part in parts)  # nothing cut at 80 columns
    return " ".join(
        f"{p.key_display} {p.description}".strip() if isinstance(p, FooterKey) else str(p.render())
        for p in parts if isinstance(p, (FooterKey, FooterLabel))
    )


async def test_the_footer_shows_the_keys_that_apply_now_within_80_columns():
    app = make_app(initial=fast_config(epochs=1000), **SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "running")
        await pilot.pause()
        running = footer_text(screen)
        assert "space pause" in running and "f1 help" in running and "^q quit" in running
        assert "step" not in running and "^s save" not in running
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        await until(pilot, lambda: "space resume" in footer_text(screen))
        paused = footer_text(screen)
        for words in ("n N step", "s stop", "^s save", "^q quit", "f1 help"):
            assert words in paused
        assert "pause" not in paused.replace("resume", "")


async def test_z_zooms_both_charts_to_the_latest_epoch_and_l_toggles_the_log_scale():
    app = make_app(batches_per_epoch=40)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "finished")
        loss, accuracy = screen.query_one("#loss-chart"), screen.query_one("#accuracy-chart")
        assert loss.axes.log_y and loss.axes.x_range is None
        await pilot.press("z")
        assert loss.axes.x_range == accuracy.axes.x_range == (2.0, 3.0)
        assert loss.border_title == "loss · log scale · epochs 2–3"
        await pilot.press("l", "z")
        assert not loss.axes.log_y and accuracy.axes.x_range is None
        assert loss.border_title == "loss"


async def test_a_tall_window_shows_the_numbers_of_each_epoch():
    app = make_app(batches_per_epoch=40)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: screen.state == "finished")
        table = screen.query_one("#epochs")
        await until(pilot, lambda: len(screen.view.epoch_rows) == 3)
        console = Console(width=118, record=True, file=io.StringIO())
        console.print(table.content)
        rows = console.export_text().splitlines()
        assert rows[0].split() == ["epoch", "train", "loss", "train", "acc", "val", "loss", "val",
                                   "acc", "lr", "time"]
        assert [row.split()[0] for row in rows[1:]] == ["1/3", "2/3", "3/3"]
        assert table.display and table.region.height == 9
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: not table.display)
