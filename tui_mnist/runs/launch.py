"""Start a trainer that outlives its parent: `python -m tui_mnist train --run-id ID` in a new
session (so the terminal's SIGHUP never reaches it), with no terminal for input or output
(its output goes to the run's trainer.log)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs import RunError
from tui_mnist.runs.protocol import socket_address
from tui_mnist.runs.resume import materialize, plan_resume
from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, PRIVATE_FILE, RunFolder, resolve_runs_dir

START_TIMEOUT = 60.0  # seconds: the first start also decodes and caches MNIST
POLL_SECONDS = 0.05


def start_detached(
    config: TrainConfig,
    runs_dir: str | os.PathLike | None = None,
    keep_checkpoints: int = DEFAULT_KEEP_CHECKPOINTS,
    timeout: float = START_TIMEOUT,
) -> Path:
    """Create a run for `config`, start its trainer in the background, return its folder once
    the trainer accepts control connections."""
    folder = RunFolder.create(
        resolve_runs_dir(runs_dir), config.validated(), keep_checkpoints=keep_checkpoints
    )
    launch(folder, timeout)
    return folder.path


def resume_detached(
    reference: str,
    config: TrainConfig | None = None,
    runs_dir: str | os.PathLike | None = None,
    warn=lambda message: None,
    timeout: float = START_TIMEOUT,
) -> Path:
    """Continue RUN or RUN@EPOCH in the background, with `config` (default: the run's own
    settings), following `tui-mnist train --resume` (see runs.resume); returns the folder
    being trained: the run itself, or its new child run."""
    plan = plan_resume(resolve_runs_dir(runs_dir), reference, lambda saved: config or saved)
    folder = materialize(plan, warn, None)
    launch(folder, timeout)
    return folder.path


def launch(folder: RunFolder, timeout: float = START_TIMEOUT) -> subprocess.Popen:
    """Start the detached trainer of an existing run folder (new, or to continue in place);
    returns when its control socket answers, or when it has already finished. RunError, quoting
    the trainer's last words, if it fails first or does not answer within `timeout` seconds."""
    command = [
        sys.executable, "-m", "tui_mnist", "train",
        "--runs-dir", str(folder.runs_dir), "--run-id", folder.id,
    ]
    log = os.open(folder.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        trainer = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log)
    # Reaped as soon as it exits (else it stays a zombie of this process until the next
    # subprocess starts): a daemon thread waits for it, whatever becomes of the Popen.
    threading.Thread(target=trainer.wait, name="tui-mnist-reaper", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not _answers(folder):
        if trainer.poll() is not None:
            if trainer.returncode == 0:
                return trainer  # a short run can finish before its socket is ever probed
            raise RunError(f"the trainer of run {folder.id} failed to start: {last_line(folder)}")
        if time.monotonic() > deadline:
            raise RunError(
                f"the trainer of run {folder.id} did not answer within {timeout:.0f} s "
                f"(see {folder.log_file})"
            )
        time.sleep(POLL_SECONDS)
    return trainer


def _answers(folder: RunFolder) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            with socket_address(folder.socket_file) as address:
                probe.connect(address)
        except OSError:
            return False
    return True


def last_line(folder: RunFolder) -> str:
    try:
        lines = folder.log_file.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else "no output (see the run's status with `tui-mnist runs`)"
