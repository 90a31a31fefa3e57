"""The training loop, as a generator of progress records.

    trainer = Trainer(config, dataset)
    for record in trainer.run():   # BatchProgress ..., EpochProgress, ..., RunFinished
        ...

Pausing is the consumer's business (it simply stops pulling records); `request_stop()` ends the
run after the current batch with a final evaluation. Nothing here prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from tui_mnist.engine.augment import shift_batch
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, load_dataset
from tui_mnist.engine.dropout import Dropout
from tui_mnist.engine.epoch_record import PROBE_IMAGES, EpochRecord, EpochRecorder
from tui_mnist.engine.errors import TrainingDiverged
from tui_mnist.engine.idx import NUM_CLASSES
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.memory import check_fits, run_bytes
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.network import EVAL_CHUNK, Network, Workspace
from tui_mnist.engine.optimizers import make_optimizer
from tui_mnist.engine.progress import BatchProgress, EpochProgress, Progress, RunFinished
from tui_mnist.engine.schedules import Schedule

# Cross-entropy of 100 means the right class gets probability e^-100: the run has blown up,
# even if the numbers are still finite.
DIVERGED_LOSS = 100.0


def load_data_for(config: TrainConfig) -> Dataset:
    """The data set a run of `config` trains on (its directory, validation split, scaling)."""
    return load_dataset(config.data_dir, val=config.val, standardize=config.standardize)


def layer_sizes(config: TrainConfig, data: Dataset) -> tuple[int, ...]:
    return config.layer_sizes(data.n_features, NUM_CLASSES)


class Trainer:
    def __init__(
        self, config: TrainConfig, data: Dataset, network: Network | None = None, keep_records: bool = False
    ):
        """`keep_records`: build an EpochRecord at each epoch's end (`epoch_record`)."""
        self.config = config.validated()
        self.data = data
        sizes = layer_sizes(config, data)
        n_train = len(data.x_train)
        batch_rows = min(config.batch_size, n_train)
        needed = run_bytes(config, data.n_features, NUM_CLASSES, n_train)
        check_fits(needed, f"training a {architecture(sizes)} network")
        self.rng = np.random.default_rng(config.seed)
        self.network = network or Network.create(sizes, config.activation, self.rng, config.dtype)
        self.optimizer = make_optimizer(
            config.optimizer,
            self.network.parameters,
            weight_decay=config.weight_decay,
            momentum=config.momentum,
            nesterov=config.nesterov,
        )
        self.batches_per_epoch = math.ceil(n_train / config.batch_size)
        self.schedule = Schedule(
            kind=config.schedule,
            base_lr=config.lr,
            total_steps=config.epochs * self.batches_per_epoch,
            warmup_steps=round(config.warmup_epochs * self.batches_per_epoch),
            step_every=max(1, config.epochs // 3) * self.batches_per_epoch,
        )
        self.workspace = Workspace(self.network, batch_rows)
        self.dropout = (
            Dropout(config.dropout, config.hidden, batch_rows, self.network.dtype)
            if config.dropout
            else None
        )
        self.eval_workspace = Workspace(self.network, EVAL_CHUNK)
        self.pixels = np.empty((batch_rows, data.n_features), np.uint8)
        # Labels as index-sized integers once, so no batch converts them again for indexing.
        self.train_labels = data.y_train.astype(np.intp)
        self.batch_labels = np.empty(batch_rows, np.intp)
        self.shifted = np.empty_like(self.pixels) if config.augment == "shift" else None
        self.epoch = 0  # completed epochs
        self.step = 0  # completed batches, over the whole run
        self.samples = 0  # training images seen, over the whole run
        self.seconds = 0.0
        self.lr_scale = 1.0  # the app's +/- keys adjust this mid-run
        self._stop_requested = False
        self.recorder = self._recorder() if keep_records else None
        self.epoch_record: EpochRecord | None = None  # the last completed epoch's, when kept

    def _recorder(self) -> EpochRecorder:
        data = self.data
        probe_images = (data.x_val if len(data.x_val) else data.x_train)[:PROBE_IMAGES]
        probe = data.normalizer.apply(probe_images, np.empty(probe_images.shape, self.network.dtype))
        return EpochRecorder(self.network, probe, NUM_CLASSES)

    @property
    def lr(self) -> float:
        return self.schedule.lr_at(self.step) * self.lr_scale

    def request_stop(self) -> None:
        self._stop_requested = True

    def run(self) -> Iterator[Progress]:
        while self.epoch < self.config.epochs and not self._stop_requested:
            yield from self._epoch()
        yield self.finish()

    def _epoch(self) -> Iterator[Progress]:
        config, data = self.config, self.data
        order = self.rng.permutation(len(data.x_train))
        loss_sum = 0.0
        correct_sum = 0
        seen = 0
        epoch = self.epoch + 1
        for batch in range(self.batches_per_epoch):
            if self._stop_requested:
                return
            started = time.perf_counter()
            indices = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            m = len(indices)
            # mode="clip" (the indices are always valid): mode="raise" copies through a buffer.
            pixels = np.take(data.x_train, indices, axis=0, out=self.pixels[:m], mode="clip")
            if self.shifted is not None:
                pixels = shift_batch(pixels, data.shape, self.rng, self.shifted[:m])
            x = data.normalizer.apply(pixels, self.workspace.inputs[:m])
            y = np.take(self.train_labels, indices, out=self.batch_labels[:m], mode="clip")
            if self.dropout is not None:
                self.dropout.draw(self.rng, m)
            loss, correct = self.network.train_step(x, y, self.workspace, self.dropout)
            if not math.isfinite(loss) or loss > DIVERGED_LOSS:
                raise TrainingDiverged(
                    f"loss diverged at epoch {epoch} batch {batch + 1} (loss {loss:.3g}): "
                    "try a smaller learning rate"
                )
            if self.recorder is not None and batch == self.batches_per_epoch - 1:
                self.recorder.before_last_step(self.workspace.grads)
            lr = self.lr
            self.optimizer.step(self.workspace.grads, lr)
            self.step += 1
            self.samples += m
            self.seconds += time.perf_counter() - started
            loss_sum += loss * m
            correct_sum += correct
            seen += m
            yield BatchProgress(
                epoch=epoch,
                batch=batch + 1,
                batches=self.batches_per_epoch,
                step=self.step,
                loss=loss,
                accuracy=correct / m,
                lr=lr,
                samples=self.samples,
                seconds=self.seconds,
            )
        self.epoch = epoch
        recorder = self.recorder
        val_loss, val_acc = self._evaluate(
            data.x_val, data.y_val, None if recorder is None else recorder.confusion
        )
        if recorder is not None:
            self.epoch_record = recorder.record(
                epoch, loss_sum / seen, val_acc is not None, lr, config.lr * self.lr_scale
            )
        test_loss, test_acc = (
            self._evaluate(data.x_test, data.y_test) if config.test_each_epoch else (None, None)
        )
        yield EpochProgress(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=loss_sum / seen,
            train_acc=correct_sum / seen,
            val_loss=val_loss,
            val_acc=val_acc,
            test_loss=test_loss,
            test_acc=test_acc,
            lr=self.lr,
            seconds=self.seconds,
        )

    def _evaluate(
        self, images: np.ndarray, labels: np.ndarray, confusion: np.ndarray | None = None
    ) -> tuple[float | None, float | None]:
        if len(images) == 0:
            return None, None
        return evaluate(self.network, images, labels, self.data.normalizer, self.eval_workspace, confusion)

    def finish(self) -> RunFinished:
        test_loss, test_acc = self._evaluate(self.data.x_test, self.data.y_test)
        return RunFinished(
            epochs_completed=self.epoch,
            test_loss=test_loss,
            test_acc=test_acc,
            seconds=self.seconds,
            stopped=self._stop_requested and self.epoch < self.config.epochs,
            steps=self.step,
            batches_per_epoch=self.batches_per_epoch,
        )
