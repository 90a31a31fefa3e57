"""A run's history as a newcomer needs it to redraw the charts: every epoch record and a thinned
series of batch samples. It is small (a few hundred points whatever the run's length), so it is
sent to every client that subscribes and stored in each checkpoint's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

from tui_mnist.engine.progress import BatchProgress, EpochProgress
from tui_mnist.live.events import Batches, Event
from tui_mnist.runs.schema import NUMBER, problem, whole
from tui_mnist.runs.store import EPOCH_RECORD_FIELDS

MAX_BATCH_POINTS = 400
# Checked when read back from a checkpoint: every field of the dataclass, of its type.
EPOCH_FIELDS = {**EPOCH_RECORD_FIELDS, "epochs": whole(1)}
BATCH_FIELDS = {
    "epoch": whole(1), "batch": whole(1), "batches": whole(1), "step": whole(1), "loss": NUMBER,
    "accuracy": NUMBER, "lr": NUMBER, "samples": whole(0), "seconds": NUMBER,
}
COUNTER_FIELDS = {"stride": whole(1), "seen": whole(0)}


def batch_sample(records: Sequence[BatchProgress]) -> BatchProgress:
    """One point for a group of consecutive batches: the latest counters, the mean loss and
    accuracy (a mean keeps the 10 Hz series honest where a single batch would be noise)."""
    n = len(records)
    return replace(
        records[-1],
        loss=sum(r.loss for r in records) / n,
        accuracy=sum(r.accuracy for r in records) / n,
    )


class RunHistory:
    def __init__(self, limit: int = MAX_BATCH_POINTS):
        self.limit = limit
        self.epochs: list[EpochProgress] = []
        self.batches: list[BatchProgress] = []
        # Sample i of the run is kept while i % stride == 0; the stride doubles whenever the
        # series outgrows the limit, so the kept points stay evenly spread.
        self.stride = 1
        self.seen = 0

    def add_batch(self, sample: BatchProgress) -> None:
        if self.seen % self.stride == 0:
            self.batches.append(sample)
            if len(self.batches) > self.limit:
                self.batches = self.batches[::2]
                self.stride *= 2
        self.seen += 1

    def add_epoch(self, record: EpochProgress) -> None:
        self.epochs.append(record)

    @property
    def best_val_acc(self) -> float | None:
        values = [e.val_acc for e in self.epochs if e.val_acc is not None]
        return max(values) if values else None

    def replay(self) -> list[Event]:
        """The history as events in the order they happened: batch groups between epochs."""
        events: list[Event] = []
        pending = list(self.batches)
        for record in self.epochs:
            upto = next((i for i, b in enumerate(pending) if b.epoch > record.epoch), len(pending))
            if upto:
                events.append(Batches(tuple(pending[:upto])))
                del pending[:upto]
            events.append(record)
        if pending:
            events.append(Batches(tuple(pending)))
        return events

    def to_json(self) -> dict:
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "batches": [asdict(b) for b in self.batches],
            "stride": self.stride,
            "seen": self.seen,
        }

    @classmethod
    def from_json(cls, document: dict, limit: int = MAX_BATCH_POINTS) -> RunHistory:
        """Raises ValueError for a document this class did not write."""
        found = problem(document, COUNTER_FIELDS, COUNTER_FIELDS)
        if found:
            raise ValueError(f"invalid run history ({found})")
        history = cls(limit)
        history.epochs = _records(EpochProgress, EPOCH_FIELDS, document.get("epochs"))
        history.batches = _records(BatchProgress, BATCH_FIELDS, document.get("batches"))
        history.stride, history.seen = document["stride"], document["seen"]
        return history


def _records(kind: type, fields: dict, records: object) -> list:
    """`records` as instances of `kind`, each checked against `fields` (all of them, nothing
    else); ValueError otherwise."""
    if not isinstance(records, list):
        raise ValueError("invalid run history (a list of records is missing)")
    for record in records:
        found = problem(record, fields, fields, closed=True)
        if found:
            raise ValueError(f"invalid run history ({kind.__name__} record: {found})")
    return [kind(**record) for record in records]
