"""The control socket's language: JSON documents, one per line, over a Unix-domain socket.

Requests (client -> trainer), each answered by one reply line:
    {"cmd": "status"}                        -> {"ok": true, "status": {...}}
    {"cmd": "pause"} / {"cmd": "resume"}     -> {"ok": true}
    {"cmd": "step", "unit": "batch"|"epoch"} -> {"ok": true}      (only while paused)
    {"cmd": "stop"}                          -> {"ok": true}
    {"cmd": "scale_lr", "factor": 0.5}       -> {"ok": true, "lr_scale": s, "lr": lr}
    {"cmd": "save_model", "path": "/abs.npz"} -> {"ok": true, "path": "/abs.npz"}
    {"cmd": "subscribe"}                     -> {"ok": true}, then events until the run ends
    any failure                              -> {"ok": false, "error": "one line"}
Events are the app session's event types (tui_mnist.live.events), so a remote run looks like a
local one: {"event": "started"|"batches"|"epoch"|"finished"|"state"|"lr"|"failed", ...fields};
"batches" carries {"records": [BatchProgress fields, ...]}.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.live.events import (
    Batches,
    Event,
    LearningRateScaled,
    RunFailed,
    RunStarted,
    StateChanged,
)
from tui_mnist.runs import RunError

EVENT_TYPES = {
    "started": RunStarted,
    "batches": Batches,
    "epoch": EpochProgress,
    "finished": RunFinished,
    "state": StateChanged,
    "lr": LearningRateScaled,
    "failed": RunFailed,
}
EVENT_NAMES = {kind: name for name, kind in EVENT_TYPES.items()}
MAX_REQUEST_BYTES = 64 * 1024
# sun_path holds 108 bytes on Linux (104 on macOS): longer paths go through a directory fd.
MAX_SOCKET_PATH = 100


def encode_event(event: Event) -> dict:
    if isinstance(event, Batches):
        return {"event": "batches", "records": [asdict(r) for r in event.records]}
    return {"event": EVENT_NAMES[type(event)], **asdict(event)}


def decode_event(document: dict) -> Event:
    kind = EVENT_TYPES.get(document.get("event"))
    if kind is None:
        raise RunError(f"the trainer sent an unknown event {document.get('event')!r}")
    fields = {name: value for name, value in document.items() if name != "event"}
    try:
        if kind is Batches:
            return Batches(tuple(BatchProgress(**record) for record in fields["records"]))
        return kind(**fields)
    except (TypeError, KeyError) as error:
        raise RunError(f"the trainer sent a malformed {document['event']} event ({error})") from None


def encode_line(document: dict) -> bytes:
    return (json.dumps(document) + "\n").encode()


def decode_line(line: bytes) -> dict:
    try:
        document = json.loads(line)
    except ValueError:
        raise RunError("malformed message on the control socket") from None
    if not isinstance(document, dict):
        raise RunError("malformed message on the control socket")
    return document


@contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """A name for the socket at `path` that fits in sun_path, valid inside the block."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)
