"""The weights screen: the network fetched in a worker behind a loading indicator; first-layer
units drawn as the engine's images, page by page; deeper layers as heat strips; the scale
switched per unit; `r` fetching again; the drawing functions without colour."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fakes import ScreenHost, fixed_seed_network, source_of

from tui_mnist.engine.errors import DataError
from tui_mnist.engine.network import Network
from tui_mnist.engine.weights import first_layer_images, layer_strips
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.weights import WeightsScreen, fold, grid_fit
from tui_mnist.tui.widgets.weight_image import WeightImage, halve, weight_ascii, weight_char


def host_of(source: InspectSource) -> ScreenHost:
    return ScreenHost(lambda: WeightsScreen.of(source))


async def ready(pilot) -> WeightsScreen:
    """Let the fetch worker finish and the page draw; returns the weights screen."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, WeightsScreen) and screen.source is not None
    return screen


def heading(screen: WeightsScreen) -> str:
    return str(screen.query_one("#page").render())


def thumbnails(screen: WeightsScreen) -> list[WeightImage]:
    return list(screen.query(WeightImage))


@pytest.fixture
def network() -> Network:
    return fixed_seed_network()


@pytest.fixture
def source(network, mnist) -> InspectSource:
    return source_of(network, mnist)


async def test_loading_shows_until_the_fetch_worker_completes(network, mnist):
    release = asyncio.Event()

    async def slow_fetch() -> InspectSource:
        await release.wait()
        return source_of(network, mnist)

    app = ScreenHost(lambda: WeightsScreen("slow", slow_fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WeightsScreen)
        assert screen.query_one("#units").loading
        assert screen.source is None and thumbnails(screen) == []
        release.set()
        await ready(pilot)
        assert not screen.query_one("#units").loading
        assert len(thumbnails(screen)) == 10


async def test_the_thumbnails_are_the_engine_images_of_the_first_layer(network, source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        images = first_layer_images(network.weights[0])
        shown = thumbnails(screen)
        assert screen.units_shown == list(range(10))  # half size: 5 across, 2 down at 80x24
        assert [widget.caption for widget in shown] == [str(unit) for unit in range(1, 11)]
        for unit, widget in enumerate(shown):
            np.testing.assert_array_equal(widget.values, images[unit])
            assert widget.half
            assert widget.size == (14, 8)  # 14x7 cells of half blocks and the caption
        assert heading(screen).startswith("layer 1/2 (784→16) half size · units 1–10 of 16 · scale ±")
        assert f"±{np.abs(network.weights[0]).max():.3g} (layer)" in heading(screen)


async def test_paging_changes_the_units_shown(source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("right")
        assert screen.units_shown == list(range(10, 16))
        assert "units 11–16 of 16" in heading(screen)
        await pilot.press("pagedown")  # no page after the last: it stays
        assert screen.units_shown == list(range(10, 16))
        await pilot.press("left")
        assert screen.units_shown == list(range(10))
        await pilot.press("pageup")
        assert screen.units_shown == list(range(10))
        await pilot.press("pagedown")
        assert "units 11–16 of 16" in heading(screen)


async def test_a_wide_window_draws_full_size_images(network, source):
    app = host_of(source)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await ready(pilot)
        shown = thumbnails(screen)
        assert len(shown) == 10  # 5 across (30 columns each), 2 down (16 rows each)
        assert not shown[0].half and shown[0].size == (28, 15)
        assert "images · units 1–10 of 16" in heading(screen)
        assert grid_fit(158, 36, (28, 28)) == (5, 2, False)


async def test_l_and_tab_switch_to_the_deeper_layer_drawn_as_heat_strips(network, source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("right", "L")  # a new layer starts at its first page
        strips = layer_strips(network.weights[1])
        shown = thumbnails(screen)
        assert screen.units_shown == list(range(10))
        assert heading(screen).startswith("layer 2/2 (16→10) strips · units 1–10 of 10")
        for unit, widget in enumerate(shown):
            # 16 inputs fit one line, doubled to fill a row of half blocks
            np.testing.assert_array_equal(widget.values, np.vstack([strips[unit], strips[unit]]))
            assert widget.caption == str(unit + 1) and widget.beside == 3
            assert widget.size == (3 + 16, 1)
        await pilot.press("tab")  # back round to the first layer
        assert heading(screen).startswith("layer 1/2 (784→16) half size")
        np.testing.assert_array_equal(thumbnails(screen)[0].values, first_layer_images(network.weights[0])[0])


async def test_s_scales_each_unit_by_its_own_largest_weight(network, source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("s")
        np.testing.assert_array_equal(thumbnails(screen)[3].values,
                                      first_layer_images(network.weights[0], scale="unit")[3])
        assert "scale: per unit" in heading(screen)
        await pilot.press("s")
        np.testing.assert_array_equal(thumbnails(screen)[3].values, first_layer_images(network.weights[0])[3])


async def test_r_fetches_the_weights_again(mnist):
    calls = []

    async def counting_fetch() -> InspectSource:
        calls.append(len(calls))
        return source_of(fixed_seed_network(seed=len(calls)), mnist, f"fetch {len(calls)}")

    app = ScreenHost(lambda: WeightsScreen("live weights", counting_fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("right")
        assert len(calls) == 1
        await pilot.press("r")
        await ready(pilot)
        assert len(calls) == 2
        assert not screen.query_one("#units").loading
        assert str(screen.query_one("#heading").render()) == "Weights · fetch 2"
        assert screen.units_shown == list(range(10, 16))  # the page stays
        np.testing.assert_array_equal(thumbnails(screen)[0].values,
                                      first_layer_images(fixed_seed_network(seed=2).weights[0])[10])


async def test_a_network_without_hidden_layers_shows_its_output_units(mnist):
    network = fixed_seed_network((784, 10))
    app = host_of(source_of(network, mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert heading(screen).startswith("layer 1/1 (784→10) half size · units 1–10 of 10")
        np.testing.assert_array_equal(thumbnails(screen)[9].values, first_layer_images(network.weights[0])[9])
        await pilot.press("L")  # the only layer: it stays
        assert heading(screen).startswith("layer 1/1 (784→10) half size")


async def test_a_failed_fetch_says_why(mnist):
    async def failing_fetch() -> InspectSource:
        raise DataError("no test images here")

    app = ScreenHost(lambda: WeightsScreen("broken", failing_fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WeightsScreen)
        assert heading(screen) == "no network: no test images here"
        assert not screen.query_one("#units").loading
        await pilot.press("right", "L", "s")  # nothing to page through: no error either
        assert thumbnails(screen) == []


async def test_escape_goes_back(source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        assert not isinstance(app.screen, WeightsScreen)


async def test_without_colour_the_sign_shows_in_the_characters(network, source, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        widget = thumbnails(screen)[0]
        drawn = [widget.render_line(y).text for y in range(8)]
        assert drawn[:7] == weight_ascii(halve(first_layer_images(network.weights[0])[0]))
        assert drawn[7].strip() == "1"
        assert ".-=" in str(screen.query_one("#keys").render())


async def test_t_switches_the_maps_to_ascii_and_back(network, source):
    app = host_of(source)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert "▀" in thumbnails(screen)[0].render_line(0).text
        await pilot.press("t")
        await pilot.pause()
        drawn = [thumbnails(screen)[0].render_line(y).text for y in range(7)]
        assert drawn == weight_ascii(halve(first_layer_images(network.weights[0])[0]))
        assert ".-=" in str(screen.query_one("#keys").render())
        await pilot.press("right")  # a new page keeps the choice
        await pilot.pause()
        assert all(widget.ascii_art for widget in thumbnails(screen))
        await pilot.press("t")
        await pilot.pause()
        assert "▀" in thumbnails(screen)[0].render_line(0).text


def test_the_character_ramp_keeps_the_sign():
    assert [weight_char(v) for v in (-1.0, -0.5, -0.1, 0.0, 0.01, 0.1, 0.5, 1.0)] == [
        "=", "-", ".", " ", " ", ":", "+", "#"]
    assert weight_ascii(np.array([[-1.0, 1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])) == [
        "=# ", "  +"]  # the odd last row pairs with zeros: the mean 0.5 is a middle +


def test_halving_and_folding():
    values = np.arange(12, dtype=float).reshape(3, 4)
    np.testing.assert_array_equal(halve(values), [[2.5, 4.5], [4.25, 5.25]])
    np.testing.assert_array_equal(fold(np.array([1.0, 2.0, 3.0]), 2),
                                  [[1.0, 2.0], [1.0, 2.0], [3.0, 0.0], [3.0, 0.0]])
