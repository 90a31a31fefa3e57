"""The trainer's side of the control socket: accepts clients of the same user, answers their
requests, and streams events to subscribers. See runs.protocol for the messages.

Threads: one accepts, one serves each client. The training thread only ever enqueues (never
writes to a socket), so a slow or vanished client cannot stall training.
"""

from __future__ import annotations

import os
import queue
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from tui_mnist.engine.errors import EngineError
from tui_mnist.runs.protocol import MAX_REQUEST_BYTES, decode_line, encode_line, socket_address

MAX_QUEUED = 10_000  # events waiting for one subscriber; beyond this it is cut off
CLOSE_GRACE = 2.0  # seconds for subscribers to receive the last events when the run ends


def peer_uid(connection: socket.socket) -> int | None:
    """The connecting process's user id (Linux); None where the kernel cannot tell."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


class ControlServer:
    def __init__(
        self,
        path: Path,
        handle: Callable[[dict], dict],
        snapshot: Callable[[], list[dict]],
    ):
        """`handle(request) -> reply` answers one request (EngineError becomes an error reply);
        `snapshot()` is what a new subscriber receives first, taken under the publish lock so
        that no event is missed or sent twice."""
        self.path = Path(path)
        self.handle = handle
        self.snapshot = snapshot
        self.lock = threading.Condition()
        self.subscribers: dict[queue.Queue, socket.socket] = {}
        self.threads: list[threading.Thread] = []
        self.connections: set[socket.socket] = set()
        self.closed = False
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def start(self) -> None:
        """Listen on a private temporary name, then rename it into place: the socket appears
        already owner-only and accepting. (The caller holds the run's lock, so a socket file
        found here belongs to a dead trainer.)"""
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        staging.unlink(missing_ok=True)
        with socket_address(staging) as address:
            self.listener.bind(address)
        os.chmod(staging, 0o600)
        self.listener.listen()
        os.replace(staging, self.path)
        self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="tui-mnist-control")
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # the listener was shut down: the run is over
                return
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        self.connections.add(connection)
        with connection:
            try:
                if peer_uid(connection) not in (None, os.getuid()):
                    connection.sendall(encode_line({"ok": False, "error": "not your run"}))
                    return
                reader = connection.makefile("rb")
                while line := reader.readline(MAX_REQUEST_BYTES):
                    try:
                        request = decode_line(line)
                        if request.get("cmd") == "subscribe":
                            self._stream(connection)
                            return
                        reply = self.handle(request)
                    except EngineError as error:
                        reply = {"ok": False, "error": str(error)}
                    except Exception as error:  # a bug: answer rather than leave the client hanging
                        reply = {"ok": False, "error": f"internal error: {type(error).__name__}: {error}"}
                    connection.sendall(encode_line(reply))
            except OSError:
                return  # the client went away
            finally:
                self.connections.discard(connection)

    def _stream(self, connection: socket.socket) -> None:
        events: queue.Queue = queue.Queue(MAX_QUEUED)
        with self.lock:
            for document in self.snapshot():
                events.put_nowait(encode_line(document))
            if self.closed:
                events.put_nowait(None)
            else:
                self.subscribers[events] = connection
        try:
            connection.sendall(encode_line({"ok": True}))
            while (line := events.get()) is not None:
                connection.sendall(line)
        finally:
            with self.lock:
                self.subscribers.pop(events, None)
                self.lock.notify_all()

    def publish(self, document: dict, update: Callable[[], object] | None = None) -> None:
        """Send an event to every subscriber; `update` (the history's bookkeeping for this
        event) runs under the same lock as a new subscriber's snapshot."""
        line = encode_line(document)
        with self.lock:
            if update is not None:
                update()
            for events, connection in list(self.subscribers.items()):
                try:
                    events.put_nowait(line)
                except queue.Full:  # the client stopped reading: cut it off
                    del self.subscribers[events]
                    _shut(connection)

    def close(self) -> None:
        """End every stream after its queued events, stop accepting, remove the socket."""
        with self.lock:
            self.closed = True
            for events, connection in self.subscribers.items():
                try:
                    events.put_nowait(None)
                except queue.Full:
                    _shut(connection)
        _shut(self.listener)
        self.listener.close()
        self.path.unlink(missing_ok=True)
        with self.lock:
            self.lock.wait_for(lambda: not self.subscribers, CLOSE_GRACE)
        for connection in list(self.connections):  # idle clients: the run has nothing more
            _shut(connection)
        for thread in self.threads:
            thread.join(CLOSE_GRACE)


def _shut(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

