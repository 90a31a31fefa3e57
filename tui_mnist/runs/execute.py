"""Train one run folder from wherever it stands, in this process: the single path behind
`tui-mnist train` in the foreground and the detached trainer alike.

While it runs, the process holds the folder's lock (a second trainer for the same run is
refused) and a heartbeat thread touches status.json every second. On the way in, it removes the
temporary files a trainer killed mid-write left in the folder (engine.files.remove_leftovers).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tui_mnist.engine.files import remove_leftovers
from tui_mnist.engine.progress import RunFinished
from tui_mnist.live.events import Event
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import process_start_ticks, this_host
from tui_mnist.runs.resume import starting_point
from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, RunFolder, now_iso

HEARTBEAT_SECONDS = 1.0


@contextmanager
def exclusive(folder: RunFolder) -> Iterator[None]:
    """Hold the run's lock; the kernel drops it when the process dies, however it dies."""
    handle = os.open(folder.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run {folder.id} is already being trained by another process") from None
        yield
    finally:
        os.close(handle)


@contextmanager
def heartbeat(folder: RunFolder) -> Iterator[None]:
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            folder.heartbeat()

    thread = threading.Thread(target=beat, daemon=True, name="tui-mnist-heartbeat")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def execute_run(
    folder: RunFolder,
    observe: Callable[[Event], None] | None = None,
    warn: Callable[[str], None] = lambda message: None,
    keep_checkpoints: int | None = None,
    on_host: Callable[[object], None] = lambda host: None,
) -> RunFinished:
    """Load the data, restore the starting checkpoint (see runs.resume.starting_point) and
    train to the end. `warn` receives one-line notices (skipped checkpoints, where the run
    starts from); `on_host` receives the RunHost before training begins (to wire signals)."""
    from tui_mnist.engine.checkpoint import restore_trainer
    from tui_mnist.engine.training import Trainer, load_data_for
    from tui_mnist.runs.history import RunHistory
    from tui_mnist.runs.host import RunHost

    document = folder.read_config()
    if keep_checkpoints is None:
        keep_checkpoints = document.get("keep_checkpoints", DEFAULT_KEEP_CHECKPOINTS)
    status = {
        "pid": os.getpid(),
        "proc_start": process_start_ticks(os.getpid()),
        "hostname": this_host(),
        "started": now_iso(),
    }
    with exclusive(folder), heartbeat(folder):
        for place in (folder.path, folder.checkpoints_dir, folder.records_dir):
            remove_leftovers(place)
        folder.write_status({**status, "state": "starting"})
        try:
            config = folder.train_config()
            data = load_data_for(config)
            checkpoint, history = starting_point(folder, warn)
            if checkpoint is None:
                trainer, history = Trainer(config, data, keep_records=True), RunHistory()
            else:
                trainer = restore_trainer(checkpoint, config, data, keep_records=True)
                source = checkpoint.path.parent.parent.name  # <run>/checkpoints/epoch-N.npz
                origin = "" if source == folder.id else f" of run {source}"
                warn(f"starting from the checkpoint of epoch {checkpoint.epoch}{origin}")
            folder.rewrite_metrics([record.to_json() for record in history.epochs])
        except BaseException as error:
            failed = not isinstance(error, KeyboardInterrupt)
            folder.write_status(
                {
                    **status,
                    "state": "failed" if failed else "stopped",
                    "error": str(error) if failed else None,
                }
            )
            raise
        host = RunHost(folder, trainer, history, keep_checkpoints, status, observe)
        on_host(host)
        return host.run()
