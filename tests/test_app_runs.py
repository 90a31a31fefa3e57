"""Runs that outlive the app, by keys: the ledger and the comparison (on run folders written by
hand), detaching with `d` and attaching again, resuming from a checkpoint (real detached
trainers on a small MNIST), and the hangup of the app's terminal (the real app, in a process
of its own on a pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from fakes import PATIENCE, SLOW, RecordingApp, paste, small_config, three_runs, until, wait_for
from textual import events

from tui_mnist.runs.client import RunClient
from tui_mnist.runs.execute import execute_run
from tui_mnist.runs.launch import start_detached
from tui_mnist.runs.ledger import derived_state, is_live, process_start_ticks, this_host
from tui_mnist.runs.store import RunFolder, resolve_runs_dir, run_folders
from tui_mnist.tui.screens.compare import DIFFERS, CompareScreen
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.delete_dialog import DeleteDialog
from tui_mnist.tui.screens.resume_dialog import ResumeDialog
from tui_mnist.tui.screens.runs import RunsScreen
from tui_mnist.tui.screens.training import TrainingScreen

pytestmark = pytest.mark.usefixtures("one_blas_thread")

LONG = SLOW.with_changes(epochs=500)  # ~100 s: the test, not the run, decides when it ends


async def test_the_ledger_lists_runs_and_compares_two(tmp_path):
    done, stopped, vanished = three_runs(tmp_path)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "Runs" in [command.title for command in app.get_system_commands(app.screen)]
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        ledger = app.screen
        table = ledger.query_one("#runs-table")
        rows = [[cell.strip() for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [row[1] for row in rows] == [vanished.name, stopped.name, done.name]  # newest first
        assert [row[5] for row in rows] == ["stale 2/10", "stopped 3/4", "finished 4/4"]
        assert rows[2][3:5] == ["96.09%", "97.12%"]

        await pilot.press("down", "space", "down", "space")
        assert ledger.selected == [stopped.name, done.name]
        marks = [table.get_row_at(i)[0].strip() for i in range(table.row_count)]
        assert marks == ["", "✓", "✓"]
        await pilot.press("y")
        assert app.clipboard == RunFolder(done).read_config()["command"]

        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        assert [run.id for run in compare.runs] == [stopped.name, done.name]
        assert compare.differing == ["hidden", "lr", "optimizer"]
        settings = compare.query_one("#settings")
        marks = {str(row[1]): row[0] for row in map(settings.get_row_at, range(settings.row_count))}
        assert marks["hidden"] == marks["optimizer"] == DIFFERS and marks["activation"] == ""
        curves = compare.query_one("#accuracy-chart").series
        # Each run's curve, over its own epochs (points shared with the other's taken in turns).
        assert max(curves[0].xs) <= 3.0 < max(curves[1].xs) == 4.0
        commands = str(compare.query_one("#commands").render())
        assert "--hidden 256" in commands and "--optimizer adam" in commands
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ConfigureScreen)


async def test_a_second_start_while_the_first_is_in_flight_starts_nothing(runs_env):
    """Issue 11: ctrl+r twice in quick succession started two trainers; the window showed one,
    ctrl+q stopped that one and the other went on training unseen."""
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    app = RecordingApp(initial=small_config(epochs=2000, batch_size=10))  # minutes of training
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(2):  # both in the queue at once, as when the terminal sends them together
            app.post_message(events.Key("ctrl+r", None))
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.view.latest, what="the run training")
        assert [s for s in app.screen_stack if isinstance(s, TrainingScreen)] == [screen]
        await pilot.press("ctrl+q", "y")  # y: stop it and quit
    # Every trainer this app started is stopped by ctrl+q: none goes on unseen.
    wait_for(lambda: not any(is_live(folder) for folder in run_folders(runs)), what="no live run")
    folders = list(run_folders(runs))
    assert [folder.id for folder in folders] == [screen.session.run_id]
    assert derived_state(folders[0]) == "stopped"


async def test_detach_then_attach_again_with_the_whole_history(runs_env):
    app = RecordingApp(initial=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.view.val_x)
        run_id = screen.session.run_id
        await pilot.press("d")
    assert any(f"tui-mnist attach {run_id}" in message for _, message in app.notes)
    folder = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / run_id)
    client = RunClient(folder.path)
    step = client.status()["step"]
    wait_for(lambda: client.status()["step"] > step + 100, what="training after the app left")

    app = RecordingApp(attach=folder.path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.state == "running")
        await until(pilot, lambda: len(screen.view.val_x) >= len(folder.epoch_metrics()) > 1)
        assert screen.view.val_x[:2] == [1.0, 2.0]  # the epochs from before the attach
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        paused_at = client.status()["step"]
        await pilot.press("n")
        await until(pilot, lambda: screen.view.latest.step == paused_at + 1)
        assert client.status()["state"] == "paused"
        await pilot.press("space")
        await until(pilot, lambda: screen.view.latest.step > paused_at + 1)
        await pilot.press("ctrl+q")  # an attached run is not this app's to stop
    assert is_live(folder)
    client.stop()
    wait_for(lambda: derived_state(folder) == "stopped", what="the stopped state")


async def test_resume_from_a_checkpoint_chosen_in_the_ledger(runs_env):
    parent = RunFolder.create(resolve_runs_dir(), small_config(epochs=2))
    execute_run(parent)
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ResumeDialog))
        await pilot.press("down")  # epochs are listed newest first: this is epoch 1
        app.screen.query_one("#total").value = "4000"  # the test, not the run, ends it
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.view.val_x)
        assert screen.view.val_x[0] == 1.0  # the parent's first epoch, on the charts
        child = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / screen.session.run_id)
        assert child.read_config()["parent"] == {"run": parent.id, "epoch": 1}
        assert is_live(child)
        await pilot.press("ctrl+q", "y")  # a run started here stops with the app, once confirmed
    wait_for(lambda: derived_state(child) == "stopped", what="the stopped child run")


class Terminal:
    """A pty of 80x24 for a real app process; a thread keeps reading what the app draws, so
    the app never blocks on a full terminal."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the app is gone (EIO) or the master was closed
                return
            if not chunk:
                return
            self.output += chunk

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        os.close(self.master)


# The app on a small run's settings (the form's defaults are too big for the small data set).
APP = """
from tui_mnist.engine.config import TrainConfig
from tui_mnist.tui.app import MnistApp
MnistApp(initial=TrainConfig.from_dict({config})).run()
"""


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_hangup_of_the_app_leaves_its_run_training(runs_env, tmp_path, signum):
    terminal = Terminal()
    temporary = tmp_path / "tmp"  # TMPDIR: where the app's session keeps its scratch folder
    temporary.mkdir()
    env = {**runs_env, "TERM": "xterm-256color", "TMPDIR": str(temporary)}
    app = subprocess.Popen(
        [sys.executable, "-c", APP.format(config=LONG.to_dict())],
        stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
        env=env, start_new_session=True,
    )
    os.close(terminal.slave)
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    epoch = lambda folder: folder.read_status().get("epoch", 0)  # noqa: E731 (from status.json)
    try:
        wait_for(lambda: b"Start" in terminal.output, what="the configure screen")
        terminal.type("\x12")  # ctrl+r
        folder = wait_for(lambda: next(iter(run_folders(runs)), None), what="a run folder")
        wait_for(lambda: epoch(folder) >= 1, what="the run's first epoch")
        assert [path.name[:18] for path in temporary.iterdir()] == ["tui-mnist-session-"]
        os.killpg(app.pid, signum)  # what a hangup of the terminal (or a kill) does to the app
        app.wait(PATIENCE)
        assert list(temporary.iterdir()) == []  # issue 11: its scratch folder was left behind
        at_hangup = epoch(folder)
        wait_for(lambda: epoch(folder) > at_hangup, what="an epoch after the hangup")
        assert derived_state(folder) == "running"
        assert folder.train_config() == LONG
        RunClient(folder.path).stop()
        wait_for(lambda: derived_state(folder) == "stopped", what="the stopped state")
    finally:
        if app.poll() is None:
            app.kill()
        terminal.close()


# The ledger reads the run folders on a thread worker: a loading table, then the runs.


@pytest.fixture
def held_reading(monkeypatch) -> threading.Event:
    """The ledger's list_runs waits for `held_reading.set()`: the test sees the screen before
    the first reading is done. (A bounded wait: a failing test must not leave a thread hanging.)"""
    from tui_mnist.runs.ledger import list_runs

    release = threading.Event()

    def held_list_runs(runs_dir):
        release.wait(timeout=10)
        return list_runs(runs_dir)

    monkeypatch.setattr("tui_mnist.tui.screens.runs.list_runs", held_list_runs)
    return release


async def test_the_ledger_is_loading_until_its_worker_has_read_the_runs(tmp_path, held_reading):
    from fakes import val_curve, write_run

    from tui_mnist.engine.config import TrainConfig

    done, stopped, vanished = three_runs(tmp_path)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        ledger = app.screen
        table = ledger.query_one("#runs-table")
        assert table.loading and table.row_count == 0 and ledger.current() is None

        held_reading.set()
        await app.workers.wait_for_complete()
        await until(pilot, lambda: not table.loading)
        ids = [table.get_row_at(i)[1].strip() for i in range(table.row_count)]
        assert ids == [vanished.name, stopped.name, done.name]

        # A run appears above the one under the cursor: the cursor and the mark stay with it.
        await pilot.press("down", "space")
        newer = write_run(tmp_path, "20250614-120000-dd44", TrainConfig(epochs=2), "stopped",
                          val_curve(1, 0.9, 0.01))
        await ledger.reload().wait()
        await until(pilot, lambda: table.row_count == 4)
        assert table.get_row_at(0)[1].strip() == newer.name
        assert ledger.current().id == stopped.name and table.cursor_row == 2
        assert ledger.selected == [stopped.name]
        assert [table.get_row_at(i)[0].strip() for i in range(4)] == ["", "", "✓", ""]


async def test_a_failed_reading_of_the_runs_is_told_once_and_the_app_goes_on(
    tmp_path, monkeypatch
):
    from textual.worker import WorkerFailed

    def unreadable(runs_dir):
        raise PermissionError(f"[Errno 13] Permission denied: '{runs_dir}'")

    monkeypatch.setattr("tui_mnist.tui.screens.runs.list_runs", unreadable)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.notes)
        ledger = app.screen
        with pytest.raises(WorkerFailed):  # the same failure again: not told twice
            await ledger.reload().wait()
        await pilot.pause()
        assert app.notes == [("error", f"reload: [Errno 13] Permission denied: '{tmp_path}'")]
        assert not ledger.query_one("#runs-table").loading
        heading = str(ledger.query_one("#runs-heading").render())
        assert heading.startswith(f"cannot read {tmp_path}")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfigureScreen) and app.is_running


# Moving in the list, and deleting from it (run folders written by hand).



async def open_ledger(pilot) -> RunsScreen:
    """Open the runs list (ctrl+o) and wait until its worker has listed the runs."""
    await pilot.press("ctrl+o")
    ledger = await until(pilot, lambda: isinstance(pilot.app.screen, RunsScreen) and pilot.app.screen)
    await pilot.app.workers.wait_for_complete()
    await until(pilot, lambda: ledger.current() is not None)
    return ledger

async def test_the_ledger_moves_with_j_k_home_end_g_and_shift_g(tmp_path):
    done, stopped, vanished = three_runs(tmp_path)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        visited = []
        for key in ("j", "j", "j", "k", "home", "end", "g", "G", "k"):
            await pilot.press(key)
            visited.append(ledger.current().id)
        assert visited == [stopped.name, done.name, done.name, stopped.name, vanished.name,
                           done.name, vanished.name, done.name, stopped.name]


def live_status() -> dict:
    """What a trainer alive in this very process would write (see ledger.derived_state)."""
    pid = os.getpid()
    return {"state": "running", "pid": pid, "hostname": this_host(), "proc_start": process_start_ticks(pid),
            "epoch": 1}


async def test_a_run_is_deleted_after_a_confirmation_and_a_live_run_never(tmp_path):
    done, stopped, vanished = three_runs(tmp_path)
    RunFolder(vanished).write_status(live_status())  # its trainer is back: live
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        assert ledger.current().state == "running"
        await pilot.press("delete")  # greyed out for a live run
        assert app.screen is ledger and RunFolder(vanished).read_config()

        await pilot.press("j", "delete")
        await until(pilot, lambda: isinstance(app.screen, DeleteDialog))
        assert "Delete run 20250612-101500-bb22?" in app.screen.query_one("#dialog").border_title
        await pilot.press("enter")  # the focus starts on Keep
        await until(pilot, lambda: app.screen is ledger)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, DeleteDialog))
        await pilot.press("n")
        await until(pilot, lambda: app.screen is ledger)
        assert stopped.is_dir()

        await pilot.press("space", "delete")
        await until(pilot, lambda: isinstance(app.screen, DeleteDialog))
        await pilot.press("y")
        await until(pilot, lambda: app.screen is ledger)
        assert not stopped.exists() and sorted(os.listdir(tmp_path)) == [done.name, vanished.name]
        table = ledger.query_one("#runs-table")
        assert [table.get_row_at(i)[1].strip() for i in range(table.row_count)] == [vanished.name, done.name]
        assert ledger.selected == [] and ledger.current().id == done.name
        assert ("information", f"run {stopped.name} deleted") in app.notes


# Attaching from the list, and going back to it (real detached trainers).


async def attach_the_oldest(pilot) -> TrainingScreen:
    """From the runs list, once it lists two runs: the oldest run's screen, paused. (Waiting
    for the app's workers would wait for the run beneath, followed by a worker to its end.)"""
    app = pilot.app
    ledger = await until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen, what="the list")
    await until(pilot, lambda: ledger.query_one("#runs-table").row_count == 2, what="two runs listed")
    await pilot.press("end", "enter")
    attached = await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen,
                           what="the attached run's screen")
    await until(pilot, lambda: attached.state == "paused", what="the attached run's state")
    return attached


async def test_an_attached_run_goes_back_to_the_list_and_the_list_is_open_over_a_run(runs_env):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    # Both runs are paused (live for as long as the test needs, and costing no CPU).
    other = RunFolder(start_detached(LONG, runs))
    RunClient(other.path).pause()
    app = RecordingApp(initial=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        own = await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen)
        await until(pilot, lambda: own.state == "running", what="the own run running")
        await pilot.press("space")
        await until(pilot, lambda: own.state == "paused", what="the own run paused")
        await pilot.press("ctrl+o")  # over the run this window started
        ledger = await until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen,
                             what="the list over the own run")
        await until(pilot, lambda: ledger.query_one("#runs-table").row_count == 2, what="both runs listed")
        assert ledger.current().id == own.session.run_id  # the newest
        await pilot.press("enter")  # its own screen again, not a second one
        await until(pilot, lambda: app.screen is own)
        assert len(app.sessions) == 1

        await pilot.press("ctrl+o")
        for leave in ("escape", "ctrl+o", "d"):  # each leaves the run training, back in the list
            attached = await attach_the_oldest(pilot)
            assert attached is not own and attached.attached
            assert attached.session.run_id == other.id
            await pilot.press(leave)
            await until(pilot, lambda: isinstance(app.screen, RunsScreen), what=f"the list after {leave}")
            assert app.is_running and app.screen_stack[-2] is own
            assert app.sessions == [own.session] and is_live(other)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is own)
        await pilot.press("ctrl+q", "y")  # asks, then stops the run started here, not the other
    wait_for(lambda: derived_state(RunFolder(runs / own.session.run_id)) == "stopped",
             what="the own run stopped")
    assert is_live(other)
    RunClient(other.path).stop()
    wait_for(lambda: derived_state(other) == "stopped", what="the other run stopped")


@pytest.mark.parametrize("ending", ["finished", "stopped"])
def test_saving_an_ended_run_to_a_missing_folder_is_a_notification(runs_env, ending):
    """Issue 11: saving a run that had ended (finished, or stopped with `s`) to a path in a
    missing folder ended the app with a traceback; a live run's save said why, in a notice."""
    terminal = Terminal()
    config = small_config(epochs=2, batch_size=100) if ending == "finished" else LONG
    app = subprocess.Popen(
        [sys.executable, "-c", APP.format(config=config.to_dict())],
        stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
        env={**runs_env, "TERM": "xterm-256color"}, start_new_session=True,
    )
    os.close(terminal.slave)
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    try:
        wait_for(lambda: b"Start" in terminal.output, what="the configure screen")
        terminal.type("\x12")  # ctrl+r
        folder = wait_for(lambda: next(iter(run_folders(runs)), None), what="a run folder")
        wait_for(lambda: folder.read_status().get("epoch", 0) >= 1, what="the run's first epoch")
        if ending == "stopped":  # (the settings of the case, not an assertion)
            terminal.type("s")
        wait_for(lambda: derived_state(folder) == ending, what=f"the run {ending}")
        wait_for(lambda: b"test accuracy" in terminal.output, what="the result on screen")
        terminal.type("\x13")  # ctrl+s
        wait_for(lambda: b"Save model" in terminal.output, what="the save dialog")
        shown = len(terminal.output)
        terminal.type("\x15")  # ctrl+u clears the proposed path
        wait_for(lambda: len(terminal.output) > shown, what="the path cleared")
        terminal.type("/nonexistent/x.npz")
        wait_for(lambda: b"x.npz" in terminal.output[shown:], what="the path typed")
        terminal.type("\r")
        wait_for(lambda: b"cannot write" in terminal.output[shown:] or app.poll() is not None,
                 what="the outcome of the save")
        assert app.poll() is None  # the app goes on
        terminal.type("\x11")  # ctrl+q
        assert app.wait(PATIENCE) == 0
        assert b"Traceback" not in terminal.output
    finally:
        if app.poll() is None:
            app.kill()
        terminal.close()


# Looking back at an ended run, and running its settings again (run folders written by hand).


def footer_keys(screen) -> list[str]:
    """The keys the footer of `screen` shows now, as drawn."""
    return [key.key_display for key in screen.query("FooterKey")]


def footer_fits(screen, width: int = 80) -> bool:
    """Whether every key of the footer of `screen` is drawn whole within `width` columns, none
    under another (the command palette's key is docked on the right)."""
    spans = sorted((key.region.x, key.region.right) for key in screen.query("FooterKey"))
    return spans[-1][1] <= width and all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))


async def test_enter_on_an_ended_run_shows_its_curves_read_only(tmp_path):
    from fakes import val_curve, write_run

    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.tui.screens.run_review import RunReviewScreen

    done, stopped, vanished = three_runs(tmp_path)
    failed = write_run(tmp_path, "20250614-120000-dd44", TrainConfig(epochs=5), "failed",
                       val_curve(1, 0.9, 0.01))
    status = RunFolder(failed).read_status()
    RunFolder(failed).write_status({**status, "error": "loss diverged at step 12"})
    with RunFolder(done).metrics_file.open("a") as metrics:
        metrics.write('{"final": true, "epochs_completed": 4, "test_loss": 0.1, "test_acc": 0.9712, '
                      '"seconds": 6.0, "stopped": false, "steps": 40, "batches_per_epoch": 10}\n')
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 40)) as pilot:
        ledger = await open_ledger(pilot)
        await pilot.press("end", "enter")  # the oldest: finished
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the finished run's review")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: review.state == "finished", what="the run read")
        assert [row.progress.epoch for row in review.view.epoch_rows] == [1, 2, 3, 4]
        assert review.view.val_acc == [100 * r["val_acc"] for r in val_curve(4, 0.90, 0.07)]
        assert review.view.train_loss == [r["train_loss"] for r in val_curve(4, 0.90, 0.07)]
        assert len(review.query_one("#loss-chart").series[0].xs) == 4
        assert str(review.query_one("#result-digits").value) == "97.12"
        result = str(review.query_one("#result-text").render())
        assert "finished 4 epochs" in result and "esc: back to the list" in result
        assert "epoch 4/4" in str(review.query_one("#bars").render())
        assert str(review.query_one("#status").render()).startswith(" finished ")
        assert footer_keys(review) == ["i", "esc", "^q", "f1"]  # nothing to steer; i looks
        await pilot.press("space", "s", "ctrl+s", "d", "plus")  # none of them applies
        assert app.screen is review and review.state == "finished"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ledger, what="the list again")

        await pilot.press("home", "enter")  # the newest: failed after one epoch
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the failed run's review")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: review.state == "failed", what="the run read")
        assert len(review.view.epoch_rows) == 1 and review.has_class("-failed")
        assert "loss diverged at step 12" in str(review.query_one("#result-text").render())
        await pilot.press("ctrl+o")  # back to the list, as from any run's screen
        await until(pilot, lambda: app.screen is ledger, what="the list again")

        await pilot.press("j", "enter")  # stale: its trainer vanished after two epochs
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the stale run's review")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: review.state == "stale", what="the run read")
        assert review.session.run_id == vanished.name and len(review.view.epoch_rows) == 2
        assert "its trainer is gone" in str(review.query_one("#result-text").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
    assert app.notes == []


async def test_the_settings_of_a_run_are_edited_and_run_again(tmp_path):
    from fakes import fake_session
    from textual.widgets import Input

    from tui_mnist.tui.screens.edit_settings import EditSettingsScreen

    done, stopped, vanished = three_runs(tmp_path)
    app = RecordingApp(runs_dir=tmp_path, session_factory=fake_session, clock=lambda: 0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        assert footer_keys(ledger) == ["⏎", "space", "c", "e", "R", "del", "esc", "^q", "f1"]
        assert footer_fits(ledger)
        await pilot.press("j", "e")  # the stopped run: 256 hidden units, Adam, lr 0.001
        form = await until(pilot, lambda: isinstance(app.screen, EditSettingsScreen) and app.screen,
                           what="the settings form")
        saved = RunFolder(stopped).train_config()
        await until(pilot, lambda: form.assessment.config == saved, what="the run's settings in the form")
        # The footer draws its keys after the form is filled in (on a busy machine, later).
        await until(pilot, lambda: footer_keys(form), what="the form's footer")
        assert form.query_one("#hidden", Input).value == "256" and footer_fits(form)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ledger, what="the list again")

        await pilot.press("e")
        form = await until(pilot, lambda: isinstance(app.screen, EditSettingsScreen) and app.screen,
                           what="the settings form again")
        form.query_one("#epochs", Input).value = "2"
        edited = saved.with_changes(epochs=2)
        await until(pilot, lambda: form.assessment.config == edited, what="the edit checked")
        await pilot.press("ctrl+r")
        run = await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen,
                          what="the new run's screen")
        assert run.config == edited and not run.attached
        await until(pilot, lambda: run.state == "finished", what="the new run finished")
        await pilot.press("escape")  # back to the edited settings, then to the list
        await until(pilot, lambda: app.screen is form, what="the settings again")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ledger, what="the list again")


async def test_an_ended_run_is_read_on_a_worker_while_the_screen_answers(tmp_path, monkeypatch):
    from tui_mnist.tui.screens.run_review import RecordedRun, RunReviewScreen

    done, stopped, vanished = three_runs(tmp_path)
    release, readers = threading.Event(), []
    read = RecordedRun.read

    def held_read(folder):
        readers.append(threading.current_thread())
        release.wait(PATIENCE)
        return read(folder)

    monkeypatch.setattr(RecordedRun, "read", held_read)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_ledger(pilot)
        await pilot.press("j", "enter")  # the stopped run
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the stopped run's review")
        await until(pilot, lambda: readers, what="its folder being read")
        assert readers[0] is not threading.main_thread() and review.state == "loading"
        await pilot.press("z")  # the screen answers meanwhile
        assert review.zoomed and review.view.epoch_rows == []
        release.set()
        await app.workers.wait_for_complete()
        await until(pilot, lambda: review.state == "stopped", what="the run read")
        assert len(review.view.epoch_rows) == 3 and len(readers) == 1


# Notes on runs, the filter and the orders of the list (run folders written by hand).


def test_a_note_is_kept_atomically_in_the_run_folder_and_read_back(tmp_path):
    from fakes import val_curve, write_run

    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.runs.ledger import summarize
    from tui_mnist.runs.notes import note_file, note_tags, read_note, write_note
    from tui_mnist.runs.store import read_json

    folder = RunFolder(write_run(tmp_path, "20250612-093000-aa11", TrainConfig(epochs=2), "done",
                                 val_curve(2, 0.9, 0.05)))
    assert read_note(folder) == "" and summarize(folder).note == ""
    write_note(folder, "  wide net #Keep #lr-test \n")
    assert note_file(folder) == folder.path / "note.json"
    document = read_json(note_file(folder))
    assert document["note"] == "wide net #Keep #lr-test" and document["updated"]
    assert read_note(folder) == summarize(folder).note == "wide net #Keep #lr-test"
    assert note_tags(read_note(folder)) == ["#keep", "#lr-test"]
    assert note_tags("# alone, c#, and #") == []
    assert os.stat(note_file(folder)).st_mode & 0o777 == 0o600  # like the run's other files
    assert sorted(os.listdir(folder.path)) == [
        "checkpoints", "config.json", "metrics.jsonl", "note.json", "status.json",
    ]  # no temporary file left beside it
    write_note(folder, "   ")  # an empty note is no note
    assert not note_file(folder).exists() and read_note(folder) == ""
    for damaged in ("{not json", '["a", "list"]', '{"note": 42}', '{"other": "x"}'):
        note_file(folder).write_text(damaged)
        assert read_note(folder) == "" and summarize(folder).note == ""
    note_file(folder).write_bytes(b'{"note": "\xff"}')  # not UTF-8
    assert read_note(folder) == ""


async def open_note_dialog(pilot):
    """Press n in the runs list; returns the note dialog and its input, once focused."""
    from textual.widgets import Input

    from tui_mnist.tui.screens.note_dialog import NoteDialog

    await pilot.press("n")
    dialog = await until(pilot, lambda: isinstance(pilot.app.screen, NoteDialog) and pilot.app.screen,
                         what="the note dialog")
    field = dialog.query_one("#answer", Input)
    await until(pilot, lambda: pilot.app.focused is field, what="the note's input focused")
    return dialog, field


async def test_a_note_is_written_in_the_list_and_kept_in_the_run_folder(tmp_path):
    from fakes import shown_text

    from tui_mnist.runs.store import read_json

    done, stopped, vanished = three_runs(tmp_path)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        await pilot.press("j")  # the stopped run
        dialog, field = await open_note_dialog(pilot)
        assert field.value == ""
        assert f"run {stopped.name}" in dialog.query_one("#ask").border_title
        await paste(pilot, "wide net #keep")  # a paste: a key press waits for a repaint
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        assert read_json(stopped / "note.json")["note"] == "wide net #keep"
        assert ledger.current().id == stopped.name and ledger.current().note == "wide net #keep"
        assert shown_text(ledger, "#run-detail").splitlines()[0] == "note: wide net #keep"
        await app.workers.wait_for_complete()  # read again from the folders: the same note
        assert ledger.current().note == "wide net #keep"

        dialog, field = await open_note_dialog(pilot)  # esc leaves the note as it was
        assert field.value == "wide net #keep"
        await pilot.press("x", "escape")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        assert read_json(stopped / "note.json")["note"] == "wide net #keep"
        assert ledger.current().note == "wide net #keep"
        await open_note_dialog(pilot)  # what is typed goes after the note
        await paste(pilot, " #more")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")

        await pilot.press("escape")  # leave the list, and open it again
        await until(pilot, lambda: isinstance(app.screen, ConfigureScreen), what="the form")
        ledger = await open_ledger(pilot)
        await pilot.press("j")
        assert ledger.current().id == stopped.name
        assert ledger.current().note == "wide net #keep #more"
        assert shown_text(ledger, "#run-detail").startswith("note: wide net #keep #more\n")

        # A long note is cut to the detail's one line.
        dialog, field = await open_note_dialog(pilot)
        await pilot.press("ctrl+u")
        await paste(pilot, "a long note " * 10)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        first_line = shown_text(ledger, "#run-detail").splitlines()[0]
        assert first_line.startswith("note: a long note a long") and first_line.endswith("…")
        assert len(first_line) == ledger.query_one("#run-detail").content_size.width
        assert read_json(stopped / "note.json")["note"] == " ".join(["a long note"] * 10)

        # An emptied note removes the file.
        dialog, field = await open_note_dialog(pilot)
        await pilot.press("ctrl+u", "enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        assert not (stopped / "note.json").exists() and ledger.current().note == ""
        assert not shown_text(ledger, "#run-detail").startswith("note:")
    assert app.notes == []


async def test_a_live_run_takes_a_note_while_it_trains(tmp_path):
    from tui_mnist.runs.notes import read_note

    done, stopped, vanished = three_runs(tmp_path)
    RunFolder(vanished).write_status(live_status())  # its trainer is back: live
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        assert ledger.current().id == vanished.name and ledger.current().state == "running"
        await open_note_dialog(pilot)
        await paste(pilot, "still going #watch")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        await app.workers.wait_for_complete()
        assert read_note(RunFolder(vanished)) == "still going #watch"
        assert ledger.current().note == "still going #watch" and ledger.current().state == "running"
    assert app.notes == []


async def test_a_damaged_note_shows_the_run_without_a_note(tmp_path):
    from fakes import shown_run_ids, shown_text

    from tui_mnist.runs.store import read_json

    done, stopped, vanished = three_runs(tmp_path)
    (done / "note.json").write_text('{"note": "cut sho')
    (stopped / "note.json").write_text('{"note": 42}')
    (vanished / "note.json").write_bytes(b"\xff\xfe")
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        assert shown_run_ids(ledger) == [vanished.name, stopped.name, done.name]
        assert [ledger.runs[run].note for run in shown_run_ids(ledger)] == ["", "", ""]
        await pilot.press("end")
        assert shown_text(ledger, "#run-detail") == RunFolder(done).read_config()["command"]
        _, field = await open_note_dialog(pilot)  # a new note replaces the damaged file
        assert field.value == ""
        await pilot.press(*"fixed", "enter")
        await until(pilot, lambda: app.screen is ledger, what="the list again")
        assert read_json(done / "note.json")["note"] == "fixed"
    assert app.notes == []


async def test_the_filter_narrows_the_list_by_text_and_by_tag_and_esc_restores_it(tmp_path):
    from fakes import shown_run_ids, shown_text
    from textual.widgets import DataTable, Input

    from tui_mnist.runs.notes import write_note

    done, stopped, vanished = three_runs(tmp_path)
    write_note(RunFolder(done), "baseline #keep")
    write_note(RunFolder(stopped), "wide net #Keep #lr-test")
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        table, field = ledger.query_one(DataTable), ledger.query_one("#runs-filter", Input)
        everything = [vanished.name, stopped.name, done.name]
        assert not field.display and app.focused is table

        await pilot.press("slash")
        await until(pilot, lambda: app.focused is field, what="the filter focused")
        # Words are pasted (one event, as a terminal sends a paste) where the keys on the way
        # are not the point: each key press waits for a repaint.
        await paste(pilot, "ADAM")  # in the command line, any case
        await until(pilot, lambda: shown_run_ids(ledger) == [stopped.name], what="the adam run")
        assert shown_text(ledger, "#runs-heading").startswith(f"1 of 3 runs in {tmp_path}")
        await pilot.press("escape")
        await until(pilot, lambda: shown_run_ids(ledger) == everything, what="every run again")
        assert app.focused is table and not field.display and field.value == ""
        assert shown_text(ledger, "#runs-heading").startswith(f"3 runs in {tmp_path}")

        await pilot.press("slash")
        await until(pilot, lambda: app.focused is field, what="the filter focused again")
        await paste(pilot, "#keep")
        await until(pilot, lambda: shown_run_ids(ledger) == [stopped.name, done.name],
                    what="the runs tagged #keep")
        await pilot.press("backspace", "backspace", "backspace")  # "#k": a tag's beginning
        assert shown_run_ids(ledger) == [stopped.name, done.name]
        await pilot.press("ctrl+u")
        await paste(pilot, "#lr")
        await until(pilot, lambda: shown_run_ids(ledger) == [stopped.name], what="#lr-test")
        await pilot.press("ctrl+u")
        await paste(pilot, "#net")  # a word of a note, but no tag
        await until(pilot, lambda: shown_run_ids(ledger) == [], what="no run")
        assert shown_text(ledger, "#run-detail") == "No run matches the filter: esc clears it."
        await pilot.press("ctrl+u")
        await paste(pilot, "784-128 stale")  # every word: its network and its state
        await until(pilot, lambda: shown_run_ids(ledger) == [vanished.name], what="the stale run")

        # Typed g, G, home, end and enter are the filter's: enter goes back to the list, which
        # keeps the filter; j and k then move in it.
        await pilot.press("ctrl+u")
        await paste(pilot, "0612 ")
        await pilot.press("g", "backspace", "home", "end")
        await until(pilot, lambda: shown_run_ids(ledger) == [stopped.name, done.name],
                    what="the runs of June 12")
        assert field.value == "0612 " and ledger.current().id == stopped.name
        await pilot.press("enter")
        await until(pilot, lambda: app.focused is table, what="the list focused")
        assert field.display and shown_run_ids(ledger) == [stopped.name, done.name]
        await pilot.press("j")
        assert ledger.current().id == done.name
        await pilot.press("escape")  # clears the filter, then leaves
        await until(pilot, lambda: shown_run_ids(ledger) == everything, what="every run again")
        assert ledger.current().id == done.name and app.screen is ledger
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigureScreen), what="the form")
    assert app.notes == []


async def test_s_cycles_the_orders_of_the_list(tmp_path):
    from fakes import shown_run_ids, shown_text

    from tui_mnist.runs.notes import write_note

    done, stopped, vanished = three_runs(tmp_path)  # best val 96.09%, 96.70%, 91.20%
    write_note(RunFolder(vanished), "#keep")
    write_note(RunFolder(done), "#keep")
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        ledger = await open_ledger(pilot)
        orders = []
        for _ in range(5):
            heading = shown_text(ledger, "#runs-heading")
            orders.append((heading[heading.index("· ") + 2:], shown_run_ids(ledger),
                           ledger.current().id))
            await pilot.press("s")
        newest = [vanished.name, stopped.name, done.name]
        assert orders == [
            ("newest first", newest, vanished.name),
            ("best val first", [stopped.name, done.name, vanished.name], stopped.name),
            ("best test first", [done.name, stopped.name, vanished.name], done.name),  # none last
            ("most epochs first", [done.name, stopped.name, vanished.name], done.name),
            ("newest first", newest, vanished.name),
        ]
        assert shown_text(ledger, "#runs-heading").endswith("· best val first")  # pressed 5 times
        await pilot.press("slash")  # the order holds in a filtered list
        await until(pilot, lambda: pilot.app.focused is ledger.query_one("#runs-filter"),
                    what="the filter focused")
        await paste(pilot, "#keep")
        await until(pilot, lambda: shown_run_ids(ledger) == [done.name, vanished.name],
                    what="the #keep runs, best val first")
        assert shown_text(ledger, "#runs-heading").endswith("· best val first")
        await app.workers.wait_for_complete()  # a new reading of the folders keeps both
        await ledger.reload().wait()
        await pilot.pause()
        assert shown_run_ids(ledger) == [done.name, vanished.name]
