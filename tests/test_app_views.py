"""The views of a network (draw, confusion, weights, health, gradient check) open from the training
screen on the run's live weights and from the inspector on its network, and esc comes back."""

from __future__ import annotations

import pytest
from fakes import FakeTrainer, RecordingApp, fixed_seed_network, make_app, predicted, source_of, tiny_dataset, until

from tui_mnist.session.thread import ThreadSession
from tui_mnist.tui.screens.confusion import ConfusionScreen
from tui_mnist.tui.screens.draw import DrawScreen
from tui_mnist.tui.screens.gradcheck import GradcheckScreen
from tui_mnist.tui.screens.health import HealthScreen
from tui_mnist.tui.screens.inspector import InspectorScreen
from tui_mnist.tui.screens.training import TrainingScreen
from tui_mnist.tui.screens.weights import WeightsScreen

KEYS = [("w", DrawScreen), ("x", ConfusionScreen), ("u", WeightsScreen), ("h", HealthScreen), ("G", GradcheckScreen)]
VIEWS = pytest.mark.parametrize(("key", "view"), KEYS, ids=["draw", "confusion", "weights", "health", "gradcheck"])


async def opened(pilot, view):
    """The view on top, once its worker has brought the network."""
    return await until(
        pilot, lambda: isinstance(pilot.app.screen, view) and pilot.app.screen.source is not None
        and pilot.app.screen, what=f"{view.__name__} with its network",
    )


async def test_from_the_training_screen_on_the_live_weights():
    """Every view in turn from one run's screen (a run and an app each would cost more than
    the views themselves)."""
    data = tiny_dataset()
    app = make_app(session_factory=lambda: ThreadSession(
        trainer_factory=FakeTrainer, load_data=lambda config: data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        training = await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen)
        await until(pilot, lambda: training.view.started is not None, what="the run's start")
        for key, view in KEYS:
            await pilot.press(key)
            screen = await opened(pilot, view)
            assert screen.source.title.startswith("live weights")
            assert (screen.source.labels == data.y_test).all()
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is training, what=f"the run's screen again after {key}")


@VIEWS
async def test_from_the_inspector_on_its_network(key, view, mnist):
    source = source_of(fixed_seed_network(), mnist)
    app = RecordingApp(inspect_source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        inspector = await until(pilot, lambda: isinstance(app.screen, InspectorScreen) and app.screen)
        await predicted(pilot)
        await pilot.press(key)
        screen = await opened(pilot, view)
        assert screen.source is source
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is inspector, what="the inspector again")
