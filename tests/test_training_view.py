"""The numbers behind the training screen: the run history, and the charts' thinning, ticks and
scales (a value is drawn on the row its tick labels say)."""

from __future__ import annotations

import math
import re

import pytest
from fakes import make_app, settled, until

from tui_mnist.engine.progress import BatchProgress, EpochProgress
from tui_mnist.live.events import RunStarted
from tui_mnist.tui import training_view
from tui_mnist.tui.screens.training import TrainingScreen
from tui_mnist.tui.training_view import Smoother, TrainingView, duration
from tui_mnist.tui.widgets.chart import (
    REFERENCE_MARKER,
    Axes,
    Chart,
    Reference,
    Series,
    chart_text,
    linear_ticks,
    log_ticks,
    thin,
)


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


# --- the charts' axes ----------------------------------------------------------------------

# A loss falling from 2 to 0.02 over 3 epochs.
TRAIN = Series("train", [i / 40 for i in range(121)], [2 * 0.01 ** (i / 120) for i in range(121)],
               "hd", "cyan")


def ticked_rows(lines: list[str]) -> dict[int, float]:
    """Row number -> the value of the y tick label on it."""
    return {
        row: float(line.split("┤")[0])
        for row, line in enumerate(lines)
        if "┤" in line and line.split("┤")[0].strip()
    }


def marker_row(lines: list[str]) -> int:
    """The row of the one series drawn with "x" (left of the frame are the tick labels)."""
    (row,) = {row for row, line in enumerate(lines) if "x" in re.sub(r"^[^│┤]*[│┤]", "", line)}
    return row


def drawn_at(value: float, log_y: bool) -> tuple[dict[int, float], int]:
    """The tick rows of a chart of TRAIN with `value` drawn flat in "x", and the row of it."""
    val = Series("val", [1.0, 2.0], [value, value], "x", "red")
    lines = chart_text([TRAIN, val], 40, 24, colour=False, axes=Axes(log_y=log_y)).plain.split("\n")
    return ticked_rows(lines), marker_row(lines)


@pytest.mark.parametrize(
    ("value", "log_y"),
    [(v, True) for v in (0.02, 0.05, 0.1, 0.5, 1, 2)] + [(v, False) for v in (0.25, 1.0, 1.75)],
)
def test_a_value_at_a_tick_is_drawn_on_the_row_of_its_label(value, log_y):
    ticks, row = drawn_at(value, log_y)
    assert ticks.get(row) == value


@pytest.mark.parametrize("log_y", [True, False])
@pytest.mark.parametrize("value", [0.03, 0.06, 0.3, 0.7, 1.7])
def test_a_value_between_ticks_is_drawn_where_the_scale_puts_it(value, log_y):
    ticks, row = drawn_at(value, log_y)
    scale = math.log10 if log_y else (lambda v: v)
    top, bottom = min(ticks), max(ticks)
    share = (scale(ticks[top]) - scale(value)) / (scale(ticks[top]) - scale(ticks[bottom]))
    assert abs(top + share * (bottom - top) - row) <= 1  # to within a row, as drawn by halves


def test_the_x_axis_is_in_epochs_with_round_ticks():
    lines = chart_text([TRAIN], 40, 16, colour=False).plain.split("\n")
    assert lines[-1].strip() == "epoch"
    assert lines[-2].split() == ["0", "1", "2", "3"]


# The first 40 batches of a run of 1875 batches an epoch (60,000 images, 32 a batch).
PER_EPOCH = 1875
EARLY = Series("train", [k / PER_EPOCH for k in range(1, 41)], [2 * 0.5 ** (k / 40) for k in range(1, 41)],
               "hd", "cyan")


def x_ticked_columns(lines: list[str]) -> dict[str, int]:
    """x tick label -> the column of its mark (┬) on the frame, each label centred on its mark."""
    marks = [column for column, char in enumerate(lines[-3]) if char == "┬"]
    labels = list(re.finditer(r"\S+", lines[-2]))
    assert len(marks) == len(labels)
    assert all(abs((label.start() + label.end() - 1) / 2 - mark) <= 1 for label, mark in zip(labels, marks))
    return {label.group(): mark for label, mark in zip(labels, marks)}


def test_early_in_the_first_epoch_the_x_ticks_count_batches():
    """They read 0.000 0.005 0.010 0.015 0.020 (epochs), which says little."""
    lines = chart_text([EARLY], 40, 12, colour=False, axes=Axes(batches_per_epoch=PER_EPOCH)).plain.split("\n")
    assert lines[-1].strip() == "batch"
    assert lines[-2].split() == ["0", "10", "20", "30", "40"]


def test_from_a_quarter_of_an_epoch_the_x_ticks_are_round_fractions_of_one():
    quarter = Series("train", [k / 40 for k in range(1, 11)], [1.0] * 10, "hd", "cyan")
    lines = chart_text([quarter], 40, 12, colour=False, axes=Axes(batches_per_epoch=PER_EPOCH)).plain.split("\n")
    assert lines[-1].strip() == "epoch"
    assert lines[-2].split() == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"]


def test_without_the_epochs_size_the_x_ticks_stay_in_epochs():
    lines = chart_text([EARLY], 40, 12, colour=False).plain.split("\n")
    assert lines[-1].strip() == "epoch"
    assert lines[-2].split() == ["0.000", "0.005", "0.010", "0.015", "0.020"]


def test_x_ticks_in_epochs_are_quarters_but_never_tenths_of_quarters():
    """A chart 38 wide (at 80 columns) of a tenth of an epoch read 0.000 0.025 0.050 0.075 0.100."""
    tenth = Series("train", [k / 400 for k in range(1, 41)], [1.0] * 40, "hd", "cyan")
    lines = chart_text([tenth], 38, 12, colour=False).plain.split("\n")
    assert lines[-2].split() == ["0.00", "0.05", "0.10"]
    one = Series("train", [k / 40 for k in range(1, 41)], [1.0] * 40, "hd", "cyan")
    lines = chart_text([one], 38, 12, colour=False).plain.split("\n")
    assert lines[-2].split() == ["0.00", "0.25", "0.50", "0.75", "1.00"]


@pytest.mark.parametrize(
    ("axes", "at"),
    [
        (Axes(batches_per_epoch=PER_EPOCH), {"10": 10 / PER_EPOCH, "20": 20 / PER_EPOCH, "30": 30 / PER_EPOCH}),
        (Axes(batches_per_epoch=PER_EPOCH, x_range=(20 / PER_EPOCH, 40 / PER_EPOCH)),
         {"20": 20 / PER_EPOCH, "30": 30 / PER_EPOCH, "40": 40 / PER_EPOCH}),
        (Axes(), {"0.005": 0.005, "0.010": 0.01, "0.015": 0.015}),
    ],
    ids=["batches", "batches-zoomed", "epochs"],
)
def test_a_point_at_an_x_tick_is_drawn_in_the_column_of_its_label(axes, at):
    points = Series("val", list(at.values()), [1.5] * len(at), "x", "red", lines=False)
    lines = chart_text([EARLY, points], 60, 12, colour=False, axes=axes).plain.split("\n")
    plot = lines[marker_row(lines)]
    drawn = [column for column, char in enumerate(plot) if char == "x"]
    marks = x_ticked_columns(lines)
    assert drawn == [marks[label] for label in at]


def test_a_zoomed_caption_names_the_window_in_the_unit_of_the_ticks():
    chart = Chart("loss")
    assert chart.caption(Axes(x_range=(2.0, 3.0))) == "loss · epochs 2–3"
    assert chart.caption(Axes(x_range=(20 / PER_EPOCH, 40 / PER_EPOCH), batches_per_epoch=PER_EPOCH)) == (
        "loss · batches 20–40"
    )
    assert chart.caption(Axes(x_range=(0.1, 0.2), batches_per_epoch=60_000)) == "loss · batches 6000–12000"


def test_loss_on_a_log_scale_has_ticks_at_1_2_5():
    lines = chart_text([TRAIN], 40, 24, colour=False, axes=Axes(log_y=True)).plain.split("\n")
    assert sorted(ticked_rows(lines).values()) == [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]


def test_a_zoomed_chart_spans_its_window_and_the_values_in_it():
    accuracy = Series("train", [i / 10 for i in range(1, 31)], [90 + i / 5 for i in range(1, 31)],
                      "hd", "cyan")
    lines = chart_text([accuracy], 40, 16, colour=False, axes=Axes(x_range=(2.0, 3.0))).plain.split("\n")
    ticks = ticked_rows(lines)
    assert 94 <= min(ticks.values()) and max(ticks.values()) <= 96  # 94.2 .. 96 only
    assert len(ticks) >= 3
    assert lines[-2].split() == ["2.0", "2.2", "2.4", "2.6", "2.8", "3.0"]


def test_ticks_are_round_numbers():
    assert [label for _, label in linear_ticks(97.1, 99.3, 5)] == ["97.5", "98.0", "98.5", "99.0"]
    assert [label for _, label in log_ticks(0.015, 2.5, 7)] == ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert [label for _, label in log_ticks(0.015, 2.5, 3)] == ["0.1", "1"]


def test_the_recent_window_is_the_latest_epoch_and_epochs_keep_their_own_seconds():
    history = TrainingView(epochs=3)
    history.start(RunStarted("784-10", 7850, 3, 10, 320))
    assert history.recent_window() is None
    history.add_batches([batch(s) for s in range(1, 6)])
    assert history.recent_window() == pytest.approx((0.25, 0.5))
    history.add_batches([batch(s) for s in range(6, 26)])
    assert history.recent_window() == pytest.approx((1.5, 2.5))
    for epoch in (1, 2):
        history.add_epoch(EpochProgress(epoch, 3, 0.5, 0.9, 0.6, 0.88, None, None, 0.1, 5.0 * epoch + 1))
    assert [row.seconds for row in history.epoch_rows] == [6.0, 5.0]


# --- the reference line: a paper's result on the accuracy chart -----------------------------


def reference_rows(lines: list[str]) -> set[int]:
    """The rows where the dashed reference line is drawn (right of the tick labels)."""
    return {row for row, line in enumerate(lines) if REFERENCE_MARKER in re.sub(r"^[^│┤]*[│┤]", "", line)}


def with_reference(y: float, log_y: bool, height: int = 24) -> list[str]:
    axes = Axes(log_y=log_y, reference=Reference("paper", y))
    return chart_text([TRAIN], 40, height, colour=False, axes=axes).plain.split("\n")


@pytest.mark.parametrize(("value", "log_y"), [(0.1, True), (1, True), (0.5, False), (1.75, False)])
def test_a_reference_at_a_tick_is_drawn_across_the_row_of_its_label(value, log_y):
    lines = with_reference(value, log_y)
    (row,) = reference_rows(lines)
    assert ticked_rows(lines)[row] == value
    drawn = re.sub(r"^[^│┤]*[│┤]", "", lines[row]).rstrip("│")
    assert drawn.count(REFERENCE_MARKER) > len(drawn) * 0.8  # across; the curve may cross it


def test_a_reference_near_the_values_widens_the_range_to_show_it():
    lines = with_reference(2.5, log_y=False)  # TRAIN goes up to 2
    (row,) = reference_rows(lines)
    ticks = ticked_rows(lines)
    assert max(ticks.values()) >= 2.5
    assert row < min(row for row, value in ticks.items() if value == 2.0)  # above the 2 tick


def test_a_reference_far_from_the_values_is_not_drawn_and_leaves_the_range_alone():
    """A chart zoomed into 98-99 % would otherwise squash its curves to show a line at 95 %."""
    plain = chart_text([TRAIN], 40, 24, colour=False).plain.split("\n")
    lines = with_reference(10.0, log_y=False)
    assert reference_rows(lines) == set()
    assert ticked_rows(lines) == ticked_rows(plain)


def test_the_title_names_the_reference_in_the_longest_form_that_fits():
    chart = Chart("accuracy %")
    axes = Axes(reference=Reference("LeCun 1998, 784-300-10: 95.3 %", 95.3, "LeCun 1998: 95.3 %"))
    assert chart.caption(axes) == "accuracy % · ┄ LeCun 1998, 784-300-10: 95.3 %"
    assert chart.caption(axes, room=34) == "accuracy % · ┄ LeCun 1998: 95.3 %"
    zoomed = Axes(x_range=(4.0, 5.0), reference=axes.reference)
    assert chart.caption(zoomed, room=34) == "accuracy % · epochs 4–5 · ┄ 95.3"


async def test_the_accuracy_chart_draws_the_closest_classic_mlp():
    """fast_config's 784-16-10 is compared with LeCun 1998's 784-300-10 (95.3 %); the fake
    run's accuracy climbs from 19 % to almost 100 %, so the line is in range and drawn."""
    app = make_app(batches_per_epoch=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.state == "finished",
                    what="the end of the run")
        await settled(pilot)
        chart = app.screen.query_one("#accuracy-chart", Chart)
        assert chart.axes.reference == Reference("LeCun 1998, 784-300-10: 95.3 %", 95.3, "LeCun 1998: 95.3 %")
        assert chart.border_title == "accuracy % · ┄ LeCun 1998: 95.3 %"  # 40 columns: the short form
        lines = [chart.render_line(y).text for y in range(chart.size.height)]
        (row,) = reference_rows(lines)
        ticks = ticked_rows(lines)
        top, bottom = min(ticks), max(ticks)
        share = (ticks[top] - 95.3) / (ticks[top] - ticks[bottom])
        assert abs(top + share * (bottom - top) - row) <= 1  # where the scale puts 95.3
