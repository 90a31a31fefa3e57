"""Where runs live and what one run folder holds.

    <runs dir>/<run id>/          mode 0700: only its owner can read or control the run
        config.json               settings, the `tui-mnist train ...` command, parent, created
        status.json               state, pid, host, progress; its mtime is the heartbeat
        metrics.jsonl             one JSON record per epoch (+ a final record per session)
        changes.json              what was changed while it ran (the learning rate's +/-)
        checkpoints/epoch-NNNN.npz
        control.sock              while a trainer hosts the run (see runs.host)
        trainer.log               output of a detached trainer

Every file in it is its owner's only (0600). Each JSON document is checked where it is read
(runs.schema): a config.json that does not fit is a RunError naming the file and the field; a
status.json that does not fit reads as no status, a change or a metrics record as none.

Reading never imports numpy: the CLI reads a run's settings before it fixes the BLAS threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.files import keep_private, naming, write_atomically
from tui_mnist.runs import RunError
from tui_mnist.runs.schema import (
    FLAG,
    NUMBER,
    OBJECT,
    POSITIVE,
    TEXT,
    Kind,
    checked,
    obj,
    optional,
    problem,
    whole,
)

if TYPE_CHECKING:
    from tui_mnist.engine.epoch_record import EpochRecord

RUNS_ENV = "TUI_MNIST_RUNS"
RUN_FORMAT = "tui-mnist-run"
RUN_VERSION = 1
DEFAULT_KEEP_CHECKPOINTS = 5
PRIVATE = 0o700
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
EPOCH_FILE = re.compile(r"epoch-(\d{4,})\.npz")
AMBIGUOUS_SHOWN = 4  # ids listed when a reference matches several runs (the newest)
PRIVATE_FILE = 0o600  # every file in a run folder

RUN_REFERENCE = Kind("a run id", lambda value: isinstance(value, str) and bool(RUN_ID.fullmatch(value)))
CONFIG_FIELDS = {
    "format": TEXT, "version": whole(1), "id": TEXT, "created": TEXT, "config": OBJECT,
    "command": TEXT, "parent": optional(obj({"run": RUN_REFERENCE, "epoch": whole(1)})),
    "keep_checkpoints": whole(0), "sweep": obj({"id": TEXT, "trial": whole(0)}),
}
STATUS_FIELDS = {
    "state": TEXT, "pid": optional(whole(1, 2**31 - 1)), "proc_start": optional(whole(0)),
    "hostname": optional(TEXT), "started": TEXT, "updated": TEXT, "epoch": whole(0),
    "epochs": whole(1), "step": whole(0), "best_val_acc": optional(NUMBER),
    "test_acc": optional(NUMBER), "error": optional(TEXT),
}
CHANGE_FIELDS = {
    "what": TEXT, "factor": POSITIVE, "scale": POSITIVE, "epoch": whole(0), "step": whole(0),
    "from": TEXT,
}
EPOCH_RECORD_FIELDS = {  # engine.progress.EpochProgress.to_json
    "epoch": whole(1), "train_loss": NUMBER, "train_acc": NUMBER, "val_loss": optional(NUMBER),
    "val_acc": optional(NUMBER), "test_loss": optional(NUMBER), "test_acc": optional(NUMBER),
    "lr": NUMBER, "seconds": NUMBER,
}
FINAL_RECORD_FIELDS = {  # RunFinished.to_json; closed: readers rebuild it as RunFinished(**record)
    "final": FLAG, "epochs_completed": whole(0), "test_loss": optional(NUMBER),
    "test_acc": optional(NUMBER), "seconds": NUMBER, "stopped": FLAG,
    "steps": optional(whole(0)), "batches_per_epoch": optional(whole(1)),
}
EPOCH_RECORD_REQUIRED = ("epoch", "train_loss", "train_acc", "lr", "seconds")
FINAL_RECORD_REQUIRED = ("epochs_completed", "test_loss", "test_acc", "seconds", "stopped")


def resolve_runs_dir(override: str | os.PathLike | None = None) -> Path:
    """--runs-dir, then $TUI_MNIST_RUNS, then the user data directory; created private."""
    if override:
        chosen = Path(override)
    elif os.environ.get(RUNS_ENV):
        chosen = Path(os.environ[RUNS_ENV])
    else:
        from platformdirs import user_data_dir

        chosen = Path(user_data_dir("tui-mnist")) / "runs"
    chosen = chosen.expanduser()
    try:
        chosen.mkdir(mode=PRIVATE, parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"runs directory {chosen}: cannot create ({error.strerror})") from None
    return chosen


def new_run_id(when: float | None = None) -> str:
    """Sortable by start time; the suffix keeps runs started in the same second apart."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when)) + "-" + secrets.token_hex(2)


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def write_json(path: Path, document: dict) -> None:
    text = json.dumps(document, indent=1) + "\n"
    write_atomically(path, lambda stream: stream.write(text.encode()), private=True)


def _is_metrics_record(record: object) -> bool:
    """Whether a metrics.jsonl line holds an epoch's record or a final one, as written."""
    if isinstance(record, dict) and record.get("final") is True:
        return problem(record, FINAL_RECORD_FIELDS, FINAL_RECORD_REQUIRED, closed=True) is None
    return problem(record, EPOCH_RECORD_FIELDS, EPOCH_RECORD_REQUIRED) is None


def _private_opener(name: str, flags: int) -> int:
    return os.open(name, flags, PRIVATE_FILE)


def read_json(path: Path) -> dict | None:
    """The document, or None when the file is missing or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def read_fitting(path: Path, schema) -> dict:
    """The JSON object in `path`, or {} when it is missing, unreadable or does not fit `schema`
    (runs/schema.py): for the files a damaged copy of which means "not known"."""
    document = read_json(path) or {}
    return document if problem(document, schema) is None else {}


class RunFolder:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        keep_private(self.path)  # what the engine writes in it too: checkpoints, records, models

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def runs_dir(self) -> Path:
        return self.path.parent

    config_file = property(lambda self: self.path / "config.json")
    status_file = property(lambda self: self.path / "status.json")
    metrics_file = property(lambda self: self.path / "metrics.jsonl")
    changes_file = property(lambda self: self.path / "changes.json")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    records_dir = property(lambda self: self.path / "epochs")  # engine.epoch_record files
    socket_file = property(lambda self: self.path / "control.sock")
    log_file = property(lambda self: self.path / "trainer.log")
    lock_file = property(lambda self: self.path / "trainer.lock")
    # The weights a run ended with when it stopped between checkpoints (a stop mid-epoch).
    final_model_file = property(lambda self: self.path / "final.npz")

    @classmethod
    def create(
        cls,
        runs_dir: Path,
        config: TrainConfig,
        parent: dict | None = None,
        command: str | None = None,
        keep_checkpoints: int = DEFAULT_KEEP_CHECKPOINTS,
        sweep: dict | None = None,
    ) -> RunFolder:
        """A new, private folder with its config and a "starting" status. `parent` is
        {"run": id, "epoch": k} for a run continued from another run's checkpoint; `sweep`
        {"id": sweep id, "trial": number} for a trial of a sweep."""
        while True:
            path = Path(runs_dir) / new_run_id()
            try:
                path.mkdir(mode=PRIVATE)
                break
            except FileExistsError:
                continue
        path.chmod(PRIVATE)  # mkdir's mode is filtered through the umask
        folder = cls(path)
        folder.checkpoints_dir.mkdir(mode=PRIVATE)
        write_json(
            folder.config_file,
            {
                "format": RUN_FORMAT,
                "version": RUN_VERSION,
                "id": folder.id,
                "created": now_iso(),
                "config": config.to_dict(),
                "command": command or config.command_line(),
                "parent": parent,
                "keep_checkpoints": keep_checkpoints,
                **({"sweep": sweep} if sweep else {}),
            },
        )
        folder.write_status({"state": "starting", "pid": None})
        return folder

    # --- config ---------------------------------------------------------------------------

    def read_config(self) -> dict:
        """config.json, checked (RunError naming the file and the field)."""
        document = read_json(self.config_file)
        if document is None or document.get("format") != RUN_FORMAT:
            raise RunError(f"{self.path}: not a tui-mnist run folder (no readable config.json)")
        return checked(self.config_file, document, CONFIG_FIELDS, required=("config",))

    def train_config(self) -> TrainConfig:
        try:
            return TrainConfig.from_dict(self.read_config()["config"]).validated()
        except (ConfigError, KeyError, TypeError) as error:
            raise RunError(f"{self.config_file}: invalid settings ({error})") from None

    # --- live changes ---------------------------------------------------------------------

    def read_changes(self) -> list[dict]:
        """The changes made while the run trained, oldest first: settings its command line
        does not hold (a learning rate scaled live: {"what": "lr", "factor", "scale", "epoch",
        "step"})."""
        changes = (read_json(self.changes_file) or {}).get("changes")
        if not isinstance(changes, list):
            return []
        return [change for change in changes if problem(change, CHANGE_FIELDS, ("what",)) is None]

    def add_change(self, change: dict) -> None:
        """Record one more change; the file is rewritten atomically, like the others."""
        write_json(self.changes_file, {"changes": [*self.read_changes(), change]})

    # --- status ---------------------------------------------------------------------------

    def read_status(self) -> dict:
        """status.json, or {} when it is missing, unreadable or does not fit (a stale run)."""
        return read_fitting(self.status_file, STATUS_FIELDS)

    def write_status(self, status: dict) -> None:
        write_json(self.status_file, {**status, "updated": now_iso()})

    def heartbeat(self) -> None:
        """Touch the status file: its modification time says the trainer is alive."""
        try:
            os.utime(self.status_file)
        except OSError:
            pass  # a missing status reads as stale, which is the honest answer

    def heartbeat_age(self) -> float:
        try:
            return time.time() - self.status_file.stat().st_mtime
        except OSError:
            return float("inf")

    # --- metrics --------------------------------------------------------------------------

    def read_metrics(self) -> list[dict]:
        """Every complete record that fits (an epoch's or a final one); a line cut short by a
        crash, or one that is not such a record, is ignored."""
        try:
            text = self.metrics_file.read_text(encoding="utf-8")
        except OSError:
            return []
        records = []
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if _is_metrics_record(record):
                records.append(record)
        return records

    def epoch_metrics(self) -> list[dict]:
        return [r for r in self.read_metrics() if not r.get("final")]

    def rewrite_metrics(self, records: list[dict]) -> None:
        text = "".join(json.dumps(record) + "\n" for record in records)
        write_atomically(
            self.metrics_file, lambda stream: stream.write(text.encode()), private=True
        )

    def append_metrics(self, record: dict) -> None:
        with naming(self.metrics_file), open(
            self.metrics_file, "a", encoding="utf-8", opener=_private_opener
        ) as stream:
            stream.write(json.dumps(record) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    # --- checkpoints ----------------------------------------------------------------------

    def checkpoint_file(self, epoch: int) -> Path:
        return self.checkpoints_dir / f"epoch-{epoch:04d}.npz"

    def checkpoint_epochs(self) -> list[int]:
        """Epochs that have a checkpoint file (readable or not), oldest first."""
        return _epochs_in(self.checkpoints_dir)

    def prune_checkpoints(self, keep: int) -> None:
        """Keep the newest `keep` checkpoints (0 keeps all)."""
        if keep <= 0:
            return
        for epoch in self.checkpoint_epochs()[:-keep]:
            self.checkpoint_file(epoch).unlink(missing_ok=True)

    # --- per-epoch records (all kept: a few hundred KB an epoch) ----------------------------

    def record_file(self, epoch: int) -> Path:
        return self.records_dir / f"epoch-{epoch:04d}.npz"

    def record_epochs(self) -> list[int]:
        """Epochs that have a record file (readable or not), oldest first."""
        return _epochs_in(self.records_dir)

    def save_record(self, record: EpochRecord) -> None:
        from tui_mnist.engine.epoch_record import save_record  # numpy: only where records are

        self.records_dir.mkdir(mode=PRIVATE, exist_ok=True)
        save_record(self.record_file(record.epoch), record)

    def inherit_records(self, parent: RunFolder, through: int) -> None:
        """A child run starts with its parent's records of the epochs it carries on from
        (linked where the file system allows, else copied; a record that is gone is skipped)."""
        self.records_dir.mkdir(mode=PRIVATE, exist_ok=True)
        for epoch in parent.record_epochs():
            if epoch <= through:
                source, target = parent.record_file(epoch), self.record_file(epoch)
                try:
                    os.link(source, target)
                except OSError:
                    with contextlib.suppress(OSError):
                        shutil.copyfile(source, target)
                        target.chmod(PRIVATE_FILE)


def _epochs_in(directory: Path) -> list[int]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(int(m[1]) for m in map(EPOCH_FILE.fullmatch, names) if m)


def run_folders(runs_dir: Path) -> list[RunFolder]:
    """Every run folder, oldest first. Ids sort by start time to the second; runs started
    within the same second (their random suffixes would decide) by when their config.json,
    written once at creation, was written."""
    try:
        names = os.listdir(runs_dir)
    except OSError:
        return []
    folders = [RunFolder(Path(runs_dir) / name) for name in names if RUN_ID.fullmatch(name)]
    return sorted(folders, key=_start_order)


def _start_order(folder: RunFolder) -> tuple[str, int]:
    try:
        written = folder.config_file.stat().st_mtime_ns
    except OSError:
        written = 0
    return folder.id[:len("YYYYmmdd-HHMMSS")], written


def find_run(runs_dir: Path, reference: str) -> RunFolder:
    """A run by full id, "last" (the newest), a run folder's path, or any unique part of an
    id: every id starts with its date, so the part typed is often its end ("cc33") or its
    time. Looked for in turn as a prefix, a suffix, then anywhere in the id; the first way
    that matches anything decides (a match there must be unique)."""
    folders = run_folders(runs_dir)
    if reference == "last":
        if not folders:
            raise RunError(f"no runs yet in {runs_dir}")
        return folders[-1]
    exact = [f for f in folders if f.id == reference]
    if exact:
        return exact[0]
    for matches_part in (str.startswith, str.endswith, str.__contains__):
        matches = [f for f in folders if reference and matches_part(f.id, reference)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(f.id for f in matches[-AMBIGUOUS_SHOWN:][::-1])
            more = ", …" if len(matches) > AMBIGUOUS_SHOWN else ""
            raise RunError(
                f'run "{reference}" is ambiguous: {len(matches)} runs match ({shown}{more}); '
                "type more of its id"
            )
    path = Path(reference).expanduser()
    if (path / "config.json").is_file():
        return RunFolder(path)
    raise RunError(f'no run "{reference}" in {runs_dir} (see `tui-mnist runs`)')
