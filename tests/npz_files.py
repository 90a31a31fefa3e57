"""Hand-made .npz files for the tests of what reading refuses: any entries, in any order, twice
if wanted, with any npy header; and the metadata of a valid model file and checkpoint."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.model_io import MODEL_FORMAT, MODEL_VERSION

SIZES = [6, 5, 3]
CONFIG = TrainConfig(hidden=(5,), epochs=3)


def npy(array: np.ndarray) -> bytes:
    """An array as np.save writes it (object arrays pickled, as np.savez would)."""
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.asanyarray(array), allow_pickle=True)
    return stream.getvalue()


def npy_with_header(header: str | bytes, data: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    """An npy entry whose header text is `header`, as given."""
    text = header.encode("latin1") if isinstance(header, str) else header
    width = 2 if version == b"\x01\x00" else 4
    return b"\x93NUMPY" + version + len(text).to_bytes(width, "little") + text + data


def meta_npy(meta: object) -> bytes:
    return npy(np.array(json.dumps(meta)))


def write_npz(path: Path, entries: list[tuple[str, bytes]], compress: bool = False) -> Path:
    """An .npz of the (entry name, bytes) given, in order; a name given twice is written twice."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name, and writes it
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def network_arrays(sizes=SIZES, dtype=np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        arrays[f"W{i}"] = rng.standard_normal((fan_in, fan_out)).astype(dtype)
        arrays[f"b{i}"] = rng.standard_normal(fan_out).astype(dtype)
    return arrays


def model_meta(sizes=SIZES) -> dict:
    return {"format": MODEL_FORMAT, "version": MODEL_VERSION, "sizes": list(sizes),
            "activation": "relu", "dtype": "float32", "normalizer": {"scale": 1 / 255, "offset": 0.0},
            "config": {}, "results": {}}


def checkpoint_meta(sizes=SIZES) -> dict:
    config = CONFIG.with_changes(hidden=tuple(sizes[1:-1]))
    return {**model_meta(sizes), "format": "tui-mnist-checkpoint", "config": config.to_dict(),
            "optimizer": config.optimizer, "epoch": 1, "step": 10, "samples": 1000, "seconds": 1.5,
            "lr_scale": 1.0, "rng": np.random.default_rng(0).bit_generator.state, "extra": {}}


def checkpoint_arrays(sizes=SIZES) -> dict[str, np.ndarray]:
    arrays = network_arrays(sizes)
    return {**arrays, **{f"opt_velocity{i}": np.zeros_like(a) for i, a in enumerate(arrays.values())}}


def write_bundle(path: Path, arrays: dict[str, np.ndarray], meta: object) -> Path:
    """What save_bundle writes, from any metadata and arrays (object arrays included)."""
    return write_npz(path, [*((f"{name}.npy", npy(a)) for name, a in arrays.items()),
                            ("__meta__.npy", meta_npy(meta))])
