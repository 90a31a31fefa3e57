"""Hostile model and checkpoint files (issue 14): each is a one-line ModelFileError naming the
file and the field, read with bounded memory; never a traceback, never a silent acceptance."""

from __future__ import annotations

import math
import re
import zipfile

import numpy as np
import pytest
from fakes import tui_mnist
from npz_files import (
    checkpoint_arrays,
    checkpoint_meta,
    meta_npy,
    model_meta,
    network_arrays,
    npy,
    npy_with_header,
    write_bundle,
    write_npz,
)

from tui_mnist.engine.bundles import load_bundle
from tui_mnist.engine.checkpoint import load_checkpoint, optimizer_state_shapes
from tui_mnist.engine.choices import OPTIMIZER_NAMES
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.model_io import check_fits_data, load_model
from tui_mnist.engine.optimizers import make_optimizer

NAN = float("nan")


def refusal(load, path) -> str:
    with pytest.raises(ModelFileError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def with_meta(**changes) -> dict:
    return {**model_meta(), **changes}


def with_arrays(**changes) -> dict:
    return {**network_arrays(), **changes}


def spoiled_normalizer(**changes) -> dict:
    return with_meta(normalizer={**model_meta()["normalizer"], **changes})


# --- the metadata, against the one schema ---------------------------------------------------

META_CASES = {
    "activation as a list": (with_meta(activation=["relu"]),
                             "activation must be one of .* \\(got \\['relu'\\]\\)"),
    "scale as text": (spoiled_normalizer(scale="x"),
                      "normalizer.scale must be a finite number > 0 and <= 1000 \\(got 'x'\\)"),
    "scale NaN": (spoiled_normalizer(scale=NAN), "normalizer.scale must be a finite number > 0"),
    "scale zero": (spoiled_normalizer(scale=0), "normalizer.scale must be a finite number > 0"),
    "offset infinite": (spoiled_normalizer(offset=math.inf), "normalizer.offset must be a finite number"),
    "normalizer with more": (spoiled_normalizer(mean=0.5), "normalizer must be an object of scale and offset"),
    "no normalizer": ({k: v for k, v in model_meta().items() if k != "normalizer"}, "normalizer is missing"),
    "hidden width 0": (with_meta(sizes=[6, 0, 3]), "sizes must be a list of 2 or more whole numbers >= 1"),
    "width as a float": (with_meta(sizes=[6, 5.0, 3]), "sizes must be a list of 2 or more whole numbers"),
    "one layer size": (with_meta(sizes=[6]), "sizes must be a list of 2 or more"),
    "dtype float16": (with_meta(dtype="float16"), "dtype must be one of float32, float64 \\(got 'float16'\\)"),
    "config a list": (with_meta(config=[]), "config must be an object \\(got \\[\\]\\)"),
    "results text": (with_meta(results="good"), "results must be an object"),
    "version as a list": (with_meta(version=[1]), "model file version \\[1\\] is not supported"),
}


@pytest.mark.parametrize("meta, expected", META_CASES.values(), ids=META_CASES.keys())
def test_metadata_outside_the_schema_is_refused_naming_the_field(tmp_path, meta, expected):
    path = write_bundle(tmp_path / "model.npz", network_arrays(), meta)
    assert re.search(expected, refusal(load_model, path))


def test_a_long_hostile_value_is_quoted_cut_short(tmp_path):
    path = write_bundle(tmp_path / "model.npz", network_arrays(), with_meta(activation="x\n" * 10_000))
    message = refusal(load_model, path)
    assert "activation must be one of" in message and len(message) < len(str(path)) + 200


# --- the arrays, against the architecture ---------------------------------------------------

ARRAY_CASES = {
    "W0 as text": (with_arrays(W0=np.full((6, 5), "1.0")), "W0 holds <U3, not real numbers"),
    "W0 structured": (with_arrays(W0=np.zeros((6, 5), [("a", "<f4")])), "W0 holds .*, not real numbers"),
    "W0 complex": (with_arrays(W0=np.zeros((6, 5), np.complex64)), "W0 holds complex64, not real numbers"),
    "W0 int": (with_arrays(W0=np.ones((6, 5), np.int64)), "W0 must hold floating-point numbers \\(got int64\\)"),
    "W0 bool": (with_arrays(W0=np.ones((6, 5), bool)), "W0 must hold floating-point numbers \\(got bool\\)"),
    "W0 of objects": (with_arrays(W0=np.array([None, {"evil": True}])), "holds pickled data, which is refused"),
    "b1 NaN": (with_arrays(b1=np.array([0, NAN, 0], np.float32)), "b1 holds non-finite numbers"),
    "W1 infinite": (with_arrays(W1=np.full((5, 3), -np.inf, np.float32)), "W1 holds non-finite numbers"),
    "weights near 1e38": (with_arrays(W0=np.full((6, 5), 1e38, np.float32)),
                          "W0 holds 1e\\+38, beyond the \\+-1e\\+06"),
    "W0 transposed": (with_arrays(W0=np.zeros((5, 6), np.float32)), "layer 0 has shape \\(5, 6\\)/\\(5,\\), the arch"),
    "an unused array": (with_arrays(spare=np.zeros(4)), "holds an array spare that a model file does not have"),
}


@pytest.mark.parametrize("arrays, expected", ARRAY_CASES.values(), ids=ARRAY_CASES.keys())
def test_arrays_that_do_not_fit_the_architecture_are_refused_naming_the_array(tmp_path, arrays, expected):
    path = write_bundle(tmp_path / "model.npz", arrays, model_meta())
    assert re.search(expected, refusal(load_model, path))


def test_weights_of_other_floating_types_load_as_the_models_dtype(tmp_path):
    arrays = {name: a.astype(np.float16 if name.startswith("W") else ">f8") for name, a in network_arrays().items()}
    network = load_model(write_bundle(tmp_path / "model.npz", arrays, model_meta())).network
    assert all(p.dtype == np.float32 for p in network.parameters)
    np.testing.assert_array_equal(network.weights[0], arrays["W0"].astype(np.float32))


# --- the zip and the npy headers ------------------------------------------------------------


def entries(**replaced: bytes) -> list[tuple[str, bytes]]:
    """A valid model file's entries, some replaced by the bytes given."""
    good = {f"{name}.npy": npy(a) for name, a in network_arrays().items()}
    return [*{**good, **{f"{k}.npy": v for k, v in replaced.items()}}.items(), ("__meta__.npy", meta_npy(model_meta()))]


W0_HEADER = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 5), }"
CONTAINER_CASES = {
    "W0 twice": (entries() + [("W0.npy", npy(np.zeros((6, 5), np.float32)))], "holds the array W0 twice"),
    "metadata twice": (entries() + [("__meta__.npy", meta_npy(model_meta()))], "holds the array __meta__ twice"),
    "not an npy entry": (entries() + [("notes.txt", b"hello")], "entry notes.txt is not an array \\(.npy\\)"),
    "header cut mid-tuple": (entries(W0=npy_with_header("{'descr': '<f4', 'shape': (6, 5")),
                             "W0 has a malformed npy header"),
    "header not a dict": (entries(W0=npy_with_header("[1, 2]")), "W0 has a malformed npy header"),
    "header of 1 GB": (entries(W0=npy_with_header(b"{}", version=b"\x02\x00")[:8] + (1 << 30).to_bytes(4, "little")),
                       "W0 has an npy header of 1073741824 bytes"),
    "bad magic": (entries(W0=b"\x93NUMPZ\x01\x00"), "W0 is not an npy array"),
    "negative shape": (entries(W0=npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")),
                       "W0 declares the shape \\(-1,\\)"),
    "more bytes than declared": (entries(W0=npy(np.zeros((6, 5), np.float32)) + b"\0" * 8),
                                 "W0 is 256 bytes in the zip, its npy header declares 248"),
    "fewer bytes than declared": (entries(W0=npy_with_header(W0_HEADER.ljust(117) + "\n", b"\0" * 16)),
                                  "W0 is 144 bytes in the zip, its npy header declares 248"),
    "10^10 float64 declared": (entries(W0=npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000,), }")), "W0 is .* bytes in the zip"),
    "metadata not text": ([*entries()[:-1], ("__meta__.npy", npy(np.zeros(3)))], "__meta__ is not a text"),
    "metadata nested deep": ([*entries()[:-1], ("__meta__.npy", npy(np.array("[" * 100_000)))],
                             "metadata is not valid JSON"),
    "no metadata": (entries()[:-1], "not a tui-mnist file \\(no metadata\\)"),
}


@pytest.mark.parametrize("contents, expected", CONTAINER_CASES.values(), ids=CONTAINER_CASES.keys())
def test_malformed_entries_are_refused_naming_the_entry(tmp_path, contents, expected):
    path = write_npz(tmp_path / "model.npz", contents)
    assert re.search(expected, refusal(load_model, path))


def test_metadata_over_its_cap_is_refused_before_it_is_read(tmp_path):
    huge = meta_npy({**model_meta(), "results": {"notes": "x" * 1_100_000}})  # 4.4 MB as UTF-32
    path = write_npz(tmp_path / "model.npz", [*entries()[:-1], ("__meta__.npy", huge)], compress=True)
    assert "__meta__ takes 4 MB, over the 4 MB metadata may" in refusal(load_model, path)


def deflated_zeros(path, name: str, shape: tuple[int, ...], meta: dict, arrays: dict) -> None:
    """A bundle whose `name` holds `shape` float64 zeros, deflated: 1/1000 of their size."""
    header = npy_with_header(f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for other, array in arrays.items():
            archive.writestr(f"{other}.npy", npy(array))
        archive.writestr("__meta__.npy", meta_npy(meta))
        with archive.open(f"{name}.npy", "w", force_zip64=True) as stream:
            stream.write(header)
            block = bytes(1 << 24)
            for _ in range(math.prod(shape) * 8 // len(block)):
                stream.write(block)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """A model file of 300 KB holding an unused array of 67 MB of zeros (4 GB takes 15 s to
    write, and is read no further than this: see the report of issue 14)."""
    path = tmp_path_factory.mktemp("hostile") / "model.npz"
    deflated_zeros(path, "unused", (1 << 23,), model_meta(), network_arrays())
    return path


def test_an_unused_huge_array_is_refused_without_reading_it(zip_bomb, peak_memory):
    assert zip_bomb.stat().st_size < 1 << 20
    with peak_memory:
        message = refusal(load_model, zip_bomb)
    assert "holds an array unused that a model file does not have" in message
    assert peak_memory.bytes < 1 << 20


def test_what_the_arrays_declare_must_fit_in_memory(zip_bomb, monkeypatch, peak_memory):
    monkeypatch.setattr("tui_mnist.engine.memory.available_bytes", lambda: 50_000_000)
    with peak_memory:
        message = refusal(load_bundle, zip_bomb)
    assert "its arrays would take 67 MB, more than the 40 MB that can be used here" in message
    assert peak_memory.bytes < 1 << 20


def test_a_network_too_large_to_evaluate_is_refused_before_reading_it(tmp_path, monkeypatch, peak_memory):
    """Its 1 MB of weights would fit; evaluating 1000 images at a time through it would not."""
    monkeypatch.setattr("tui_mnist.engine.memory.available_bytes", lambda: 5_000_000)
    sizes = [784, 300, 10]
    path = write_bundle(tmp_path / "model.npz", network_arrays(sizes), model_meta(sizes))
    with peak_memory:
        message = refusal(load_model, path)
    assert "evaluating its 784-300-10 network would take 8 MB, more than the 4 MB that can be used" in message
    assert peak_memory.bytes < 100_000


# --- checkpoints ----------------------------------------------------------------------------


def spoiled_config(**changes) -> dict:
    return {**checkpoint_meta(), "config": {**checkpoint_meta()["config"], **changes}}


CHECKPOINT_CASES = {
    "epoch 10^9": ({**checkpoint_meta(), "epoch": 10**9, "step": 10**9, "samples": 10**9},
                   "epoch 1000000000 is past the run's 3 epochs"),
    "epoch 0": ({**checkpoint_meta(), "epoch": 0}, "epoch must be a whole number >= 1 \\(got 0\\)"),
    "step as a float": ({**checkpoint_meta(), "step": 10.0}, "step must be a whole number >= 1 \\(got 10.0\\)"),
    "fewer samples than steps": ({**checkpoint_meta(), "samples": 5},
                                 "epoch, step and samples \\(1, 10, 5\\) disagree"),
    "seconds negative": ({**checkpoint_meta(), "seconds": -1}, "seconds must be a finite number >= 0"),
    "lr_scale NaN": ({**checkpoint_meta(), "lr_scale": NAN}, "lr_scale must be a finite number > 0 \\(got nan\\)"),
    "lr_scale 0": ({**checkpoint_meta(), "lr_scale": 0}, "lr_scale must be a finite number > 0"),
    "generator state corrupt": ({**checkpoint_meta(), "rng": {**checkpoint_meta()["rng"], "state": "x"}},
                                "rng is not a valid generator state"),
    "generator of another kind": ({**checkpoint_meta(), "rng": {"bit_generator": "MT19937"}},
                                  "rng is not a valid generator state"),
    "optimizer unknown": ({**checkpoint_meta(), "optimizer": "rmsprop"}, "optimizer must be one of"),
    "config epochs as text":
        (spoiled_config(epochs="x"), "config is invalid \\(epochs must be a whole number \\(got 'x'\\)\\)"),
    "config invalid": (spoiled_config(lr=-1.0), "config is invalid \\(learning rate must be a positive number"),
    "config unknown setting": (spoiled_config(colour="red"), "config is invalid \\(unknown settings: colour\\)"),
    "config of another network": (spoiled_config(hidden=[7]),
                                  "config.hidden is \\(7,\\), the checkpoint holds \\(5,\\)"),
    "normalizer NaN": ({**checkpoint_meta(), "normalizer": {"scale": NAN, "offset": 0}},
                       "normalizer.scale must be a finite number > 0"),
}


@pytest.mark.parametrize("meta, expected", CHECKPOINT_CASES.values(), ids=CHECKPOINT_CASES.keys())
def test_checkpoint_metadata_is_checked_at_load(tmp_path, meta, expected):
    path = write_bundle(tmp_path / "epoch-0001.npz", checkpoint_arrays(), meta)
    assert re.search(expected, refusal(load_checkpoint, path))


CHECKPOINT_ARRAY_CASES = {
    "velocity NaN": ({"opt_velocity1": np.full(5, NAN, np.float32)}, "opt_velocity1 holds non-finite numbers"),
    "velocity misshapen": ({"opt_velocity0": np.zeros(3, np.float32)},
                           "optimizer state velocity0 is float32 \\(3,\\), not floating point of shape \\(6, 5\\)"),
    "state of another optimizer": ({"opt_m0": np.zeros((6, 5), np.float32)},
                                   "holds an array opt_m0 that a checkpoint does not have"),
    "W0 as ints": ({"W0": np.zeros((6, 5), np.int32)}, "W0 must hold floating-point numbers"),
}


@pytest.mark.parametrize("changes, expected", CHECKPOINT_ARRAY_CASES.values(), ids=CHECKPOINT_ARRAY_CASES.keys())
def test_checkpoint_arrays_are_checked_at_load(tmp_path, changes, expected):
    path = write_bundle(tmp_path / "epoch-0001.npz", {**checkpoint_arrays(), **changes}, checkpoint_meta())
    assert re.search(expected, refusal(load_checkpoint, path))


def test_the_hand_made_checkpoint_those_cases_spoil_loads(tmp_path):
    checkpoint = load_checkpoint(write_bundle(tmp_path / "c.npz", checkpoint_arrays(), checkpoint_meta()))
    assert checkpoint.epoch == 1 and checkpoint.network.sizes == (6, 5, 3)
    assert set(checkpoint.optimizer_arrays) == {"velocity0", "velocity1", "velocity2", "velocity3"}


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_the_optimizer_state_a_checkpoint_may_hold_is_what_each_optimizer_keeps(name):
    parameters = list(network_arrays([6, 5, 4, 3]).values())
    kept = make_optimizer(name, parameters).state_arrays()
    assert optimizer_state_shapes(name, [6, 5, 4, 3]) == {k: a.shape for k, a in kept.items()}


# --- eval and inspect, end to end -----------------------------------------------------------


@pytest.mark.parametrize("sizes", [[784, 1], [784, 5], [784, 16, 11]])
def test_a_model_of_other_classes_than_the_datas_is_refused(tmp_path, sizes):
    path = write_bundle(tmp_path / "model.npz", network_arrays(sizes), model_meta(sizes))
    network = load_model(path).network
    with pytest.raises(ModelFileError, match=f"model.npz: its output layer has {sizes[-1]} units, the data's"):
        check_fits_data(path, network, 784)


@pytest.fixture
def five_classes(tmp_path):
    return write_bundle(tmp_path / "five.npz", network_arrays([784, 5]), model_meta([784, 5]))


@pytest.fixture
def nan_normalizer(tmp_path):
    meta = {**model_meta([784, 10]), "normalizer": {"scale": NAN, "offset": 0.0}}
    return write_bundle(tmp_path / "nan.npz", network_arrays([784, 10]), meta)


@pytest.mark.parametrize("command", ["eval", "inspect"])
@pytest.mark.parametrize(
    "model, expected",
    [("five_classes", "its output layer has 5 units, the data's labels are 0-9 \\(10 classes\\)"),
     ("nan_normalizer", "normalizer.scale must be a finite number > 0 and <= 1000 \\(got nan\\)")],
    ids=["five classes", "NaN normalizer"],
)
def test_eval_and_inspect_refuse_in_one_line(request, small_data, command, model, expected):
    path = request.getfixturevalue(model)
    result = tui_mnist(command, str(path), "--data-dir", str(small_data))
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.fullmatch(f"tui-mnist: {re.escape(str(path))}: {expected}\n", result.stderr)
