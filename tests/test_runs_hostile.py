"""Hostile files and careless moments (issue 14): hand-edited JSON in a run folder, ctrl+c while
Python is still importing, a full disk, kill -9 in the middle of a write, file modes, and a
checkpoint whose generator state is corrupt. Real processes wherever a signal is involved."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fakes import PATIENCE, SLOW, TUI_MNIST, cli_flags, fake_sweep, small_config, tui_mnist, wait_for, write_run

from tui_mnist.engine.bundles import load_bundle, save_bundle
from tui_mnist.engine.files import TEMPORARY, write_atomically
from tui_mnist.engine.progress import EpochProgress
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.history import RunHistory
from tui_mnist.runs.launch import start_detached
from tui_mnist.runs.ledger import derived_state, list_runs
from tui_mnist.runs.notes import read_note, write_note
from tui_mnist.runs.store import RunFolder, write_json

TINY = cli_flags(small_config(epochs=1, hidden=(8,), batch_size=500))


def run_id_from(stderr: str) -> str:
    line = next(line for line in stderr.splitlines() if line.startswith("tui-mnist: run "))
    return line.split()[2]


def dead_pid() -> int:
    """The id of a process that has ended and been reaped."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def trained(env: dict, *flags: str) -> RunFolder:
    result = tui_mnist("train", *flags, env=env)
    assert result.returncode == 0, result.stderr
    return RunFolder(Path(env["TUI_MNIST_RUNS"]) / run_id_from(result.stderr))


# --- 1. hand-edited JSON ----------------------------------------------------------------------

PARENT = '{"run": a run id, "epoch": a whole number from 1}'


@pytest.mark.parametrize(("field", "value", "said"), [
    ("parent", "abc", f'parent must be {PARENT} or null, not "abc"'),
    ("parent", {"run": "../elsewhere", "epoch": 1},
     f'parent must be {PARENT} or null, not {{"run": "../elsewhere", "epoch": 1}}'),
    ("keep_checkpoints", "all", 'keep_checkpoints must be a whole number from 0, not "all"'),
    ("config", [], "config must be an object, not []"),
], ids=["parent-text", "parent-path", "keep-checkpoints", "config"])
def test_a_hand_edited_config_is_named_with_its_field(runs_env, field, value, said):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    folder = RunFolder(write_run(runs, "20250612-093000-aa11", small_config(), "stopped", []))
    document = json.loads(folder.config_file.read_text())
    write_json(folder.config_file, {**document, field: value})
    result = tui_mnist("train", "--resume", folder.id, env=runs_env)
    assert result.returncode == 1
    assert result.stderr == f"tui-mnist: {folder.config_file}: {said}\n"


def test_the_list_names_a_run_it_leaves_out_and_why(runs_env):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    good = RunFolder(write_run(runs, "20250612-093000-aa11", small_config(), "stopped", []))
    damaged = RunFolder(write_run(runs, "20250612-093100-bb22", small_config(), "stopped", []))
    write_json(damaged.config_file, {**json.loads(damaged.config_file.read_text()), "parent": "abc"})
    listed = tui_mnist("runs", "--json", env=runs_env)
    assert listed.returncode == 0
    assert [run["id"] for run in json.loads(listed.stdout)] == [good.id]
    said = f'{damaged.config_file}: parent must be {PARENT} or null, not "abc"'
    assert listed.stderr == f"tui-mnist: left out of the list: {said}\n"


def test_a_setting_of_the_wrong_kind_in_a_config_is_named_with_the_file(runs_env):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    folder = RunFolder(write_run(runs, "20250612-093000-aa11", small_config(), "stopped", []))
    document = json.loads(folder.config_file.read_text())
    write_json(folder.config_file, {**document, "config": {**document["config"], "epochs": "x"}})
    result = tui_mnist("train", "--resume", folder.id, env=runs_env)
    assert result.returncode == 1
    assert result.stderr == (f"tui-mnist: {folder.config_file}: invalid settings "
                             "(epochs must be a whole number (got 'x'))\n")


def hand_made_sweep(runs_env: dict, **state):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    runs.mkdir(exist_ok=True)
    return fake_sweep(runs, **state)


@pytest.mark.parametrize(("change", "said"), [
    ({"sampler": "best"}, 'sampler must be one of tpe, random, grid, not "best"'),
    ({"trials": "4"}, 'trials must be a whole number from 1, not "4"'),
    ({"budget": -60}, "budget must be a number above 0 or null, not -60"),
    ({"base": {"epochs": "x"}}, "base: epochs must be a whole number (got 'x')"),
    ({"base": {"hidden": [0]}}, "base: hidden layer sizes must be positive whole numbers"),
    ({"space": {"lr": "x"}}, "damaged sweep settings ("),
], ids=["sampler", "trials", "budget", "base-kind", "base-bound", "space"])
def test_a_hand_edited_sweep_is_named_with_its_field_before_any_cluster(runs_env, change, said):
    folder = hand_made_sweep(runs_env, state="stopped")
    document = json.loads(folder.spec_file.read_text())
    write_json(folder.spec_file, {**document, **change})
    result = tui_mnist("sweep", "--resume", folder.id, env=runs_env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"tui-mnist: {folder.spec_file}: {said}")
    assert result.stderr.count("\n") == 1


def test_a_damaged_sweep_state_reads_as_none(runs_env):
    folder = hand_made_sweep(runs_env, state="running", pid="1234", hostname=os.uname().nodename)
    assert folder.read_state() == {} and not folder.process_alive()


def test_a_damaged_status_note_change_or_metrics_line_reads_as_none(runs_env):
    runs = Path(runs_env["TUI_MNIST_RUNS"])
    records = [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.9, "val_loss": 0.4, "val_acc": 0.91,
                "lr": 0.1, "seconds": 1.0}]
    folder = RunFolder(write_run(runs, "20250612-093000-aa11", small_config(), "stopped", records))
    write_json(folder.status_file, {"state": "running", "pid": -1, "hostname": os.uname().nodename})
    write_json(folder.path / "note.json", {"note": 5})
    write_json(folder.changes_file, {"changes": [{"what": "lr", "scale": "big"}, 3]})
    with folder.metrics_file.open("a") as stream:
        stream.write('[1, 2]\n{"epoch": "two", "train_loss": 1}\n7\n{"final": true, "extra": 1}\n')

    assert folder.read_status() == {} and derived_state(folder) == "stale"
    assert read_note(folder) == "" and folder.read_changes() == []
    assert folder.read_metrics() == records
    (summary,) = list_runs(runs)
    assert (summary.state, summary.note, summary.changes, summary.epoch) == ("stale", "", [], 0)
    listed = tui_mnist("runs", "--json", env=runs_env)
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["id"] == folder.id
    exported = tui_mnist("export", folder.id, "--csv", env=runs_env)
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 2  # header, epoch 1


def test_a_checkpoints_history_that_does_not_fit_is_refused():
    history = RunHistory().to_json()
    with pytest.raises(ValueError, match="invalid run history .stride must be a whole number from 1"):
        RunHistory.from_json({**history, "stride": "2"})
    record = asdict(EpochProgress(1, 2, 0.5, 0.9, None, None, None, None, 0.1, 1.0))
    with pytest.raises(ValueError, match='EpochProgress record: epoch must be .* not "one"'):
        RunHistory.from_json({**history, "epochs": [{**record, "epoch": "one"}]})
    with pytest.raises(ValueError, match="EpochProgress record: train_loss is missing"):
        RunHistory.from_json({**history, "epochs": [{"epoch": 1}]})
    with pytest.raises(ValueError, match="BatchProgress record: not an object"):
        RunHistory.from_json({**history, "batches": [3]})


# --- 2. ctrl+c while Python is still importing ------------------------------------------------

ENTRY = next(e for e in entry_points(group="console_scripts") if e.name == "tui-mnist")
# What the installed console script runs (pip writes these lines, plus an argv[0] fix-up).
CONSOLE_SCRIPT = f"import sys\nfrom {ENTRY.module} import {ENTRY.attr}\nsys.exit({ENTRY.attr}())"


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.1, 0.3, 1.0])
def test_ctrl_c_soon_after_start_exits_130_without_a_traceback(runs_env, delay):
    """-X importtime reports every import as it ends, on stderr: the first import to end after
    the console script's import of main is one main() makes, so main() is running. The signal
    goes `delay` seconds after that: during main's imports, the parsing, the data's loading,
    and once the run's own handlers are in place. (Before main() runs, a ctrl+c can only end
    in a traceback: Python's start and site, ~70 ms here, then the import of tui_mnist.cli,
    which therefore imports nothing.)"""
    command = [sys.executable, "-X", "importtime", "-c", CONSOLE_SCRIPT, "train",
               *cli_flags(SLOW.with_changes(epochs=500))]
    process = subprocess.Popen(command, env=runs_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    imported, entered = threading.Event(), threading.Event()

    def drain() -> None:  # a full pipe would stop the process where it stands
        for line in process.stderr:
            lines.append(line)
            if imported.is_set():
                entered.set()
            if line.rstrip().endswith(f"| {ENTRY.module}"):
                imported.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert entered.wait(PATIENCE), "".join(lines)
        time.sleep(delay)
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        process.wait(PATIENCE)
    finally:
        process.kill()
        process.wait()
    reader.join(PATIENCE)
    said = [line for line in lines if not line.startswith("import time:")]
    assert process.returncode == 130, said
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in said), said


# --- 3. a full disk names the user's file -----------------------------------------------------


def test_a_full_disk_names_the_file_written_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.npz"

    def fill_the_disk(stream):
        stream.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match=f"No space left on device: '{target}'") as raised:
        write_atomically(target, fill_the_disk)
    assert raised.value.filename == str(target) and raised.value.filename2 is None
    assert list(tmp_path.iterdir()) == []


def test_metrics_or_csv_to_a_full_device_name_it_in_one_line(runs_env):
    full = "tui-mnist: /dev/full: No space left on device\n"
    result = tui_mnist("train", *TINY, "--metrics", "/dev/full", env=runs_env)
    assert result.returncode == 1 and result.stderr.endswith(full)
    assert "Traceback" not in result.stderr
    folder = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / run_id_from(result.stderr))
    status = folder.read_status()
    assert (status["state"], status["error"]) == ("failed", "/dev/full: No space left on device")
    exported = tui_mnist("export", folder.id, "--csv", "/dev/full", env=runs_env)
    assert (exported.returncode, exported.stderr) == (1, full)


def test_a_file_too_large_for_the_disk_is_named_not_its_temporary(runs_env, tmp_path):
    """A file size limit plays the full disk: the data's cache (2.4 MB) fits, the first
    checkpoint of a 784-1024-10 network (over 3 MB) does not."""
    limit = 3_000_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    flags = cli_flags(small_config(epochs=1, hidden=(1024,), batch_size=500))
    result = subprocess.run([*TUI_MNIST, "train", *flags, "--save", str(tmp_path / "model.npz")],
                            env=runs_env, capture_output=True, text=True, timeout=2 * PATIENCE,
                            preexec_fn=limited)
    folder = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / run_id_from(result.stderr))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"tui-mnist: {folder.checkpoint_file(1)}: File too large"
    )
    assert ".tmp" not in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(folder.checkpoints_dir) == []


# --- 4. kill -9 in the middle of a write ------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from tui_mnist.engine.files import write_atomically

def write(stream):
    stream.write(b"x" * 1_000_000)
    stream.flush()
    print("writing", flush=True)
    sys.stdin.read()  # until killed

write_atomically(Path(sys.argv[1]), write)
"""


def test_what_a_writer_killed_mid_write_left_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.npz"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert writer.stdout.readline() == "writing\n"
    writer.kill()
    writer.wait()
    (leftover,) = tmp_path.iterdir()
    assert TEMPORARY.fullmatch(leftover.name)["pid"] == str(writer.pid)
    alive = tmp_path / f".model.npz.{os.getpid()}.0123abcd.tmp"  # a write still going on
    strangers = [tmp_path / ".model.npz.tmp", tmp_path / f".notes.{dead_pid()}.tmp",
                 tmp_path / f"model.npz.{dead_pid()}.0123abcd.tmp"]
    for path in (alive, *strangers):
        path.write_bytes(b"not ours to remove")

    write_atomically(target, lambda stream: stream.write(b"new"))
    assert not leftover.exists() and target.read_bytes() == b"new"
    assert sorted(tmp_path.iterdir()) == sorted([target, alive, *strangers])


def test_resuming_a_run_removes_what_a_killed_trainer_left_in_its_folder(runs_env):
    folder = trained(runs_env, *cli_flags(small_config(epochs=1)))
    write_json(folder.status_file, {**folder.read_status(), "state": "stopped"})  # not finished
    leftovers = [folder.checkpoints_dir / f".epoch-0002.npz.{dead_pid()}.89abcdef.tmp",
                 folder.records_dir / f".epoch-0002.npz.{dead_pid()}.89abcdef.tmp",
                 folder.path / f".status.json.{dead_pid()}.89abcdef.tmp"]
    alive = folder.checkpoints_dir / f".epoch-0002.npz.{os.getpid()}.89abcdef.tmp"
    for path in (*leftovers, alive):
        path.write_bytes(b"half a file")
    resumed = tui_mnist("train", "--resume", folder.id, env=runs_env)
    assert resumed.returncode == 0, resumed.stderr
    assert [path.exists() for path in leftovers] == [False, False, False]
    assert alive.exists()


# --- 5. file modes ----------------------------------------------------------------------------


def modes(folder: Path) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
        for path in folder.rglob("*") if path.is_file()
    }


def test_every_file_of_a_run_is_its_owners_only_and_a_saved_model_is_not(runs_env, tmp_path):
    model = tmp_path / "model.npz"
    trainer = subprocess.Popen(
        [*TUI_MNIST, "train", *cli_flags(SLOW.with_changes(epochs=500)), "--save", str(model)],
        env=runs_env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, umask=0o022,
    )
    folder = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / run_id_from(trainer.stderr.readline()))
    client = RunClient(folder.path)
    wait_for(lambda: folder.checkpoint_file(1).exists() and client.status()["step"] > 2000,
             what="the second epoch")
    trainer.send_signal(signal.SIGINT)  # mid-epoch: the weights go to final.npz too
    trainer.communicate(timeout=PATIENCE)
    assert trainer.returncode == 130
    write_note(folder, "first try #keep")

    found = modes(folder.path)
    assert {"config.json", "status.json", "metrics.jsonl", "note.json", "final.npz",
            "checkpoints/epoch-0001.npz", "epochs/epoch-0001.npz"} <= set(found)
    assert found == dict.fromkeys(found, 0o600)
    assert stat.S_IMODE(model.stat().st_mode) == 0o644


def test_a_detached_runs_log_is_its_owners_only(runs_env):
    folder = RunFolder(start_detached(small_config(epochs=1)))
    wait_for(lambda: derived_state(folder) == "finished", what="the run's end")
    found = modes(folder.path)
    assert "trainer.log" in found and found == dict.fromkeys(found, 0o600)


# --- 6. a corrupt generator state -------------------------------------------------------------


def test_a_corrupt_generator_state_falls_back_on_the_previous_checkpoint(runs_env):
    folder = trained(runs_env, *cli_flags(small_config(epochs=2)))
    newest = folder.checkpoint_file(2)
    arrays, meta = load_bundle(newest)
    save_bundle(newest, arrays, {**meta, "rng": {"bit_generator": "PCG64", "state": "garbled"}})

    resumed = tui_mnist("train", "--resume", folder.id, "--epochs", "3", env=runs_env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"tui-mnist: skipping the checkpoint of epoch 2: {newest}: " in resumed.stderr
    assert f"starting from the checkpoint of epoch 1 of run {folder.id}" in resumed.stderr
    child = RunFolder(Path(runs_env["TUI_MNIST_RUNS"]) / run_id_from(resumed.stderr))
    assert child.read_config()["parent"] == {"run": folder.id, "epoch": 1}
    assert [line.split()[1] for line in resumed.stdout.splitlines()[:2]] == ["2/3", "3/3"]
