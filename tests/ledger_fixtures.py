"""Run folders written by hand, with fixed ids and times, for the ledger's tests and snapshots:
what a runs directory holds after a few runs, without training anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs.store import RUN_FORMAT, RUN_VERSION, write_json

LONG_AGO = 1_750_000_000  # 2025-06-15: a heartbeat this old means the trainer is gone


def val_curve(epochs: int, start: float, gain: float) -> list[dict]:
    return [
        {
            "epoch": epoch,
            "train_loss": 0.5 / epoch,
            "train_acc": start + gain * (1 - 0.5**epoch),
            "val_loss": 0.6 / epoch,
            "val_acc": start + gain * (1 - 0.6**epoch),
            "test_loss": None,
            "test_acc": None,
            "lr": 0.1,
            "seconds": 1.5 * epoch,
        }
        for epoch in range(1, epochs + 1)
    ]


def write_run(
    runs_dir: Path,
    run_id: str,
    config: TrainConfig,
    state: str,
    records: list[dict],
    test_acc: float | None = None,
    parent: dict | None = None,
) -> Path:
    folder = runs_dir / run_id
    (folder / "checkpoints").mkdir(parents=True)
    day, time = run_id[:8], run_id[9:15]  # the id is the start time: 20250612-093000-aa11
    created = f"{day[:4]}-{day[4:6]}-{day[6:]}T{time[:2]}:{time[2:4]}:{time[4:]}+00:00"
    write_json(folder / "config.json", {
        "format": RUN_FORMAT, "version": RUN_VERSION, "id": run_id, "created": created,
        "config": config.to_dict(), "command": config.command_line(), "parent": parent,
        "keep_checkpoints": 5,
    })
    best = max((r["val_acc"] for r in records), default=None)
    write_json(folder / "status.json", {
        "state": state, "pid": None, "hostname": "elsewhere", "epoch": len(records),
        "epochs": config.epochs, "best_val_acc": best, "test_acc": test_acc, "error": None,
    })
    os.utime(folder / "status.json", (LONG_AGO, LONG_AGO))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def three_runs(runs_dir: Path) -> list[Path]:
    """A finished 784-128-10 run, a stopped 784-256-10 run with Adam, and one whose trainer
    vanished mid-run (stale), oldest first."""
    base = TrainConfig(epochs=4)
    return [
        write_run(runs_dir, "20250612-093000-aa11", base, "done", val_curve(4, 0.90, 0.07), 0.9712),
        write_run(
            runs_dir, "20250612-101500-bb22",
            base.with_changes(hidden=(256,), optimizer="adam", lr=0.001),
            "stopped", val_curve(3, 0.92, 0.06), 0.9655,
        ),
        write_run(runs_dir, "20250613-080000-cc33", base.with_changes(epochs=10), "running",
                  val_curve(2, 0.88, 0.05)),
    ]
