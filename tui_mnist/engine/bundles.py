"""npz bundles of named arrays plus JSON metadata, never pickled.

Reading trusts nothing in the file and reads it in this order: the zip's list of entries (a
name twice is refused), every array's npy header (bounded, before any data), the metadata (a
0-d text array, size-capped), then the caller's `Layout` judges the metadata and the declared
names, dtypes and shapes, and what the arrays declare must fit in memory. Only then is data
read, chunk by chunk into the arrays themselves, never past what a header declares. Every
refusal is a one-line ModelFileError "PATH: FIELD ...".
"""

from __future__ import annotations

import json
import math
import reprlib
import tokenize
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np

from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.files import write_atomically
from tui_mnist.engine.memory import beyond_usable, size_text

META_KEY = "__meta__"
NPY_SUFFIX = ".npy"  # np.savez stores array NAME as the zip entry NAME.npy
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARK = b"\x80"
# The metadata's text in the file, UTF-32: 1M characters. A checkpoint's (its run history
# included) takes about 30 KB; the cap bounds what json.loads builds from a hostile one.
META_LIMIT = 1 << 22
HEADER_LIMIT = 10_000  # bytes of one npy header: numpy's own default cap (max_header_size)
HEADER_READERS = {(1, 0): (2, np.lib.format.read_array_header_1_0),
                  (2, 0): (4, np.lib.format.read_array_header_2_0)}  # length field bytes, parser
READ_CHUNK = 1 << 20  # bytes read at a time: the one buffer besides the array itself
NUMBER_KINDS = "biuf"  # bool, ints, floats: no complex, text, records or (pickled) objects
# What the header parser can raise on hostile bytes: literal_eval's SyntaxError and
# RecursionError, the Python 2 fallback's tokenize.TokenError, ValueError for the rest.
HEADER_ERRORS = (ValueError, TypeError, KeyError, SyntaxError, RecursionError, MemoryError,
                 tokenize.TokenError)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
              RuntimeError, NotImplementedError)  # runtime: encrypted; not implemented: a codec


@dataclass(frozen=True)
class Declared:
    """An array as its npy header declares it, before any of its data is read."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes before the data: magic, header length, header

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


# Judges a bundle's metadata and its declared arrays before any data is read: raises a
# ModelFileError for anything the file format does not have.
Layout = Callable[[Path, dict, dict[str, Declared]], None]


def save_bundle(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Arrays by name plus a JSON document, as one .npz written atomically."""
    payload = dict(arrays)
    payload[META_KEY] = np.array(json.dumps(meta))
    write_atomically(Path(path), lambda stream: np.savez(stream, **payload))


def load_bundle(path: Path, layout: Layout | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Read a bundle written by `save_bundle`: arrays of numbers by name and the metadata,
    both judged by `layout` (without one, any arrays of numbers). A ModelFileError otherwise."""
    path = Path(path)
    _check_kind(path)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = _entries(path, archive)
            declared = {name: _read_header(path, archive, name, info) for name, info in entries.items()}
            if META_KEY not in declared:
                raise ModelFileError(f"{path}: not a tui-mnist file (no metadata)")
            meta = _read_meta(path, archive, entries[META_KEY], declared.pop(META_KEY))
            if layout is not None:
                layout(path, meta, declared)
            check_memory(path, sum(d.nbytes for d in declared.values()), "its arrays")
            arrays = {name: _read_data(archive, entries[name], d) for name, d in declared.items()}
    except ZIP_ERRORS as error:
        raise ModelFileError(f"{path}: corrupt or truncated ({one_line(error)})") from None
    return arrays, meta


def load_versioned_bundle(
    path: Path, expected_format: str, version: int, kind: str, layout: Layout
) -> tuple[dict[str, np.ndarray], dict]:
    """`load_bundle`, refusing a file of another format or of a version this code cannot read
    before `layout` judges it."""

    def versioned(path: Path, meta: dict, declared: dict[str, Declared]) -> None:
        if meta.get("format") != expected_format:
            raise ModelFileError(f"{path}: not a tui-mnist {kind}")
        if meta.get("version") != version:
            raise ModelFileError(
                f"{path}: {kind} version {short(meta.get('version'))} is not supported "
                f"(this tui-mnist reads version {version})"
            )
        layout(path, meta, declared)

    return load_bundle(path, versioned)


def check_memory(path: Path, needed: int, what: str) -> None:
    """A ModelFileError unless `needed` bytes fit in what the memory guard lets a run use."""
    beyond = beyond_usable(needed)
    if beyond:
        raise ModelFileError(f"{path}: {what} would take {size_text(needed)}, {beyond}")


def refuse_others(path: Path, declared: Iterable[str], known: set[str], kind: str) -> None:
    for name in declared:
        if name not in known:
            raise ModelFileError(f"{path}: holds an array {named(name)} that a {kind} does not have")


# --- the metadata's schema: one table of fields per file format ------------------------------


@dataclass(frozen=True)
class Field:
    """One metadata entry: its dotted name, what it must be (as the refusal says it), its test."""

    name: str
    must_be: str
    test: Callable[[object], bool]


def check_fields(path: Path, meta: dict, fields: Iterable[Field]) -> None:
    """"PATH: FIELD must be ... (got ...)" for the first field of `fields` that fails its test."""
    for field in fields:
        value: object = meta
        for key in field.name.split("."):
            if not isinstance(value, dict) or key not in value:
                raise ModelFileError(f"{path}: {field.name} is missing")
            value = value[key]
        if not field.test(value):
            raise ModelFileError(f"{path}: {field.name} must be {field.must_be} (got {short(value)})")


def whole(low: int, high: int = 2**53) -> Callable[[object], bool]:
    """An int (not a bool) in [low, high]; 2**53: the largest any JSON reader keeps exact."""
    return lambda value: type(value) is int and low <= value <= high


def number(low: float, high: float, above_low: bool = False) -> Callable[[object], bool]:
    """A finite int or float in [low, high], or in (low, high] when `above_low`."""

    def test(value: object) -> bool:
        if type(value) not in (int, float) or not math.isfinite(value):
            return False
        return (low < value if above_low else low <= value) and value <= high

    return test


def one_of(choices: Iterable[str]) -> Callable[[object], bool]:
    names = frozenset(choices)
    return lambda value: isinstance(value, str) and value in names


def is_object(value: object) -> bool:
    return isinstance(value, dict)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def short(value: object) -> str:
    """A value as a refusal quotes it: one line, cut short."""
    return _SHORT.repr(value)


def named(name: str) -> str:
    """An entry's name as a refusal says it: as is when it is plain, else quoted and cut short."""
    return name if name.isprintable() and len(name) <= 40 else short(name)


def one_line(error: BaseException) -> str:
    """An error's text on one line, cut short: numpy quotes a whole bad header."""
    text = " ".join(str(error).split())
    return text if len(text) <= 100 else text[:97] + "..."


# --- reading ---------------------------------------------------------------------------------


def _check_kind(path: Path) -> None:
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        with path.open("rb") as stream:
            head = stream.read(len(ZIP_MAGIC))
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror or error})") from None
    if head.startswith(PICKLE_PROTOCOL_MARK):
        raise ModelFileError(f"{path}: holds pickled data, which is refused")
    if head != ZIP_MAGIC:
        raise ModelFileError(f"{path}: not a tui-mnist .npz file")


def _entries(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's entries by array name; an entry twice (np.load would keep one of them
    silently) or one that is not an .npy is refused."""
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(NPY_SUFFIX)
        if name == info.filename or info.is_dir():
            raise ModelFileError(f"{path}: entry {named(info.filename)} is not an array (.npy)")
        if name in entries:
            raise ModelFileError(f"{path}: holds the array {named(name)} twice")
        entries[name] = info
    return entries


def _read_header(path: Path, archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> Declared:
    """The array's npy header, read and checked without reading more than HEADER_LIMIT bytes."""
    with archive.open(info) as stream:
        start = stream.read(8)  # magic string and version
        version = tuple(start[6:8])
        if start[:6] != np.lib.format.MAGIC_PREFIX or version not in HEADER_READERS:
            raise ModelFileError(f"{path}: {named(name)} is not an npy array (bad magic or version)")
        length_bytes, parse = HEADER_READERS[version]
        length_field = stream.read(length_bytes)
        length = int.from_bytes(length_field, "little")
        if length > HEADER_LIMIT:
            raise ModelFileError(f"{path}: {named(name)} has an npy header of {length} bytes")
        text = stream.read(length)  # a short read is the parser's to refuse
    try:
        header = BytesIO(start + length_field + text)
        np.lib.format.read_magic(header)
        shape, fortran_order, dtype = parse(header, max_header_size=HEADER_LIMIT)
    except HEADER_ERRORS as error:
        raise ModelFileError(f"{path}: {named(name)} has a malformed npy header ({one_line(error)})") from None
    if dtype.hasobject:
        raise ModelFileError(f"{path}: holds pickled data, which is refused ({named(name)} is an object array)")
    if name != META_KEY and dtype.kind not in NUMBER_KINDS:
        raise ModelFileError(f"{path}: {named(name)} holds {dtype}, not real numbers")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ModelFileError(f"{path}: {named(name)} declares the shape {short(shape)}")
    declared = Declared(tuple(shape), dtype, fortran_order, 8 + length_bytes + length)
    if info.file_size != declared.offset + declared.nbytes:
        raise ModelFileError(
            f"{path}: {named(name)} is {info.file_size} bytes in the zip, its npy header "
            f"declares {declared.offset + declared.nbytes}"
        )
    return declared


def _read_meta(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, declared: Declared) -> dict:
    if declared.dtype.kind != "U" or declared.shape != ():
        raise ModelFileError(f"{path}: {META_KEY} is not a text (it holds {declared.dtype} {declared.shape})")
    if declared.nbytes > META_LIMIT:
        raise ModelFileError(
            f"{path}: {META_KEY} takes {size_text(declared.nbytes)}, over the {size_text(META_LIMIT)} metadata may"
        )
    text = _read_data(archive, info, declared).item()
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as error:  # ValueError: JSON syntax, or an int of 5000 digits
        raise ModelFileError(f"{path}: metadata is not valid JSON ({one_line(error)})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: metadata is not a JSON object")
    return meta


def _read_data(archive: zipfile.ZipFile, info: zipfile.ZipInfo, declared: Declared) -> np.ndarray:
    """The array's data, read into the array itself a chunk at a time; reading on to the
    entry's end (zero bytes more: the sizes agree) makes zipfile check the entry's CRC."""
    raw = np.empty(declared.nbytes, np.uint8)
    view = memoryview(raw)
    with archive.open(info) as stream:
        stream.read(declared.offset)
        done = 0
        while done < declared.nbytes:
            chunk = stream.read(min(READ_CHUNK, declared.nbytes - done))
            if not chunk:
                raise EOFError(f"{info.filename} ends after {done} of {declared.nbytes} bytes")
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
        if stream.read(1):
            raise zipfile.BadZipFile(f"{info.filename} is longer than its header declares")
    order = "F" if declared.fortran_order else "C"
    return raw.view(declared.dtype).reshape(declared.shape, order=order)
