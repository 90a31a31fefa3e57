"""The draw screen: painting with keys and the mouse, brush, eraser and clear; the network read
in a worker behind a loading indicator, then predictions at every change; saving to IDX files
of MNIST's layout; a network trained for a few epochs reads a thick vertical stroke as a 1."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import ScreenHost, fixed_seed_network, source_of, until, write_idx

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import read_idx
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import IMAGE_MAGIC, LABEL_MAGIC
from tui_mnist.engine.metrics import predict_proba
from tui_mnist.engine.my_digits import append_digit
from tui_mnist.engine.network import Network
from tui_mnist.engine.preprocess import mnist_like
from tui_mnist.engine.training import Trainer
from tui_mnist.tui.screens.draw import DrawScreen, digits_dir
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.label_dialog import LabelDialog
from tui_mnist.tui.widgets.canvas import DigitCanvas
from tui_mnist.tui.widgets.digit import RAMP, UPPER_HALF

IMAGES, LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def fixed_seed_source(mnist) -> InspectSource:
    return source_of(fixed_seed_network(), mnist)


def host(source: InspectSource, folder: Path) -> ScreenHost:
    return ScreenHost(lambda: DrawScreen.of(source, folder))


async def ready(pilot) -> DrawScreen:
    """Let the app run until the draw screen on top has its network; returns the screen."""

    def drawn():
        screen = pilot.app.screen
        return screen if isinstance(screen, DrawScreen) and screen.source is not None else None

    return await until(pilot, drawn, what="the draw screen's network")


def verdict(screen: DrawScreen) -> str:
    return str(screen.query_one("#verdict").render())


@pytest.fixture
def source(mnist) -> InspectSource:
    return fixed_seed_source(mnist)


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "my-digits"


async def test_space_paints_at_the_cursor_and_the_arrows_move_it(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        assert canvas.cursor == (14, 14) and not canvas.pixels.any()
        await pilot.press("space")
        assert canvas.pixels[14, 14] == 1.0
        await pilot.press("up", "up", "left")
        assert canvas.cursor == (12, 13)
        assert canvas.pixels[12, 13] == 0.0  # the pen is up: moving draws nothing
        await pilot.press("space")
        assert canvas.pixels[12, 13] == 1.0
        assert "cursor 12,13" in str(screen.query_one("#status").render())


async def test_with_the_pen_down_the_arrows_draw_a_line(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("p", *["right"] * 6, "p", "right", "right")
        pixels = screen.canvas.pixels
        assert (pixels[14, 14:21] == 1.0).all()
        assert pixels[14, 22] == 0.0  # lifted before the last two moves
        assert not screen.pen_down


async def test_brackets_change_the_brush_size(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        await pilot.press("left_square_bracket", "left_square_bracket", "space")
        assert canvas.brush == 1  # the smallest
        assert np.count_nonzero(canvas.pixels) == 1
        await pilot.press("c", *["right_square_bracket"] * 3, "space")
        assert canvas.brush == 4
        assert np.count_nonzero(canvas.pixels) == 21  # a disc 4 pixels across (soft edge)
        assert "brush 4" in str(screen.query_one("#status").render())


async def test_the_eraser_removes_ink_and_c_clears_it_all(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        await pilot.press("space", "down", "down", "space")
        assert canvas.pixels[14, 14] == 1.0 and canvas.pixels[16, 14] == 1.0
        await pilot.press("e", "space")
        assert canvas.erasing and screen.has_class("-erasing")
        assert canvas.pixels[16, 14] == 0.0 and canvas.pixels[14, 14] == 1.0
        assert "eraser" in str(screen.query_one("#status").render())
        await pilot.press("e", "c")
        assert not canvas.erasing
        assert not canvas.pixels.any()
        assert screen.probs is None and not screen.network_input.any()


async def test_the_mouse_paints_while_pressed(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        canvas = screen.canvas
        # Row 3 of cells covers pixel rows 6 and 7; columns 5 to 20 at scale 1.
        await pilot.mouse_down(DigitCanvas, offset=(5, 3))
        await pilot.hover(DigitCanvas, offset=(12, 3))
        await pilot.hover(DigitCanvas, offset=(20, 3))
        await pilot.mouse_up(DigitCanvas, offset=(20, 3))
        pixels = canvas.pixels
        assert (pixels[6:8, 5:21] >= 0.5).all()  # no gap between the moves
        assert not pixels[10:].any()
        assert canvas.cursor == (6, 20) or canvas.cursor == (7, 20)
        # Released: moving the mouse paints no more.
        before = pixels.copy()
        await pilot.hover(DigitCanvas, offset=(10, 10))
        np.testing.assert_array_equal(canvas.pixels, before)
        assert screen.probs is not None


async def test_predictions_follow_the_drawing(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert screen.probs is None
        assert "draw a digit" in verdict(screen)
        await pilot.press("space")
        first = screen.probs.copy()
        expected = predict_proba(source.network, mnist_like(screen.canvas.pixels).reshape(1, -1),
                                 source.normalizer)[0]
        np.testing.assert_allclose(first, expected)
        assert f"looks like a {expected.argmax()}" in verdict(screen)
        await pilot.press("p", *["down"] * 10)
        assert not np.allclose(screen.probs, first)
        np.testing.assert_array_equal(screen.network_input, mnist_like(screen.canvas.pixels))


async def test_the_network_loads_in_a_worker_while_the_canvas_already_draws(source, folder):
    release = asyncio.Event()

    async def slow_fetch() -> InspectSource:
        await release.wait()
        return source

    app = ScreenHost(lambda: DrawScreen("slow", slow_fetch, folder))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DrawScreen))
        screen = app.screen
        assert screen.query_one("#side").loading
        assert "loading" in verdict(screen)
        await pilot.press("space")
        assert screen.canvas.pixels.any() and screen.probs is None
        release.set()
        await ready(pilot)
        assert not screen.query_one("#side").loading
        assert screen.probs is not None  # the drawing made meanwhile is read at once


async def test_a_network_for_other_images_is_refused_in_words(mnist, folder):
    other = source_of(Network.create((100, 10), "relu", np.random.default_rng(0)), mnist)
    app = host(other, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DrawScreen))
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert "no network: the network takes 100 inputs" in verdict(screen)
        await pilot.press("space")  # the canvas goes on working
        assert screen.canvas.pixels.any() and screen.probs is None


async def test_s_saves_the_networks_input_with_the_typed_label(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("p", *["down"] * 8, "p", "s")
        assert isinstance(app.screen, LabelDialog)
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        images = read_idx(folder / IMAGES, IMAGE_MAGIC)
        labels = read_idx(folder / LABELS, LABEL_MAGIC)
        assert images.shape == (1, 28, 28) and labels.tolist() == [3]
        np.testing.assert_array_equal(images[0], screen.network_input)
        assert ("information", f"Saved as 3: 1 digit in {folder}") in app.notes

        # A second one is appended; enter takes the network's guess.
        await pilot.press("c", "space", "s", "enter")
        await app.workers.wait_for_complete()
        labels = read_idx(folder / LABELS, LABEL_MAGIC)
        assert labels.tolist() == [3, screen.guess]
        assert len(read_idx(folder / IMAGES, IMAGE_MAGIC)) == 2


async def test_esc_in_the_label_dialog_saves_nothing(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("space", "s", "escape")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, DrawScreen)
        assert not folder.exists()


async def test_a_blank_canvas_is_not_saved(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, DrawScreen)
        assert app.notes == [("warning", "Nothing to save: the canvas is blank")]


async def test_a_corrupt_digits_file_is_named_and_left_as_it_was(source, folder):
    folder.mkdir()
    (folder / IMAGES).write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")  # a cut-off header
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("space", "s", "4")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: app.notes)
        severity, message = app.notes[-1]
        assert severity == "error"
        assert message.startswith(f"Not saved: {folder / IMAGES}: truncated")
    assert (folder / IMAGES).read_bytes() == b"\x00\x00\x08\x03\x00\x00\x00\x05"
    assert not (folder / LABELS).exists()


def test_labels_that_disagree_with_the_images_are_refused(tmp_path):
    image = np.zeros((28, 28), np.uint8)
    append_digit(tmp_path, image, 1)
    append_digit(tmp_path, image, 2)
    write_idx(tmp_path / LABELS, LABEL_MAGIC, np.array([1], np.uint8))  # one label lost
    with pytest.raises(DataError, match=f"{tmp_path / LABELS}: 1 labels for 2 images"):
        append_digit(tmp_path, image, 3)
    assert len(read_idx(tmp_path / IMAGES, IMAGE_MAGIC)) == 2


def test_the_digits_go_under_the_users_data_directory(private_user_dirs):
    assert digits_dir() == private_user_dirs / "data" / "tui-mnist" / "my-digits"


def test_reading_one_drawing_costs_far_less_than_a_frame(source):
    """Why predictions run on the UI thread: preprocessing and a forward pass of one image
    measure ~0.2 ms (784-16-10 here; ~0.25 ms for 784-128-10)."""
    drawing = np.zeros((28, 28))
    drawing[5:23, 12:15] = 1.0
    network = Network.create((784, 128, 10), "relu", np.random.default_rng(0))
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        predict_proba(network, mnist_like(drawing).reshape(1, -1), source.normalizer)
        timings.append(time.perf_counter() - start)
    assert np.median(timings) < 0.010  # 10 ms: 50x the measured cost, for a loaded machine


def test_without_colour_the_canvas_uses_the_digit_ramp(source, folder, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def run() -> list[str]:
        app = host(source, folder)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await ready(pilot)
            await pilot.press("space")
            canvas = screen.canvas
            return [canvas.render_line(y).text for y in range(14)]

    lines = asyncio.run(run())
    assert all(UPPER_HALF not in line for line in lines)
    # Row 7 holds pixel rows 14 (ink) and 15 (the brush's soft edge): the ramp's dark end
    # in the middle, its light end around.
    assert lines[7].strip() == ":#:" and set(":#") <= set(RAMP)
    assert set("".join(lines[:5])) == {" "}


async def test_t_switches_the_drawing_to_ascii_and_back(source, folder):
    app = host(source, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("space")
        canvas, seen = screen.canvas, screen.query_one("#seen")
        assert UPPER_HALF in canvas.render_line(7).text
        await pilot.press("t")
        await pilot.pause()
        assert canvas.ascii_art and seen.ascii_art
        assert canvas.render_line(7).text.strip() == ":#:"  # the ramp, as without colour
        assert UPPER_HALF not in str(seen.render())
        await pilot.press("t")
        await pilot.pause()
        assert UPPER_HALF in canvas.render_line(7).text


# --- a trained network reads a drawn 1 --------------------------------------------------------


@pytest.fixture(scope="module")
def trained(mnist_small) -> InspectSource:
    """784-32-10, three epochs on the small MNIST (~1 s; ~93 % on its test images)."""
    from threadpoolctl import threadpool_limits

    config = TrainConfig(hidden=(32,), epochs=3, seed=0, threads=1)
    with threadpool_limits(limits=1, user_api="blas"):
        trainer = Trainer(config, mnist_small)
        for _ in trainer.run():
            pass
    return source_of(trainer.network, mnist_small, "784-32-10, 3 epochs")


async def test_a_thick_vertical_stroke_reads_as_a_one(trained, folder):
    # Robust by construction: preprocessing turns any tall thin stroke into MNIST's typical
    # upright 1 (20 pixels tall, centred), the class a small network learns first and best.
    app = host(trained, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("right_square_bracket", *["up"] * 9, "p", *["down"] * 18, "p")
        assert screen.canvas.brush == 3
        assert screen.guess == 1, f"read as {screen.guess}: {np.round(screen.probs, 3)}"
        assert screen.probs[1] > 0.5


def test_shrunk_off_centre_digits_are_still_read_after_preprocessing(trained):
    """MNIST test digits the trained network reads right, shrunk to half size and moved into
    the top right corner, as a careless drawing would be: after `mnist_like` it still reads
    each one right (unprocessed, the corner copies fool it)."""
    net, normalizer = trained.network, trained.normalizer
    images, labels = trained.images, trained.labels
    right = np.flatnonzero(predict_proba(net, images, normalizer).argmax(axis=1) == labels)
    assert len(right) >= 8  # of the source's 10 test images
    moved, restored = [], []
    for index in right:
        digit = images[index].reshape(28, 28).astype(float)
        small = (digit[0::2, 0::2] + digit[1::2, 0::2] + digit[0::2, 1::2] + digit[1::2, 1::2]) / 4
        drawing = np.zeros((28, 28), np.uint8)
        drawing[1:15, 13:27] = np.rint(small)
        moved.append(drawing.reshape(-1))
        restored.append(mnist_like(drawing).reshape(-1))
    read = predict_proba(net, np.array(restored), normalizer).argmax(axis=1)
    np.testing.assert_array_equal(read, labels[right])
    fooled = predict_proba(net, np.array(moved), normalizer).argmax(axis=1)
    assert (fooled != labels[right]).mean() > 0.5
