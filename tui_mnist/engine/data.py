"""MNIST-layout IDX files: find them, read and verify them, cache them, split them.

Images stay uint8 in memory (47 MB for MNIST instead of 188 MB as float32); each batch is
scaled to floats on the way into the network, see `Normalizer`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tui_mnist.engine.errors import DataError
from tui_mnist.engine.files import write_atomically
from tui_mnist.engine.idx import (
    IMAGE_MAGIC,
    LABEL_MAGIC,
    NUM_CLASSES,
    SPLITS,
    find_data_dir,
    idx_path,
    image_dims,
    opened,
    read_header,
)

HISTOGRAM_ROWS = 1024  # images per block when counting pixel values (bounded memory)
READ_CHUNK = 1 << 20  # bytes inflated, read or hashed at a time: the most held besides the array
CACHE_VERSION = 1


@dataclass(frozen=True)
class RawSplit:
    images: np.ndarray  # (n, rows*cols) uint8
    labels: np.ndarray  # (n,) uint8


@dataclass(frozen=True)
class RawData:
    train: RawSplit
    test: RawSplit
    shape: tuple[int, int]  # (rows, cols) of one image
    source: Path


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one IDX file; every inconsistency is a DataError naming the file.

    The header is checked first, then at most the bytes it declares plus one are inflated or
    read, straight into the array: a file costs the memory its header declares (which must
    fit), never what it would inflate to."""
    with opened(path) as stream:
        dims = read_header(path, stream, expected_magic)
        size = math.prod(dims)
        try:
            # Untouched pages cost nothing: a short file holds only the memory it fills.
            array = np.empty(size, np.uint8)
        except MemoryError:
            raise DataError(f"{path}: no memory for the {size} bytes its header declares") from None
        filled = _read_into(stream, memoryview(array))
        if filled < size:
            raise DataError(f"{path}: truncated ({filled} of {size} bytes)")
        if stream.read(1):
            raise DataError(f"{path}: trailing data after the {size} bytes the header declares")
    return array.reshape(dims)


def _read_into(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill `buffer` from `stream` a chunk at a time (a gzip stream reads into a temporary of
    the size asked for); returns the bytes filled, fewer if the stream ends first."""
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled : filled + READ_CHUNK])
        if not count:
            break
        filled += count
    return filled


def _read_split(directory: Path, split: str) -> tuple[RawSplit, tuple[int, int]]:
    image_file = idx_path(directory, SPLITS[split][0])
    label_file = idx_path(directory, SPLITS[split][1])
    images = read_idx(image_file, IMAGE_MAGIC)
    count, rows, cols = image_dims(image_file, images.shape)
    labels = read_idx(label_file, LABEL_MAGIC)
    if len(labels) != count:
        raise DataError(f"{label_file}: {len(labels)} labels for {count} images in {image_file.name}")
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{label_file}: label {labels.max()} is outside 0-{NUM_CLASSES - 1}")
    return RawSplit(images.reshape(count, rows * cols), labels), (rows, cols)


def _source_files(directory: Path) -> list[Path]:
    return [idx_path(directory, stem) for pair in SPLITS.values() for stem in pair]


def _fingerprint(files: list[Path]) -> str:
    """A digest of the files' names and bytes, read a chunk at a time (hashlib.file_digest
    needs Python 3.11)."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for path in files:
        digest.update(path.name.encode())
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(READ_CHUNK):
                    digest.update(chunk)
        except OSError as error:
            raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    return digest.hexdigest()[:32]


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tui-mnist")) / "data"


def _checksum(array: np.ndarray) -> int:
    return zlib.crc32(array.data)


def _load_cache(folder: Path, source: Path) -> RawData | None:
    """The cached arrays, or None when the cache is missing, partial or does not verify."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        arrays = {}
        for name, expected in manifest["arrays"].items():
            # Memory-mapped: the page cache backs the arrays, so a load copies nothing.
            array = np.load(folder / f"{name}.npy", allow_pickle=False, mmap_mode="r")
            if list(array.shape) != expected["shape"] or _checksum(array) != expected["crc32"]:
                return None
            arrays[name] = array
        return RawData(
            train=RawSplit(arrays["train_images"], arrays["train_labels"]),
            test=RawSplit(arrays["test_images"], arrays["test_labels"]),
            shape=tuple(manifest["shape"]),
            source=source,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(folder: Path, data: RawData) -> None:
    arrays = {
        "train_images": data.train.images,
        "train_labels": data.train.labels,
        "test_images": data.test.images,
        "test_labels": data.test.labels,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            write_atomically(folder / f"{name}.npy", lambda handle, a=array: np.save(handle, a))
        manifest = {
            "shape": list(data.shape),
            "arrays": {
                name: {"shape": list(a.shape), "crc32": _checksum(a)} for name, a in arrays.items()
            },
        }
        # The manifest goes last: a cache without one is never read.
        write_atomically(folder / "manifest.json", lambda h: h.write(json.dumps(manifest).encode()))
    except OSError:
        pass  # a read-only cache directory only costs speed


def load_raw(
    data_dir: str | os.PathLike | None = None, cache_dir: Path | None | bool = None
) -> RawData:
    """Read and verify the four IDX files; `cache_dir=False` disables the .npy cache."""
    directory = find_data_dir(data_dir)
    files = _source_files(directory)
    folder = None
    if cache_dir is not False:
        folder = (cache_dir or default_cache_dir()) / _fingerprint(files)
        cached = _load_cache(folder, directory)
        if cached is not None:
            return cached
    train, shape = _read_split(directory, "train")
    test, test_shape = _read_split(directory, "test")
    if test_shape != shape:
        raise DataError(f"{files[2]}: images are {test_shape}, training images are {shape}")
    data = RawData(train=train, test=test, shape=shape, source=directory)
    if folder is not None:
        _write_cache(folder, data)
    return data


def load_test_set(data_dir: str | os.PathLike | None = None) -> tuple[RawSplit, tuple[int, int]]:
    """The test split alone and its (rows, cols), found like `load_raw`'s four files.

    All that evaluating or inspecting a saved model needs: the model carries its own
    Normalizer, so the training files need not be there. A folder holding only the two t10k
    files (the draw screen's saved digits) is a data set here; it is read every time, not
    cached. Errors are DataErrors naming the file, as in `load_raw`."""
    return _read_split(find_data_dir(data_dir), "test")


@dataclass(frozen=True)
class Normalizer:
    """x = pixel * scale + offset: [0, 1] scaling, or standardization to mean 0, std 1."""

    scale: float
    offset: float

    @classmethod
    def fit(cls, train_images: np.ndarray, standardize: bool) -> Normalizer:
        if not standardize:
            return cls(scale=1 / 255, offset=0.0)
        # From a histogram of the 256 pixel values, counted a block of rows at a time:
        # images.std() would build a float64 copy of the whole training set (345 MB for MNIST).
        counts = np.zeros(256, np.int64)
        for start in range(0, len(train_images), HISTOGRAM_ROWS):
            block = train_images[start : start + HISTOGRAM_ROWS]
            counts += np.bincount(block.reshape(-1), minlength=256)
        values = np.arange(256) / 255
        total = int(counts.sum())
        mean = float(counts @ values) / total
        std = math.sqrt(float(counts @ (values - mean) ** 2) / total)
        return cls(scale=1 / (255 * std), offset=-mean / std)

    def apply(self, pixels: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Scale uint8 pixels into the float buffer `out` without a temporary."""
        # Scalars of out's own type: with a Python float the multiply would run in float64
        # and convert, twice as slow.
        kind = out.dtype.type
        np.multiply(pixels, kind(self.scale), out=out)
        if self.offset:
            np.add(out, kind(self.offset), out=out)
        return out

    def to_dict(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test splits; validation is the last `val` training images."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]
    normalizer: Normalizer

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def split(raw: RawData, val: int = 5000, standardize: bool = False) -> Dataset:
    n = len(raw.train.images)
    if not 0 <= val < n:
        raise DataError(f"validation size {val} must be between 0 and {n - 1}")
    cut = n - val
    x_train = raw.train.images[:cut]
    return Dataset(
        x_train=x_train,
        y_train=raw.train.labels[:cut],
        x_val=raw.train.images[cut:],
        y_val=raw.train.labels[cut:],
        x_test=raw.test.images,
        y_test=raw.test.labels,
        shape=raw.shape,
        normalizer=Normalizer.fit(x_train, standardize),
    )


def load_dataset(
    data_dir: str | os.PathLike | None = None,
    val: int = 5000,
    standardize: bool = False,
    cache_dir: Path | None | bool = None,
) -> Dataset:
    return split(load_raw(data_dir, cache_dir), val=val, standardize=standardize)
