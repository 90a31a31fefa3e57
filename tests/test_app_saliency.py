"""The inspector's "why this answer" view (s, S): the saliency map of the image on display
for its predicted or true class, the last hidden layer's most active units, and the map's
scale."""

from __future__ import annotations

import numpy as np
from fakes import fixed_seed_network, predicted, source_of
from test_app_inspector import Host, small_source
from textual.widgets import Static

from tui_mnist.engine.saliency import saliency
from tui_mnist.tui.screens.inspector import InspectorScreen, saliency_map
from tui_mnist.tui.widgets.digit import UPPER_HALF
from tui_mnist.tui.widgets.weight_image import NEGATIVE_RAMP, POSITIVE_RAMP, WeightImage


def why_map(screen: InspectorScreen) -> WeightImage:
    return screen.query_one("#why-map", WeightImage)


def units(screen: InspectorScreen) -> str:
    return str(screen.query_one("#why-units", Static).render())


def expected_for(screen: InspectorScreen, target: int):
    source = screen.source
    return saliency(source.network, source.images[screen.current_index], source.normalizer, target)


def assert_shows(screen: InspectorScreen, target: int, caption: str) -> None:
    """The map, its caption and the units listed are `saliency(...)` of the current image."""
    expected = expected_for(screen, target)
    assert screen.why.target == target
    np.testing.assert_array_equal(screen.why.gradient, expected.gradient)
    np.testing.assert_array_equal(why_map(screen).values, saliency_map(expected.gradient, (28, 28)))
    assert why_map(screen).caption == caption
    assert len(expected.units) == 5
    listed = [f"unit {unit}: {value:.1f}" for unit, value in expected.units]
    assert "\n".join(listed) in units(screen)


async def test_s_shows_the_predicted_class_saliency_instead_of_the_probabilities(mnist):
    app = Host(small_source(mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        assert screen.why is None and not screen.query_one("#why").display
        await pilot.press("s")
        guess = int(screen.predictions.predicted[screen.current_index])
        assert_shows(screen, guess, f"why {guess} (predicted)")
        assert screen.query_one("#why").display and not screen.query_one("#probs").display
        await pilot.press("s")
        assert screen.why is None and screen.query_one("#probs").display
        assert not screen.query_one("#why").display


async def test_capital_s_switches_to_the_true_class_and_back(mnist):
    app = Host(small_source(mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        assert screen.check_action("toggle_why_target", ()) is None  # greyed out until s
        await pilot.press("m", "s", "S")  # a misclassified image: the two classes differ
        index = screen.current_index
        true_label, guess = int(screen.source.labels[index]), int(screen.predictions.predicted[index])
        assert true_label != guess
        assert_shows(screen, true_label, f"why {true_label} (true)")
        await pilot.press("S")
        assert_shows(screen, guess, f"why {guess} (predicted)")


async def test_j_updates_the_map_to_the_next_image(mnist):
    app = Host(small_source(mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("s", "S", "j")
        assert screen.current_index == 1
        true_label = int(screen.source.labels[1])
        assert_shows(screen, true_label, f"why {true_label} (true)")


async def test_a_network_without_hidden_layers_says_so(mnist):
    app = Host(source_of(fixed_seed_network((784, 10)), mnist, "fixed-seed 784-10"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("s")
        assert screen.why.units == []
        assert units(screen).startswith("no hidden layer")
        guess = int(screen.predictions.predicted[0])
        np.testing.assert_array_equal(screen.why.gradient, expected_for(screen, guess).gradient)


async def test_the_grid_hides_s_and_the_single_view_keeps_the_map(mnist):
    app = Host(small_source(mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("s", "v")
        assert screen.check_action("toggle_why", ()) is False
        await pilot.press("v")
        assert screen.why_shown and screen.why is not None


async def test_without_colour_the_map_shows_the_sign_in_characters(mnist, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host(small_source(mnist))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await predicted(pilot)
        await pilot.press("s")
        drawn = "".join(why_map(screen).render_line(y).text for y in range(14))
        assert UPPER_HALF not in drawn
        assert set(drawn) <= set(NEGATIVE_RAMP + POSITIVE_RAMP + " ")
        assert set(drawn) & set(NEGATIVE_RAMP) and set(drawn) & set(POSITIVE_RAMP)
        assert ":+#: for" in units(screen)


def test_the_map_is_scaled_symmetrically_by_its_largest_magnitude():
    gradient = np.array([0.0, -4.0, 2.0, 1.0])
    np.testing.assert_array_equal(saliency_map(gradient, (2, 2)), [[0.0, -1.0], [0.5, 0.25]])
    np.testing.assert_array_equal(saliency_map(np.zeros(4), (2, 2)), np.zeros((2, 2)))
