"""The user's own digits: drawings appended, with their labels, to IDX files of MNIST's layout
named like its test files, so that anything reading MNIST reads them."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import numpy as np

from tui_mnist.engine.data import read_idx
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.files import write_atomically
from tui_mnist.engine.idx import IMAGE_MAGIC, LABEL_MAGIC, SPLITS
from tui_mnist.engine.preprocess import FIELD

_saving = threading.Lock()  # two quick saves must not both append to the same old file


def _idx_file(folder: Path, stem: str) -> Path:
    """The file for `stem` in `folder`: a gzipped one if that is what is there."""
    gzipped = folder / f"{stem}.gz"
    return gzipped if gzipped.is_file() else folder / stem


def _read_or_empty(path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    return read_idx(path, magic) if path.is_file() else np.zeros((0, *shape), np.uint8)


def _write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    content = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if path.suffix == ".gz":
        content = gzip.compress(content)
    write_atomically(path, lambda stream: stream.write(content))


def append_digit(folder: Path, image: np.ndarray, label: int) -> int:
    """Append one (28, 28) uint8 image and its label to the MNIST test-layout IDX files in
    `folder` (created if need be); returns how many digits the folder holds now.

    Each file is replaced atomically. A file that is not a readable IDX file of 28x28 images
    (or of as many labels) is a DataError naming it, and nothing is written."""
    image_stem, label_stem = SPLITS["test"]
    with _saving:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(f"{folder}: cannot create ({error.strerror})") from None
        images_path, labels_path = _idx_file(folder, image_stem), _idx_file(folder, label_stem)
        images = _read_or_empty(images_path, IMAGE_MAGIC, (FIELD, FIELD))
        labels = _read_or_empty(labels_path, LABEL_MAGIC, ())
        if images.ndim != 3 or images.shape[1:] != (FIELD, FIELD):
            raise DataError(f"{images_path}: holds images of {images.shape[1:]}, not 28x28")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}"
            )
        images = np.concatenate([images, np.asarray(image, np.uint8).reshape(1, FIELD, FIELD)])
        labels = np.concatenate([labels, np.array([label], np.uint8)])
        try:
            # Images first: cut short between the two, the files disagree (a clear error at
            # the next read) rather than a label standing for no image.
            _write_idx(images_path, IMAGE_MAGIC, images)
            _write_idx(labels_path, LABEL_MAGIC, labels)
        except OSError as error:
            raise DataError(f"{folder}: cannot write ({error.strerror or error})") from None
        return len(labels)
