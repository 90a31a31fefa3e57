"""Run folders on disk: where they live, what they hold, how runs are found, and how a run's
state is derived (a dead trainer is "stale", never "running")."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest
from fakes import three_runs, wait_for, write_run

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.progress import BatchProgress, EpochProgress
from tui_mnist.live.events import Batches
from tui_mnist.runs import RunError, store
from tui_mnist.runs.execute import exclusive
from tui_mnist.runs.export import write_metrics_csv
from tui_mnist.runs.history import RunHistory, batch_sample
from tui_mnist.runs.ledger import STALE_AFTER, delete_run, derived_state, list_runs, process_start_ticks
from tui_mnist.runs.resume import parse_reference
from tui_mnist.runs.store import RUNS_ENV, RunFolder, find_run, new_run_id, resolve_runs_dir

CONFIG = TrainConfig(hidden=(16,), epochs=2)


def test_runs_dir_flag_beats_environment_beats_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "from-env"))
    assert resolve_runs_dir(tmp_path / "from-flag") == tmp_path / "from-flag"
    assert resolve_runs_dir() == tmp_path / "from-env"
    assert stat.S_IMODE((tmp_path / "from-env").stat().st_mode) == 0o700
    monkeypatch.delenv(RUNS_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    assert resolve_runs_dir() == tmp_path / "data-home" / "tui-mnist" / "runs"


def test_a_new_run_folder_holds_its_config_and_a_starting_status(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG, keep_checkpoints=3)
    document = folder.read_config()
    assert document["id"] == folder.id and document["parent"] is None
    assert document["command"] == "tui-mnist train --hidden 16 --epochs 2"
    assert document["keep_checkpoints"] == 3
    assert folder.train_config() == CONFIG
    assert folder.read_status()["state"] == "starting"
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700


def test_run_ids_are_distinct_and_sort_by_start_time(tmp_path):
    ids = [RunFolder.create(tmp_path, CONFIG).id for _ in range(5)]
    assert len(set(ids)) == 5
    now = time.time()
    assert new_run_id(now) < new_run_id(now + 1) < new_run_id(now + 3600 * 24 * 40)


def test_runs_are_found_by_id_prefix_last_or_path(tmp_path, monkeypatch):
    now = time.time()
    first = RunFolder.create(tmp_path, CONFIG)
    monkeypatch.setattr(store, "new_run_id", lambda: new_run_id(now + 100))
    second = RunFolder.create(tmp_path, CONFIG)
    assert find_run(tmp_path, first.id).path == first.path
    assert find_run(tmp_path, second.id[:15]).path == second.path
    assert find_run(tmp_path, "last").path == second.path
    assert find_run(tmp_path, str(first.path)).path == first.path
    with pytest.raises(RunError, match="ambiguous"):
        find_run(tmp_path, first.id[:2])
    with pytest.raises(RunError, match='no run "nope"'):
        find_run(tmp_path, "nope")


def test_any_unique_part_of_an_id_finds_its_run(tmp_path):
    done, stopped, vanished = three_runs(tmp_path)  # ...-093000-aa11, ...-101500-bb22, ...-cc33
    assert find_run(tmp_path, "cc33").path == vanished  # the end, as copied from the list
    assert find_run(tmp_path, "b22").path == stopped
    assert find_run(tmp_path, "0930").path == done  # a part of the time
    assert find_run(tmp_path, "20250613").path == vanished  # a prefix, as before
    with pytest.raises(RunError) as prefix:
        find_run(tmp_path, "20250612")
    assert str(prefix.value) == (
        'run "20250612" is ambiguous: 2 runs match (20250612-101500-bb22, 20250612-093000-aa11); '
        "type more of its id"
    )


def test_an_ambiguous_part_says_how_many_runs_match_and_lists_the_newest(tmp_path):
    for second in range(6):
        write_run(tmp_path, f"20250612-09300{second}-aa1{second}", CONFIG, "done", [])
    with pytest.raises(RunError) as error:
        find_run(tmp_path, "aa1")
    message = str(error.value)
    assert '"aa1" is ambiguous: 6 runs match (20250612-093005-aa15, 20250612-093004-aa14,' in message
    assert "20250612-093002-aa12, …); type more of its id" in message


def test_the_list_is_newest_first(tmp_path):
    done, stopped, vanished = three_runs(tmp_path)
    assert [s.id for s in list_runs(tmp_path)] == [vanished.name, stopped.name, done.name]


def test_runs_started_in_the_same_second_list_in_the_order_they_started(tmp_path, monkeypatch):
    # Their random suffixes sort the other way round: the later run must still come first.
    ids = iter(["20250612-093000-ffff", "20250612-093000-0000"])
    monkeypatch.setattr(store, "new_run_id", lambda: next(ids))
    first = RunFolder.create(tmp_path, CONFIG)
    second = RunFolder.create(tmp_path, CONFIG)
    written = first.config_file.stat().st_mtime_ns
    os.utime(second.config_file, ns=(written + 1000, written + 1000))
    assert [s.id for s in list_runs(tmp_path)] == [second.id, first.id]
    assert find_run(tmp_path, "last").id == second.id


def test_deleting_a_run_removes_its_folder_but_never_a_live_run(tmp_path):
    kept, gone = RunFolder.create(tmp_path, CONFIG), RunFolder(three_runs(tmp_path)[1])
    delete_run(gone)
    assert not gone.path.exists() and sorted(os.listdir(tmp_path)) == sorted(
        [kept.id, "20250612-093000-aa11", "20250613-080000-cc33"]
    )
    kept.write_status(live_status(os.getpid()))
    with pytest.raises(RunError, match=f"run {kept.id} is running: stop it before deleting it"):
        delete_run(kept)
    kept.write_status({"state": "stopped"})
    with exclusive(kept):  # a trainer taking the run up again (train --resume)
        with pytest.raises(RunError, match=f"run {kept.id} is being trained"):
            delete_run(kept)
    assert kept.read_config()["id"] == kept.id  # untouched
    delete_run(kept)
    assert not kept.path.exists()


@pytest.mark.parametrize(
    "text, expected", [("abc", ("abc", None)), ("abc@3", ("abc", 3)), ("last@12", ("last", 12))]
)
def test_resume_references(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["@3", "abc@", "abc@0", "abc@x"])
def test_bad_resume_references_are_explained(text):
    with pytest.raises(RunError):
        parse_reference(text)


# --- state ------------------------------------------------------------------------------------


def live_status(pid: int, **changes) -> dict:
    return {"state": "running", "pid": pid, "hostname": socket.gethostname(),
            "proc_start": process_start_ticks(pid), **changes}


def test_a_live_trainer_reads_as_running(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.write_status(live_status(os.getpid()))
    assert derived_state(folder) == "running"
    folder.write_status(live_status(os.getpid(), state="paused"))
    assert derived_state(folder) == "paused"


def test_a_dead_trainer_reads_as_stale(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.write_status(live_status(child.pid))
    assert derived_state(folder) == "running"
    child.send_signal(signal.SIGKILL)
    # Killed but not reaped (nobody has called wait): a zombie is not a trainer.
    wait_for(lambda: derived_state(folder) == "stale", what="the stale state")
    assert child.poll() is not None  # reaped only now
    assert derived_state(folder) == "stale"


def test_a_reused_pid_or_a_silent_heartbeat_reads_as_stale(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.write_status(live_status(os.getpid(), proc_start=1))  # another process's start time
    assert derived_state(folder) == "stale"

    elsewhere = live_status(1, hostname="another-host")
    folder.write_status(elsewhere)
    assert derived_state(folder) == "running"  # cannot see that host's processes: trust the beat
    old = time.time() - STALE_AFTER - 5
    os.utime(folder.status_file, (old, old))
    assert derived_state(folder) == "stale"
    folder.heartbeat()
    assert derived_state(folder) == "running"


@pytest.mark.parametrize("state", ["finished", "stopped", "failed"])
def test_final_states_are_reported_as_they_are(tmp_path, state):
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.write_status({"state": state, "pid": 999999})
    assert derived_state(folder) == state


def test_a_folder_without_status_is_stale_and_junk_is_not_listed(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.status_file.unlink()
    assert derived_state(folder) == "stale"
    (tmp_path / "20250101-000000-beef").mkdir()  # a run folder whose config never got written
    (tmp_path / "notes").mkdir()
    assert [s.id for s in list_runs(tmp_path)] == [folder.id]


# --- metrics, checkpoints, history -----------------------------------------------------------


def epoch_record(epoch: int, val_acc: float | None = 0.9) -> EpochProgress:
    return EpochProgress(epoch=epoch, epochs=3, train_loss=0.5, train_acc=0.8, val_loss=0.4,
                         val_acc=val_acc, test_loss=None, test_acc=None, lr=0.1, seconds=epoch)


def batch(step: int, epoch: int = 1) -> BatchProgress:
    return BatchProgress(epoch=epoch, batch=step, batches=10_000, step=step, loss=1.0 / step,
                         accuracy=0.5, lr=0.1, samples=step * 10, seconds=step / 100)


def test_a_metrics_line_cut_short_by_a_crash_is_ignored(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    folder.append_metrics(epoch_record(1).to_json())
    with folder.metrics_file.open("a") as stream:
        stream.write('{"epoch": 2, "train_lo')
    assert folder.epoch_metrics() == [epoch_record(1).to_json()]


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    for epoch in range(1, 8):
        folder.checkpoint_file(epoch).write_bytes(b"x")
    folder.prune_checkpoints(0)
    assert folder.checkpoint_epochs() == list(range(1, 8))
    folder.prune_checkpoints(3)
    assert folder.checkpoint_epochs() == [5, 6, 7]


def test_history_thins_batches_evenly_and_replays_in_order():
    history = RunHistory(limit=50)
    for step in range(1, 1001):
        history.add_batch(batch(step, epoch=1 + (step - 1) // 500))
        if step % 500 == 0:
            history.add_epoch(epoch_record(step // 500))
    steps = [b.step for b in history.batches]
    assert 25 <= len(steps) <= 50
    assert len({b - a for a, b in zip(steps, steps[1:])}) == 1  # evenly spaced
    replay = history.replay()
    kinds = [type(event) for event in replay]
    assert kinds == [Batches, EpochProgress, Batches, EpochProgress]
    assert all(r.epoch == 2 for r in replay[2].records)
    again = RunHistory.from_json(history.to_json(), limit=50)
    assert again.replay() == replay and again.best_val_acc == 0.9
    with pytest.raises(ValueError):
        RunHistory.from_json({"epochs": [{"epoch": 1}]})


def test_a_batch_sample_averages_its_group():
    sample = batch_sample([batch(1), batch(2), batch(4)])
    assert sample.step == 4 and sample.loss == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)


def test_metrics_export_as_csv(tmp_path):
    folder = RunFolder.create(tmp_path, CONFIG)
    for epoch in (1, 2):
        folder.append_metrics(epoch_record(epoch).to_json())
    folder.append_metrics({"final": True, "test_acc": 0.9})
    out = tmp_path / "m.csv"
    with out.open("w") as stream:
        assert write_metrics_csv(folder, stream) == 2
    lines = out.read_text().splitlines()
    assert lines[0] == "epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds"
    assert lines[2] == "2,0.5,0.8,0.4,0.9,,,0.1,2"
