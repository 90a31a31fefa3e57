"""End to end: the real engine, through the app (its detached trainer), on a small slice of
MNIST."""

from __future__ import annotations

from fakes import TEST_IMAGES, RecordingApp, predicted, small_config, until

from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.model_io import load_model
from tui_mnist.tui.screens.training import TrainingScreen


async def test_a_real_run_through_the_app(runs_env, small_data, tmp_path):
    config = small_config(hidden=(32,), epochs=2, batch_size=50, val=500, data_dir=str(small_data))
    app = RecordingApp(initial=config)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.state == "finished")
        finished = screen.view.finished
        assert screen.view.started.batches_per_epoch == 50  # 2500 training images
        assert len(screen.view.val_acc) == 2
        assert finished.test_acc > 0.8
        assert f"{100 * finished.test_acc:.2f}" in str(screen.query_one("#result-digits").value)

        await pilot.press("ctrl+s")
        app.screen.query_one("#answer").value = str(tmp_path / "model.npz")
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "model.npz").exists())
        await pilot.press("i")
        assert len((await predicted(pilot)).source.labels) == TEST_IMAGES
        await pilot.press("escape")
    assert not [note for note in app.notes if note[0] == "error"]
    saved = load_model(tmp_path / "model.npz")
    data = load_dataset(small_data, val=500)
    _, accuracy = evaluate(saved.network, data.x_test, data.y_test, saved.normalizer)
    assert accuracy == finished.test_acc  # the file holds the weights that were reported
