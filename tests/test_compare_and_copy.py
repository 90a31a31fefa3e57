"""Issue 11: copying says what really happened and shows the text; a learning rate scaled live
is recorded in the run's folder, shown by compare and marked on the run's command; overlapping
curves in compare take turns, so every run stays visible."""

from __future__ import annotations

import pytest
from fakes import RecordingApp, make_app, small_config, three_runs, until
from test_runs_host import HostedRun

from tui_mnist.engine.presets import PRESETS
from tui_mnist.runs.execute import execute_run
from tui_mnist.runs.ledger import summarize
from tui_mnist.runs.resume import materialize, plan_resume
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.clipboard import TMUX_HINT, copy_notice
from tui_mnist.tui.screens.compare import CHANGED_LIVE, DIFFERS, CompareScreen, interleaved
from tui_mnist.tui.screens.runs import RunsScreen

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SCALED = {"what": "lr", "factor": 1.25, "scale": 1.25, "epoch": 2, "step": 900}


def test_the_copy_notice_does_not_claim_success_and_shows_the_text():
    notice = copy_notice("command line", "tui-mnist train --epochs 4")
    assert "copied" not in notice
    assert "OSC 52" in notice and "select the text below" in notice
    assert notice.endswith("\ntui-mnist train --epochs 4")
    assert TMUX_HINT not in notice
    assert TMUX_HINT in copy_notice("command line", "x", in_tmux=True)


async def test_the_settings_copy_key_says_the_same(monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.press("y")
        await until(pilot, lambda: app.clipboard, what="the copy")
        assert app.notes[-1] == ("information", copy_notice("command line", app.clipboard))
        assert app.clipboard == PRESETS["fast"][1].command_line()


def test_identical_curves_take_turns_and_both_stay_visible():
    curve = ([1.0, 2.0, 3.0, 4.0], [90.0, 94.0, 95.0, 96.0])
    first, second = interleaved([curve, curve], samples=64)
    assert first[0] and second[0]
    assert not set(first[0]) & set(second[0])  # never drawn over each other
    assert sorted(first[0] + second[0]) == pytest.approx([1 + 3 * k / 63 for k in range(64)])


def test_distant_curves_keep_all_their_points():
    low, high = interleaved([([1.0, 4.0], [0.0, 0.0]), ([1.0, 4.0], [10.0, 10.0])], samples=8)
    assert len(low[0]) == len(high[0]) == 8
    assert set(low[1]) == {0.0} and set(high[1]) == {10.0}


def test_a_live_learning_rate_change_is_recorded_in_the_run(runs_env):
    run = HostedRun(small_config(epochs=500, batch_size=10), paused=True)
    run.client.scale_lr(1.25)
    run.client.scale_lr(0.8)
    changes = RunFolder(run.folder.path).read_changes()
    run.client.stop()
    run.finish()
    assert changes == [
        {"what": "lr", "factor": 1.25, "scale": 1.25, "epoch": 1, "step": 0},
        {"what": "lr", "factor": 0.8, "scale": pytest.approx(1.0), "epoch": 1, "step": 0},
    ]
    summary = summarize(RunFolder(run.folder.path))
    assert summary.changes == changes and not summary.reproducible


def test_a_run_resumed_from_a_scaled_checkpoint_records_the_scale_it_inherits(runs_env):
    parent = HostedRun(small_config(epochs=1, batch_size=100), paused=True)
    parent.client.scale_lr(1.25)
    parent.client.resume()
    parent.finish()
    plan = plan_resume(parent.folder.runs_dir, parent.folder.id, lambda c: c.with_changes(epochs=2))
    child = materialize(plan, lambda message: None, None)
    execute_run(child)
    assert child.id != parent.folder.id
    assert child.read_changes() == [
        {"what": "lr", "factor": 1.25, "scale": 1.25, "epoch": 2, "step": 20, "from": "checkpoint"},
    ]


async def test_compare_shows_live_changes_and_copy_is_honest(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    done, stopped, _ = three_runs(tmp_path)
    RunFolder(stopped).add_change(SCALED)
    app = RecordingApp(runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 3)
        await pilot.press("down", "space", "down", "space", "c")
        compare = await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        settings = compare.query_one("#settings")
        rows = {str(row[1]): row for row in map(settings.get_row_at, range(settings.row_count))}
        assert rows[CHANGED_LIVE][0] == DIFFERS
        assert [str(cell) for cell in rows[CHANGED_LIVE][2:]] == ["lr ×1.25 at epoch 2 step 900", "none"]
        assert CHANGED_LIVE in compare.differing
        commands = str(compare.query_one("#commands").render()).splitlines()
        assert "does not reproduce this run: lr ×1.25 at epoch 2 step 900" in commands[0]
        assert "does not reproduce" not in commands[1]

        await pilot.press("y")
        copied = app.clipboard.splitlines()
        assert copied[0].startswith(RunFolder(stopped).read_config()["command"] + "  # does not reproduce")
        assert copied[1] == RunFolder(done).read_config()["command"]
        assert app.notes[-1][1] == copy_notice("2 command line(s)", app.clipboard)

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("y")  # the list's copy key says the same (its cursor is on `done`)
        assert app.notes[-1][1] == copy_notice("command line", RunFolder(done).read_config()["command"])
