"""The confusion matrix screen: counts computed in a worker behind a loading indicator and equal
to engine.confusion's; a cell cursor; enter opens the inspector on exactly that cell's images,
least confident first; r counts again; x opens it from the training screen and the inspector."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fakes import ScreenHost, fixed_seed_network, predicted, source_of, until

from tui_mnist.engine.confusion import confusion_of, most_confused
from tui_mnist.engine.metrics import predict_proba
from tui_mnist.tui.screens.confusion import ConfusionGrid, ConfusionScreen, pairs_text, percent
from tui_mnist.tui.screens.inspector import Filters, InspectSource


def fixed_seed_source(mnist, count: int = 500) -> InspectSource:
    """An untrained fixed-seed network on the first test images: deterministic, and wrong in
    many cells."""
    return source_of(fixed_seed_network(), mnist, count=count)


def host(source: InspectSource) -> ScreenHost:
    return ScreenHost(lambda: ConfusionScreen.of(source))


async def counted(pilot) -> ConfusionScreen:
    """Let the app run until the confusion screen on top has its counts; returns the screen."""

    def screen():
        top = pilot.app.screen
        return top if isinstance(top, ConfusionScreen) and top.confusion is not None else None

    return await until(pilot, screen, what="the confusion matrix")


def shown(screen: ConfusionScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


@pytest.fixture
def source(mnist) -> InspectSource:
    return fixed_seed_source(mnist)


@pytest.fixture
def expected(source) -> np.ndarray:
    return confusion_of(source.network, source.images, source.labels, source.normalizer)


async def test_the_matrix_is_engine_confusions_on_the_test_set(source, expected):
    app = host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await counted(pilot)
        assert not screen.query_one("#matrix").loading
        np.testing.assert_array_equal(screen.matrix, expected)
        assert screen.matrix.sum() == len(source.labels)
        correct = int((predict_proba(source.network, source.images, source.normalizer)
                       .argmax(axis=1) == source.labels).sum())
        assert np.trace(screen.matrix) == correct
        assert shown(screen, "#status").startswith(f"test set: {len(source.labels)} images, {correct} right")
        assert screen.confusion.pairs == most_confused(expected, 5)
        assert shown(screen, "#pairs") == pairs_text(most_confused(expected, 5))


async def test_the_counts_wait_behind_a_loading_indicator(source, expected):
    gate = asyncio.Event()

    async def slow_fetch() -> InspectSource:
        await gate.wait()
        return source

    app = ScreenHost(lambda: ConfusionScreen("slow", slow_fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#matrix").loading
        assert screen.matrix is None
        await pilot.press("down", "enter")  # nothing to move through or open yet
        assert screen.cursor is None and app.screen is screen
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.query_one("#matrix").loading
        np.testing.assert_array_equal(screen.matrix, expected)


async def test_the_cursor_starts_on_the_worst_mistake_and_moves_within_the_grid(source, expected):
    true, guess, _ = most_confused(expected, 1)[0]
    app = host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await counted(pilot)
        assert screen.cursor == (true, guess)
        assert shown(screen, "#cell").startswith(f"true {true} → predicted {guess}: {expected[true, guess]} images")
        await pilot.press(*["k"] * 12, *["h"] * 12)
        assert screen.cursor == (0, 0)
        await pilot.press("down", "right", "j", "l", "l")
        assert screen.cursor == (2, 3)
        await pilot.press(*["right"] * 12, *["down"] * 12)
        assert screen.cursor == (9, 9)
        await pilot.press("up", "left")
        assert screen.cursor == (8, 8)
        assert screen.query_one(ConfusionGrid).cursor == (8, 8)


async def test_enter_on_a_mistake_inspects_exactly_its_images_least_confident_first(source, expected):
    probs = predict_proba(source.network, source.images, source.normalizer)
    true, guess, count = most_confused(expected, 1)[0]
    in_cell = np.flatnonzero((source.labels == true) & (probs.argmax(axis=1) == guess))
    least_confident_first = in_cell[np.argsort(probs.max(axis=1)[in_cell], kind="stable")]
    app = host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        matrix = await counted(pilot)
        await pilot.press("enter")
        inspector = await predicted(pilot)
        assert inspector.filters == Filters(label=true, predicted=guess, least_confident_first=True)
        assert len(inspector.chosen) == count
        np.testing.assert_array_equal(inspector.chosen, least_confident_first)
        assert inspector.current_index == least_confident_first[0]
        filter_line = str(inspector.query_one("#counts").render()).splitlines()[1]
        assert filter_line == (f"filter: true label {true} + predicted {guess} · "
                               "order: least confident first")
        await pilot.press("a")  # lifts the filters, keeps the order
        assert inspector.filters == Filters(least_confident_first=True)
        assert len(inspector.chosen) == len(source.labels)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is matrix, what="the matrix again")


async def test_enter_on_an_empty_cell_stays_and_says_so(source, expected):
    empty = np.argwhere(expected == 0)
    assert len(empty), "the fixed-seed network leaves some cell empty"
    row, col = (int(v) for v in empty[0])
    app = host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await counted(pilot)
        await pilot.press(*["k"] * 9, *["h"] * 9, *["j"] * row, *["l"] * col, "enter")
        assert screen.cursor == (row, col)
        await pilot.pause()
        assert app.screen is screen
        assert shown(screen, "#cell") == f"true {row} → predicted {col}: 0 images"


async def test_r_counts_again_with_what_fetch_brings_now(mnist):
    first, second = fixed_seed_source(mnist, 300), fixed_seed_source(mnist, 400)
    sources = iter([first, second])

    async def fetch() -> InspectSource:
        return next(sources)

    app = ScreenHost(lambda: ConfusionScreen("moving", fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await counted(pilot)
        assert screen.matrix.sum() == 300
        cursor = screen.cursor
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.query_one("#matrix").loading
        assert screen.source is second and screen.matrix.sum() == 400
        assert screen.cursor == cursor  # recounting keeps the place


def test_percentages_fit_five_cells_and_undefined_is_a_dash():
    assert percent(0.9871) == "98.7%"
    assert percent(1.0) == "100%"
    assert percent(0.99999) == "100%"
    assert percent(0.0) == "0.0%"
    assert percent(float("nan")) == "–"
    assert pairs_text([(4, 9, 23), (7, 2, 18)]) == "most confused: 4 → 9: 23 · 7 → 2: 18"
    assert pairs_text([]) == "most confused: none, every image is right"


async def test_without_colour_the_selected_cell_is_in_brackets(source, expected, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = host(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await counted(pilot)
        await pilot.press(*["k"] * 9, *["h"] * 9, "j", "l", "l")
        lines = shown(screen, "#matrix").splitlines()
        assert lines[0].split() == ["t╲p", *map(str, range(10)), "recall"]
        assert lines[2].split()[3] == f"[{expected[1, 2]}]"
        assert "[" not in lines[1] + "".join(lines[3:])
        assert lines[-1].split()[0] == "prec" and len(lines) == 12
