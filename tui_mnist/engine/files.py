"""Atomic writes: a file is replaced whole or not at all, never a half-written one."""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tui_mnist.engine.errors import OutputPathError


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
    one, never half of one. A private file, or any file under a folder given to keep_private,
    is readable by its owner only; otherwise it gets the mode a plain open() would give it. An
    OSError names `path` as given, never the temporary file. Temporary files that writers
    killed on the way left in that folder (see remove_leftovers) are removed first."""
    with naming(path):  # the path as given
        path = output_path(path)
        remove_leftovers(path.parent)
        handle, temp_name = _temporary(path)
        if not (private or _kept_private(path)):  # created 0600
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


@contextmanager
def naming(path: str | Path) -> Iterator[None]:
    """An OSError raised inside names `path`: a full disk's error names no file at all, and a
    temporary file's name means nothing to the user."""
    try:
        yield
    except OSError as error:
        if error.errno is None:  # a message alone (no errno to word it): the name goes first
            raise OSError(f"{path}: {error}") from None
        error.filename, error.filename2 = str(path), None
        raise


def describe(error: OSError) -> str:
    """One line for the user: "FILE: what went wrong" (the file when the error names one)."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


# .{name}.{pid}.{random}.tmp: whose writer it was is in the name, so a leftover is provably ours
# and provably abandoned once that process is gone.
TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[1-9][0-9]{0,9})\.[0-9a-f]{8}\.tmp")


def _temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, created 0600 with this process's id in its name."""
    while True:
        name = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), str(name)
        except FileExistsError:
            continue


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what a writer killed mid-write (kill -9, a power cut) left in `folder`: regular
    files of this user named like write_atomically's temporary files whose writing process no
    longer exists. Anything else is left alone. Returns the files removed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        match = TEMPORARY.fullmatch(name)
        if match is None or _process_exists(int(match["pid"])):
            continue
        leftover = Path(folder) / name
        try:
            info = leftover.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
                leftover.unlink()
                removed.append(leftover)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or no pid at all: never provably gone
    return True


_private_folders: set[str] = set()


def keep_private(folder: str | Path) -> None:
    """From now on, in this process, every file written atomically under `folder` (at any
    depth) is readable by its owner only, whoever writes it (a run folder's checkpoints, records
    and model files are written by engine code that knows nothing of run folders)."""
    _private_folders.add(os.path.abspath(folder))


def _kept_private(path: Path) -> bool:
    return any(str(folder) in _private_folders for folder in Path(os.path.abspath(path)).parents)
