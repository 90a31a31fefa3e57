"""Atomic writes and `.npz` bundles of named arrays plus JSON metadata (never pickles)."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tui_mnist.engine.errors import ModelFileError, OutputPathError

META_KEY = "__meta__"
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARK = b"\x80"


def _umask() -> int:
    """The process umask, read without changing it (os.umask can only set it, racing threads)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO",
         stat.S_IFDIR: "a directory", stat.S_IFSOCK: "a socket"}
STREAMS = (stat.S_IFCHR, stat.S_IFIFO)  # written into, not replaced: a stream may go there


def output_path(path: str | Path, stream: bool = False) -> Path:
    """Where writing the file `path` goes: `path` itself when it is absent or a regular file,
    the regular file a symlink leads to (written in that file's own folder, the link kept).
    Anything else (a device such as /dev/null, a FIFO, a directory, a socket) is never replaced
    by a file; a `stream` (lines written into an open file, /dev/stdout or a FIFO included) may
    go into a character device or a FIFO. A folder that does not exist or cannot be written is
    named before any work. An OutputPathError naming `path` otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode  # of what a link leads to
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputPathError(f"{path}: cannot write ({error.strerror or error})") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stream and stat.S_IFMT(mode) in STREAMS:
            return path  # opened as given: /dev/stdout leads to no file that could be named
        kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise OutputPathError(f"{path}: is {kind}, not a file: it is not replaced")
    real = path.resolve() if path.is_symlink() else path
    folder = real.parent
    if not folder.is_dir():
        raise OutputPathError(f"{path}: cannot write (the folder {folder} does not exist)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: cannot write (the folder {folder} is not writable)")
    return real


def write_atomically(
    path: Path, write: Callable[[BinaryIO], object], private: bool = False
) -> None:
    """Write through a temporary file in the same folder, then rename over `path` (see
    output_path: never over what is not a regular file): a reader sees the old file or the new
    one, never half of one. A private file is readable by its owner only; otherwise it gets the
    mode a plain open() would give it."""
    path = output_path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    if not private:  # mkstemp's files start as 0600
        os.fchmod(handle, 0o666 & ~_umask())
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def save_bundle(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Arrays by name plus a JSON document, as one .npz written atomically."""
    payload = dict(arrays)
    payload[META_KEY] = np.array(json.dumps(meta))
    write_atomically(Path(path), lambda stream: np.savez(stream, **payload))


def load_bundle(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a bundle written by `save_bundle`; anything else is a ModelFileError."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    with path.open("rb") as stream:
        head = stream.read(len(ZIP_MAGIC))
    if head.startswith(PICKLE_PROTOCOL_MARK):
        raise ModelFileError(f"{path}: holds pickled data, which is refused")
    if head != ZIP_MAGIC:
        raise ModelFileError(f"{path}: not a tui-mnist .npz file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "pickle" in str(error):
            raise ModelFileError(f"{path}: holds pickled data, which is refused") from None
        raise ModelFileError(f"{path}: not a valid .npz file ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise ModelFileError(f"{path}: corrupt or truncated ({error})") from None
    if META_KEY not in arrays:
        raise ModelFileError(f"{path}: not a tui-mnist file (no metadata)")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: metadata is not a JSON object")
    return arrays, meta


def load_versioned_bundle(
    path: Path, expected_format: str, version: int, kind: str
) -> tuple[dict[str, np.ndarray], dict]:
    """`load_bundle`, refusing a file of another format or of a version this code cannot read."""
    arrays, meta = load_bundle(path)
    if meta.get("format") != expected_format:
        raise ModelFileError(f"{path}: not a tui-mnist {kind}")
    if meta.get("version") != version:
        raise ModelFileError(
            f"{path}: {kind} version {meta.get('version')} is not supported "
            f"(this tui-mnist reads version {version})"
        )
    return arrays, meta
