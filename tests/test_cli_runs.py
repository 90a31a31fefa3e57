"""Runs end to end through real processes: run folders, resume, kill -9, signals, detached
trainers that outlive their terminal, and the `runs` / `export` / `attach` commands."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import (
    PATIENCE,
    SLOW,
    TUI_MNIST,
    cli_flags,
    environment,
    small_config,
    tui_mnist,
    wait_for,
    write_run,
)

from tui_mnist.engine.checkpoint import load_checkpoint
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.live.text import how_far
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.launch import resume_detached
from tui_mnist.runs.ledger import derived_state
from tui_mnist.runs.store import RunFolder, read_json

THREE_EPOCHS = cli_flags(small_config(epochs=3, test_each_epoch=True, seed=2))


def run_id_from(stderr: str) -> str:
    line = next(line for line in stderr.splitlines() if line.startswith("tui-mnist: run "))
    return line.split()[2]


def timeless(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, small_data):
    """One finished three-epoch run; tests copy it before changing anything."""
    root = tmp_path_factory.mktemp("finished")
    env = environment(root, small_data)
    result = tui_mnist("train", *THREE_EPOCHS, env=env)
    assert result.returncode == 0, result.stderr
    return env, RunFolder(root / "runs" / run_id_from(result.stderr)), result


@pytest.fixture
def env(tmp_path, small_data):
    return environment(tmp_path, small_data)


def copy_run(folder: RunFolder, env: dict) -> RunFolder:
    target = os.path.join(env["TUI_MNIST_RUNS"], folder.id)
    shutil.copytree(folder.path, target)
    return RunFolder(target)


def test_train_keeps_its_stdout_and_fills_a_run_folder(finished):
    _, folder, result = finished
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["epoch", f"{k}/3"] for k in (1, 2, 3)]
    assert lines[3].startswith("test accuracy ") and len(lines) == 4
    assert folder.read_config()["command"] == "tui-mnist " + " ".join(["train", *THREE_EPOCHS])
    assert [r["epoch"] for r in folder.epoch_metrics()] == [1, 2, 3]
    assert folder.read_metrics()[-1]["final"] is True
    assert folder.checkpoint_epochs() == [1, 2, 3]
    assert load_checkpoint(folder.checkpoint_file(3)).epoch == 3
    assert derived_state(folder) == "finished" and not folder.socket_file.exists()


def test_runs_lists_the_run_as_a_table_and_as_json(finished):
    env, folder, _ = finished
    table = tui_mnist("runs", env=env)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:3] == ["RUN", "ARCHITECTURE", "EPOCHS"]
    assert row.split()[:3] == [folder.id, "784-16-10", "3/3"] and " finished " in row
    (summary,) = json.loads(tui_mnist("runs", "--json", env=env).stdout)
    metrics = folder.epoch_metrics()
    assert summary["best_val_acc"] == max(r["val_acc"] for r in metrics)
    assert summary["test_acc"] == folder.read_metrics()[-1]["test_acc"]
    assert summary["command"] == folder.read_config()["command"]


def test_export_metrics_as_csv_and_a_checkpoint_as_a_model(finished, tmp_path):
    env, folder, _ = finished
    exported = tui_mnist("export", folder.id, "--csv", env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [float(r["val_acc"]) for r in rows] == [r["val_acc"] for r in folder.epoch_metrics()]

    model = tmp_path / "epoch1.npz"
    result = tui_mnist("export", "last", "--model", str(model), "--epoch", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert f"epoch 1 saved to {model}" in result.stdout
    evaluated = json.loads(tui_mnist("eval", str(model), "--json", env=env).stdout)
    assert evaluated["test_acc"] == pytest.approx(folder.epoch_metrics()[0]["test_acc"])


def test_a_corrupt_checkpoint_is_reported_and_skipped(finished, env):
    _, original, _ = finished
    folder = copy_run(original, env)
    newest = folder.checkpoint_file(3)
    newest.write_bytes(newest.read_bytes()[:1000])
    result = tui_mnist("train", "--resume", f"{folder.id}@3", "--epochs", "4", env=env)
    assert result.returncode == 0, result.stderr
    assert "skipping the checkpoint of epoch 3" in result.stderr
    assert f"starting from the checkpoint of epoch 2 of run {folder.id}" in result.stderr
    child = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id_from(result.stderr)))
    document = child.read_config()
    assert document["parent"] == {"run": folder.id, "epoch": 2}
    assert document["command"] == f"tui-mnist train --resume {folder.id}@2 --epochs 4"
    records = child.epoch_metrics()
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[:2] == folder.epoch_metrics()[:2]  # the parent's first epochs, as they were
    assert [line.split()[1] for line in result.stdout.splitlines()[:2]] == ["3/4", "4/4"]


def test_resuming_needs_something_left_to_do(finished):
    env, folder, _ = finished
    result = tui_mnist("train", "--resume", folder.id, env=env)
    assert result.returncode == 1 and "already finished its 3 epochs" in result.stderr
    assert tui_mnist("train", "--run-id", folder.id, "--epochs", "2", env=env).returncode == 2
    wider = tui_mnist("train", "--resume", folder.id, "--hidden", "32", env=env)
    assert wider.returncode == 1 and "cannot change hidden when resuming" in wider.stderr
    assert os.listdir(env["TUI_MNIST_RUNS"]) == [folder.id]  # nothing half-made


def test_kill_9_loses_at_most_the_epoch_and_resume_reproduces_the_run(env):
    epochs = 8  # the kill lands well before the end, however late the test gets to it
    flags = cli_flags(SLOW.with_changes(epochs=epochs))
    trainer = subprocess.Popen([*TUI_MNIST, "train", *flags], env=env, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    run_id = run_id_from(trainer.stderr.readline())
    folder = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id))
    wait_for(lambda: max(folder.checkpoint_epochs(), default=0) >= 2, what="the epoch-2 checkpoint")
    trainer.kill()
    trainer.wait()
    trainer.stderr.close()

    saved = folder.checkpoint_epochs()
    assert saved[:2] == [1, 2] and saved[-1] < epochs
    for epoch in saved:
        assert load_checkpoint(folder.checkpoint_file(epoch)).epoch == epoch
    assert read_json(folder.config_file) and read_json(folder.status_file)
    # The kill may land between an epoch's checkpoint and its metrics line: resume rebuilds it.
    logged = [r["epoch"] for r in folder.epoch_metrics()]
    assert logged in (saved, saved[:-1])
    (summary,) = json.loads(tui_mnist("runs", "--json", env=env).stdout)
    assert summary["state"] == "stale"

    resumed = tui_mnist("train", "--resume", run_id, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"starting from the checkpoint of epoch {saved[-1]}\n" in resumed.stderr
    assert derived_state(folder) == "finished"
    uninterrupted = tui_mnist("train", *flags, "--metrics", "/dev/stdout", env=env)
    reference = [json.loads(line) for line in uninterrupted.stdout.splitlines() if "{" in line]
    assert timeless(folder.read_metrics()[-(epochs + 1) :]) == timeless(reference)


def test_two_runs_at_once_do_not_interfere(env):
    configs = [SLOW.with_changes(epochs=2, seed=1), SLOW.with_changes(epochs=3, seed=2)]
    trainers = [
        subprocess.Popen([*TUI_MNIST, "train", *cli_flags(c)], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in configs
    ]
    outputs = [t.communicate(timeout=2 * PATIENCE) for t in trainers]
    assert [t.returncode for t in trainers] == [0, 0], outputs
    ids = [run_id_from(stderr) for _, stderr in outputs]
    assert ids[0] != ids[1]
    for config, run_id, (stdout, _) in zip(configs, ids, outputs):
        folder = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id))
        assert folder.train_config() == config
        records = folder.epoch_metrics()
        assert [r["epoch"] for r in records] == list(range(1, config.epochs + 1))
        assert [f"{100 * r['val_acc']:.2f}%" for r in records] == [
            line.split()[11] for line in stdout.splitlines() if line.startswith("epoch")
        ]
        assert load_checkpoint(folder.checkpoint_file(1)).config == config


def test_hangup_keeps_a_foreground_run_going_and_ctrl_c_stops_it_cleanly(env):
    longer = SLOW.with_changes(epochs=500)  # ctrl+c ends it, however slow the machine
    trainer = subprocess.Popen([*TUI_MNIST, "train", *cli_flags(longer)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    folder = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id_from(trainer.stderr.readline())))
    wait_for(lambda: folder.checkpoint_file(1).exists(), what="the first epoch")
    trainer.send_signal(signal.SIGHUP)  # the terminal went away: output stops, training goes on
    # (status.json, not checkpoint 3: only the newest checkpoints are kept)
    wait_for(lambda: folder.read_status().get("epoch", 0) >= 3, what="two more epochs")
    assert trainer.poll() is None and derived_state(folder) == "running"
    trainer.send_signal(signal.SIGINT)
    stdout, stderr = trainer.communicate(timeout=PATIENCE)
    assert trainer.returncode == 130
    assert "Traceback" not in stderr
    status = folder.read_status()
    assert status["state"] == "stopped" and status["test_acc"] > 0
    final = folder.read_metrics()[-1]
    assert final["stopped"] is True
    # How far it got, to the batch (issue 11: "stopped after 0 epochs" was all it said).
    assert (final["steps"], final["batches_per_epoch"]) == (status["step"], 2000)


PARENT = """
import sys
from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs.launch import start_detached
print(start_detached(TrainConfig.from_dict({config})), flush=True)
sys.stdin.read()  # holds on to the terminal until it hangs up
"""


def test_a_detached_run_survives_the_hangup_of_its_terminal_and_can_be_attached(env):
    """The parent plays the app: a session leader on a terminal, which then hangs up."""
    master, slave = pty.openpty()
    app = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(config=SLOW.with_changes(epochs=500).to_dict())],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        # The terminal becomes the session's controlling terminal, as in a real login.
        preexec_fn=lambda: __import__("fcntl").ioctl(0, __import__("termios").TIOCSCTTY, 0),
    )
    os.close(slave)
    output = b""

    def read_line():
        nonlocal output
        if select.select([master], [], [], 0.1)[0]:
            output += os.read(master, 4096)
        return output.endswith(b"\n") and output.decode().split()[-1]

    client = RunClient(wait_for(read_line, what="the run folder"))
    wait_for(lambda: client.status()["epoch"] >= 1, what="an epoch")

    os.close(master)  # hang up: the kernel sends SIGHUP to the terminal's session
    assert app.wait(timeout=PATIENCE) == -signal.SIGHUP
    before = client.status()["step"]
    wait_for(lambda: client.status()["step"] > before + 100, what="progress after the hangup")
    summaries = json.loads(tui_mnist("runs", "--json", env=env).stdout)
    assert [s["state"] for s in summaries] == ["running"]

    with client.events() as events:
        history = []
        for event in events:
            history.append(event)
            if len(history) == 1:
                client.stop()
    epochs = [e for e in history if isinstance(e, EpochProgress)]
    assert epochs and [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert isinstance(history[-1], RunFinished) and history[-1].stopped
    folder = client.folder
    wait_for(lambda: derived_state(folder) == "stopped", what="the stopped state")
    # The trainer's own output, which it prints after its status says stopped.
    wait_for(lambda: how_far(history[-1]) in folder.log_file.read_text(), what="the trainer's last line")


def test_an_earlier_epoch_resumed_in_the_background_recomputes_the_same_epochs(
    finished, runs_env
):
    _, original, _ = finished
    parent = copy_run(original, runs_env)
    child = RunFolder(resume_detached(f"{parent.id}@2"))
    assert child.read_config()["parent"] == {"run": parent.id, "epoch": 2}
    wait_for(lambda: derived_state(child) == "finished", what="the child run's end")
    assert timeless(child.epoch_metrics()) == timeless(parent.epoch_metrics())


def test_attach_refuses_runs_that_are_not_live(finished, env):
    nothing = tui_mnist("attach", env=env)
    assert nothing.returncode == 1 and "no run is training right now" in nothing.stderr
    finished_env, folder, _ = finished
    done = tui_mnist("attach", folder.id, env=finished_env)
    assert done.returncode == 1
    assert "is finished: only a running or paused run can be attached" in done.stderr
    empty = tui_mnist("runs", env=env)
    assert empty.returncode == 0 and empty.stdout.startswith("no runs yet in ")


def test_any_unique_part_of_an_id_names_a_run_for_every_command(finished, env):
    finished_env, folder, _ = finished
    suffix = folder.id[-4:]  # the part that tells runs apart: ids start with the date
    attached = tui_mnist("attach", suffix, env=finished_env)
    assert attached.returncode == 1
    assert f"run {folder.id} is finished: only a running or paused run" in attached.stderr
    exported = tui_mnist("export", folder.id[-6:], "--csv", env=finished_env)
    assert exported.returncode == 0, exported.stderr
    assert len(list(csv.DictReader(io.StringIO(exported.stdout)))) == 3
    resumed = tui_mnist("train", "--resume", f"{suffix}@3", env=finished_env)
    assert resumed.returncode == 1 and "already finished its 3 epochs" in resumed.stderr

    runs = Path(env["TUI_MNIST_RUNS"])
    for run_id in ("20250612-093000-aa11", "20250612-101500-bb22", "20250613-080000-cc33"):
        write_run(runs, run_id, small_config(), "stopped", [])
    ambiguous = tui_mnist("export", "20250612", "--csv", env=env)
    assert ambiguous.returncode == 1
    assert ('run "20250612" is ambiguous: 2 runs match (20250612-101500-bb22, '
            "20250612-093000-aa11)") in ambiguous.stderr
    listed = tui_mnist("runs", env=env).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [
        "RUN", "20250613-080000-cc33", "20250612-101500-bb22", "20250612-093000-aa11"  # newest first
    ]


def test_runs_delete_refuses_a_live_run_and_deletes_it_once_stopped(env):
    trainer = subprocess.Popen([*TUI_MNIST, "train", *cli_flags(SLOW.with_changes(epochs=500))],
                               env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_id = run_id_from(trainer.stderr.readline())
    folder = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id))
    try:
        wait_for(lambda: derived_state(folder) == "running", what="the running state")
        refused = tui_mnist("runs", "--delete", run_id[-4:], env=env)
        assert refused.returncode == 1
        assert f"run {run_id} is running: stop it before deleting it" in refused.stderr
        assert folder.read_config()["id"] == run_id
    finally:
        trainer.send_signal(signal.SIGINT)
        trainer.communicate(timeout=PATIENCE)
    assert derived_state(folder) == "stopped"
    deleted = tui_mnist("runs", "--delete", run_id, env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == f"run {run_id} deleted\n"
    assert not folder.path.exists() and os.listdir(env["TUI_MNIST_RUNS"]) == []
    missing = tui_mnist("runs", "--delete", run_id, env=env)
    assert missing.returncode == 1 and f'no run "{run_id}"' in missing.stderr
