"""DetachedSession against a real detached trainer on a small MNIST: the app's session whose run
outlives the app. Start, pause, one exact step, resume, a second session attached with the whole
history, stop with the final weights kept, and closing without stopping."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes import PATIENCE, SLOW, until

from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.model_io import load_model
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.live.events import Batches, RunStarted, StateChanged
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.ledger import derived_state
from tui_mnist.session.detached import DetachedSession

pytestmark = pytest.mark.usefixtures("one_blas_thread")

# How long a paused run is watched for (the absence of) progress: an observation window, not a
# wait for anything (a slow machine makes it less telling, never failing).
QUIET = 0.2


class Follower:
    """Reads a session's events into a list, in the background."""

    def __init__(self, session: DetachedSession):
        self.events: list = []
        self.task = asyncio.create_task(self._read(session))

    async def _read(self, session: DetachedSession) -> None:
        async for event in session.events():
            self.events.append(event)

    def of(self, kind) -> list:
        return [event for event in self.events if isinstance(event, kind)]

    def steps(self) -> list[int]:
        return [record.step for batches in self.of(Batches) for record in batches.records]

    def state(self) -> str | None:
        changes = self.of(StateChanged)
        return changes[-1].state if changes else None


async def test_a_remote_session_steers_a_detached_trainer(runs_env, small_data, tmp_path):
    owner = DetachedSession.new()
    await owner.start(SLOW)
    mine = Follower(owner)
    await until(None, lambda: mine.steps(), what="the first batches")
    client = RunClient(Path(runs_env["TUI_MNIST_RUNS"]) / owner.run_id)
    assert mine.of(RunStarted)[0].architecture == "784-16-10"

    owner.pause()
    await until(None, lambda: mine.state() == "paused", what="the pause")
    paused_at = mine.steps()[-1]
    assert client.status()["step"] == paused_at
    owner.step("batch")
    await until(None, lambda: mine.steps()[-1] == paused_at + 1, what="one step")
    await asyncio.sleep(QUIET)
    assert client.status()["step"] == paused_at + 1  # exactly one batch, still paused
    assert client.status()["state"] == "paused"

    snapshot = await owner.snapshot()
    assert snapshot.network.sizes == (784, 16, 10) and snapshot.step == paused_at + 1
    assert len(snapshot.labels) == 500  # the small data set's test split

    owner.resume()
    await until(None, lambda: mine.state() == "running", what="running again")
    await until(None, lambda: mine.of(EpochProgress), what="an epoch")

    # A second session on the same run: the history first, then the live run.
    watcher = DetachedSession.attach(client.folder.path)
    await watcher.start(SLOW)
    theirs = Follower(watcher)
    await until(None, lambda: theirs.of(StateChanged) and theirs.state() != "loading", what="history")
    replayed = theirs.of(EpochProgress)
    assert [e.epoch for e in replayed] == [r["epoch"] for r in client.folder.epoch_metrics()]
    assert theirs.steps() and theirs.steps() == sorted(theirs.steps())

    owner.stop()
    await until(None, lambda: mine.of(RunFinished) and theirs.of(RunFinished), what="the end")
    finished = mine.of(RunFinished)[0]
    assert finished.stopped and theirs.of(RunFinished)[0] == finished
    assert owner.join(PATIENCE) and watcher.join(PATIENCE)

    # The run's trainer is gone, yet its final weights (mid-epoch) can still be saved: they
    # are the ones the final test accuracy was measured on.
    saved = await owner.save_model(tmp_path / "final.npz")
    model = load_model(saved)
    data = load_dataset(small_data, val=SLOW.val)
    _, accuracy = evaluate(model.network, data.x_test, data.y_test, model.normalizer)
    assert accuracy == finished.test_acc
    owner.close()
    watcher.close()
    await until(None, lambda: derived_state(client.folder) == "stopped", what="the stopped state")

    # Too late to subscribe (a short run ends before its follower connects): the run's folder
    # tells the same story, from its newest checkpoint's history to its final record.
    late = DetachedSession.attach(client.folder.path)
    await late.start(SLOW)
    after = Follower(late)
    await until(None, lambda: after.of(RunFinished), what="the end, from the folder")
    assert after.of(RunFinished) == [finished]
    assert after.of(RunStarted) == mine.of(RunStarted)
    epochs = [e.epoch for e in after.of(EpochProgress)]
    assert epochs == list(range(1, finished.epochs_completed + 1))
    late.close()


async def test_closing_a_session_leaves_its_run_training(runs_env):
    session = DetachedSession.new()
    await session.start(SLOW)
    follower = Follower(session)
    await until(None, lambda: follower.steps(), what="the first batches")
    client = RunClient(Path(runs_env["TUI_MNIST_RUNS"]) / session.run_id)
    session.close()
    follower.task.cancel()  # a closed session reports nothing more
    step = client.status()["step"]
    await until(None, lambda: client.status()["step"] > step + 100, what="training after close")
    client.stop()
    await until(None, lambda: derived_state(client.folder) == "stopped", what="the stopped state")


async def test_a_trainer_that_has_ended_is_reaped_at_once(runs_env):
    """Issue 11: the app's finished trainer stayed a zombie until the next run started."""
    session = DetachedSession.new()
    await session.start(SLOW)  # still training when start() has found it answering
    follower = Follower(session)
    await until(None, lambda: follower.steps(), what="the first batches")
    session.stop()
    await until(None, lambda: follower.of(RunFinished), what="the end of the run")
    assert session.join(PATIENCE)
    folder = RunClient(Path(runs_env["TUI_MNIST_RUNS"]) / session.run_id).folder
    trainer = Path("/proc") / str(folder.read_status()["pid"])
    await until(None, lambda: not trainer.exists(), timeout=10, what="the trainer reaped")
    session.close()


async def test_a_run_stopped_mid_epoch_from_elsewhere_saves_the_weights_it_stopped_with(
    runs_env, small_data, tmp_path
):
    """Issue 11: saving a run stopped from outside the app wrote its last epoch's checkpoint."""
    config = SLOW.with_changes(hidden=(512,))  # epochs of a second or so
    session = DetachedSession.new()
    await session.start(config)
    follower = Follower(session)
    await until(None, lambda: follower.of(EpochProgress), what="a checkpoint")
    session.pause()  # at the latest a few batches into the next epoch
    await until(None, lambda: follower.state() == "paused", what="the pause")
    paused_at = follower.steps()[-1]
    session.step("batch")  # past the checkpoint, if the pause came right at it
    await until(None, lambda: follower.steps()[-1] == paused_at + 1, what="one step")
    RunClient(Path(runs_env["TUI_MNIST_RUNS"]) / session.run_id).stop()  # another terminal's stop
    await until(None, lambda: follower.of(RunFinished), what="the end of the run")
    (finished,) = follower.of(RunFinished)
    assert finished.stopped and finished.batches_into_epoch > 0  # between two checkpoints
    assert session.join(PATIENCE)

    model = load_model(await session.save_model(tmp_path / "stopped.npz"))
    assert model.meta["results"]["steps"] == finished.steps
    data = load_dataset(small_data, val=config.val)
    _, accuracy = evaluate(model.network, data.x_test, data.y_test, model.normalizer)
    assert accuracy == finished.test_acc  # the weights the final test was run on
    session.close()


async def test_an_ending_lost_on_the_wire_is_read_from_the_run_folder(runs_env):
    """A trainer shutting down may cut a subscriber off before its last event reaches it (it
    did under load in CI): the run then shows its ending from the folder, not a failure."""
    from fakes import small_config, wait_for

    from tui_mnist.live.events import RunFailed
    from tui_mnist.runs.execute import execute_run
    from tui_mnist.runs.protocol import encode_event
    from tui_mnist.runs.server import ControlServer
    from tui_mnist.runs.store import RunFolder, resolve_runs_dir
    from tui_mnist.session.detached import events_on_disk

    folder = RunFolder.create(resolve_runs_dir(None), small_config(epochs=1))
    execute_run(folder)
    on_disk = events_on_disk(folder)
    # A stand-in for the trainer's last moments: it sends the run's start, then goes away.
    server = ControlServer(folder.socket_file, lambda request: {"ok": True},
                           lambda: [encode_event(on_disk[0])])
    server.start()
    session = DetachedSession.attach(folder.path)
    await session.start(folder.train_config())
    stream = session.events()
    while not isinstance(await asyncio.wait_for(anext(stream), PATIENCE), RunStarted):
        pass  # the session's own "loading" comes first
    wait_for(lambda: server.subscribers, what="the subscriber")
    server.close()
    rest = await asyncio.wait_for(collect(stream), PATIENCE)
    assert rest == [on_disk[-1]] and isinstance(rest[-1], RunFinished)
    assert not any(isinstance(event, RunFailed) for event in rest)
    assert session.join(PATIENCE)


async def collect(stream) -> list:
    return [event async for event in stream]
