"""Hostile data files (issue 14): each is refused by a one-line DataError naming the file, never a
traceback, and costs no more memory than its header declares: a gzip bomb, a header claiming more
than memory, dimensions past 2**64, images without pixels, an empty --data-dir, a huge file to
fingerprint, files that are not what their name says."""

from __future__ import annotations

import gzip
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from tui_mnist.engine.data import load_raw
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import (
    DATA_ENV,
    IMAGE_MAGIC,
    SPLITS,
    find_data_dir,
    shipped_data_dir,
    training_images,
)

TRAIN_IMAGES, TRAIN_LABELS = SPLITS["train"]
MIB = 1 << 20
# A gzip member header: magic, deflate, no flags, no time, best compression, unknown system.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def idx_header(magic: int, *dims: int) -> bytes:
    return struct.pack(f">{1 + len(dims)}I", magic, *dims)


def write_bomb(path: Path, header: bytes, zero_mib: int) -> None:
    """A valid gzip file of `header` then `zero_mib` MiB of zeros, about 1 kB on disk per MiB: one
    deflated MiB of zeros written again and again (a full flush makes each copy stand alone)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(MIB)
    start = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    with path.open("wb") as out:
        out.write(GZIP_HEADER + start)
        for _ in range(zero_mib):
            out.write(block)
            crc = zlib.crc32(zeros, crc)
        out.write(deflate.flush())
        out.write(struct.pack("<II", crc, (len(header) + zero_mib * MIB) % 2**32))


@pytest.fixture
def data(tmp_path, small_data) -> Path:
    """A copy of the small data set (plain IDX files), for a test to spoil one file of."""
    return Path(shutil.copytree(small_data, tmp_path / "data"))


def refusal(directory: Path) -> str:
    """The one-line DataError that loading `directory` ends in (with a cache, so the source
    files are fingerprinted too)."""
    with pytest.raises(DataError) as caught:
        load_raw(directory, cache_dir=directory.parent / "cache")
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- sizes: read what the header declares, no more, and only if memory can hold it -------------


def test_the_bomb_helper_writes_a_valid_gzip_file(tmp_path):
    path = tmp_path / "bomb.gz"
    write_bomb(path, b"head", 3)
    assert gzip.decompress(path.read_bytes()) == b"head" + bytes(3 * MIB)


def test_a_gzip_bomb_is_refused_after_the_bytes_its_header_declares(data, peak_memory):
    """9 MB inflating to 2 GiB took 20 s or more and 4.2 GB to refuse, when the whole file was inflated
    before its header was looked at."""
    bomb = data / f"{TRAIN_IMAGES}.gz"  # read rather than the plain file beside it
    write_bomb(bomb, idx_header(IMAGE_MAGIC, 60000, 28, 28), 2048)
    assert bomb.stat().st_size < 3e6
    with peak_memory:
        message = refusal(data)
    assert message == f"{bomb}: trailing data after the 47040000 bytes the header declares"
    # The 47 MB the header declares and a few chunks read at a time, not the 2 GiB it inflates to.
    assert peak_memory.bytes < 47_040_000 + 8 * MIB


def test_a_truncated_file_says_how_much_it_holds(data):
    path = data / f"{TRAIN_IMAGES}.gz"
    path.write_bytes(gzip.compress(idx_header(IMAGE_MAGIC, 60000, 28, 28) + bytes(1000)))
    assert refusal(data) == f"{path}: truncated (1000 of 47040000 bytes)"


@pytest.mark.parametrize("suffix", ["", ".gz"], ids=["plain", "gzip"])
def test_a_header_claiming_more_than_memory_is_refused_before_any_data(data, peak_memory, suffix):
    path = data / (TRAIN_IMAGES + suffix)
    header = idx_header(IMAGE_MAGIC, 2**32 - 1, 4096, 4096)
    path.write_bytes(gzip.compress(header) if suffix else header)
    with peak_memory:
        message = refusal(data)
    assert message.startswith(f"{path}: header claims 72057594.0 GB of data (4294967295x4096x4096 bytes), ")
    assert message.endswith(" that can be used here")
    assert peak_memory.bytes < 5e6


def test_the_memory_limit_is_the_machines(data, monkeypatch):
    """The figure the memory guard uses for networks (engine.memory): here 1 MB available, so
    the 2.4 MB of the small data set's training images are too much."""
    monkeypatch.setattr("tui_mnist.engine.memory.available_bytes", lambda: 1_000_000)
    assert refusal(data) == (
        f"{data / TRAIN_IMAGES}: header claims 2 MB of data (3000x28x28 bytes), "
        "more than the 1 MB that can be used here"
    )


def test_a_failed_allocation_is_a_data_error(data, monkeypatch):
    """A header within what memory.available_bytes reports, but more than can be allocated."""
    monkeypatch.setattr("tui_mnist.engine.memory.available_bytes", lambda: 2**70)
    path = data / TRAIN_IMAGES
    path.write_bytes(idx_header(IMAGE_MAGIC, 2**28, 2**16, 2**16))
    assert refusal(data) == f"{path}: no memory for the {2**60} bytes its header declares"


def test_dimensions_multiplying_past_2_64_are_refused(data):
    path = data / TRAIN_IMAGES
    path.write_bytes(idx_header(IMAGE_MAGIC, 65536, 16777216, 16777216))
    expected = f"{path}: header claims 18446744073.7 GB of data (65536x16777216x16777216 bytes)"
    assert refusal(data).startswith(expected)
    with pytest.raises(DataError, match=r"header claims 18446744073\.7 GB of data"):
        training_images(data)


# --- contents: images with pixels, folders that are named --------------------------------------


@pytest.mark.parametrize(
    "dims, problem",
    [((0, 28, 28), "holds no images"), ((3000, 0, 28), "images of 0x28 pixels are empty"),
     ((3000, 28, 0), "images of 28x0 pixels are empty")],
    ids=["no-images", "no-rows", "no-columns"],
)
def test_images_without_pixels_are_refused(data, dims, problem):
    """No rows or columns ended in a ZeroDivisionError when the network was initialised."""
    path = data / TRAIN_IMAGES
    path.write_bytes(idx_header(IMAGE_MAGIC, *dims))
    assert refusal(data) == f"{path}: {problem}"
    with pytest.raises(DataError, match=f"^{path}: {problem}$"):
        training_images(data)


def test_an_empty_data_dir_flag_is_refused():
    """It used to mean the shipped MNIST, silently."""
    with pytest.raises(DataError, match=r"^--data-dir is empty: name a folder"):
        find_data_dir("")
    with pytest.raises(DataError, match=r"^--data-dir is empty"):
        training_images("")


def test_an_empty_environment_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv(DATA_ENV, "")
    assert find_data_dir() == shipped_data_dir()


def test_a_folder_name_too_long_to_look_up_is_a_data_error():
    with pytest.raises(DataError, match=r"x: cannot be looked up \(File name too long\)$"):
        training_images("x" * 5000)


# --- reading: the fingerprint in chunks, broken files as DataErrors ------------------------------


def test_the_cache_fingerprint_reads_a_huge_file_a_chunk_at_a_time(data, peak_memory):
    """The fingerprint hashed each file read whole: a file's size in memory before its header
    was even looked at."""
    path = data / TRAIN_LABELS
    with path.open("r+b") as stream:
        stream.truncate(128 * MIB)  # a hole: no disk space, zeros to read
    with peak_memory:
        message = refusal(data)
    assert message == f"{path}: trailing data after the 3000 bytes the header declares"
    assert peak_memory.bytes < 16 * MIB


def labels_gzip(data: Path) -> bytes:
    return gzip.compress((data / TRAIN_LABELS).read_bytes())


def bad_crc(data: Path) -> bytes:
    content = bytearray(labels_gzip(data))
    content[-8] ^= 0xFF
    return bytes(content)


@pytest.mark.parametrize(
    "content, reason",
    [
        (lambda data: (data / TRAIN_LABELS).read_bytes(), r"Not a gzipped file \(b'\\x00\\x00'\)"),
        (lambda data: GZIP_HEADER + b"\x07", "Error -3 while decompressing data: invalid block type"),
        (bad_crc, "CRC check failed 0x[0-9a-f]+ != 0x[0-9a-f]+"),
        (lambda data: labels_gzip(data) + b"junk", "Not a gzipped file \\(b'ju'\\)"),
    ],
    ids=["not-gzip", "bad-deflate", "bad-crc", "junk-after-gzip"],
)
def test_a_broken_gzip_file_is_a_data_error(data, content, reason):
    path = data / f"{TRAIN_LABELS}.gz"
    path.write_bytes(content(data))
    assert re.fullmatch(rf"{re.escape(str(path))}: cannot read \({reason}\)", refusal(data))
