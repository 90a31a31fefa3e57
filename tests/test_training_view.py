"""The numbers behind the training screen: chart thinning and the run history."""

from __future__ import annotations

import pytest

from tui_mnist.engine.progress import BatchProgress
from tui_mnist.live.events import RunStarted
from tui_mnist.tui import training_view
from tui_mnist.tui.training_view import Smoother, TrainingView, duration
from tui_mnist.tui.widgets.chart import thin


def batch(step: int, per_epoch: int = 10, loss: float = 1.0) -> BatchProgress:
    return BatchProgress(
        epoch=(step - 1) // per_epoch + 1, batch=(step - 1) % per_epoch + 1, batches=per_epoch,
        step=step, loss=loss, accuracy=0.5, lr=0.1, samples=step * 32, seconds=step * 0.5,
    )


def test_thin_keeps_about_two_points_per_column_and_both_ends():
    values = list(range(1001))
    kept = thin(values, width=50)
    assert len(kept) <= 101
    assert kept[0] == 0 and kept[-1] == 1000
    assert kept == sorted(kept)
    assert thin(values[:80], width=50) == values[:80]  # short series stay whole


def test_smoother_starts_at_the_first_value_and_follows():
    smoother = Smoother(weight=0.5)
    assert smoother.add(2.0) == pytest.approx(2.0)  # no pull towards zero
    assert smoother.add(4.0) == pytest.approx(2 + 2 * 0.5 / 0.75)


def test_history_progress_speed_and_eta():
    history = TrainingView(epochs=3)
    history.start(RunStarted("784-10", 7850, 3, 10, 320))
    history.add_batches([batch(s) for s in range(1, 16)])
    assert history.epochs_done == pytest.approx(1.5)
    assert history.samples_per_second == pytest.approx(64)
    assert history.eta_seconds == pytest.approx(15 * 0.5)
    assert history.train_x[-1] == pytest.approx(1.5)


def test_history_memory_is_bounded_and_evenly_spaced(monkeypatch):
    monkeypatch.setattr(training_view, "MAX_POINTS", 100)
    history = TrainingView(epochs=100)
    history.start(RunStarted("784-10", 7850, 100, 10, 320))
    history.add_batches([batch(s) for s in range(1, 1001)])
    assert len(history.train_x) <= 101
    gaps = {round(b - a, 6) for a, b in zip(history.train_x[:-1], history.train_x[1:])}
    assert len(gaps) <= 2  # one spacing (plus the seam where it doubled)
    assert history.latest.step == 1000


def test_duration():
    assert duration(None) == "--:--"
    assert duration(65.9) == "1:05"
    assert duration(3 * 3600 + 61) == "3:01:01"
