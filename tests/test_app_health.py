"""The health view: a run's per-epoch records read on threads, drawn as four charts (one series
per layer, one point per kept epoch) with the shown epoch's figures and hints under them; `[`
and `]` step through the epochs, an epoch not kept or unreadable says so, a running run is
followed; a network from a file is measured itself, without charts. Plus its snapshot at 80x24.

The runs are `fakes.recorded_run`'s: epoch e's layer i (from 0) has weight norm 5 + e + i,
gradient norm 1/e, update ratio 1e-3/e and (hidden ReLU layers) a dead share of 0.1 e.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import ScreenHost, epoch_record, fixed_seed_network, recorded_run, shown_text, source_of, until

from tui_mnist.engine.errors import DataError
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.health import FILE_MESSAGE, HEALTHY, HealthScreen, norm_text
from tui_mnist.tui.widgets.chart import Chart

TITLE = "run 20250612-093000-aa11"
DEAD_HINT = "40% of layer-1 ReLUs are dead: lower the learning rate or use leaky_relu"


async def no_fetch():
    raise AssertionError("a run's health view reads its records, never the network")


def host_of(path: Path) -> ScreenHost:
    return ScreenHost(lambda: HealthScreen(TITLE, no_fetch, records=RunFolder(path)))


async def at_epoch(pilot, epoch: int, of: int) -> HealthScreen:
    """Let the app run until the health view on top shows `epoch` (its record read, or said to
    be missing) of `of`, and every chart is drawn from what it was given; returns the view."""

    def ready():
        screen = pilot.app.screen
        return (
            isinstance(screen, HealthScreen)
            and shown_text(screen, "#heading") == f"Health · {TITLE} · epoch {epoch} of {of}"
            and shown_text(screen, "#figures").strip() != ""
            and "reading" not in shown_text(screen, "#figures")
            and all(chart.drawn for chart in screen.query(Chart))
            # Every kept record read for the charts (on a thread: maybe after the shown one).
            and set(screen.kept) <= set(screen.history) | set(screen.unreadable_epochs)
            and all(list(series.xs) == sorted(set(screen.kept) & set(screen.history))
                    for series in screen.plotted.get("weight norm", []))
        ) and screen

    return await until(pilot, ready, what=f"the health view at epoch {epoch} of {of}")


def figures(screen: HealthScreen) -> str:
    return shown_text(screen, "#figures")


def hints_shown(screen: HealthScreen) -> str:
    return shown_text(screen, "#hints")


def points(screen: HealthScreen, chart: str) -> dict[str, list[float]]:
    """Each layer's epochs on the chart titled `chart`."""
    return {series.label: list(series.xs) for series in screen.plotted[chart]}


async def test_a_run_opens_at_its_newest_epoch_with_its_figures(tmp_path):
    app = host_of(recorded_run(tmp_path, 4))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 4, 4)
        table = figures(screen).splitlines()
        assert table[0].split() == ["layer", "weight", "norm", "grad", "norm", "update", "ratio",
                                    "dead", "ReLU", "saturated"]
        assert table[1].split() == ["▞", "layer", "1", "9.00", "0.250", "2.5e-04", "40%!", "–"]
        assert table[2].split() == ["x", "layer", "2", "10.0", "0.250", "2.5e-04", "–", "–"]
        assert [layer.weight_norm for layer in screen.figures] == [9.0, 10.0]
        assert screen.query_one("#charts").display
        assert app.notes == []


async def test_brackets_step_to_the_epoch_before_and_back(tmp_path):
    app = host_of(recorded_run(tmp_path, 4))
    async with app.run_test(size=(80, 24)) as pilot:
        await at_epoch(pilot, 4, 4)
        await pilot.press("left_square_bracket")
        screen = await at_epoch(pilot, 3, 4)
        assert figures(screen).splitlines()[1].split()[3:6] == ["8.00", "0.333", "3.3e-04"]
        assert "30%" in figures(screen)
        await pilot.press("right_square_bracket")
        screen = await at_epoch(pilot, 4, 4)
        assert figures(screen).splitlines()[1].split()[3] == "9.00"
        await pilot.press("right_square_bracket")  # no later epoch: it stays
        await at_epoch(pilot, 4, 4)
        assert app.notes[-1] == ("information", "No later epoch")


async def test_the_charts_get_one_point_per_kept_epoch_and_layer(tmp_path):
    app = host_of(recorded_run(tmp_path, 4))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 4, 4)
        every = {"layer 1": [1, 2, 3, 4], "layer 2": [1, 2, 3, 4]}
        assert points(screen, "weight norm") == every
        assert points(screen, "gradient norm") == every
        assert points(screen, "update/weight ratio") == every
        assert points(screen, "dead / saturated share") == {"layer 1": [1, 2, 3, 4]}  # hidden only
        assert [list(s.ys) for s in screen.plotted["weight norm"]] == [[6, 7, 8, 9], [7, 8, 9, 10]]
        np.testing.assert_allclose(screen.plotted["update/weight ratio"][0].ys, [1e-3, 5e-4, 1e-3 / 3, 2.5e-4])
        np.testing.assert_allclose(screen.plotted["dead / saturated share"][0].ys, [0.1, 0.2, 0.3, 0.4])
        # Told apart without colour: each layer has its own marker.
        assert len({series.marker for series in screen.plotted["weight norm"]}) == 2
        ratio = screen.query_one("#ratio-chart", Chart)
        assert ratio.axes.log_y and ratio.border_title == "update/weight ratio · log scale"


async def test_an_epoch_not_kept_says_so_and_the_charts_show_the_kept_ones(tmp_path):
    app = host_of(recorded_run(tmp_path, 3, kept=[1, 3]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 3, 3)
        await pilot.press("left_square_bracket")
        screen = await at_epoch(pilot, 2, 3)
        assert figures(screen) == "epoch 2: not kept"
        assert hints_shown(screen) == ""
        assert points(screen, "weight norm") == {"layer 1": [1, 3], "layer 2": [1, 3]}
        await pilot.press("left_square_bracket")
        screen = await at_epoch(pilot, 1, 3)
        assert figures(screen).splitlines()[1].split()[3] == "6.00"


async def test_a_corrupt_record_is_named_in_a_notification_and_said_unreadable(tmp_path):
    path = recorded_run(tmp_path, 4)
    corrupt = RunFolder(path).record_file(2)
    corrupt.write_bytes(b"not a zip file at all")
    app = host_of(path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 4, 4)
        # Read for the charts (on a thread, maybe after epoch 4 is shown): named, and left out.
        expected = {"layer 1": [1, 3, 4], "layer 2": [1, 3, 4]}
        await until(pilot, lambda: points(screen, "weight norm") == expected, what="the charts")
        assert [severity for severity, _ in app.notes] == ["error"]
        assert str(corrupt) in app.notes[0][1]
        await pilot.press("left_square_bracket", "left_square_bracket")
        screen = await at_epoch(pilot, 2, 4)
        assert figures(screen) == "epoch 2: cannot be read"
        assert app.notes[-1][0] == "error" and str(corrupt) in app.notes[-1][1]


async def test_hints_come_from_the_epochs_up_to_the_shown_one(tmp_path):
    app = host_of(recorded_run(tmp_path, 4))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 4, 4)
        assert hints_shown(screen) == f"! {DEAD_HINT}"
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        screen = await at_epoch(pilot, 1, 4)  # 10 % dead: under the warning
        assert hints_shown(screen) == HEALTHY


async def test_a_running_run_is_followed_to_its_new_epoch(tmp_path):
    path = recorded_run(tmp_path, 3, state="running")
    app = host_of(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_epoch(pilot, 3, 3)
        RunFolder(path).save_record(epoch_record(4))
        screen = await at_epoch(pilot, 4, 4)
        assert figures(screen).splitlines()[1].split()[3] == "9.00"
        assert points(screen, "weight norm") == {"layer 1": [1, 2, 3, 4], "layer 2": [1, 2, 3, 4]}


async def test_a_network_from_a_file_is_measured_without_charts(mnist):
    network = fixed_seed_network()
    app = ScreenHost(lambda: HealthScreen.of(source_of(network, mnist)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, HealthScreen) and app.screen.figures
                             and app.screen, what="the network's figures")
        assert shown_text(screen, "#heading") == "Health · fixed-seed 784-16-10"
        assert not screen.query_one("#charts").display
        table = figures(screen).splitlines()
        first = norm_text(float(np.linalg.norm(network.weights[0])))
        assert table[1].split()[:6] == ["▞", "layer", "1", first, "–", "–"]
        assert table[2].split()[3:] == [norm_text(float(np.linalg.norm(network.weights[1]))), "–", "–", "–", "–"]
        assert table[-1] == FILE_MESSAGE
        assert [layer.gradient_norm for layer in screen.figures] == [None, None]
        await pilot.press("left_square_bracket")
        assert app.notes == [("warning", "No past epochs: this network is not a run's")]


async def test_a_tanh_run_shows_saturated_units_instead_of_dead_ones(tmp_path):
    app = host_of(recorded_run(tmp_path, 4, activation="tanh"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_epoch(pilot, 4, 4)
        assert figures(screen).splitlines()[1].split()[6:] == ["–", "20%"]
        np.testing.assert_allclose(screen.plotted["dead / saturated share"][0].ys, [0.05, 0.1, 0.15, 0.2])
        assert hints_shown(screen) == HEALTHY  # 20 % saturated: under the warning


async def test_a_network_that_cannot_be_fetched_says_why():
    async def failing_fetch():
        raise DataError("no test set in /nowhere")

    app = ScreenHost(lambda: HealthScreen("model.npz", failing_fetch))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, HealthScreen)
                             and "no network" in figures(app.screen) and app.screen, what="the error")
        assert figures(screen) == "no network: no test set in /nowhere"
        assert not screen.query_one("#figures").loading


@pytest.mark.usefixtures("colour")
class TestHealthSnapshot:
    """Deterministic: made-up records with fixed figures, a fixed title; run_before waits until
    the newest epoch's table is shown and every chart is drawn (update: --snapshot-update)."""

    def test_a_recorded_run_at_its_newest_epoch(self, snap_compare, tmp_path):
        app = host_of(recorded_run(tmp_path, 4))

        async def drawn(pilot):
            await at_epoch(pilot, 4, 4)

        assert snap_compare(app, terminal_size=(80, 24), run_before=drawn)
