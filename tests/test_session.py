"""ThreadSession around the fake trainer: pause, step, stop, lr scaling, throttling, errors."""

from __future__ import annotations

import asyncio
import itertools
import re

import numpy as np
import pytest
from fakes import PATIENCE, FakeTrainer, fake_session, final_test_accuracy, tiny_dataset

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.model_io import load_model
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.live.events import Batches, LearningRateScaled, RunFailed, RunStarted, StateChanged
from tui_mnist.session.thread import ThreadSession

CONFIG = TrainConfig(hidden=(16,), epochs=3, batch_size=10, lr=0.1)
# How long a paused run is watched for (the absence of) progress: an observation window, not a
# wait for anything (a slow machine makes it less telling, never failing).
QUIET = 0.05


async def next_event(stream, kind):
    """The next event of type `kind`, skipping others; fails the test after PATIENCE s."""
    async def find():
        last = None
        async for event in stream:
            if isinstance(event, kind):
                return event
            last = event
        raise AssertionError(f"the stream ended without a {kind.__name__}, with {last!r}")

    return await asyncio.wait_for(find(), timeout=PATIENCE)


async def collect(session):
    return [event async for event in session.events()]


def steps_of(events):
    return [r.step for e in events if isinstance(e, Batches) for r in e.records]


async def test_a_free_run_delivers_every_batch_and_epoch_in_order():
    session = fake_session(batches_per_epoch=4)
    await session.start(CONFIG)
    events = await asyncio.wait_for(collect(session), timeout=PATIENCE)
    assert isinstance(events[1], RunStarted) and events[1].batches_per_epoch == 4
    assert steps_of(events) == list(range(1, 13))
    assert [e.epoch for e in events if isinstance(e, EpochProgress)] == [1, 2, 3]
    final = events[-1]
    assert isinstance(final, RunFinished)
    assert final.test_acc == final_test_accuracy(3) and not final.stopped
    assert session.join(PATIENCE)


async def test_batch_progress_is_coalesced_by_the_clock_but_epochs_are_not():
    ticks = itertools.count()
    session = fake_session(clock=lambda: next(ticks) * 0.03, interval=0.1, batches_per_epoch=20)
    await session.start(CONFIG.with_changes(epochs=2))
    events = await asyncio.wait_for(collect(session), timeout=PATIENCE)
    chunks = [len(e.records) for e in events if isinstance(e, Batches)]
    assert steps_of(events) == list(range(1, 41))  # nothing dropped, nothing repeated
    assert max(chunks) == 4  # 0.1 s of a clock ticking 0.03 per batch
    assert len(chunks) < 20
    assert len([e for e in events if isinstance(e, EpochProgress)]) == 2



async def paused_run(**trainer_options):
    """A long run on a fake trainer, paused once it has trained: (session, its event stream,
    the step it paused at)."""
    session = fake_session(**trainer_options)
    await session.start(CONFIG.with_changes(epochs=1000))
    stream = session.events()
    await next_event(stream, Batches)
    session.pause()
    assert (await next_event(stream, StateChanged)).state == "paused"
    return session, stream, (await session.snapshot()).step

async def test_pause_step_resume_and_stop():
    session, stream, paused_at = await paused_run(batches_per_epoch=3, delay=0.002)

    session.step("batch")
    stepped = await next_event(stream, Batches)
    assert [r.step for r in stepped.records] == [paused_at + 1]
    await asyncio.sleep(QUIET)
    assert (await session.snapshot()).step == paused_at + 1  # still paused after the one batch

    session.step("epoch")
    epoch = await next_event(stream, EpochProgress)
    assert (await session.snapshot()).step == epoch.epoch * 3  # paused at the epoch's end

    session.resume()
    assert (await next_event(stream, StateChanged)).state == "running"
    await next_event(stream, Batches)
    session.stop()
    final = await next_event(stream, RunFinished)
    assert final.stopped
    assert session.join(PATIENCE)


async def test_quick_steps_while_paused_each_train_one_batch():
    """Issue 11: presses of n faster than a batch were dropped while a step was under way."""
    session, stream, paused_at = await paused_run(batches_per_epoch=1000, delay=0.02)

    for _ in range(10):  # all within the first step's batch (0.02 s)
        session.step("batch")
    stepped = []
    while len(stepped) < 10:
        stepped += [record.step for record in (await next_event(stream, Batches)).records]
    assert stepped == list(range(paused_at + 1, paused_at + 11))
    await asyncio.sleep(QUIET)
    assert (await session.snapshot()).step == paused_at + 10  # paused again after the ten
    session.stop()
    assert (await next_event(stream, RunFinished)).stopped
    assert session.join(PATIENCE)


async def test_stop_while_paused_ends_the_worker():
    session = fake_session(delay=0.002)
    await session.start(CONFIG.with_changes(epochs=1000))
    stream = session.events()
    session.pause()
    await next_event(stream, StateChanged)  # loading
    assert (await next_event(stream, StateChanged)).state == "paused"
    session.stop()
    assert (await next_event(stream, RunFinished)).stopped
    assert session.join(PATIENCE)


async def test_scaling_the_learning_rate_reaches_the_trainer_even_while_paused():
    # Paused first: batches trained before the pause still reach the stream, at the old rate.
    session, stream, _ = await paused_run(delay=0.002)
    session.scale_lr(1.25)
    session.scale_lr(1.25)
    await next_event(stream, LearningRateScaled)
    scaled = await next_event(stream, LearningRateScaled)
    assert scaled.scale == pytest.approx(1.5625)
    assert scaled.lr == pytest.approx(0.1 * 1.5625)
    session.step("batch")
    stepped = await next_event(stream, Batches)
    assert stepped.latest.lr == pytest.approx(0.15625)
    session.stop()
    assert session.join(PATIENCE)


async def test_a_diverging_run_becomes_an_error_event():
    session = fake_session(fail_at_step=3)
    await session.start(CONFIG)
    events = await asyncio.wait_for(collect(session), timeout=PATIENCE)
    assert isinstance(events[-1], RunFailed)
    assert "diverged at step 3" in events[-1].message
    assert steps_of(events) == [1, 2]  # what happened before the failure still arrives


async def test_a_bad_data_directory_becomes_an_error_event(tmp_path):
    session = ThreadSession(trainer_factory=FakeTrainer)
    await session.start(CONFIG.with_changes(data_dir=str(tmp_path / "missing")))
    events = await asyncio.wait_for(collect(session), timeout=PATIENCE)
    assert isinstance(events[-1], RunFailed)
    assert "does not exist" in events[-1].message
    assert await session.snapshot() is None


async def test_a_bug_in_the_trainer_is_reported_not_raised():
    def broken(config, data):
        raise ZeroDivisionError("oops")

    session = ThreadSession(trainer_factory=broken, load_data=lambda config: tiny_dataset())
    await session.start(CONFIG)
    events = await asyncio.wait_for(collect(session), timeout=PATIENCE)
    assert events[-1] == RunFailed("unexpected error: ZeroDivisionError: oops")


async def test_snapshot_is_a_copy_and_save_model_writes_a_loadable_file(tmp_path):
    session = fake_session(delay=0.002)
    await session.start(CONFIG.with_changes(epochs=1000))
    stream = session.events()
    await next_event(stream, Batches)
    snapshot = await session.snapshot()  # served by the worker between batches
    assert snapshot.images.shape == (32, 784) and snapshot.shape == (28, 28)
    weights = snapshot.network.weights[0].copy()
    snapshot.network.weights[0][:] = 0.0  # the fake trainer never changes its own weights
    assert np.array_equal((await session.snapshot()).network.weights[0], weights)
    session.stop()
    await next_event(stream, RunFinished)
    path = await session.save_model(tmp_path / "model.npz")
    saved = load_model(path)
    assert saved.network.sizes == (784, 16, 10)
    assert saved.meta["config"]["hidden"] == [16]


async def test_save_model_into_a_missing_folder_is_a_user_error(tmp_path):
    session = fake_session()
    await session.start(CONFIG)
    await asyncio.wait_for(collect(session), timeout=PATIENCE)
    path = tmp_path / "no" / "such" / "model.npz"
    expected = f"{path}: cannot write (the folder {path.parent} does not exist)"
    with pytest.raises(ModelFileError, match=re.escape(expected)):
        await session.save_model(path)
