"""The inspector: predictions computed by a worker behind a loading indicator, navigation and
filters by key presses and the mouse wheel, the grid view; the digit and probability renderers."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fakes import RecordingApp, predicted, until
from textual import events
from textual.app import App
from textual.widgets import Static

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.metrics import predict_proba
from tui_mnist.engine.model_io import save_model
from tui_mnist.engine.network import Network
from tui_mnist.tui.clipboard import copy_notice
from tui_mnist.tui.screens.inspector import Filters, InspectorScreen, InspectSource
from tui_mnist.tui.widgets.digit import RAMP, UPPER_HALF, DigitView, digit_ascii, digit_text
from tui_mnist.tui.widgets.digit_grid import DigitGrid, GridCell, cell_label, thumbnail
from tui_mnist.tui.widgets.probabilities import probability_text


def small_source(mnist, count: int = 100) -> InspectSource:
    """An untrained fixed-seed network on the first test images: deterministic, and wrong
    often enough to make every filter interesting."""
    network = Network.create((784, 16, 10), "relu", np.random.default_rng(7))
    return InspectSource(
        network=network,
        normalizer=mnist.normalizer,
        images=mnist.x_test[:count],
        labels=mnist.y_test[:count],
        shape=mnist.shape,
        title="fixed-seed 784-16-10",
    )


class Host(App):
    def __init__(self, source: InspectSource) -> None:
        super().__init__()
        self.source = source

    def on_mount(self) -> None:
        self.push_screen(InspectorScreen.of(self.source))


@pytest.fixture
def source(mnist) -> InspectSource:
    return small_source(mnist)


@pytest.fixture
def probs(source) -> np.ndarray:
    return predict_proba(source.network, source.images, source.normalizer)


async def walk(pilot, steps: int) -> list[int]:
    """The set indices shown while pressing j `steps` times, starting with the current one."""
    seen = [pilot.app.screen.current_index]
    for _ in range(steps):
        await pilot.press("j")
        seen.append(pilot.app.screen.current_index)
    return seen


def counts(app: App) -> str:
    return str(app.screen.query_one("#counts", Static).render())


def verdict(app: App) -> str:
    return str(app.screen.query_one("#verdict", Static).render())


@pytest.fixture
def held(monkeypatch):
    """The inspector's predict_proba waits for `held.set()`: the test sees the screen before
    its worker is done. (A bounded wait: a failing test must not leave the thread hanging.)"""
    release = threading.Event()

    def held_predict_proba(*args, **kwargs):
        release.wait(timeout=10)
        return predict_proba(*args, **kwargs)

    monkeypatch.setattr("tui_mnist.tui.screens.inspector.predict_proba", held_predict_proba)
    return release


async def test_the_inspector_is_loading_until_its_worker_brings_the_predictions(
    source, probs, held
):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        screen = app.screen
        body = screen.query_one("#body")
        assert body.loading
        assert screen.predictions is None and screen.current_index is None
        assert "predicting the images" in counts(app)

        await pilot.press("j", "m", "3", "c")  # greyed out: nothing to move through or filter
        assert screen.filters == Filters() and screen.position == 0

        held.set()
        await app.workers.wait_for_complete()
        await predicted(pilot)
        assert not body.loading
        assert screen.current_index == 0
        expected = int(probs[0].argmax())
        assert f"true {source.labels[0]} · predicted {expected}" in verdict(app)
        assert "showing 1/100" in counts(app) and "filter: all" in counts(app)
        await pilot.press("j")
        assert screen.current_index == 1


async def test_a_failed_prediction_is_a_notification_and_the_app_goes_on(source, monkeypatch):
    def failing_predict_proba(*args, **kwargs):
        raise MemoryError("no room for the probabilities (test)")

    monkeypatch.setattr("tui_mnist.tui.screens.inspector.predict_proba", failing_predict_proba)
    app = RecordingApp(inspect_source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.notes)
        assert app.notes == [("error", "predict: no room for the probabilities (test)")]
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        assert not screen.query_one("#body").loading
        assert "no predictions: no room for the probabilities (test)" in counts(app)
        await pilot.press("j", "m")
        assert app.screen is screen and app.is_running


async def test_arrows_and_j_k_move_through_the_set(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        screen = app.screen
        assert screen.current_index == 0
        await pilot.press("j", "right")
        assert screen.current_index == 2
        await pilot.press("k")
        assert screen.current_index == 1
        await pilot.press("left", "left")
        assert screen.current_index == 99  # wraps around
        assert "showing 100/100" in counts(app)


async def test_misclassified_only_shows_exactly_the_wrong_ones(source, probs):
    wrong = np.flatnonzero(probs.argmax(axis=1) != source.labels)
    assert 0 < len(wrong) < 100
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        await pilot.press("m")
        assert f"misclassified: {len(wrong)} of 100, showing 1/{len(wrong)}" in counts(app)
        assert list(app.screen.chosen) == list(wrong)
        assert await walk(pilot, 3) == list(wrong[:4])
        assert "✗ WRONG" in verdict(app)


async def test_a_digit_key_filters_by_true_label_and_again_lifts_it(source):
    threes = np.flatnonzero(source.labels == 3)
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        await pilot.press("3")
        assert "true label 3" in counts(app)
        assert await walk(pilot, len(threes) - 1) == list(threes)
        await pilot.press("3")
        assert "showing" in counts(app) and "/100" in counts(app)


async def test_least_confident_first_orders_by_rising_top_probability(source, probs):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        await pilot.press("c")
        order = list(app.screen.chosen)
        assert sorted(order) == list(range(100))
        assert np.all(np.diff(probs.max(axis=1)[order]) >= 0)
        assert await walk(pilot, 3) == order[:4]


async def test_g_jumps_to_an_index_and_refuses_one_out_of_range(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        inspector = app.screen
        await pilot.press("g", *"500", "enter")
        error = str(app.screen.query_one("#ask-error", Static).render())
        assert "not between 0 and 99" in error
        await pilot.press("ctrl+u", *"42", "enter")
        assert app.screen is inspector
        assert inspector.current_index == 42

        # An index outside the current filter lifts the filter rather than going nowhere.
        await pilot.press(str((int(source.labels[42]) + 1) % 10), "g", *"42", "enter")
        assert inspector.current_index == 42
        assert "filter: all" in counts(app)


def test_from_model_file_reads_the_model_and_the_test_set(tmp_path, monkeypatch, mnist_cache_dir):
    monkeypatch.setattr("tui_mnist.engine.data.default_cache_dir", lambda: mnist_cache_dir)
    network = Network.create((784, 10), "relu", np.random.default_rng(0))
    path = tmp_path / "model.npz"
    save_model(path, network, Normalizer(scale=1 / 255, offset=0.0))
    loaded = InspectSource.from_model_file(path)
    assert loaded.images.shape == (10000, 784) and loaded.labels.shape == (10000,)
    assert loaded.title == str(path)
    np.testing.assert_array_equal(loaded.network.weights[0], network.weights[0])

    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        InspectSource.from_model_file(tmp_path / "junk.npz")


def known_image() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[0, 0], image[1, 0] = 255, 128  # the first cell: white over mid grey
    image[26:28, 27] = 255  # the last cell: full ink
    return image


def test_half_blocks_carry_the_top_pixel_in_front_and_the_bottom_one_behind():
    text = digit_text(known_image(), (28, 28), color=True)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and all(line == UPPER_HALF * 28 for line in lines)
    first = next(span.style for span in text.spans if span.start == 0)
    assert first.color.triplet == (255, 255, 255)
    assert first.bgcolor.triplet == (128, 128, 128)


def test_the_ramp_uses_plain_characters_from_light_to_dark():
    text = digit_text(known_image(), (28, 28), color=False)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and all(len(line) == 28 for line in lines)
    assert not text.spans and UPPER_HALF not in text.plain
    assert lines[0][0] == RAMP[7]  # mean of 255 and 128
    assert lines[13][27] == RAMP[-1]
    assert set(text.plain) - {"\n"} <= set(RAMP)


async def test_no_color_switches_the_inspector_to_the_ramp(source, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        drawn = app.screen.query_one(DigitView).render().plain
        assert UPPER_HALF not in drawn and "@" in drawn


def test_probabilities_mark_truth_and_prediction_in_words():
    probs = np.full(10, 0.02)
    probs[3] = 0.82
    lines = probability_text(probs, true_label=5, width=60).plain.split("\n")
    assert len(lines) == 10
    assert lines[3].startswith("3 ") and lines[3].endswith("82.0% ◀ predicted")
    assert lines[5].endswith("2.0% ◀ true")
    assert "◀" not in lines[0]
    assert lines[3].count("█") > lines[5].count("█")


async def wheel(pilot, over: str, down: bool) -> None:
    """One notch of the mouse wheel over widget `over`, posted as the terminal driver posts it."""
    x, y = pilot.app.screen.query_one(over).region.center
    notch = events.MouseScrollDown if down else events.MouseScrollUp
    pilot.app.post_message(notch(None, x, y, 0, 0, 0, False, False, False, screen_x=x, screen_y=y))
    await pilot.pause()


async def test_the_mouse_wheel_moves_like_j_and_k(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await wheel(pilot, "#digit", down=True)
        await until(pilot, lambda: screen.current_index == 1, what="the next image")
        await wheel(pilot, "#probs", down=True)
        await until(pilot, lambda: screen.current_index == 2, what="the image after")
        for _ in range(3):
            await wheel(pilot, "#digit", down=False)
        await until(pilot, lambda: screen.current_index == 99, what="a wrap to the last image")
        assert "showing 100/100" in counts(app)

        await pilot.press("v")
        await wheel(pilot, "#grid", down=True)
        await until(pilot, lambda: screen.current_index == 0, what="the grid's selection moved")
        assert screen.query_one(DigitGrid).selected == 0


def grid_text(app: App) -> list[str]:
    grid = app.screen.query_one(DigitGrid)
    return [grid.render_line(y).text for y in range(grid.size.height)]


async def test_v_shows_the_filter_as_a_grid_labelled_with_predictions(source, probs):
    wrong = np.flatnonzero(probs.argmax(axis=1) != source.labels)
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("m", "v")
        grid = screen.query_one(DigitGrid)
        await until(pilot, lambda: grid.capacity >= 6 and len(grid.cells) == grid.capacity,
                    what="a full page")
        assert not screen.query_one("#body").display and grid.display
        assert [cell.index for cell in grid.cells] == list(wrong[: grid.capacity])
        first = wrong[0]
        text = "\n".join(grid_text(app))
        assert f"▸{probs[first].argmax()} ✗ true {source.labels[first]}" in text
        assert text.count("✗ true") == grid.capacity and text.count("▸") == 1
        assert f"test image {first} (⏎ opens)" in counts(app)

        await pilot.press("v")
        assert screen.query_one("#body").display and not grid.display
        assert screen.current_index == first

        no_mistakes = next(label for label in range(10) if label not in source.labels[wrong])
        await pilot.press("v", str(no_mistakes))
        assert grid.cells == [] and "none match (a: all)" in counts(app)



async def grid_view(pilot, screen) -> DigitGrid:
    """Switch `screen` to its grid (v) and wait for a full page of cells."""
    await pilot.press("v")
    grid = screen.query_one(DigitGrid)
    await until(pilot, lambda: len(grid.cells) == grid.capacity, what="a full page")
    return grid

async def test_grid_keys_move_page_and_open_the_selected_image(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        grid = await grid_view(pilot, screen)
        assert grid.capacity >= 6
        columns, capacity = grid.columns, grid.capacity
        await pilot.press("j", "right")
        assert grid.selected == 2 and screen.current_index == 2
        await pilot.press("down")
        assert screen.current_index == 2 + columns
        await pilot.press("up", "k")
        assert screen.current_index == 1
        await pilot.press("pagedown")
        assert screen.current_index == 1 + capacity
        assert [cell.index for cell in grid.cells] == list(range(capacity, 2 * capacity))
        assert grid.selected == 1
        await pilot.press("pageup", "pageup")
        assert screen.current_index == 0 and grid.cells[0].index == 0

        await pilot.press("j", "j", "enter")
        assert not screen.grid_view and screen.query_one("#body").display
        assert screen.current_index == 2
        assert "test image 2\n" in verdict(app)
        await pilot.press("enter")  # the single view has nothing to open
        assert not screen.grid_view


async def test_the_grid_draws_each_picture_once_and_repaints_only_the_selection(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        grid = await grid_view(pilot, screen)
        cell = grid.cells[3]
        assert grid.picture_lines(cell) is grid.picture_lines(cell)
        assert grid.label_line(cell, selected=False) is grid.label_line(cell, selected=False)
        assert grid.cell_region(grid.columns + 1).offset == (grid.cell_size.width, grid.cell_size.height)


def test_a_thumbnail_averages_two_by_two_blocks_and_labels_say_right_or_wrong():
    small, shape = thumbnail(known_image(), (28, 28))
    assert shape == (14, 14)
    assert small[0, 0] == (255 + 128) // 4 and small[13, 13] == (255 + 255) // 4
    image = known_image().ravel()
    assert cell_label(GridCell(5, image, predicted=3, true_label=5), selected=True) == "▸3 ✗ true 5"
    assert cell_label(GridCell(6, image, predicted=7, true_label=7), selected=False) == " 7 ✓"


async def test_a_bigger_window_holds_a_bigger_page_around_the_same_image(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("v", "pagedown", "j")
        grid = screen.query_one(DigitGrid)
        small = grid.capacity
        assert screen.current_index == small + 1
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: grid.capacity > small and len(grid.cells) == grid.capacity,
                    what="a bigger page")
        assert screen.current_index == small + 1
        assert grid.cells[grid.selected].index == small + 1


async def test_no_color_draws_the_grid_with_the_ramp_and_marks_the_selection(source, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await grid_view(pilot, screen)
        text = "\n".join(grid_text(app))
        assert UPPER_HALF not in text and "@" in text
        assert text.count("▸") == 1


# --- ASCII on request, and copying a digit as ASCII art -------------------------------------


@pytest.mark.usefixtures("colour")
async def test_t_switches_the_digit_and_the_grid_between_half_blocks_and_ascii(source):
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        digit = screen.query_one(DigitView)
        assert set(digit.render().plain) == {UPPER_HALF, "\n"}
        await pilot.press("t")
        drawn = digit.render().plain
        assert UPPER_HALF not in drawn and "@" in drawn and set(drawn) <= set(RAMP) | {"\n"}
        assert drawn.split("\n") == digit_text(source.images[0], source.shape, color=False).plain.split("\n")

        await grid_view(pilot, screen)  # the grid follows the same switch
        text = "\n".join(grid_text(app))
        assert UPPER_HALF not in text and "@" in text
        await pilot.press("t")
        assert UPPER_HALF in "\n".join(grid_text(app))
        await pilot.press("v")
        assert set(digit.render().plain) == {UPPER_HALF, "\n"}


async def test_without_colour_t_is_greyed_out(source, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        assert screen.check_action("toggle_ascii", ()) is None


def test_ascii_art_is_the_ramp_without_trailing_blanks():
    art = digit_ascii(known_image(), (28, 28)).split("\n")
    assert len(art) == 14
    assert art[0] == RAMP[7] and art[13] == " " * 27 + RAMP[-1]
    assert all(line == line.rstrip() for line in art)


async def test_y_copies_the_digit_as_ascii_art_under_its_labels(source, probs, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = RecordingApp(inspect_source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await predicted(pilot)
        await pilot.press("m", "j", "y")  # the second misclassified image
        index = np.flatnonzero(probs.argmax(axis=1) != source.labels)[1]
        await until(pilot, lambda: app.clipboard, what="the copy")
        header, *art = app.clipboard.split("\n")
        predicted_label = probs[index].argmax()
        assert header == (
            f"test image {index} · true {source.labels[index]} · predicted {predicted_label} "
            f"({probs[index].max():.1%})"
        )
        assert "\n".join(art) == digit_ascii(source.images[index], source.shape)
        assert len(art) == 14 and "@" in app.clipboard
        assert app.notes[-1] == ("information", copy_notice(f"test image {index} as ASCII art", app.clipboard))
