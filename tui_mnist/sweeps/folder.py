"""A sweep and its folder: what was asked (`SweepSpec`, sweep.json), the Optuna journal that
holds every trial (journal.log, the storage), its state (state.json) and the lines it printed
(sweep.log). Sweep folders live in `<runs dir>/sweeps/`, beside the trials' run folders.

Stdlib and engine only: the CLI reads and writes these before anything heavy is imported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import process_alive, this_host
from tui_mnist.runs.schema import NUMBER, OBJECT, POSITIVE, TEXT, checked, one_of, optional, whole
from tui_mnist.runs.store import PRIVATE, new_run_id, now_iso, read_fitting, read_json, write_json
from tui_mnist.sweeps.space import Space

SWEEP_FORMAT = "tui-mnist-sweep"
SWEEP_VERSION = 1
SWEEP_ID = re.compile(r"sweep-\d{8}-\d{6}-[0-9a-f]{4}")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("halving", "median", "none")
STUDY = "sweep"  # the one study in a sweep's journal
METRICS = ("val_acc",)  # maximised, on validation: the test set is looked at once, at the end


# What sweep.json and state.json may hold (runs/schema.py): a hand-edited sweep.json is named
# with its field; a state.json that does not fit reads as no state, like a run's status.json.
SPEC_FIELDS = {
    "id": TEXT, "space": OBJECT, "base": OBJECT, "trials": whole(1), "runs_dir": TEXT,
    "budget": optional(POSITIVE),
    "metric": one_of(METRICS), "sampler": one_of(SAMPLERS), "pruner": one_of(PRUNERS),
    "seed": whole(0), "keep_checkpoints": whole(0),
}
STATE_FIELDS = {
    "state": TEXT, "pid": whole(1, 2**31 - 1), "hostname": TEXT, "started": NUMBER,
    "scheduler": TEXT, "error": TEXT, "ended": whole(0), "updated": TEXT,
}


@dataclass(frozen=True)
class SweepSpec:
    """Everything a trial needs to know, on whatever machine runs it (pickled to the workers)."""

    id: str
    space: Space
    base: TrainConfig  # what is not searched: the train flags or preset given
    trials: int
    runs_dir: str  # where the trials' run folders go (the workers' own, on a cluster)
    budget: float | None = None  # seconds of wall time for the whole sweep
    metric: str = "val_acc"
    sampler: str = "tpe"
    pruner: str = "halving"
    seed: int = 0
    keep_checkpoints: int = 2
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "format": SWEEP_FORMAT, "version": SWEEP_VERSION, "id": self.id,
            "space": self.space.to_json(), "base": self.base.to_dict(), "trials": self.trials,
            "runs_dir": self.runs_dir, "budget": self.budget, "metric": self.metric,
            "sampler": self.sampler, "pruner": self.pruner, "seed": self.seed,
            "keep_checkpoints": self.keep_checkpoints,
        }

    @classmethod
    def from_json(cls, document: dict, path: Path) -> SweepSpec:
        """Raises RunError naming `path` for a document this class did not write."""
        if not isinstance(document, dict) or document.get("format") != SWEEP_FORMAT:
            raise RunError(f"{path}: not a tui-mnist sweep")
        if document.get("version") != SWEEP_VERSION:
            raise RunError(f"{path}: sweep version {document.get('version')} is not supported")
        checked(path, document, SPEC_FIELDS, required=SPEC_FIELDS)
        try:
            base = TrainConfig.from_dict(document["base"]).validated()
        except ConfigError as error:
            raise RunError(f"{path}: base: {error}") from None
        try:
            return cls(
                id=document["id"], space=Space.from_json(document["space"]),
                base=base, trials=int(document["trials"]),
                runs_dir=str(document["runs_dir"]), budget=document["budget"],
                metric=document["metric"], sampler=document["sampler"], pruner=document["pruner"],
                seed=int(document["seed"]), keep_checkpoints=int(document["keep_checkpoints"]),
            )
        except (ConfigError, KeyError, TypeError, ValueError) as error:
            raise RunError(f"{path}: damaged sweep settings ({error})") from None


def planned(space: Space, preset: TrainConfig, trials: int, runs_dir: Path, **options) -> Callable[[str], SweepSpec]:
    """A new sweep's spec, as a function of its id, once the space checks out: the base is
    `preset` with the settings given one value; `options` are SweepSpec's (budget, sampler,
    ...). A ConfigError says what is wrong, before any folder exists."""
    if not space.params:
        raise ConfigError("nothing to search: give a range (--lr 0.01..0.3:log) or choices "
                          "(--hidden 128|256) for at least one setting")
    base = space.config_for(preset, {})
    space.check(base)
    if base.val == 0 and "val" not in {param.name for param in space.params}:
        raise ConfigError("the metric val_acc needs a validation set: --val must be more than 0")
    if options.get("sampler") == "grid":
        space.grid()  # refuses ranges
    return lambda sweep_id: SweepSpec(id=sweep_id, space=space, base=base, trials=trials,
                                      runs_dir=str(runs_dir), seed=base.seed, **options)


class SweepFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    spec_file = property(lambda self: self.path / "sweep.json")
    journal_file = property(lambda self: self.path / "journal.log")  # Optuna's storage
    state_file = property(lambda self: self.path / "state.json")
    log_file = property(lambda self: self.path / "sweep.log")

    @property
    def id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, runs_dir: Path, make_spec) -> tuple[SweepFolder, SweepSpec]:
        """A new private folder under `runs_dir`/sweeps for the spec `make_spec(id)` returns."""
        parent = sweeps_dir(runs_dir)
        while True:
            sweep_id = "sweep-" + new_run_id()
            try:
                (parent / sweep_id).mkdir(mode=PRIVATE)
                break
            except FileExistsError:
                continue
        folder = cls(parent / sweep_id)
        spec = make_spec(sweep_id)
        write_json(folder.spec_file, {**spec.to_json(), "created": now_iso()})
        folder.write_state({"state": "starting"})
        return folder, spec

    def read_spec(self) -> SweepSpec:
        document = read_json(self.spec_file)
        if document is None:
            raise RunError(f"{self.spec_file}: missing or unreadable")
        return SweepSpec.from_json(document, self.spec_file)

    def read_state(self) -> dict:
        """state.json, or {} when it is missing, unreadable or does not fit."""
        return read_fitting(self.state_file, STATE_FIELDS)

    def write_state(self, state: dict) -> None:
        write_json(self.state_file, {**state, "updated": now_iso()})

    def release_stale_journal_lock(self) -> None:
        """Remove the journal's lock file left by a sweep process that was killed while writing
        (Optuna would wait 30 s for it), unless that process is alive; call before the sweep's
        own process opens the journal."""
        lock = self.path / (self.journal_file.name + ".lock")
        if lock.exists() and not self.process_alive():
            lock.unlink(missing_ok=True)

    def process_alive(self) -> bool:
        """Whether the sweep's process (as state.json names it) is alive, on this host."""
        state = self.read_state()
        pid = state.get("pid")
        return (state.get("state") == "running" and isinstance(pid, int)
                and state.get("hostname") == this_host() and process_alive(pid))

    def log(self, line: str) -> None:
        """Keep a printed line: a sweep whose terminal has gone still tells what it did."""
        with self.log_file.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")


def sweeps_dir(runs_dir: Path) -> Path:
    path = Path(runs_dir) / "sweeps"
    path.mkdir(mode=PRIVATE, exist_ok=True)
    return path


def list_sweeps(runs_dir: Path) -> list[SweepFolder]:
    """The sweeps in `runs_dir`, oldest first (ids sort by start time to the second; within a
    second, by when their sweep.json was written). Creates nothing."""
    parent = Path(runs_dir) / "sweeps"
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    folders = [SweepFolder(parent / name) for name in names if SWEEP_ID.fullmatch(name)]

    def written(folder: SweepFolder) -> float:
        try:
            return folder.spec_file.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(folders, key=lambda folder: (folder.id[:len("sweep-20250101-000000")], written(folder)))


def find_sweep(runs_dir: Path, reference: str) -> SweepFolder:
    """A sweep by its id, any unique part of one, or "last"; RunError says why not."""
    folders = list_sweeps(runs_dir)
    if reference == "last":
        matches = folders[-1:]
    else:
        matches = [folder for folder in folders if reference in folder.id]
    if not matches:
        raise RunError(f"no sweep matches {reference!r} in {sweeps_dir(runs_dir)}")
    if len(matches) > 1:
        raise RunError(f"{reference!r} matches {len(matches)} sweeps: give more of the id")
    return matches[0]
