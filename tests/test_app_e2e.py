"""End to end: the real engine, through the app, on a small slice of MNIST."""

from __future__ import annotations

import gzip

import numpy as np
from fakes import RecordingApp, until

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import IMAGE_MAGIC, LABEL_MAGIC, SPLITS, load_dataset
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.model_io import load_model
from tui_mnist.tui.screens.inspector import InspectorScreen
from tui_mnist.tui.screens.training import TrainingScreen


def write_idx(path, magic: int, array: np.ndarray) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header + array.tobytes())


def mnist_slice(folder, raw, n_train: int, n_test: int) -> None:
    for split, n in (("train", n_train), ("test", n_test)):
        part = getattr(raw, split)
        images_name, labels_name = SPLITS[split]
        write_idx(folder / f"{images_name}.gz", IMAGE_MAGIC, part.images[:n].reshape(n, 28, 28))
        write_idx(folder / f"{labels_name}.gz", LABEL_MAGIC, part.labels[:n])


async def test_a_real_run_through_the_app(tmp_path, monkeypatch, mnist_raw):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # not the user's cache
    data_dir = tmp_path / "mnist"
    data_dir.mkdir()
    mnist_slice(data_dir, mnist_raw, n_train=3000, n_test=1000)
    config = TrainConfig(hidden=(32,), epochs=2, batch_size=50, val=500, data_dir=str(data_dir))
    app = RecordingApp(initial=config)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        screen = app.screen
        await until(pilot, lambda: screen.state == "finished", timeout=15)
        finished = screen.history.finished
        assert screen.history.started.batches_per_epoch == 50  # 2500 training images
        assert len(screen.history.val_acc) == 2
        assert finished.test_acc > 0.8
        assert f"{100 * finished.test_acc:.2f}" in str(screen.query_one("#result-digits").value)

        await pilot.press("ctrl+s")
        app.screen.query_one("#save-path").value = str(tmp_path / "model.npz")
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "model.npz").exists())
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        assert len(app.screen.source.labels) == 1000
        await pilot.press("escape")
    assert not [note for note in app.notes if note[0] == "error"]
    saved = load_model(tmp_path / "model.npz")
    data = load_dataset(data_dir, val=500)
    _, accuracy = evaluate(saved.network, data.x_test, data.y_test, saved.normalizer)
    assert accuracy == finished.test_acc  # the file holds the weights that were reported
