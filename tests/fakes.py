"""Plain helpers and test doubles, imported by name (the fixtures are in conftest.py).

- The app's doubles: `FakeTrainer`, a stepped, deterministic stand-in for the engine's Trainer.
  Every `next()` on `run()` is one batch with scripted numbers; an EpochProgress follows every
  `batches_per_epoch` batches and a RunFinished ends the run. No arithmetic on images happens,
  so a test controls exactly how many batches exist and what they report. `fake_session`,
  `RecordingApp` and `make_app` put it behind a real ThreadSession and app.
- Waiting on conditions, never for a fixed time: `until` in async code (with a Pilot, or the
  bare event loop), `wait_for` in plain code.
- Data and run folders on disk: IDX files, a small-run config and environment, the CLI as a
  subprocess, and run folders written by hand with fixed ids and times (`three_runs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from textual.app import App

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, Normalizer
from tui_mnist.engine.errors import TrainingDiverged
from tui_mnist.engine.network import Network
from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.runs.store import RUN_FORMAT, RUN_VERSION, write_json
from tui_mnist.session.thread import ThreadSession
from tui_mnist.tui.app import MnistApp

SECONDS_PER_BATCH = 0.01  # the scripted training time, so samples/s and ETA are exact


def batch_loss(step: int) -> float:
    return 0.1 + 2.2 * 0.9**step


def batch_accuracy(step: int) -> float:
    return 1.0 - 0.9 * 0.9**step


def final_test_accuracy(epochs_completed: int) -> float:
    return 0.9 + 0.01 * epochs_completed


class FakeTrainer:
    def __init__(
        self,
        config: TrainConfig,
        data: Dataset,
        batches_per_epoch: int = 5,
        delay: float = 0.0,
        fail_at_step: int | None = None,
    ):
        self.config = config
        self.data = data
        self.batches_per_epoch = batches_per_epoch
        self.delay = delay  # real seconds per batch, so a UI test can catch the run mid-way
        self.fail_at_step = fail_at_step
        sizes = (data.n_features, *config.hidden, 10)
        self.network = Network.create(sizes, config.activation, np.random.default_rng(0))
        self.epoch = 0
        self.step = 0
        self.lr_scale = 1.0
        self.stop_requested = False

    @property
    def lr(self) -> float:
        return self.config.lr * self.lr_scale

    def request_stop(self) -> None:
        self.stop_requested = True

    def run(self):
        batch_size = self.config.batch_size
        while self.epoch < self.config.epochs and not self.stop_requested:
            for batch in range(1, self.batches_per_epoch + 1):
                if self.stop_requested:
                    break
                if self.delay:
                    time.sleep(self.delay)
                if self.step + 1 == self.fail_at_step:
                    raise TrainingDiverged(f"loss diverged at step {self.fail_at_step} (fake)")
                self.step += 1
                yield BatchProgress(
                    epoch=self.epoch + 1,
                    batch=batch,
                    batches=self.batches_per_epoch,
                    step=self.step,
                    loss=batch_loss(self.step),
                    accuracy=batch_accuracy(self.step),
                    lr=self.lr,
                    samples=self.step * batch_size,
                    seconds=self.step * SECONDS_PER_BATCH,
                )
            else:
                self.epoch += 1
                yield EpochProgress(
                    epoch=self.epoch,
                    epochs=self.config.epochs,
                    train_loss=batch_loss(self.step),
                    train_acc=batch_accuracy(self.step),
                    val_loss=batch_loss(self.step) * 1.1,
                    val_acc=batch_accuracy(self.step) - 0.02,
                    test_loss=None,
                    test_acc=None,
                    lr=self.lr,
                    seconds=self.step * SECONDS_PER_BATCH,
                )
        yield RunFinished(
            epochs_completed=self.epoch,
            test_loss=batch_loss(self.step),
            test_acc=final_test_accuracy(self.epoch),
            seconds=self.step * SECONDS_PER_BATCH,
            stopped=self.stop_requested and self.epoch < self.config.epochs,
            steps=self.step,
            batches_per_epoch=self.batches_per_epoch,
        )


def tiny_dataset(n_train: int = 64, n_test: int = 32) -> Dataset:
    """Random 28x28 images: enough for the inspector and for saving a model."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_train + n_test, 784), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    empty = images[:0]
    return Dataset(
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_val=empty,
        y_val=labels[:0],
        x_test=images[n_train:],
        y_test=labels[n_train:],
        shape=(28, 28),
        normalizer=Normalizer(scale=1 / 255, offset=0.0),
    )


def fake_session(
    clock=time.perf_counter, interval: float = 0.1, trainers: list | None = None, **trainer_options
):
    """A real ThreadSession around a FakeTrainer on `tiny_dataset()`; the trainer it makes is
    appended to `trainers` when a list is given, for the test to look at."""

    def make_trainer(config: TrainConfig, data: Dataset) -> FakeTrainer:
        trainer = FakeTrainer(config, data, **trainer_options)
        if trainers is not None:
            trainers.append(trainer)
        return trainer

    return ThreadSession(
        trainer_factory=make_trainer,
        load_data=lambda config: tiny_dataset(),
        clock=clock,
        interval=interval,
    )


class RecordingApp(MnistApp):
    """MnistApp that remembers its notifications, so tests can read what the user was told."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.notes: list[tuple[str, str]] = []  # (severity, message)

    def notify(self, message: str, *, severity: str = "information", **options) -> None:
        self.notes.append((severity, message))
        super().notify(message, severity=severity, **options)


def fast_config(**changes) -> TrainConfig:
    """A small valid run for the app tests (the fake trainer ignores most of it)."""
    return TrainConfig(hidden=(16,), epochs=3, batch_size=10, lr=0.1).with_changes(**changes)


def status_text(screen) -> str:
    """The status line of a training screen, as drawn."""
    return str(screen.query_one("#status").render())


def make_app(session_factory=None, initial: TrainConfig | None = None, **trainer_options):
    """A RecordingApp on fake sessions (`trainer_options` go to `fake_session`) and a frozen
    clock; `session_factory` replaces the fake sessions (e.g. `DetachedSession.new`)."""
    factory = session_factory or (lambda: fake_session(**trainer_options))
    initial = initial or fast_config()
    # A frozen clock: the elapsed time on screen must not vary between runs (snapshots).
    return RecordingApp(initial=initial, session_factory=factory, clock=lambda: 0.0)


# --- waiting -------------------------------------------------------------------------------

# How long a condition may take before the test fails. Generous on purpose: a passing test
# never waits for it, and a loaded machine must not fail a test that is merely slow.
PATIENCE = 60.0


async def until(pilot, condition, timeout: float = PATIENCE, what: str = "the expected state"):
    """Let the app (`pilot`), or without one the event loop, run until `condition()` is truthy;
    returns its value, or fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await (pilot.pause(0.02) if pilot is not None else asyncio.sleep(0.02))
    return value


async def predicted(pilot):
    """Let the app run until the inspector on top shows its predictions (its worker is done);
    returns that inspector."""
    from tui_mnist.tui.screens.inspector import InspectorScreen

    def inspector():
        screen = pilot.app.screen
        return screen if isinstance(screen, InspectorScreen) and screen.predictions is not None else None

    return await until(pilot, inspector, what="the inspector's predictions")


async def settled(pilot) -> None:
    """Let the screen's thread workers finish (the runs list's reading, the charts' builds) and
    the screen repaint, so that a snapshot shows their results."""
    from textual.worker import WorkerCancelled

    from tui_mnist.tui.widgets.chart import Chart

    for worker in list(pilot.app.workers):
        # A chart's build is cancelled when a newer one replaces it (an exclusive worker): the
        # wait for the charts drawn, below, covers that one.
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()
    await until(pilot, lambda: all(chart.drawn for chart in pilot.app.screen.query(Chart)),
                what="the charts drawn")
    await pilot.pause()


def wait_for(condition, timeout: float = PATIENCE, what: str = "the condition"):
    """Poll `condition()` until it is truthy; returns its value, or fails the test after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
    return value


# --- data on disk --------------------------------------------------------------------------

TRAIN_IMAGES = 3000  # of the small data set (conftest's small_data); 1000 become validation
TEST_IMAGES = 500


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file of uint8 data: magic (0x08 type, ndim), big-endian dims, the bytes."""
    magic = (0x0800 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    """An IDX file at `path`, gzipped when the name ends in .gz."""
    content = idx_bytes(array, magic)
    path.write_bytes(gzip.compress(content, compresslevel=1) if path.suffix == ".gz" else content)


# --- runs and the CLI ----------------------------------------------------------------------

TUI_MNIST = [sys.executable, "-m", "tui_mnist"]


def small_config(**changes) -> TrainConfig:
    """A run on the small data set; single-threaded (deterministic, and fair to the other tests
    on a shared machine)."""
    return TrainConfig(hidden=(16,), epochs=2, val=1000, threads=1).with_changes(**changes)


# ~0.2 s an epoch of 2000 batches: time to act mid-run, by key or by command.
SLOW = small_config(epochs=50, batch_size=1, lr=0.01)


def cli_flags(config: TrainConfig) -> list[str]:
    return config.command_line().split()[2:]


def environment(root: Path, data: Path) -> dict:
    """Runs, data and caches of a test (and of the processes it starts) under `root`."""
    return {
        **os.environ,
        "TUI_MNIST_RUNS": str(root / "runs"),
        "TUI_MNIST_DATA": str(data),
        "XDG_CACHE_HOME": str(root / "cache"),
    }


def tui_mnist(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 2 * PATIENCE
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, in this environment with `env`'s variables on top."""
    return subprocess.run(
        [*TUI_MNIST, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env={**os.environ, **(env or {})},
    )


# --- run folders written by hand -----------------------------------------------------------
# What a runs directory holds after a few runs, with fixed ids and times, without training
# anything: for the ledger's tests and snapshots.

LONG_AGO = 1_750_000_000  # 2025-06-15: a heartbeat this old means the trainer is gone


def val_curve(epochs: int, start: float, gain: float) -> list[dict]:
    return [
        {
            "epoch": epoch,
            "train_loss": 0.5 / epoch,
            "train_acc": start + gain * (1 - 0.5**epoch),
            "val_loss": 0.6 / epoch,
            "val_acc": start + gain * (1 - 0.6**epoch),
            "test_loss": None,
            "test_acc": None,
            "lr": 0.1,
            "seconds": 1.5 * epoch,
        }
        for epoch in range(1, epochs + 1)
    ]


def write_run(
    runs_dir: Path,
    run_id: str,
    config: TrainConfig,
    state: str,
    records: list[dict],
    test_acc: float | None = None,
    parent: dict | None = None,
) -> Path:
    folder = runs_dir / run_id
    (folder / "checkpoints").mkdir(parents=True)
    day, clock = run_id[:8], run_id[9:15]  # the id is the start time: 20250612-093000-aa11
    created = f"{day[:4]}-{day[4:6]}-{day[6:]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}+00:00"
    write_json(folder / "config.json", {
        "format": RUN_FORMAT, "version": RUN_VERSION, "id": run_id, "created": created,
        "config": config.to_dict(), "command": config.command_line(), "parent": parent,
        "keep_checkpoints": 5,
    })
    best = max((r["val_acc"] for r in records), default=None)
    write_json(folder / "status.json", {
        "state": state, "pid": None, "hostname": "elsewhere", "epoch": len(records),
        "epochs": config.epochs, "best_val_acc": best, "test_acc": test_acc, "error": None,
    })
    os.utime(folder / "status.json", (LONG_AGO, LONG_AGO))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def three_runs(runs_dir: Path) -> list[Path]:
    """A finished 784-128-10 run, a stopped 784-256-10 run with Adam, and one whose trainer
    vanished mid-run (stale), oldest first."""
    base = TrainConfig(epochs=4)
    return [
        write_run(runs_dir, "20250612-093000-aa11", base, "done", val_curve(4, 0.90, 0.07), 0.9712),
        write_run(
            runs_dir, "20250612-101500-bb22",
            base.with_changes(hidden=(256,), optimizer="adam", lr=0.001),
            "stopped", val_curve(3, 0.92, 0.06), 0.9655,
        ),
        write_run(runs_dir, "20250613-080000-cc33", base.with_changes(epochs=10), "running",
                  val_curve(2, 0.88, 0.05)),
    ]


def shown_run_ids(ledger) -> list[str]:
    """The run ids the runs list (`ledger`, a RunsScreen) shows, top to bottom."""
    table = ledger.query_one("#runs-table")
    return [str(table.get_row_at(row)[1]).strip() for row in range(table.row_count)]


def shown_text(screen, selector: str) -> str:
    """The text of the Static `selector` on `screen`, as drawn."""
    return str(screen.query_one(selector).render())


# --- keys in a form ------------------------------------------------------------------------
# Each key a Pilot presses waits for the app to go idle, a repaint: ~0.06 s, a tab that moves
# focus ~0.15 s (more on two busy cores). Press the keys a test is about, not the way to them.

async def retype(pilot, selector: str, text: str) -> None:
    """Focus the text field `selector` with its text selected, as tab leaves it, and type `text`
    over it (backspace, for none). Each press waits for the app to handle its key."""
    field = pilot.app.screen.query_one(selector)
    field.focus()
    field.select_all()
    await pilot.press(*(text or ["backspace"]))


async def paste(pilot, text: str) -> None:
    """Paste `text` into the focused widget, as a terminal delivers a paste: one event however
    long (typed, a 70-character path cost ~5 s)."""
    from textual import events

    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def tab_to(pilot, selector: str) -> None:
    """Focus what precedes `selector` in the screen's focus order and press tab once: what tab
    does, without a key press (and a repaint) for every field on the way."""
    screen = pilot.app.screen
    target = screen.query_one(selector)
    chain = screen.focus_chain
    chain[chain.index(target) - 1].focus()
    await pilot.press("tab")
    assert pilot.app.focused is target, f"tab went to {pilot.app.focused}, not {selector}"


class ScreenHost(App):
    """One screen, made by `screen_factory`, over a plain app that remembers its notifications
    as (severity, message)."""

    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.screen_factory = screen_factory
        self.notes: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_factory())

    def notify(self, message: str, *, severity: str = "information", **options) -> None:
        self.notes.append((severity, message))
        super().notify(message, severity=severity, **options)


def source_of(network: Network, mnist, title: str = "fixed-seed 784-16-10", count: int = 10):
    """An inspector source: `network` on the first `count` test images."""
    from tui_mnist.tui.screens.inspector import InspectSource

    return InspectSource(network, mnist.normalizer, mnist.x_test[:count], mnist.y_test[:count],
                         mnist.shape, title)


def fixed_seed_network(sizes=(784, 16, 10), seed: int = 7) -> Network:
    """An untrained network: deterministic numbers for screens' tests and snapshots."""
    return Network.create(sizes, "relu", np.random.default_rng(seed))



def epoch_record(epoch: int, sizes=(784, 16, 10), activation: str = "relu"):
    """A made-up record that differs from epoch to epoch: the diagonal grows, the 4 → 9
    mistakes shrink, the weights are a fixed-seed network's times the epoch."""
    from tui_mnist.engine.epoch_record import EpochRecord
    from tui_mnist.engine.health import LayerHealth

    confusion = np.full((10, 10), 2, np.int64)
    np.fill_diagonal(confusion, 400 + 10 * epoch)
    confusion[4, 9] = 60 - 10 * epoch
    hidden = len(sizes) - 2
    layers = tuple(
        LayerHealth(
            layer=i + 1, weight_norm=5.0 + epoch + i, gradient_norm=1.0 / epoch,
            update_ratio=1e-3 / epoch,
            dead_share=0.1 * epoch if i < hidden and activation == "relu" else None,
            saturated_share=0.05 * epoch if i < hidden and activation != "relu" else None,
        )
        for i in range(len(sizes) - 1)
    )
    weights = fixed_seed_network(sizes).weights[0] * epoch
    return EpochRecord(epoch, 0.5 / epoch, confusion, layers, weights.astype(np.float16), 0.1, 0.1)


def recorded_run(runs_dir: Path, epochs: int, kept=None, state: str = "finished", **record_options) -> Path:
    """A run folder of `epochs` epochs whose records (`epoch_record`) are kept for the epochs
    in `kept` (all by default)."""
    from tui_mnist.runs.store import RunFolder

    path = write_run(runs_dir, "20250612-093000-aa11", TrainConfig(epochs=epochs), state,
                     val_curve(epochs, 0.90, 0.07), 0.97)
    folder = RunFolder(path)
    for epoch in range(1, epochs + 1) if kept is None else kept:
        folder.save_record(epoch_record(epoch, **record_options))
    return path


# --- sweeps written by hand ----------------------------------------------------------------
# A sweep folder with a real Optuna journal, its trials added as they would have ended, without
# Dask or training: for the sweep screen's tests and snapshots.

SWEEP_FLAGS = {"lr": "0.01..0.3:log", "dropout": "0..0.3", "hidden": "16|32|64,32"}


def sweep_trial(number: int, state: str = "finished", epochs=(0.90, 0.93, 0.95), run=None,
                error=None, **params) -> dict:
    """One trial for `fake_sweep`: its state (as the screen names it), per-epoch validation
    accuracies, run folder id, error, and settings (the rest from the trial's number)."""
    settings = {"lr": round(0.01 * 1.4 ** (number % 10), 6), "dropout": round(0.03 * (number % 10), 6),
                "hidden": ("16", "32", "64,32")[number % 3]}
    return {"state": state, "epochs": list(epochs), "run": run, "error": error,
            "params": {**settings, **params}}


def fake_sweep(runs_dir: Path, trials=(), state: str = "finished", trials_asked: int = 8,
               sweep_id: str = "sweep-20250612-093000-aa11", **status):
    """A sweep folder `sweep_id` in `runs_dir` over SWEEP_FLAGS whose journal holds `trials`
    (sweep_trial dicts); state.json says `state` with `status` (pid, hostname...). Returns its
    SweepFolder."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.sweeps.folder import SweepFolder, SweepSpec, sweeps_dir
    from tui_mnist.sweeps.space import space_from_flags

    folder = SweepFolder(sweeps_dir(runs_dir) / sweep_id)
    folder.path.mkdir()
    spec = SweepSpec(id=sweep_id, space=space_from_flags(SWEEP_FLAGS),
                     base=TrainConfig(hidden=(16,), epochs=3), trials=trials_asked,
                     runs_dir=str(runs_dir))
    write_json(folder.spec_file, spec.to_json())
    folder.write_state({"state": state, **status})
    add_sweep_trials(folder, trials)
    return folder


def add_sweep_trials(folder, trials) -> None:
    """Append `trials` (sweep_trial dicts) to the sweep's journal, creating its study if need be."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = folder.read_spec()
    study = optuna.create_study(
        study_name="sweep", direction="maximize", load_if_exists=True,
        storage=JournalStorage(JournalFileBackend(str(folder.journal_file))),
    )
    distributions = {}
    for param in spec.space.params:
        if param.choices:
            distributions[param.name] = CategoricalDistribution(param.shown_choices())
        elif param.integer:
            distributions[param.name] = IntDistribution(param.low, param.high, log=param.log)
        else:
            distributions[param.name] = FloatDistribution(param.low, param.high, log=param.log)
    states = {"finished": TrialState.COMPLETE, "pruned": TrialState.PRUNED,
              "running": TrialState.RUNNING, "waiting": TrialState.WAITING,
              "failed": TrialState.FAIL, "interrupted": TrialState.FAIL}
    for trial in trials:
        epochs = trial["epochs"]
        attrs = {key: trial[key] for key in ("run", "error") if trial[key] is not None}
        if trial["state"] == "interrupted":
            attrs["interrupted"] = True
        study.add_trial(optuna.trial.create_trial(
            params=trial["params"], distributions=distributions, state=states[trial["state"]],
            value=max(epochs) if trial["state"] == "finished" else None,
            intermediate_values={epoch: value for epoch, value in enumerate(epochs, 1)},
            user_attrs=attrs,
        ))
