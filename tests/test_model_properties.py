"""The model and checkpoint loaders on random .npz contents (Hypothesis): metadata fields of
every JSON type, arrays of random dtype, shape and bytes, extra and duplicate entries, random npy
header bytes, in any order. Whatever the file holds, loading gives a valid network or a
one-line ModelFileError naming the file, never another exception, in bounded memory."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from npz_files import checkpoint_arrays, checkpoint_meta, meta_npy, model_meta, network_arrays, npy, write_npz

from tui_mnist.engine.checkpoint import Checkpoint, load_checkpoint
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.model_io import SavedModel, load_model

PEAK_LIMIT = 2 << 20  # bytes: the files are a few KB; reading one takes a few chunks of them


def strings(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    """Text from a few characters, without st.text: that caches Unicode tables in a .hypothesis
    folder of the checkout."""
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map("".join)


texts = strings("ax\"'\\{}[]:,\n\x00é€\U0001f600", 6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
DTYPES = ["<f2", "<f4", ">f8", "<i4", "|u1", "|b1", "<c8", "<U2", "|S2", "<f4,<i2", "|O"]


@st.composite
def arrays(draw) -> bytes:
    """An npy entry of a random dtype and shape, its numbers random bytes (NaN, inf, 1e38...)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 7), max_size=3)))
    if dtype.hasobject:
        return npy(np.full(shape, None, dtype))
    size = int(np.prod(shape)) * dtype.itemsize
    return npy(np.frombuffer(draw(st.binary(min_size=size, max_size=size)), dtype).reshape(shape))


header_texts = strings("{}()[]'\":,<>|fiuUObS0123456789 -.\\\ndescrshapefortran_orderTrueFalse", 80)
npy_headers = st.one_of(
    st.binary(max_size=40),  # after the magic string: anything
    st.tuples(st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00"]), header_texts).map(
        lambda vt: vt[0] + len(vt[1]).to_bytes(2 if vt[0] == b"\x01\x00" else 4, "little") + vt[1].encode()
    ),
).map(lambda tail: b"\x93NUMPY" + tail)


def changed(meta: dict, path: str, value: object, delete: bool) -> dict:
    """`meta` with the dotted field `path` set to `value` (or deleted), if its parent is an object."""
    meta = json.loads(json.dumps(meta))  # a deep copy
    *parents, key = path.split(".")
    parent = meta
    for name in parents:
        parent = parent.get(name) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        if delete:
            parent.pop(key, None)
        else:
            parent[key] = value
    return meta


@st.composite
def npz_entries(draw, meta: dict, arrays_by_name: dict) -> list[tuple[str, bytes]]:
    fields = [*meta, "normalizer.scale", "normalizer.offset", "config.epochs", "config.hidden",
              "rng.state", "rng.bit_generator"]
    for path in draw(st.lists(st.sampled_from(fields), unique=True, max_size=3)):
        meta = changed(meta, path, draw(json_values), draw(st.booleans()))
    entries = {f"{name}.npy": npy(array) for name, array in arrays_by_name.items()}
    for name in draw(st.lists(st.sampled_from(sorted(entries)), unique=True, max_size=2)):
        entries[name] = draw(arrays())
    meta_entry = draw(st.one_of(st.just(meta_npy(meta)), texts.map(lambda t: npy(np.array(t)))))
    listed = [*entries.items(), ("__meta__.npy", meta_entry)]
    names = st.sampled_from(["W0.npy", "b1.npy", "__meta__.npy", "opt_velocity0.npy", "spare.npy", "notes.txt"])
    listed += draw(st.lists(st.tuples(names, arrays()), max_size=2))
    if draw(st.booleans()):
        i = draw(st.integers(0, len(listed) - 1))
        listed[i] = (listed[i][0], draw(npy_headers))
    return draw(st.permutations(listed))


def outcome(load, path):
    """What loading `path` gives: a ModelFileError is returned, any other exception raised."""
    try:
        return load(path)
    except ModelFileError as error:
        return error


def assert_loaded_or_refused(load, kind, path, peak_memory) -> None:
    """Loading `path` gives a `kind` whose weights are finite and sane, or a one-line
    ModelFileError naming the file, and stays in bounded memory."""
    with peak_memory:
        result = outcome(load, path)
    refused = isinstance(result, ModelFileError) and str(result).startswith(f"{path}: ") and "\n" not in str(result)
    loaded = isinstance(result, kind) and all(
        np.isfinite(p).all() and np.abs(p).max() <= 1e6 for p in result.network.parameters
    )
    assert refused or loaded, result
    assert peak_memory.bytes < PEAK_LIMIT


@given(entries=npz_entries(model_meta(), network_arrays()))
def test_any_npz_loads_as_a_valid_model_or_is_refused(tmp_path, peak_memory, entries):
    assert_loaded_or_refused(load_model, SavedModel, write_npz(tmp_path / "model.npz", entries), peak_memory)


@given(entries=npz_entries(checkpoint_meta(), checkpoint_arrays()))
def test_any_npz_loads_as_a_valid_checkpoint_or_is_refused(tmp_path, peak_memory, entries):
    path = write_npz(tmp_path / "epoch-0001.npz", entries)
    assert_loaded_or_refused(load_checkpoint, Checkpoint, path, peak_memory)
