"""Every epoch replayable (issue 12, item 6), by keys: `[` and `]` step through a run's epochs in
the confusion and weights views, read from its folder; past the newest is "now" (the network the
view was given); an epoch whose data was not kept says so; a view at the newest epoch follows
the run. The inspector steps through the kept checkpoints only, and a confusion cell of a past
epoch opens that epoch's checkpoint on the validation images. An ended run's review opens every
view. Plus snapshots at 80x24 of a past epoch in the confusion and weights views.

Two kinds of run folder: `fakes.recorded_run`'s made-up records (no checkpoints; epoch e's
confusion has 400 + 10 e on the diagonal, 60 - 10 e images of a 4 taken for a 9, and its first
layer is a fixed-seed network's times e), and a real two-epoch run of the CLI on the small
MNIST (`trained`: a checkpoint and a record for each epoch), which tests copy before changing.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakes import (
    RecordingApp,
    ScreenHost,
    cli_flags,
    environment,
    epoch_record,
    fixed_seed_network,
    predicted,
    recorded_run,
    shown_text,
    small_config,
    source_of,
    tui_mnist,
    until,
)

from tui_mnist.engine.epoch_record import load_record
from tui_mnist.engine.weights import first_layer_images
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.confusion import ConfusionScreen
from tui_mnist.tui.screens.health import HealthScreen
from tui_mnist.tui.screens.inspector import InspectorScreen, InspectSource
from tui_mnist.tui.screens.run_review import RunReviewScreen
from tui_mnist.tui.screens.runs import RunsScreen
from tui_mnist.tui.screens.source_view import already
from tui_mnist.tui.screens.weights import WeightsScreen
from tui_mnist.tui.widgets.weight_image import WeightImage

TITLE = "run 20250612-093000-aa11"
EARLIER, LATER = "left_square_bracket", "right_square_bracket"


async def no_fetch() -> InspectSource:
    raise AssertionError("a view at a past epoch reads the run's folder, never fetches")


@pytest.fixture
def source(mnist) -> InspectSource:
    """"Now": an untrained fixed-seed network on the first 500 test images."""
    return source_of(fixed_seed_network(), mnist, count=500)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_data) -> Path:
    """A finished two-epoch run of the CLI (784-16-10 on the small MNIST, validation 1000),
    with a checkpoint and a record for epochs 1 and 2. Read-only: copy it to change it."""
    root = tmp_path_factory.mktemp("replay-run")
    result = tui_mnist("train", *cli_flags(small_config()), "--data-dir", str(small_data),
                       env=environment(root, small_data))
    assert result.returncode == 0, result.stderr
    (path,) = (root / "runs").iterdir()
    folder = RunFolder(path)
    assert folder.checkpoint_epochs() == [1, 2] and folder.record_epochs() == [1, 2]
    return path


def copy_of(run: Path, tmp_path: Path) -> RunFolder:
    return RunFolder(shutil.copytree(run, tmp_path / "runs" / run.name))


# --- confusion -----------------------------------------------------------------------------


def confusion_host(path: Path, source: InspectSource | None = None) -> ScreenHost:
    if source is None:
        return ScreenHost(lambda: ConfusionScreen(TITLE, no_fetch, records=RunFolder(path)))
    return ScreenHost(lambda: ConfusionScreen.of(source, records=RunFolder(path)))


async def confusion_at(pilot, where: str) -> ConfusionScreen:
    """Let the app run until the confusion screen on top shows the counts of `where` (e.g.
    "validation set · epoch 2 of 4", "test set · now"); returns the screen."""

    def shown():
        screen = pilot.app.screen
        return (isinstance(screen, ConfusionScreen) and screen.matrix is not None
                and shown_text(screen, "#status").startswith(f"{where}: ") and screen)

    return await until(pilot, shown, what=f"the confusion matrix of the {where}")


async def confusion_unkept(pilot, epoch: int, of: int) -> ConfusionScreen:
    def shown():
        screen = pilot.app.screen
        return (isinstance(screen, ConfusionScreen)
                and shown_text(screen, "#status").startswith(f"epoch {epoch} of {of}: ") and screen)

    return await until(pilot, shown, what=f"epoch {epoch} said to be missing")


def keys_to(start: tuple[int, int], cell: tuple[int, int]) -> list[str]:
    """The arrow keys that take the cell cursor from `start` to `cell`."""
    rows, cols = cell[0] - start[0], cell[1] - start[1]
    return ["down" if rows > 0 else "up"] * abs(rows) + ["right" if cols > 0 else "left"] * abs(cols)


def largest_mistake(matrix: np.ndarray) -> tuple[tuple[int, int], int]:
    """The off-diagonal cell with the most images, and its count."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    row, col = np.unravel_index(int(off.argmax()), off.shape)
    return (int(row), int(col)), int(off[row, col])


async def test_confusion_opens_on_the_newest_epoch_and_steps_to_now_on_the_test_set(tmp_path, source):
    app = confusion_host(recorded_run(tmp_path, 4), source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await confusion_at(pilot, "validation set · epoch 4 of 4")
        np.testing.assert_array_equal(screen.matrix, epoch_record(4).confusion)
        assert screen.epoch_shown == 4 and screen.set_name == "validation"
        await pilot.press(EARLIER, EARLIER)
        screen = await confusion_at(pilot, "validation set · epoch 2 of 4")
        np.testing.assert_array_equal(screen.matrix, epoch_record(2).confusion)
        await pilot.press(LATER)
        screen = await confusion_at(pilot, "validation set · epoch 3 of 4")
        np.testing.assert_array_equal(screen.matrix, epoch_record(3).confusion)
        await pilot.press(LATER, LATER)  # past the newest: now, on the test set
        screen = await confusion_at(pilot, "test set · now")
        assert screen.epoch_shown is None and screen.source is source
        assert screen.matrix.sum() == len(source.labels)
        assert shown_text(screen, "#heading") == f"Confusion · {source.title}"
        await pilot.press(LATER)  # nothing after now
        assert app.notes[-1] == ("information", "No later epoch")
        await pilot.press(EARLIER)
        await confusion_at(pilot, "validation set · epoch 4 of 4")
        await pilot.press("r")  # from an epoch, r counts now too
        screen = await confusion_at(pilot, "test set · now")
        assert screen.epoch_shown is None and screen.matrix.sum() == len(source.labels)
        assert [severity for severity, _ in app.notes] == ["information"]


async def test_confusion_says_an_epoch_was_not_kept_and_greys_out_its_cells(tmp_path):
    app = confusion_host(recorded_run(tmp_path, 3, kept=[1, 3]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await confusion_at(pilot, "validation set · epoch 3 of 3")
        cursor = screen.cursor
        await pilot.press(EARLIER)
        screen = await confusion_unkept(pilot, 2, 3)
        assert shown_text(screen, "#status") == "epoch 2 of 3: its counts: not kept · [ ] other epochs · r test set"
        assert screen.matrix is None and not screen.query_one("#matrix").display
        assert screen.check_action("move", (1, 0)) is None and screen.check_action("open", ()) is None
        await pilot.press("down", "right", "enter")  # greyed out: nothing moves, nothing opens
        await pilot.pause()
        assert app.screen is screen and screen.cursor == cursor
        assert app.notes == []
        await pilot.press(EARLIER)
        screen = await confusion_at(pilot, "validation set · epoch 1 of 3")
        np.testing.assert_array_equal(screen.matrix, epoch_record(1).confusion)
        assert screen.query_one("#matrix").display


async def test_confusion_at_the_newest_epoch_follows_the_run(tmp_path):
    path = recorded_run(tmp_path, 4)
    app = confusion_host(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await confusion_at(pilot, "validation set · epoch 4 of 4")
        folder = RunFolder(path)
        folder.save_record(epoch_record(5))
        folder.write_status({**folder.read_status(), "epoch": 5})
        screen = await confusion_at(pilot, "validation set · epoch 5 of 5")
        assert screen.epoch_shown == 5
        np.testing.assert_array_equal(screen.matrix, epoch_record(5).confusion)


async def test_a_cell_of_a_past_epoch_opens_its_checkpoint_on_the_validation_images(trained):
    app = confusion_host(trained)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await confusion_at(pilot, "validation set · epoch 2 of 2")
        np.testing.assert_array_equal(screen.matrix, load_record(RunFolder(trained).record_file(2)).confusion)
        await pilot.press(EARLIER)
        screen = await confusion_at(pilot, "validation set · epoch 1 of 2")
        cell, count = largest_mistake(screen.matrix)
        assert count > 0
        await pilot.press(*keys_to(screen.cursor, cell))
        assert screen.cursor == cell
        await pilot.press("enter")
        inspector = await predicted(pilot)
        assert inspector.source.set_name == "validation"
        assert inspector.source.title == "epoch 1 checkpoint"
        assert len(inspector.source.labels) == 1000
        # The checkpoint's network on the validation images gives the record's very counts.
        assert len(inspector.chosen) == count
        assert (inspector.source.labels[inspector.chosen] == cell[0]).all()
        assert (inspector.predictions.predicted[inspector.chosen] == cell[1]).all()
        assert app.notes == []


async def test_a_cell_of_an_epoch_whose_checkpoint_is_gone_warns_and_opens_nothing(trained, tmp_path):
    folder = copy_of(trained, tmp_path)
    folder.checkpoint_file(1).unlink()
    app = confusion_host(folder.path)
    async with app.run_test(size=(80, 24)) as pilot:
        await confusion_at(pilot, "validation set · epoch 2 of 2")
        await pilot.press(EARLIER)  # its record is still there
        screen = await confusion_at(pilot, "validation set · epoch 1 of 2")
        cell, count = largest_mistake(screen.matrix)
        assert count > 0
        await pilot.press(*keys_to(screen.cursor, cell), "enter")
        await pilot.pause()
        assert app.screen is screen
        ((severity, message),) = app.notes
        assert severity == "warning" and "were not kept" in message


# --- weights -------------------------------------------------------------------------------


def weights_host(path: Path, source: InspectSource) -> ScreenHost:
    return ScreenHost(lambda: WeightsScreen.of(source, records=RunFolder(path)))


def thumbnails(screen: WeightsScreen) -> list[WeightImage]:
    return list(screen.query_one("#units").query_children(WeightImage))


async def weights_showing(pilot, heading: str, page: str) -> WeightsScreen:
    """Let the app run until the weights screen on top has `heading` and its "#page" line
    starts with `page`; returns the screen."""

    def shown():
        screen = pilot.app.screen
        return (isinstance(screen, WeightsScreen) and shown_text(screen, "#heading") == heading
                and shown_text(screen, "#page").startswith(page) and screen)

    return await until(pilot, shown, what=f"the weights: {heading} / {page}")


async def test_weights_step_from_now_to_the_records_first_layer_and_back(tmp_path, source):
    app = weights_host(recorded_run(tmp_path, 4), source)
    now = f"Weights · {source.title} · now · 4 epochs done"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await weights_showing(pilot, now, "layer 1/2 (784→16) half size")
        assert screen.epoch_shown is None and screen.source is source
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(source.network.weights[0])[0])
        await pilot.press(EARLIER)
        epoch_4 = "Weights · epoch 4 of 4 · first layer (float16)"
        screen = await weights_showing(pilot, epoch_4, "layer 1/1 (784→16) half size · units 1–10 of 16")
        assert screen.epoch_shown == 4
        assert screen.units_shown == list(range(10))
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(epoch_record(4).first_weights)[0])
        await pilot.press("tab")  # the record has no other layer
        assert shown_text(screen, "#page").startswith("layer 1/1 (784→16)")
        assert app.notes == [("information", "An epoch's record keeps the first layer only: r shows every layer now")]
        await pilot.press(EARLIER)
        screen = await weights_showing(pilot, "Weights · epoch 3 of 4 · first layer (float16)", "layer 1/1")
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(epoch_record(3).first_weights)[0])
        await pilot.press(LATER, LATER)  # past the newest: now, every layer
        screen = await weights_showing(pilot, now, "layer 1/2 (784→16) half size")
        assert screen.epoch_shown is None
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(source.network.weights[0])[0])
        await pilot.press(EARLIER)
        await weights_showing(pilot, epoch_4, "layer 1/1")
        await pilot.press("r")  # from an epoch, r shows now too
        screen = await weights_showing(pilot, now, "layer 1/2 (784→16) half size")
        assert screen.epoch_shown is None and len(thumbnails(screen)) == 10


async def test_weights_of_an_epoch_not_kept_say_so(tmp_path, source):
    app = weights_host(recorded_run(tmp_path, 3, kept=[1, 3]), source)
    async with app.run_test(size=(80, 24)) as pilot:
        await weights_showing(pilot, f"Weights · {source.title} · now · 3 epochs done", "layer 1/2")
        await pilot.press(EARLIER, EARLIER)
        screen = await weights_showing(pilot, "Weights · epoch 2 of 3", "epoch 2: ")
        assert shown_text(screen, "#page") == "epoch 2: its weights not kept · [ ] other epochs · r now"
        assert thumbnails(screen) == [] and screen.units_shown == []
        await pilot.press("r")
        screen = await weights_showing(pilot, f"Weights · {source.title} · now · 3 epochs done",
                                       "layer 1/2 (784→16) half size · units 1–10 of 16")
        assert len(thumbnails(screen)) == 10


# --- inspector -----------------------------------------------------------------------------


def inspector_host(path: Path, source: InspectSource) -> ScreenHost:
    return ScreenHost(lambda: InspectorScreen("now", already(source), records=RunFolder(path)))


async def inspecting(pilot, title: str) -> InspectorScreen:
    """Let the app run until the inspector on top shows the predictions of the source `title`."""

    def shown():
        screen = pilot.app.screen
        return (isinstance(screen, InspectorScreen) and screen.predictions is not None
                and screen.source.title == title and screen)

    return await until(pilot, shown, what=f"the inspector on {title}")


async def test_the_inspector_steps_through_the_kept_checkpoints_and_back_to_now(trained, source):
    now = replace(source, title="the weights now")
    app = inspector_host(trained, now)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inspecting(pilot, "the weights now")
        assert screen.source is now and screen.epoch_shown is None
        assert shown_text(screen, "#heading") == "Inspector · the weights now · now · 2 epochs done"
        await pilot.press(EARLIER)
        screen = await inspecting(pilot, "epoch 2 checkpoint")
        assert screen.epoch_shown == 2 and screen.source.set_name == "test"
        assert len(screen.source.labels) == 500  # the run's own test set
        assert shown_text(screen, "#heading") == "Inspector · epoch 2 checkpoint · epoch 2 of 2"
        await pilot.press(EARLIER)
        screen = await inspecting(pilot, "epoch 1 checkpoint")
        assert screen.epoch_shown == 1
        await pilot.press(EARLIER)
        assert app.notes == [("information", "No earlier epoch")]
        assert screen.epoch_shown == 1
        await pilot.press(LATER)
        await inspecting(pilot, "epoch 2 checkpoint")
        await pilot.press(LATER)
        screen = await inspecting(pilot, "the weights now")
        assert screen.source is now and screen.epoch_shown is None


async def test_the_inspector_skips_the_epochs_whose_checkpoint_is_gone(trained, tmp_path, source):
    folder = copy_of(trained, tmp_path)
    folder.checkpoint_file(1).unlink()
    app = inspector_host(folder.path, replace(source, title="the weights now"))
    async with app.run_test(size=(80, 24)) as pilot:
        await inspecting(pilot, "the weights now")
        await pilot.press(EARLIER)
        screen = await inspecting(pilot, "epoch 2 checkpoint")
        await pilot.press(EARLIER)
        assert app.notes == [("information", "No earlier epoch")]
        assert screen.epoch_shown == 2 and screen.source.title == "epoch 2 checkpoint"


# --- the review of an ended run ------------------------------------------------------------


async def test_an_ended_runs_review_opens_every_view_on_its_epochs(trained, tmp_path):
    folder = copy_of(trained, tmp_path)
    newest = load_record(folder.record_file(2))
    app = RecordingApp(runs_dir=folder.runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        ledger = await until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen)
        await until(pilot, lambda: ledger.current() is not None, what="the run listed")
        await pilot.press("enter")
        review = await until(pilot, lambda: isinstance(app.screen, RunReviewScreen) and app.screen,
                             what="the run's review")
        await until(pilot, lambda: review.state == "finished", what="the run read")

        await pilot.press("x")
        screen = await confusion_at(pilot, "validation set · epoch 2 of 2")
        assert screen.records.path == folder.path
        np.testing.assert_array_equal(screen.matrix, newest.confusion)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is review, what="the review again")

        await pilot.press("u")
        screen = await weights_showing(pilot, "Weights · epoch 2 checkpoint · now · 2 epochs done",
                                       "layer 1/2 (784→16)")
        await pilot.press(EARLIER)
        screen = await weights_showing(pilot, "Weights · epoch 2 of 2 · first layer (float16)", "layer 1/1")
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(newest.first_weights)[0])
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is review, what="the review again")

        await pilot.press("h")
        screen = await until(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen.figures
                             and app.screen, what="the health view's figures")
        await until(pilot, lambda: shown_text(screen, "#heading").endswith(" · epoch 2 of 2"),
                    what="the health view at epoch 2")
        assert [layer.weight_norm for layer in screen.figures] == [layer.weight_norm for layer in newest.layers]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is review, what="the review again")

        await pilot.press("i")
        screen = await inspecting(pilot, "epoch 2 checkpoint")
        assert screen.records.path == folder.path
        assert shown_text(screen, "#heading") == "Inspector · epoch 2 checkpoint · now · 2 epochs done"
        await pilot.press(EARLIER)
        screen = await inspecting(pilot, "epoch 2 checkpoint")
        assert screen.epoch_shown == 2
        await pilot.press(EARLIER)
        screen = await inspecting(pilot, "epoch 1 checkpoint")
    assert app.notes == []


# --- snapshots -----------------------------------------------------------------------------


@pytest.mark.usefixtures("colour")
class TestReplaySnapshots:
    """Deterministic: made-up records with fixed numbers (`epoch_record`), a fixed title, and
    run_before waits until the stepped-to epoch is drawn (update: --snapshot-update)."""

    def test_the_confusion_matrix_two_epochs_back(self, snap_compare, tmp_path):
        app = confusion_host(recorded_run(tmp_path, 4))

        async def two_back(pilot):
            await confusion_at(pilot, "validation set · epoch 4 of 4")
            await pilot.press(EARLIER, EARLIER)
            await confusion_at(pilot, "validation set · epoch 2 of 4")

        assert snap_compare(app, terminal_size=(80, 24), run_before=two_back)

    def test_the_weights_of_epoch_3(self, snap_compare, tmp_path, source):
        app = weights_host(recorded_run(tmp_path, 4), source)

        async def epoch_3(pilot):
            await weights_showing(pilot, f"Weights · {source.title} · now · 4 epochs done", "layer 1/2")
            await pilot.press(EARLIER, EARLIER)
            await weights_showing(pilot, "Weights · epoch 3 of 4 · first layer (float16)", "layer 1/1")

        assert snap_compare(app, terminal_size=(80, 24), run_before=epoch_3)
