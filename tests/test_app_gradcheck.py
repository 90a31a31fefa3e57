"""The gradient check screen: the rows it shows are engine.gradcheck's on the same network and
images, every verdict ✓ for a correct network, ✗ for one whose activation derivative is wrong."""

from __future__ import annotations

import dataclasses

from fakes import ScreenHost, fixed_seed_network, source_of

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.gradcheck import gradient_check
from tui_mnist.tui.screens.gradcheck import IMAGES, GradcheckScreen, layer_row, verdict

SIZES = (784, 16, 8, 10)


async def checked(source) -> tuple[GradcheckScreen, list[str], str]:
    """The screen once its worker is done, its rows and its verdict as shown."""
    app = ScreenHost(lambda: GradcheckScreen.of(source))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GradcheckScreen)
        assert not screen.query_one("#layers").loading
        rows = str(screen.query_one("#layers").render()).splitlines()
        shown_verdict = str(screen.query_one("#verdict").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GradcheckScreen)
    return screen, rows, shown_verdict


async def test_the_rows_are_the_engines_check_and_all_pass(mnist):
    network = fixed_seed_network(SIZES)
    source = source_of(network, mnist, count=40)
    screen, rows, shown_verdict = await checked(source)
    expected = gradient_check(network, mnist.x_test[:IMAGES], mnist.y_test[:IMAGES], mnist.normalizer)
    assert screen.checks == expected
    assert rows == [layer_row(check, SIZES) for check in expected]
    assert rows[0].startswith("layer 1 (784→16): worst relative error ")
    assert [row[-1] for row in rows] == ["✓", "✓", "✓"]
    assert shown_verdict == verdict(expected)
    assert shown_verdict.startswith("✓")


async def test_a_wrong_activation_derivative_shows_a_cross(mnist):
    def tanh_grad_missing_square(a, grad):
        grad *= 1 - a  # should be 1 - a^2

    network = fixed_seed_network(SIZES)
    network.activation = dataclasses.replace(ACTIVATIONS["tanh"], backward=tanh_grad_missing_square)
    _, rows, shown_verdict = await checked(source_of(network, mnist, count=40))
    assert [row[-1] for row in rows] == ["✗", "✗", "✓"]  # the output layer uses no derivative
    assert shown_verdict.startswith("✗ layers 1, 2: backprop and the forward pass disagree")
