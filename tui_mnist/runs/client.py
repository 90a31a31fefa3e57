"""RunClient: control and follow a live run through its control socket (see runs.protocol).

    client = RunClient(run_dir)
    client.pause(); client.step("batch"); client.resume(); client.scale_lr(0.5); client.stop()
    with client.events() as events:      # blocking; history first, then live, ends with the run
        for event in events: ...         # tui_mnist.live.events types

Every method raises RunError (an EngineError: one line for the user) when the run is not live
or the trainer refuses the request.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

from tui_mnist.live.events import FINAL_EVENTS, Event
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import derived_state
from tui_mnist.runs.protocol import decode_event, decode_line, encode_line, socket_address
from tui_mnist.runs.store import RunFolder

REQUEST_TIMEOUT = 40.0  # a little over the host's own wait for a batch boundary


class RunClient:
    def __init__(self, run_dir: str | Path, timeout: float = REQUEST_TIMEOUT):
        self.folder = RunFolder(run_dir)
        self.timeout = timeout

    def connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            with socket_address(self.folder.socket_file) as address:
                connection.connect(address)
        except OSError:
            connection.close()
            raise RunError(
                f"run {self.folder.id} is not live ({derived_state(self.folder)}): "
                "nothing to control"
            ) from None
        return connection

    def request(self, command: str, **arguments) -> dict:
        with self.connect() as connection:
            try:
                connection.sendall(encode_line({"cmd": command, **arguments}))
                line = connection.makefile("rb").readline()
            except OSError as error:
                raise RunError(f"run {self.folder.id}: no answer from the trainer ({error})") from None
        if not line:
            raise RunError(f"run {self.folder.id}: the trainer closed the connection")
        reply = decode_line(line)
        if not reply.get("ok"):
            raise RunError(f"run {self.folder.id}: {reply.get('error', 'request refused')}")
        return reply

    def status(self) -> dict:
        return self.request("status")["status"]

    def pause(self) -> None:
        self.request("pause")

    def resume(self) -> None:
        self.request("resume")

    def step(self, unit: str = "batch") -> None:
        """One batch or one epoch, then paused again; only while paused."""
        self.request("step", unit=unit)

    def stop(self) -> None:
        """End after the current batch, with a final evaluation (RunFinished stopped=True)."""
        self.request("stop")

    def scale_lr(self, factor: float) -> float:
        """Multiply the learning rate by `factor`; returns the rate the next batch uses."""
        return self.request("scale_lr", factor=factor)["lr"]

    def save_model(self, path: str | Path) -> Path:
        """The live weights as a model file (loadable by `tui-mnist eval` and the inspector)."""
        return Path(self.request("save_model", path=str(Path(path).expanduser().resolve()))["path"])

    def events(self) -> EventStream:
        connection = self.connect()
        try:
            connection.sendall(encode_line({"cmd": "subscribe"}))
        except OSError:
            connection.close()
            raise RunError(f"run {self.folder.id}: the trainer closed the connection") from None
        return EventStream(self.folder, connection)


class EventStream:
    """A run's events, history first. Iteration blocks; it ends after RunFinished or RunFailed
    and raises RunError if the trainer vanishes first. `close()` (from any thread) ends it."""

    def __init__(self, folder: RunFolder, connection: socket.socket):
        self.folder = folder
        self.connection = connection
        connection.settimeout(None)  # a paused run can be silent for hours
        self.reader = connection.makefile("rb")
        self.acknowledged = False
        self.ended = False
        self.closed = False

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self.ended:
            raise StopIteration
        document = self._read()
        if not self.acknowledged:
            self.acknowledged = True
            if not document.get("ok"):
                raise RunError(f"run {self.folder.id}: {document.get('error', 'refused')}")
            document = self._read()
        event = decode_event(document)
        self.ended = isinstance(event, FINAL_EVENTS)
        return event

    def _read(self) -> dict:
        try:
            line = self.reader.readline()
        except (OSError, ValueError):
            line = b""
        if line:
            return decode_line(line)
        self.ended = True
        if self.closed:
            raise StopIteration
        raise RunError(
            f"run {self.folder.id}: lost the connection to the trainer "
            f"(now {derived_state(self.folder)})"
        )
