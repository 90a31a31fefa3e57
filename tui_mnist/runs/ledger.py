"""The list of runs, with each run's state derived honestly: a status that says "running" is
believed only while its trainer process exists (checked on this host) and its heartbeat is
fresh; otherwise the run is "stale"."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import DataError
from tui_mnist.live.events import FINAL_STATES
from tui_mnist.runs import RunError
from tui_mnist.runs.notes import read_note
from tui_mnist.runs.store import RunFolder, run_folders

LIVE_STATES = ("starting", "running", "paused")
# The host touches status.json every second, in its own thread: 30 s of silence means the
# trainer is gone (or frozen), even on a host whose processes we cannot see.
STALE_AFTER = 30.0


def this_host() -> str:
    return socket.gethostname()


def _proc_fields(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/<pid>/stat (Linux), or None where there is no such file."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()  # after "pid (command name) "


def process_start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot: tells a reused pid apart."""
    fields = _proc_fields(pid)
    return int(fields[19]) if fields else None


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    fields = _proc_fields(pid)
    if fields is None:
        return True  # no /proc here: existence is all we can know
    if fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return False
    return start_ticks is None or int(fields[19]) == start_ticks


def derived_state(folder: RunFolder, status: dict | None = None) -> str:
    status = folder.read_status() if status is None else status
    state = status.get("state")
    state = "finished" if state == "done" else state  # "done": older runs' word for finished
    if state in FINAL_STATES:
        return state
    if state not in LIVE_STATES:
        return "stale"
    pid = status.get("pid")
    if isinstance(pid, int) and status.get("hostname") == this_host():
        if not process_alive(pid, status.get("proc_start")):
            return "stale"
    if folder.heartbeat_age() > STALE_AFTER:
        return "stale"
    return state


def is_live(folder: RunFolder) -> bool:
    return derived_state(folder) in LIVE_STATES


@dataclass(frozen=True)
class RunSummary:
    id: str
    path: str
    state: str
    architecture: str
    epoch: int
    epochs: int
    best_val_acc: float | None
    test_acc: float | None
    created: str
    command: str
    parent: dict | None
    config: dict
    error: str | None
    # Changes made while it trained, which `command` does not hold (RunFolder.read_changes).
    changes: list[dict] = field(default_factory=list)
    note: str = ""  # the user's, with its #tags (runs.notes); "" for none or an unreadable one

    @property
    def reproducible(self) -> bool:
        """Whether `command` alone would train this run again."""
        return not self.changes

    def to_json(self) -> dict:
        return asdict(self)


def run_architecture(config: TrainConfig) -> str:
    """The run's layer sizes, "784-128-10": the ends from its data's IDX header (a 16-byte
    read), "?" where that data can no longer be read."""
    # Imported here: numpy must wait for the BLAS thread count, which runs.resume (importing
    # this module) decides.
    from tui_mnist.engine.idx import data_sizes
    from tui_mnist.engine.layer_sizes import architecture

    try:
        return architecture(config.layer_sizes(*data_sizes(config.data_dir)))
    except DataError:
        return architecture(("?", *config.hidden, "?"))


def summarize(folder: RunFolder) -> RunSummary | None:
    """The run's one-line story, or None for a folder without a readable config."""
    try:
        document = folder.read_config()
        config = folder.train_config()
    except RunError:  # a damaged folder is left out of the list, not fatal
        return None
    status = folder.read_status()
    return RunSummary(
        id=folder.id,
        path=str(folder.path),
        state=derived_state(folder, status),
        architecture=run_architecture(config),
        epoch=int(status.get("epoch") or 0),
        epochs=config.epochs,
        best_val_acc=status.get("best_val_acc"),
        test_acc=status.get("test_acc"),
        created=document.get("created", ""),
        command=document.get("command", ""),
        parent=document.get("parent"),
        config=document["config"],
        error=status.get("error"),
        changes=folder.read_changes(),
        note=read_note(folder),
    )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every readable run, newest first: in the app's list and in `tui-mnist runs` alike.
    The run most often wanted is the latest, so it comes where the cursor and the eye land
    first, and `tui-mnist runs | head` shows the latest runs (as `git log`, `docker ps` and
    `gh run list` do). The one thing a terminal does better the other way round, keeping the
    newest line near the prompt, is not worth two orders."""
    return [s for s in map(summarize, reversed(run_folders(runs_dir))) if s is not None]


def delete_run(folder: RunFolder) -> None:
    """Remove a run's folder, unless the run is live. The run's lock is held meanwhile, so no
    trainer can take the run up (`train --resume`) half-way through; the folder is first
    renamed out of the list, so that nobody sees it half-deleted."""
    state = derived_state(folder)
    if state in LIVE_STATES:
        raise RunError(f"run {folder.id} is {state}: stop it before deleting it")
    try:
        handle = os.open(folder.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise RunError(f"run {folder.id}: cannot delete ({error.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run {folder.id} is being trained: stop it before deleting it") from None
        doomed = folder.path.with_name(f".deleting-{folder.id}")
        try:
            folder.path.rename(doomed)
        except OSError as error:
            raise RunError(f"run {folder.id}: cannot delete ({error.strerror})") from None
    finally:
        os.close(handle)
    shutil.rmtree(doomed, ignore_errors=True)
