"""A run's history as a newcomer needs it to redraw the charts: every epoch record and a thinned
series of batch samples. It is small (a few hundred points whatever the run's length), so it is
sent to every client that subscribes and stored in each checkpoint's metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

from tui_mnist.engine.progress import BatchProgress, EpochProgress
from tui_mnist.live.events import Batches, Event

MAX_BATCH_POINTS = 400


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
        history = cls(limit)
        try:
            history.epochs = [EpochProgress(**e) for e in document["epochs"]]
            history.batches = [BatchProgress(**b) for b in document["batches"]]
            history.stride = int(document["stride"])
            history.seen = int(document["seen"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"invalid run history ({error})") from None
        return history
