"""The sweep screen and what it reads: sweeps.snapshot on sweep folders whose Optuna journals are
written by hand (fakes.fake_sweep: real journals, no Dask, no training), then the screen driven
by keys over a plain host app. The snapshot is deterministic: fixed sweep id, fixed trial
values, Optuna's importances (PED-ANOVA) have no randomness, and the charts are waited for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import (
    ScreenHost,
    add_sweep_trials,
    fake_sweep,
    sweep_trial,
    until,
    val_curve,
    write_run,
)
from textual.widgets import DataTable

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import this_host
from tui_mnist.sweeps.folder import list_sweeps
from tui_mnist.sweeps.snapshot import SweepSnapshot
from tui_mnist.tui.screens.runs import RunsScreen
from tui_mnist.tui.screens.sweep import SweepScreen
from tui_mnist.tui.widgets.chart import Chart

OLDER = "sweep-20250611-080000-0a0a"
NEWER = "sweep-20250612-093000-aa11"


def mixed_trials() -> list[dict]:
    """Ten trials, one or more of each state, with values rising with the trial number."""
    states = ["finished", "finished", "pruned", "finished", "failed", "running", "finished",
              "pruned", "interrupted", "finished"]
    return [
        sweep_trial(i, state=state, epochs=[0.85 + 0.011 * i, 0.9 + 0.007 * i, 0.92 + 0.005 * i][
            : 1 if state == "pruned" else 3], error="training diverged" if state == "failed" else None)
        for i, state in enumerate(states)
    ]


# --- reading a sweep -----------------------------------------------------------------------


def test_trials_are_read_with_their_states_values_and_runs(tmp_path):
    folder = fake_sweep(tmp_path, [
        sweep_trial(0, "finished", epochs=[0.90, 0.95], run="20250612-093001-0001"),
        sweep_trial(1, "pruned", epochs=[0.80]),
        sweep_trial(2, "failed", epochs=[], error="training diverged"),
        sweep_trial(3, "failed", epochs=[0.85]),
        sweep_trial(4, "interrupted", epochs=[0.91]),
        sweep_trial(5, "running", epochs=[0.88], run="20250612-093005-0005"),
        sweep_trial(6, "waiting", epochs=[]),
    ])
    snapshot = SweepSnapshot.read(folder)
    assert [(t.number, t.state, t.value, t.run, t.error) for t in snapshot.trials] == [
        (0, "finished", 0.95, "20250612-093001-0001", None),
        (1, "pruned", 0.80, None, None),
        (2, "failed", None, None, "training diverged"),
        (3, "failed", 0.85, None, "its worker was lost"),
        (4, "interrupted", 0.91, None, None),
        (5, "running", 0.88, "20250612-093005-0005", None),
        (6, "waiting", None, None, None),
    ]
    assert snapshot.trials[0].epochs == {1: 0.90, 2: 0.95}
    assert snapshot.trials[0].params == {"lr": 0.01, "dropout": 0.0, "hidden": "16"}
    assert snapshot.ended == 4  # finished, pruned and failed: not interrupted, running, waiting
    assert snapshot.best.number == 0
    assert snapshot.importances == {}  # one finished trial


def test_importances_come_with_two_finished_trials(tmp_path):
    folder = fake_sweep(tmp_path, [sweep_trial(0, epochs=[0.90]), sweep_trial(1, epochs=[0.93]),
                                   sweep_trial(2, "pruned", epochs=[0.5])])
    importances = SweepSnapshot.read(folder).importances
    assert set(importances) == {"lr", "dropout", "hidden"}
    assert sum(importances.values()) == pytest.approx(1.0)
    assert list(importances.values()) == sorted(importances.values(), reverse=True)


def test_a_sweep_whose_study_is_not_made_yet_has_no_trials(tmp_path):
    starting = fake_sweep(tmp_path, [], state="running", sweep_id=OLDER)
    starting.journal_file.unlink()  # the cluster is still starting: no journal yet
    empty = fake_sweep(tmp_path, [], state="running", sweep_id=NEWER)
    empty.journal_file.write_bytes(b"")  # a journal with no study in it yet
    assert SweepSnapshot.read(starting).trials == ()
    assert not starting.journal_file.exists()  # reading created nothing
    assert SweepSnapshot.read(empty).trials == ()


def test_a_finished_sweep_without_its_journal_is_an_error_naming_it(tmp_path):
    folder = fake_sweep(tmp_path, [sweep_trial(0)])
    folder.journal_file.unlink()
    with pytest.raises(RunError, match=str(folder.journal_file)):
        SweepSnapshot.read(folder)


def test_a_damaged_journal_is_an_error_naming_it(tmp_path):
    folder = fake_sweep(tmp_path, [sweep_trial(0)])
    lines = folder.journal_file.read_bytes().splitlines(keepends=True)
    folder.journal_file.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    with pytest.raises(RunError, match=str(folder.journal_file)):
        SweepSnapshot.read(folder)


def test_a_damaged_spec_is_an_error_naming_it(tmp_path):
    folder = fake_sweep(tmp_path, [sweep_trial(0)])
    folder.spec_file.write_text("{")
    with pytest.raises(RunError, match=str(folder.spec_file)):
        SweepSnapshot.read(folder)


def test_sweeps_are_listed_oldest_first(tmp_path):
    fake_sweep(tmp_path, [], sweep_id=NEWER)
    fake_sweep(tmp_path, [], sweep_id=OLDER)
    assert [folder.id for folder in list_sweeps(tmp_path)] == [OLDER, NEWER]
    assert list_sweeps(tmp_path / "elsewhere") == []
    assert not (tmp_path / "elsewhere").exists()


# --- the screen ----------------------------------------------------------------------------


class Host(ScreenHost):
    """The screen over a plain app that keeps the runs list's attach requests."""

    def __init__(self, runs_dir: Path, sweep_id: str | None = None) -> None:
        super().__init__(lambda: SweepScreen(runs_dir, sweep_id))
        self.attach_requests: list[RunsScreen.AttachRequested] = []

    def on_runs_screen_attach_requested(self, message: RunsScreen.AttachRequested) -> None:
        self.attach_requests.append(message)


def shown_trials(screen: SweepScreen) -> list[str]:
    table = screen.query_one("#sweep-table", DataTable)
    return [str(table.get_row_at(row)[1]).strip() for row in range(table.row_count)]


def heading(screen: SweepScreen) -> str:
    return str(screen.query_one("#heading").render())


async def opened(pilot) -> SweepScreen:
    """The sweep screen once its first reading is shown and its charts are drawn from it (not
    `settled`: a chart's build cancelled by a newer one fails `wait_for_complete`)."""
    screen = await until(pilot, lambda: isinstance(pilot.app.screen, SweepScreen) and pilot.app.screen,
                         what="the sweep screen")
    await until(pilot, lambda: screen.snapshot is not None, what="the sweep read")
    await until(pilot, lambda: all(chart.drawn for chart in screen.query(Chart)), what="the charts drawn")
    await pilot.pause()
    return screen


async def test_trials_are_ranked_by_best_val_and_o_orders_them_otherwise(tmp_path):
    fake_sweep(tmp_path, mixed_trials(), trials_asked=20)
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert heading(screen) == f"Sweep · {NEWER} · finished · 8/20 trials · by best val"
        assert shown_trials(screen) == ["#9", "#8", "#6", "#5", "#4", "#3", "#7", "#1", "#0", "#2"]
        await pilot.press("o")
        assert shown_trials(screen) == [f"#{n}" for n in range(10)]
        await pilot.press("o")
        assert shown_trials(screen) == ["#5", "#9", "#6", "#3", "#1", "#0", "#7", "#2", "#8", "#4"]
        assert heading(screen).endswith("· by state")


async def test_p_plots_the_next_searched_setting(tmp_path):
    fake_sweep(tmp_path, mixed_trials())
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        chart = screen.query_one("#sweep-scatter", Chart)
        assert (screen.scatter_param, chart.title) == ("lr", "val % by lr (log10)")
        finished = chart.series[0]
        assert finished.label == "finished"
        assert len(finished.xs) == 5
        await pilot.press("p")
        assert (screen.scatter_param, chart.title) == ("dropout", "val % by dropout")
        assert sorted(chart.series[0].xs) == [0.0, 0.03, 0.09, 0.18, 0.27]
        await pilot.press("p")
        assert chart.title == "val % by hidden: 0=16 1=32 2=64,32"
        assert sorted(chart.series[0].xs) == [0.0, 0.0, 0.0, 0.0, 1.0]  # #0 #3 #6 #9: 16; #1: 32


async def test_the_best_curves_are_the_five_best_trials(tmp_path):
    fake_sweep(tmp_path, mixed_trials())
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        curves = screen.query_one("#sweep-curves", Chart)
        assert [(s.label, s.marker) for s in curves.series] == [
            ("#9", "1"), ("#8", "2"), ("#6", "3"), ("#5", "4"), ("#4", "5"),
        ]


async def test_brackets_switch_between_sweeps(tmp_path):
    fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=OLDER)
    fake_sweep(tmp_path, [sweep_trial(0), sweep_trial(1)], sweep_id=NEWER)
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert NEWER in heading(screen)
        await pilot.press("right_square_bracket")
        assert app.notes[-1] == ("information", "no later sweep")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: OLDER in heading(screen), what="the older sweep")
        assert shown_trials(screen) == ["#0"]
        await pilot.press("left_square_bracket")
        assert app.notes[-1] == ("information", "no earlier sweep")
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: NEWER in heading(screen), what="the newer sweep")
        assert len(shown_trials(screen)) == 2


async def test_n_opens_the_sweep_form_and_esc_comes_back_to_the_sweep(tmp_path):
    from tui_mnist.tui.screens.sweep_settings import SweepSettingsScreen

    fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=OLDER)
    fake_sweep(tmp_path, [sweep_trial(0), sweep_trial(1)], sweep_id=NEWER)
    app = Host(tmp_path, OLDER)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("n")
        form = await until(pilot, lambda: isinstance(app.screen, SweepSettingsScreen) and app.screen,
                           what="the sweep form")
        assert form.runs_dir == tmp_path
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, what="the sweep again")
        assert OLDER in heading(screen)  # nothing started: the same sweep


async def test_the_app_opens_on_a_sweep_as_tui_mnist_attach_sweep_asks(tmp_path):
    from fakes import RecordingApp

    fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=OLDER)
    fake_sweep(tmp_path, [sweep_trial(0), sweep_trial(1)], sweep_id=NEWER)
    app = RecordingApp(runs_dir=tmp_path, sweep=OLDER)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert OLDER in heading(screen) and shown_trials(screen) == ["#0"]
        await pilot.press("ctrl+f")  # the one sweep screen: stays
        assert app.screen is screen


async def test_a_trial_added_to_the_journal_appears_and_the_cursor_stays(tmp_path):
    folder = fake_sweep(tmp_path, [sweep_trial(0, epochs=[0.90]), sweep_trial(1, epochs=[0.95])],
                        state="running")
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("down")  # on #0, the second best
        add_sweep_trials(folder, [sweep_trial(2, epochs=[0.99])])
        await until(pilot, lambda: len(shown_trials(screen)) == 3, what="the new trial")
        assert shown_trials(screen) == ["#2", "#1", "#0"]
        assert shown_trials(screen)[screen.query_one(DataTable).cursor_row] == "#0"


async def test_enter_opens_an_ended_trials_run_for_review(tmp_path):
    from tui_mnist.tui.screens.run_review import RunReviewScreen

    run = write_run(tmp_path, "20250612-093001-0001", TrainConfig(epochs=3), "done", val_curve(3, 0.9, 0.05))
    fake_sweep(tmp_path, [sweep_trial(0, run=run.name)])
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the run's review")
        assert review.folder.id == run.name


async def test_enter_asks_to_attach_to_a_live_trials_run(tmp_path):
    run = write_run(tmp_path, "20250612-093001-0001", TrainConfig(epochs=3), "running", val_curve(1, 0.9, 0.05))
    os.utime(run / "status.json")  # a fresh heartbeat: the run is live
    fake_sweep(tmp_path, [sweep_trial(0, "running", epochs=[0.9], run=run.name)], state="running")
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        request = await until(pilot, lambda: app.attach_requests, what="the attach request")
        assert [(r.run_dir, r.config.epochs) for r in request] == [(run, 3)]


async def test_enter_on_a_trial_without_a_run_says_so(tmp_path):
    fake_sweep(tmp_path, [sweep_trial(0, "waiting", epochs=[])], state="running")
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        assert app.notes == [("warning", "trial 0 has no run yet (waiting)")]


@pytest.fixture
def sweep_process():
    """A child process standing for a running sweep's; killed if the test leaves it."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    if child.poll() is None:
        child.kill()
    child.wait()


async def test_s_stops_a_running_sweep_after_confirming(tmp_path, sweep_process):
    fake_sweep(tmp_path, [sweep_trial(0, "running", epochs=[0.9])], state="running",
               pid=sweep_process.pid, hostname=this_host())
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("s")
        assert type(app.screen).__name__ == "StopSweepDialog"
        assert sweep_process.poll() is None  # nothing sent before the answer
        await pilot.press("y")
        await until(pilot, lambda: sweep_process.poll() is not None, what="the sweep's process to end")
    assert sweep_process.returncode == -signal.SIGTERM


async def test_s_says_why_a_sweep_cannot_be_stopped(tmp_path):
    fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=OLDER)
    fake_sweep(tmp_path, [sweep_trial(0, "running")], state="running", pid=1, hostname="elsewhere",
               sweep_id=NEWER)
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("s")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: OLDER in heading(screen), what="the older sweep")
        await pilot.press("s")
        assert app.notes == [
            ("warning", f"sweep {NEWER} runs on elsewhere: stop it there "
                        "(ctrl+c in its terminal, or kill -TERM 1)"),
            ("warning", f"sweep {OLDER} is finished: nothing to stop"),
        ]
        assert isinstance(app.screen, SweepScreen)


async def test_a_sweep_whose_process_is_gone_is_stale(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    fake_sweep(tmp_path, [sweep_trial(0, "running")], state="running", pid=gone.pid, hostname=this_host())
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert f"Sweep · {NEWER} · stale ·" in heading(screen)


async def test_a_sweep_that_failed_says_why(tmp_path):
    fake_sweep(tmp_path, [sweep_trial(0)], state="failed", error="cannot reach the scheduler")
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert f"Sweep · {NEWER} · failed ·" in heading(screen)
        settings = str(screen.query_one("#sweep-settings").render())
        assert settings.startswith("failed: cannot reach the scheduler · lr 0.01..0.3 log")


async def test_d_leaves_the_sweep_going(tmp_path, sweep_process):
    fake_sweep(tmp_path, [sweep_trial(0, "running")], state="running", pid=sweep_process.pid,
               hostname=this_host())
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.press("d")
        assert not isinstance(app.screen, SweepScreen)
        assert app.notes == [("information", f"Sweep {NEWER} goes on in the background")]
    assert sweep_process.poll() is None


async def test_without_a_sweep_the_screen_says_how_to_start_one(tmp_path):
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen)
        await until(pilot, lambda: heading(screen) == "Sweep · no sweep yet", what="the reading")
        assert "tui-mnist sweep --lr 0.01..0.3:log" in str(screen.query_one("#sweep-empty").render())
        await pilot.press("left_square_bracket")
        assert app.notes == [("information", "no sweep yet")]


async def test_an_unreadable_sweep_is_told_once_and_others_still_open(tmp_path):
    fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=OLDER)
    broken = fake_sweep(tmp_path, [sweep_trial(0)], sweep_id=NEWER)
    broken.journal_file.write_bytes(b"{not json\n{}\n")
    app = Host(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen)
        await until(pilot, lambda: "cannot be read" in heading(screen), what="the reading")
        assert heading(screen) == f"Sweep · {NEWER} · cannot be read"
        assert [severity for severity, _ in app.notes] == ["error"]
        assert str(broken.journal_file) in app.notes[0][1]
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: OLDER in heading(screen), what="the older sweep")


# --- snapshot ------------------------------------------------------------------------------


@pytest.mark.usefixtures("colour")
class TestSnapshot:
    def test_a_sweep_at_80x24(self, snap_compare, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        Path("runs").mkdir()
        fake_sweep(Path("runs"), mixed_trials(), trials_asked=20)
        app = Host(Path("runs"))
        assert snap_compare(app, terminal_size=(80, 24), run_before=opened)

