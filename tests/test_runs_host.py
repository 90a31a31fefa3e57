"""A run hosted in this process (execute_run in a thread), driven through its control socket
exactly as an attached app or another terminal would."""

from __future__ import annotations

import itertools
import re
import stat
import threading
import time

import pytest
from fakes import PATIENCE, small_config, wait_for

from tui_mnist.engine.errors import TrainingDiverged
from tui_mnist.engine.model_io import load_model
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.live.events import Batches, LearningRateScaled, RunFailed, RunStarted, StateChanged
from tui_mnist.runs import RunError
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.execute import execute_run
from tui_mnist.runs.store import RunFolder, resolve_runs_dir

pytestmark = pytest.mark.usefixtures("one_blas_thread")

# How long a paused run is watched for (the absence of) progress: an observation window, not a
# wait for anything (a slow machine makes it less telling, never failing).
QUIET = 0.3


class HostedRun:
    """execute_run in a background thread, like a detached trainer but inspectable; with
    `paused`, the run pauses before its first batch (a client connects before anything
    happens)."""

    def __init__(self, config, runs_dir=None, paused: bool = False):
        self.folder = RunFolder.create(resolve_runs_dir(runs_dir), config)
        self.outcome: list = []
        on_host = (lambda host: host.pause()) if paused else (lambda host: None)
        self.thread = threading.Thread(target=self._run, args=(on_host,), daemon=True)
        self.thread.start()
        self.client = RunClient(self.folder.path)
        wait_for(
            lambda: self.folder.socket_file.exists() or not self.thread.is_alive(),
            what="the control socket",
        )

    def _run(self, on_host):
        try:
            self.outcome.append(execute_run(self.folder, on_host=on_host))
        except Exception as error:  # recorded for the test to look at
            self.outcome.append(error)

    def finish(self):
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive()
        return self.outcome[0]


def next_of(events, kind, predicate=lambda event: True):
    for event in events:
        if isinstance(event, kind) and predicate(event):
            return event
    raise AssertionError(f"the stream ended before a {kind.__name__}")


@pytest.fixture
def long_run(runs_env):
    """Long enough that the test, not the data, decides when it ends."""
    run = HostedRun(small_config(epochs=500, batch_size=10, schedule="constant"))  # lr known
    yield run
    if run.thread.is_alive():
        run.client.stop()
        run.finish()


def test_pause_step_resume_scale_and_stop(long_run):
    client = long_run.client
    with client.events() as events:
        started = next(iter(events))
        assert isinstance(started, RunStarted)
        assert (started.architecture, started.batches_per_epoch) == ("784-16-10", 200)
        client.pause()
        next_of(events, StateChanged, lambda e: e.state == "paused")
        paused_at = client.status()["step"]
        time.sleep(QUIET)
        assert client.status()["step"] == paused_at
        assert RunFolder(long_run.folder.path).read_status()["state"] == "paused"

        client.step("batch")
        stepped = next_of(events, Batches)
        assert [r.step for r in stepped.records] == [paused_at + 1]
        time.sleep(QUIET)
        assert client.status()["step"] == paused_at + 1

        client.step("epoch")
        epoch = next_of(events, EpochProgress)
        wait_for(lambda: client.status()["step"] == epoch.epoch * 200, what="the epoch's end")
        time.sleep(QUIET)
        assert client.status()["step"] == epoch.epoch * 200

        lr = client.scale_lr(0.5)
        assert lr == pytest.approx(0.05)
        assert next_of(events, LearningRateScaled).scale == 0.5
        with pytest.raises(RunError, match="factor must be a positive number"):
            client.scale_lr(-1)

        client.resume()
        next_of(events, StateChanged, lambda e: e.state == "running")
        wait_for(lambda: client.status()["step"] > epoch.epoch * 200 + 5, what="progress")
        with pytest.raises(RunError, match="only while the run is paused"):
            client.step()

        client.stop()
        finished = next_of(events, RunFinished)
        assert finished.stopped and 0 < finished.test_acc <= 1
        assert list(events) == []  # the stream ends with the run
    assert long_run.finish() == finished
    status = long_run.folder.read_status()
    assert status["state"] == "stopped" and status["test_acc"] == finished.test_acc
    assert not long_run.folder.socket_file.exists()
    with pytest.raises(RunError, match="is not live \\(stopped\\)"):
        client.status()


def test_quick_steps_while_paused_each_train_one_batch(runs_env):
    """Issue 11: a step asked for while the previous one was still training was refused ("step
    works only while the run is paused") although the run was paused for its user."""
    run = HostedRun(small_config(hidden=(512,), epochs=3, batch_size=500), paused=True)
    client = run.client
    wait_for(lambda: client.status()["state"] == "paused", what="the pause")
    for _ in range(10):  # each reply comes at once; a batch of 500 takes longer
        client.step("batch")
    wait_for(lambda: client.status()["step"] == 10, what="ten steps")
    time.sleep(QUIET)
    assert client.status()["step"] == 10
    assert client.status()["state"] == "paused"
    client.stop()
    assert run.finish().stopped


def test_the_run_is_private_to_its_user(long_run):
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(resolve_runs_dir()) == 0o700
    assert mode(long_run.folder.path) == 0o700
    assert mode(long_run.folder.checkpoints_dir) == 0o700
    assert stat.S_ISSOCK(long_run.folder.socket_file.stat().st_mode)
    assert mode(long_run.folder.socket_file) == 0o600
    for name in ("config.json", "status.json", "metrics.jsonl"):
        assert mode(long_run.folder.path / name) & 0o077 == 0


def test_a_late_subscriber_gets_the_whole_history(long_run):
    client = long_run.client
    wait_for(lambda: client.status()["epoch"] >= 2, what="two epochs")
    client.pause()
    wait_for(lambda: client.status()["state"] == "paused", what="the pause")
    with client.events() as events:
        replay = []
        for event in events:
            replay.append(event)
            if isinstance(event, StateChanged):
                break
    assert isinstance(replay[0], RunStarted)
    assert replay[-1] == StateChanged("paused")
    epochs = [e for e in replay if isinstance(e, EpochProgress)]
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1)) and len(epochs) >= 2
    assert [e.to_json() for e in epochs] == long_run.folder.epoch_metrics()
    body = replay[1:-1]
    samples = [event for event in body if isinstance(event, Batches)]
    assert len(samples) + len(epochs) == len(body)
    # Batch samples come in order, each epoch's before its epoch record.
    closed = itertools.accumulate(isinstance(event, EpochProgress) for event in body)
    in_epoch = [done + 1 for done, event in zip(closed, body) if isinstance(event, Batches)]
    assert [{r.epoch for r in event.records} for event in samples] == [{n} for n in in_epoch]
    steps = [r.step for event in samples for r in event.records]
    assert steps == sorted(steps) and len(steps) >= len(epochs)


def test_live_weights_can_be_saved_as_a_model_file(long_run, tmp_path):
    wait_for(lambda: long_run.client.status()["epoch"] >= 1, what="an epoch")
    saved = long_run.client.save_model(tmp_path / "live.npz")
    model = load_model(saved)
    assert model.network.sizes == (784, 16, 10)
    assert model.meta["results"]["epochs_completed"] >= 1


def test_a_failing_run_reports_its_error_and_leaves_no_socket(runs_env):
    run = HostedRun(small_config(lr=1000.0, epochs=3, batch_size=10), paused=True)
    with run.client.events() as stream:  # subscribed while the run cannot fail yet
        assert isinstance(next(stream), RunStarted)
        next_of(stream, StateChanged, lambda e: e.state == "paused")
        run.client.resume()
        events = list(stream)
    error = run.finish()
    assert isinstance(error, TrainingDiverged)
    assert re.fullmatch(
        r"loss diverged at epoch 1 batch \d+ \(loss \S+\): try a smaller learning rate", str(error)
    )
    assert events[0] == StateChanged("running")
    assert events[-1] == RunFailed(str(error))
    status = run.folder.read_status()
    assert (status["state"], status["error"]) == ("failed", str(error))
    assert not run.folder.socket_file.exists()


def test_a_socket_path_too_long_for_sun_path_still_works(runs_env, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    run = HostedRun(small_config(epochs=500, batch_size=10), runs_dir=deep)
    assert len(str(run.folder.socket_file)) > 108
    assert run.client.status()["id"] == run.folder.id
    with run.client.events() as events:
        run.client.stop()
        finished = next_of(events, RunFinished)
    assert finished.stopped and run.finish() == finished
