"""Starting a sweep in the background, as `tui-mnist sweep --detach` and the app do: a
`tui-mnist sweep --resume SWEEP` in a session of its own (no terminal: its lines go to the
sweep's sweep.log), so that it outlives the terminal and the app."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tui_mnist.sweeps.folder import SweepFolder


def start_detached(folder: SweepFolder, runs_dir: Path, workers: int | None = None,
                   scheduler: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "tui_mnist", "sweep", "--resume", folder.id, "--runs-dir", str(runs_dir)]
    if workers:
        command += ["--workers", str(workers)]
    if scheduler:
        command += ["--scheduler", scheduler]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    # Reaped as soon as it exits (else it stays a zombie of this process).
    threading.Thread(target=process.wait, name="tui-mnist-sweep-reaper", daemon=True).start()
    return process
