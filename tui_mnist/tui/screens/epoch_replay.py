"""Any past epoch in a view: `[` and `]` step through a run's epochs, read from its folder.

A view of a run with a folder (started in this window, attached, or reviewed from the runs list)
mixes in `EpochReplay`. The positions are the run's epochs 1 to its last completed one, and, for
a view that also shows the network as it is (`HAS_NOW`), "now" after the last. The folder is
scanned every SCAN_INTERVAL seconds on a thread, so a view that is at the newest epoch follows
the run. The file of the epoch shown is read on a thread (`read_epoch`, e.g. a record or a
checkpoint); an epoch whose file was not kept, or cannot be read, is shown as such by the view
(a file that cannot be read is also named in a notification). A view without a folder (a model
file) has "now" only, and the keys say so.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.binding import Binding

from tui_mnist.engine.epoch_record import EpochRecord, load_record
from tui_mnist.engine.errors import EngineError
from tui_mnist.runs.ledger import LIVE_STATES, derived_state
from tui_mnist.runs.store import RunFolder

SCAN_INTERVAL = 1.0  # seconds between looks at the folder for new epochs

REPLAY_BINDINGS = [
    Binding("left_square_bracket", "epoch(-1)", "epoch", key_display="[ ]",
            tooltip="The epoch before, from the run's folder"),
    Binding("right_square_bracket", "epoch(1)", "later epoch", show=False,
            tooltip="The epoch after (past the last: the network as it is now)"),
]


class EpochReplay:
    """Mixin for a Screen. Subclasses set the class flags below and implement `kept_epochs`,
    `epoch_file`, `read_file`, `show_now`, `show_epoch` and `show_unkept` (RecordReplay
    implements the first three for a run's records)."""

    HAS_NOW = True  # "now" is a position, after the last epoch
    STARTS_AT_NOW = True  # else at the newest epoch, following the run
    SKIPS_UNKEPT = False  # step over the epochs whose file is not kept

    def __init__(self, *args, records: RunFolder | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records = records
        self.epochs_done = 0  # the run's completed epochs, as its folder says
        self.kept: list[int] = []  # epochs whose file is there
        self.epoch_shown: int | None = None  # None: now (or, without HAS_NOW, nothing yet)
        self.scanned_once = False
        self.run_state = ""  # the run's, as the last scan saw it (runs.ledger.derived_state)
        self.waiting = False  # for the run's first epoch, to show it

    # --- what a view says -------------------------------------------------------------------

    def epoch_file(self, folder: RunFolder, epoch: int) -> Path:
        raise NotImplementedError

    def kept_epochs(self, folder: RunFolder) -> list[int]:
        raise NotImplementedError

    def read_file(self, path: Path) -> object:
        """On a thread; EngineError explains a file that cannot be read."""
        raise NotImplementedError

    def show_now(self) -> None:
        """Also called when there is no folder, whatever HAS_NOW says."""
        raise NotImplementedError

    def show_epoch(self, epoch: int, read: object) -> None:
        raise NotImplementedError

    def show_unkept(self, epoch: int, why: str) -> None:
        raise NotImplementedError

    # --- the folder -------------------------------------------------------------------------

    def start_replay(self) -> None:
        """Call from on_mount: shows now or the newest epoch, and follows the folder."""
        if self.records is None:
            self.show_now()
            return
        self.scan()
        self.set_interval(SCAN_INTERVAL, self.scan)

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay-scan")
    def scan(self) -> None:
        folder = self.records
        status = folder.read_status()
        status_epoch = status.get("epoch")
        kept = self.kept_epochs(folder)
        done = max([*kept, status_epoch if isinstance(status_epoch, int) else 0])
        self.app.call_from_thread(self.scanned, done, kept, derived_state(folder, status))

    @property
    def run_training(self) -> bool:
        return self.run_state == "running"

    def scanned(self, done: int, kept: list[int], state: str) -> None:
        if not self.is_attached:  # left while the folder was read
            return
        self.run_state = state
        first, self.scanned_once = not self.scanned_once, True
        at_newest = self.epoch_shown is not None and self.epoch_shown == self.epochs_done
        changed = (done, kept) != (self.epochs_done, self.kept)
        self.epochs_done, self.kept = done, kept
        if first:
            # A live run with no epoch yet: its first comes soon, and is what a view that starts
            # at the newest shows (counting now meanwhile would cost the trainer).
            if self.HAS_NOW and (self.STARTS_AT_NOW or not done and state not in LIVE_STATES):
                self.show_now()
            elif done:
                self.go_to(done)
            else:
                self.waiting = True
                self.replay_changed()
        elif changed and done and (self.waiting or at_newest):
            self.waiting = False
            self.go_to(done)  # following the run
        elif changed:
            self.replay_changed()

    def replay_changed(self) -> None:
        """The run has moved on, the position unchanged; or, at first, the view is `waiting`
        for the run's first epoch. A view may show the new extent."""

    # --- the keys ---------------------------------------------------------------------------

    def action_epoch(self, step: int) -> None:
        if self.records is None:
            self.notify("No past epochs: this network is not a run's", severity="warning")
            return
        now = self.epochs_done + 1 if self.HAS_NOW else self.epochs_done
        current = self.epoch_shown if self.epoch_shown is not None else now
        positions = [*self.kept, now] if self.SKIPS_UNKEPT else range(1, now + 1)
        ahead = [p for p in positions if (p - current) * step > 0]
        target = (min(ahead) if step > 0 else max(ahead)) if ahead else current
        if not self.epochs_done:
            self.notify("No epoch has ended yet", severity="warning")
        elif target == current:
            self.notify(f"No {'earlier' if step < 0 else 'later'} epoch", timeout=2)
        elif target > self.epochs_done:
            self.epoch_shown, self.waiting = None, False
            self.show_now()
        else:
            self.go_to(target)

    def go_to(self, epoch: int) -> None:
        self.epoch_shown, self.waiting = epoch, False
        if epoch in self.kept:
            self.read_epoch(epoch)
        else:
            self.show_unkept(epoch, "not kept")

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay-read")
    def read_epoch(self, epoch: int) -> None:
        path = self.epoch_file(self.records, epoch)
        try:
            read = self.read_file(path)
        except EngineError as error:
            self.app.call_from_thread(self.unreadable, epoch, str(error))
        except OSError as error:  # (a folder made unreadable) still a notice naming the file
            self.app.call_from_thread(self.unreadable, epoch, f"{path}: {error.strerror or error}")
        else:
            self.app.call_from_thread(self.epoch_read, epoch, read)

    def epoch_read(self, epoch: int, read: object) -> None:
        if self.is_attached and epoch == self.epoch_shown:  # not stepped on, nor left, since
            self.show_epoch(epoch, read)

    def unreadable(self, epoch: int, message: str) -> None:
        self.notify(message, title=f"Epoch {epoch} cannot be read", severity="error", timeout=10)
        if self.is_attached and epoch == self.epoch_shown:
            self.show_unkept(epoch, "cannot be read")

    def position_text(self) -> str:
        """Where the view is: "epoch 3 of 10", "now · 10 epochs done", or "" without a folder."""
        if self.records is None:
            return ""
        if self.epoch_shown is None:
            return f"now · {self.epochs_done} epoch{'s' * (self.epochs_done != 1)} done"
        return f"epoch {self.epoch_shown} of {self.epochs_done}"


class RecordReplay(EpochReplay):
    """EpochReplay through the run's per-epoch records (engine.epoch_record): the confusion,
    weights and health views."""

    def kept_epochs(self, folder: RunFolder) -> list[int]:
        return folder.record_epochs()

    def epoch_file(self, folder: RunFolder, epoch: int) -> Path:
        return folder.record_file(epoch)

    def read_file(self, path: Path) -> EpochRecord:
        return load_record(path)

