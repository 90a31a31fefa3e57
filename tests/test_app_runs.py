"""Runs that outlive the app, by keys: the ledger and the comparison (on run folders written by
hand), detaching with `d` and attaching again, resuming from a checkpoint (real detached
trainers on a small MNIST), and the hangup of the app's terminal (the real app in a pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

from fakes import RecordingApp, until
from ledger_fixtures import three_runs
from runs_support import (  # noqa: F401 (fixtures)
    TUI_MNIST,
    one_blas_thread,
    runs_env,
    small_config,
    small_data,
    wait_for,
)

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.execute import execute_run
from tui_mnist.runs.ledger import derived_state, is_live
from tui_mnist.runs.store import RunFolder, resolve_runs_dir, run_folders
from tui_mnist.tui.screens.compare import DIFFERS, CompareScreen
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.resume_dialog import ResumeDialog
from tui_mnist.tui.screens.runs import RunsScreen
from tui_mnist.tui.screens.training import TrainingScreen

SLOW = small_config(epochs=50, batch_size=1, lr=0.01)  # ~0.2 s an epoch: time to act mid-run


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
        assert [row[5] for row in rows] == ["stale 2/10", "stopped 3/4", "done 4/4"]
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
        curves = compare.query_one("#compare-accuracy").series
        assert [len(series.xs) for series in curves] == [3, 4]
        commands = str(compare.query_one("#commands").render())
        assert "--hidden 256" in commands and "--optimizer adam" in commands
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ConfigureScreen)


async def test_detach_then_attach_again_with_the_whole_history(runs_env):
    app = RecordingApp(initial=SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.history.val_x, timeout=30)
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
        await until(pilot, lambda: screen.state == "running", timeout=10)
        await until(pilot, lambda: len(screen.history.val_x) >= len(folder.epoch_metrics()) > 1)
        assert screen.history.val_x[:2] == [1.0, 2.0]  # the epochs from before the attach
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        paused_at = client.status()["step"]
        await pilot.press("n")
        await until(pilot, lambda: screen.history.latest.step == paused_at + 1)
        assert client.status()["state"] == "paused"
        await pilot.press("space")
        await until(pilot, lambda: screen.history.latest.step > paused_at + 1)
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
        app.screen.query_one("#resume-total").value = "400"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen), timeout=30)
        screen = app.screen
        await until(pilot, lambda: screen.history.val_x, timeout=30)
        assert screen.history.val_x[0] == 1.0  # the parent's first epoch, on the charts
        child = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / screen.session.run_id)
        assert child.read_config()["parent"] == {"run": parent.id, "epoch": 1}
        assert is_live(child)
        await pilot.press("ctrl+q")  # a run started here stops with the app
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
        time.sleep(0.2)  # one key group at a time, as a person types

    def close(self) -> None:
        os.close(self.master)


def test_a_hangup_of_the_app_leaves_its_run_training(runs_env, tmp_path):
    terminal = Terminal()
    # TMPDIR: the killed app cannot remove its session's scratch folder; it goes with tmp_path.
    env = {**runs_env, "TERM": "xterm-256color", "TMPDIR": str(tmp_path)}
    app = subprocess.Popen(
        TUI_MNIST, stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
        env=env, start_new_session=True,
    )
    os.close(terminal.slave)
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    try:
        wait_for(lambda: b"Start" in terminal.output, what="the configure screen")
        # Small settings, typed: hidden 16; tab by tab to 400 epochs and a validation split of
        # 1000 (the small data set has 3000 training images); ctrl+r starts.
        for keys in ("16", "\t" * 8, "400", "\t\t", "1000", "\x12"):
            terminal.type(keys)
        folder = wait_for(lambda: next(iter(run_folders(runs)), None), what="a run folder")
        wait_for(lambda: derived_state(folder) == "running", what="the run training")
        os.killpg(app.pid, signal.SIGHUP)  # what a hangup of the terminal does to the app
        app.wait(10)
        client = RunClient(folder.path)
        step = client.status()["step"]
        wait_for(lambda: client.status()["step"] > step + 100, what="training after the hangup")
        assert folder.train_config() == TrainConfig(hidden=(16,), epochs=400, val=1000)
        client.stop()
        wait_for(lambda: derived_state(folder) == "stopped", what="the stopped state")
    finally:
        if app.poll() is None:
            app.kill()
        terminal.close()
