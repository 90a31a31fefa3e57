"""The IDX reader on arbitrary bytes (Hypothesis): random bytes, cuts and mutations of real MNIST
files, plain and gzipped. Whatever the bytes, the reader returns the array a well-formed file
holds or refuses any other with a one-line DataError naming the file, and holds no more memory
than the header declares (plus a few chunks)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_mnist.engine.data import read_idx
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import IMAGE_MAGIC, LABEL_MAGIC, SPLITS, shipped_data_dir, training_images
from tui_mnist.engine.memory import USABLE_FRACTION

AVAILABLE = 10**9  # bytes of memory the reader is told the machine has free
SLACK = 8 << 20  # bytes: the chunks read, inflated and hashed at a time, and Python's own
ITEMS = 3  # images or labels in a real file


def real_file(stem: str, magic: int) -> bytes:
    """The first ITEMS images (or labels) of a shipped MNIST file, as an IDX file of its own."""
    ndim = magic & 0xFF
    with gzip.open(shipped_data_dir() / f"{stem}.gz") as stream:
        header = stream.read(4 + 4 * ndim)
        item = math.prod(int.from_bytes(header[i : i + 4], "big") for i in range(8, 4 + 4 * ndim, 4))
        data = stream.read(ITEMS * item)
    return header[:4] + ITEMS.to_bytes(4, "big") + header[8:] + data


@pytest.fixture(autouse=True)
def small_machine(monkeypatch):
    """As if 1 GB were free, whatever this machine has: the most a hostile header can make the
    reader set aside is then 800 MB (untouched, but counted by tracemalloc), and the headers
    refused for their size are the same everywhere."""
    monkeypatch.setattr("tui_mnist.engine.memory.available_bytes", lambda: AVAILABLE)


REAL = {
    IMAGE_MAGIC: real_file(SPLITS["test"][0], IMAGE_MAGIC),
    LABEL_MAGIC: real_file(SPLITS["test"][1], LABEL_MAGIC),
}
magics = st.sampled_from(sorted(REAL))
containers = st.sampled_from(["plain", "gzip", "plain named .gz"])


def declared(content: bytes, magic: int) -> tuple[tuple[int, ...], bytes] | None:
    """The test's own reading of an IDX file: (dims, data) if `content` is a well-formed file
    of `magic`, else None. Also the dims its header declares, for the memory bound."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(content) < header or int.from_bytes(content[:4], "big") != magic:
        return None
    dims = tuple(int.from_bytes(content[i : i + 4], "big") for i in range(4, header, 4))
    return dims, content[header:]


def write(path: Path, content: bytes, container: str) -> Path:
    """`content` in a file under `path`'s folder: plain, gzipped, or plain but named .gz."""
    target = path.with_name(path.name + ("" if container == "plain" else ".gz"))
    target.write_bytes(gzip.compress(content, compresslevel=1) if container == "gzip" else content)
    return target


def check_read(tmp_path: Path, content: bytes, magic: int, container: str, peak_memory) -> None:
    """The property: read_idx returns exactly the array of a well-formed file and refuses
    anything else with a DataError naming the file, in memory bounded by the declared size."""
    for old in tmp_path.glob("file*"):
        old.unlink()
    path = write(tmp_path / "file", content, container)
    reading = declared(content, magic)
    well_formed = (
        container != "plain named .gz" and reading is not None and len(reading[1]) == math.prod(reading[0])
    )
    with peak_memory:
        try:
            array = read_idx(path, magic)
        except DataError as error:
            array, message = None, str(error)
            assert message.startswith(f"{path}: ") and "\n" not in message
    if well_formed:
        dims, data = reading
        assert array is not None and array.shape == dims
        assert array.tobytes() == data
    else:
        assert array is None
    size = math.prod(reading[0]) if reading else 0
    assert peak_memory.bytes < size + SLACK


@given(content=st.binary(max_size=64), prefix=st.booleans(), magic=magics, container=containers)
def test_random_bytes(tmp_path, peak_memory, content, prefix, magic, container):
    """Random bytes, and random bytes after the right magic number (to get past it)."""
    content = magic.to_bytes(4, "big") + content if prefix else content
    check_read(tmp_path, content, magic, container, peak_memory)


@given(data=st.data(), magic=magics, container=containers)
def test_cut_real_files(tmp_path, peak_memory, data, magic, container):
    real = REAL[magic]
    cut = data.draw(st.integers(0, len(real)), label="cut")
    check_read(tmp_path, real[:cut], magic, container, peak_memory)


@given(data=st.data(), magic=magics, container=containers)
def test_cut_gzip_streams(tmp_path, peak_memory, data, magic, container):
    """A real file gzipped and its compressed bytes cut short: never a valid stream."""
    stream = gzip.compress(REAL[magic])
    cut = data.draw(st.integers(0, len(stream) - 1), label="cut")
    path = tmp_path / "file.gz"
    path.write_bytes(stream[:cut])
    with pytest.raises(DataError, match=f"^{path}: "), peak_memory:
        read_idx(path, magic)
    assert peak_memory.bytes < len(REAL[magic]) + SLACK


# A header's dimension as a hostile file may write it: anything from 0 to 2**32 - 1.
dimensions = st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 64), st.sampled_from([0, 1, 2**16, 2**24, 2**32 - 1]))


def mutate(data, real: bytes) -> bytes:
    """A real file with bytes of its header flipped, dimensions replaced, its data cut short,
    bytes added after."""
    content = bytearray(real)
    ndim = real[3]
    for _ in range(data.draw(st.integers(0, 3), label="flips")):
        at = data.draw(st.integers(0, 4 + 4 * ndim - 1), label="at")
        content[at] ^= data.draw(st.integers(1, 255), label="xor")
    for _ in range(data.draw(st.integers(0, ndim), label="dims replaced")):
        at = 4 + 4 * data.draw(st.integers(0, ndim - 1), label="dim")
        content[at : at + 4] = data.draw(dimensions, label="value").to_bytes(4, "big")
    cut = data.draw(st.integers(4 + 4 * ndim, len(content)), label="cut")
    return bytes(content[:cut]) + data.draw(st.binary(max_size=8), label="added")


@given(data=st.data(), magic=magics, container=containers)
def test_mutated_real_files(tmp_path, peak_memory, data, magic, container):
    check_read(tmp_path, mutate(data, REAL[magic]), magic, container, peak_memory)


@given(data=st.data(), container=st.sampled_from(["plain", "gzip"]))
def test_mutated_training_headers_in_the_settings_form(tmp_path, data, container):
    """What the settings form reads on each key press: the header of the training images only.
    It gives (images, pixels) for a header of images with pixels, else a DataError."""
    content = mutate(data, REAL[IMAGE_MAGIC])
    for old in tmp_path.glob("*"):
        old.unlink()
    path = write(tmp_path / SPLITS["train"][0], content, container)
    reading = declared(content, IMAGE_MAGIC)
    try:
        found = training_images(tmp_path)
    except DataError as error:
        found = None
        assert str(error).startswith(f"{path}: ")
    if reading is None or 0 in reading[0] or math.prod(reading[0]) > USABLE_FRACTION * AVAILABLE:
        assert found is None
    else:
        count, rows, cols = reading[0]
        assert found == (count, rows * cols)


def test_real_files_read_as_themselves(tmp_path, peak_memory):
    """The oracle's premise: the unmutated real files are well-formed and read back."""
    check_read(tmp_path, REAL[IMAGE_MAGIC], IMAGE_MAGIC, "gzip", peak_memory)
    assert read_idx(tmp_path / "file.gz", IMAGE_MAGIC).shape == (ITEMS, 28, 28)
    np.testing.assert_array_equal(
        read_idx(write(tmp_path / "labels", REAL[LABEL_MAGIC], "plain"), LABEL_MAGIC), [7, 2, 1]
    )
