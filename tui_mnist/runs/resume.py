"""Which checkpoint a run continues from, and whether a resume continues the same run or makes
a new one.

    tui-mnist train --resume RUN[@EPOCH] [setting flags]

continues RUN in place when the settings are unchanged and no earlier epoch is asked for;
otherwise it makes a new run whose config records its parent {"run": RUN, "epoch": k} and whose
metrics start with the parent's first k epochs. A checkpoint that cannot be read is reported and
skipped: the newest readable one at or before the requested epoch is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import Bounds, whole_in
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import LIVE_STATES, derived_state
from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, RunFolder, find_run

Warn = Callable[[str], None]


def parse_reference(text: str) -> tuple[str, int | None]:
    """"RUN" or "RUN@EPOCH" -> (RUN, EPOCH or None)."""
    run, at, epoch = text.partition("@")
    if not run:
        raise RunError(f'"{text}" names no run (use RUN or RUN@EPOCH)')
    if not at:
        return run, None
    try:
        return run, whole_in(epoch, Bounds(1), "the epoch after @")
    except ConfigError as error:
        raise RunError(f'"{text}": {error}') from None


def newest_readable(folder: RunFolder, at_most: int | None, warn: Warn):
    """The newest checkpoint (epoch <= at_most) that loads cleanly, with its history; each
    unreadable one on the way is reported through `warn`. (None, None) when there is none."""
    from tui_mnist.engine.checkpoint import load_checkpoint
    from tui_mnist.engine.errors import ModelFileError
    from tui_mnist.runs.history import RunHistory

    for epoch in reversed(folder.checkpoint_epochs()):
        if at_most is not None and epoch > at_most:
            continue
        try:
            checkpoint = load_checkpoint(folder.checkpoint_file(epoch))
            return checkpoint, RunHistory.from_json(checkpoint.extra.get("history", {}))
        except (ModelFileError, ValueError) as error:
            warn(f"skipping the checkpoint of epoch {epoch}: {error}")
    return None, None


def starting_point(folder: RunFolder, warn: Warn):
    """Where a run (re)starts: its own newest readable checkpoint, else the parent's checkpoint
    it was made from, else nothing (a fresh start). Returns (checkpoint, history) or (None, None)."""
    checkpoint, history = newest_readable(folder, None, warn)
    if checkpoint is not None:
        return checkpoint, history
    parent = folder.read_config().get("parent")
    if not parent:
        return None, None
    source = RunFolder(folder.runs_dir / parent["run"])
    checkpoint, history = newest_readable(source, parent["epoch"], warn)
    if checkpoint is None or checkpoint.epoch != parent["epoch"]:
        raise RunError(
            f"run {folder.id} starts from run {parent['run']} epoch {parent['epoch']}, "
            "whose checkpoint is gone or unreadable"
        )
    return checkpoint, history


@dataclass(frozen=True)
class ResumePlan:
    """A resume, decided from JSON alone (so the CLI can still fix the BLAS threads)."""

    source: RunFolder
    config: TrainConfig
    epoch: int | None  # the epoch asked for, None for the newest
    in_place: bool


def plan_resume(
    runs_dir: Path, reference: str, changes: Callable[[TrainConfig], TrainConfig]
) -> ResumePlan:
    """`changes` turns the run's settings into the wanted ones (the flags the user typed)."""
    name, epoch = parse_reference(reference)
    source = find_run(runs_dir, name)
    saved = source.train_config()
    config = changes(saved).validated()
    on_disk = source.checkpoint_epochs()
    in_place = config == saved and (epoch is None or not on_disk or epoch >= on_disk[-1])
    if in_place:
        state = derived_state(source)
        if state in LIVE_STATES:
            raise RunError(
                f"run {source.id} is {state}: attach to it with "
                f"`tui-mnist attach {source.id}`, or resume it from an earlier epoch"
            )
        if state == "finished":
            raise RunError(
                f"run {source.id} already finished its {saved.epochs} epochs: "
                "pass --epochs to train it longer (as a new run)"
            )
    return ResumePlan(source=source, config=config, epoch=epoch, in_place=in_place)


def materialize(plan: ResumePlan, warn: Warn, keep_checkpoints: int | None) -> RunFolder:
    """The folder to train: the run itself, or a new child run from the chosen checkpoint."""
    from tui_mnist.engine.checkpoint import check_resumable

    if plan.in_place:
        return plan.source
    parent_config = plan.source.train_config()
    check_resumable(parent_config, plan.config)
    checkpoint, _ = newest_readable(plan.source, plan.epoch, warn)
    if checkpoint is None:
        asked = f"at or before epoch {plan.epoch}" if plan.epoch else "at all"
        raise RunError(f"run {plan.source.id} has no readable checkpoint {asked}")
    command = plan.config.command_line(base=parent_config).replace(
        "tui-mnist train", f"tui-mnist train --resume {plan.source.id}@{checkpoint.epoch}", 1
    )
    keep = plan.source.read_config().get("keep_checkpoints", DEFAULT_KEEP_CHECKPOINTS)
    child = RunFolder.create(
        plan.source.runs_dir,
        plan.config,
        parent={"run": plan.source.id, "epoch": checkpoint.epoch},
        command=command,
        keep_checkpoints=keep if keep_checkpoints is None else keep_checkpoints,
    )
    child.inherit_records(plan.source, checkpoint.epoch)
    return child
