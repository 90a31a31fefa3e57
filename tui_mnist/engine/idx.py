"""Where the four MNIST-layout IDX files are, and what their headers say, without numpy: the
settings screen reads a data set's image size from here before anything heavier is loaded.
A header declaring more data than memory holds is refused here, before any data is read.
Decoding, checking and caching the arrays is data.py's job."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tui_mnist.engine.errors import DataError
from tui_mnist.engine.memory import beyond_usable, size_text

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
DATA_ENV = "TUI_MNIST_DATA"
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NUM_CLASSES = 10


def shipped_data_dir() -> Path:
    """The MNIST copy inside the installed package (the repository's assets/mnist)."""
    from importlib.resources import files

    return Path(str(files("tui_mnist.assets") / "mnist"))


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """--data-dir first, then $TUI_MNIST_DATA, then the MNIST shipped with the package.

    An empty --data-dir is refused (it would silently mean the shipped MNIST); an empty
    $TUI_MNIST_DATA counts as unset, as environment variables commonly do."""
    if data_dir is not None:
        if not os.fspath(data_dir):
            raise DataError("--data-dir is empty: name a folder, or leave the flag out for the default")
        chosen, origin = Path(data_dir), "--data-dir"
    elif os.environ.get(DATA_ENV):
        chosen, origin = Path(os.environ[DATA_ENV]), f"${DATA_ENV}"
    else:
        chosen, origin = shipped_data_dir(), "the shipped assets"
    if not _exists(chosen, Path.is_dir):
        raise DataError(f"data directory {chosen} (from {origin}) does not exist")
    return chosen


def idx_path(directory: Path, stem: str) -> Path:
    """The file for `stem`, gzipped or plain; a clear error if neither exists."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if _exists(candidate, Path.is_file):
            return candidate
    raise DataError(f"{directory / stem}[.gz]: file not found")


def _exists(path: Path, test: Callable[[Path], bool]) -> bool:
    """`test(path)` (Path.is_dir or Path.is_file); a path that cannot even be looked up (a name
    too long, a folder without permission) is a DataError naming it, not an OSError."""
    try:
        return test(path)
    except OSError as error:
        raise DataError(f"{path}: cannot be looked up ({error.strerror or error})") from None


@contextmanager
def opened(path: Path) -> Iterator[BinaryIO]:
    """`path` open for reading, unzipped as it is read if it ends in .gz. A failure to read it,
    when opening or anywhere inside the `with` block, is a DataError naming the file."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as stream:
            yield stream
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({error})") from None


def read_header(path: Path, stream: BinaryIO, expected_magic: int) -> tuple[int, ...]:
    """The dimensions the IDX header at the start of `stream` declares, read from the header
    alone; refused unless the data they declare would fit in memory (a hostile header may
    declare up to 2**96 bytes)."""
    ndim = expected_magic & 0xFF
    size = 4 + 4 * ndim
    header = stream.read(size)
    if len(header) < 8:
        raise DataError(f"{path}: truncated ({len(header)} bytes, no IDX header)")
    magic = int.from_bytes(header[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{path}: wrong magic number 0x{magic:08x} (expected 0x{expected_magic:08x})"
        )
    if len(header) < size:
        raise DataError(f"{path}: truncated header ({len(header)} of {size} bytes)")
    dims = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    _check_fits(path, dims)
    return dims


def _check_fits(path: Path, dims: tuple[int, ...]) -> None:
    """A DataError when the data `dims` declare is more than memory can hold: checked before
    anything is inflated or allocated (in Python ints, so no product overflows)."""
    size = math.prod(dims)
    beyond = beyond_usable(size)
    if beyond:
        raise DataError(f"{path}: header claims {size_text(size)} of data ({'x'.join(map(str, dims))} bytes), {beyond}")


def image_dims(path: Path, dims: tuple[int, ...]) -> tuple[int, int, int]:
    """(count, rows, cols) of an image file's header, refused if it holds no pixel at all."""
    count, rows, cols = dims
    if not rows or not cols:
        raise DataError(f"{path}: images of {rows}x{cols} pixels are empty")
    if not count:
        raise DataError(f"{path}: holds no images")
    return count, rows, cols


def training_images(data_dir: str | os.PathLike | None = None) -> tuple[int, int]:
    """(images, pixels per image) of the training set `find_data_dir` picks, from its 16-byte
    header only (0.15 ms for the shipped .gz): cheap enough for every key press in the
    settings form, and refused (a DataError) just as loading the file would refuse it."""
    path = idx_path(find_data_dir(data_dir), SPLITS["train"][0])
    with opened(path) as stream:
        count, rows, cols = image_dims(path, read_header(path, stream, IMAGE_MAGIC))
    return count, rows * cols


def data_sizes(data_dir: str | os.PathLike | None = None) -> tuple[int, int]:
    """(pixels per image, classes) of the data `find_data_dir` picks: the two ends of a
    network for it, from the training images' header."""
    return training_images(data_dir)[1], NUM_CLASSES
