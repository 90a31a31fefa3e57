"""The settings table (engine/settings.py) is the one description of every training setting:
the CLI's flags and the app's form are built from it, so the same text means the same config
in both, and every preset survives the trip through its own command line."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_app_configure import Host
from textual.widgets import Input, Static

from tui_mnist.cli.parser import build_parser, config_from_args
from tui_mnist.engine.choices import DTYPE_NAMES, OPTIMIZER_NAMES
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.idx import IMAGE_MAGIC, SPLITS, data_sizes, shipped_data_dir
from tui_mnist.engine.memory import ITEMSIZES, OPTIMIZER_SLOTS
from tui_mnist.engine.network import DTYPES
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.settings import INTERNAL, SETTINGS, layer_widths, number, whole
from tui_mnist.runs.ledger import run_architecture
from tui_mnist.tui.screens.configure import ConfigureScreen, assess, describe_network

HERE = str(Path(__file__).resolve().parent)  # a directory that exists, for data_dir
FORM = [setting for setting in SETTINGS if setting.form_column]
# What a user might type (or pick, by its shown text) in each field of the form.
SAMPLES = {
    "hidden": "64, 32",
    "activation": "tanh",
    "optimizer": "adam",
    "momentum": "0.5",
    "nesterov": "yes",
    "lr": "0.01",
    "schedule": "step",
    "warmup_epochs": "1.5",
    "weight_decay": "1e-4",
    "batch_size": "32",
    "epochs": "3",
    "seed": "7",
    "val": "1000",
    "augment": "shift",
    "dropout": "0.25",
    "standardize": "yes",
    "data_dir": str(shipped_data_dir()),  # the form wants the four IDX files there
    "dtype": "float64",
    "test_each_epoch": "yes",
    "threads": "2",
}
# Every setting away from its default, so that each one's flag is written and read back; all but
# the optimizer, which would ignore (and the command line refuse) momentum and Nesterov: ADAM has
# a config of its own.
EVERYTHING_CHANGED = TrainConfig(
    hidden=(64, 32), activation="tanh", epochs=3, batch_size=32, lr=0.01,
    momentum=0.5, nesterov=True, weight_decay=1e-4, dropout=0.25, schedule="step",
    warmup_epochs=0.5, seed=7, val=1000, standardize=True, augment="shift", dtype="float64",
    test_each_epoch=True, data_dir=HERE, threads=1,
)
ADAM = TrainConfig(optimizer="adam", lr=0.001)


def parse_flags(*words: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *words]))


def write_images_header(folder: Path, rows: int, cols: int) -> None:
    """A training-images IDX file of one blank image: all that data_sizes reads."""
    header = IMAGE_MAGIC.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (1, rows, cols))
    (folder / SPLITS["train"][0]).write_bytes(header + bytes(rows * cols))


# --- the table covers the config ------------------------------------------------------------


def test_every_config_field_is_a_setting_or_internal():
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    assert set(names).isdisjoint(INTERNAL)
    assert set(names) | INTERNAL == {field.name for field in dataclasses.fields(TrainConfig)}


def test_every_train_setting_is_in_the_form():
    """Issue 11: threads, Nesterov, warmup and dtype were CLI-only, so the fast preset turned
    Nesterov on and the form could not turn it off."""
    assert [setting.name for setting in SETTINGS if setting.form_column is None] == []


async def test_the_form_shows_exactly_the_settings_with_a_form_column():
    app = Host()
    async with app.run_test(size=(80, 24)):
        fields = {widget.id for widget in app.screen.query("Input, Select")}
    assert fields == {setting.name for setting in FORM}


def test_the_forms_memory_estimate_knows_every_dtype_and_optimizer():
    """The estimate is numpy-free (the form shows it before numpy loads): its byte sizes must be
    numpy's."""
    assert ITEMSIZES == {name: np.dtype(DTYPES[name]).itemsize for name in DTYPE_NAMES}
    assert set(OPTIMIZER_SLOTS) == set(OPTIMIZER_NAMES)


def test_every_form_setting_has_a_sample():
    assert set(SAMPLES) == {setting.name for setting in FORM}


# --- the same text, the same config ----------------------------------------------------------


@pytest.mark.parametrize("setting", FORM, ids=lambda setting: setting.name)
def test_the_form_and_the_flag_read_text_alike(setting):
    text = SAMPLES[setting.name]
    # A Select holds the value its shown text stands for; an Input holds the text itself.
    entry = setting.parse(text) if setting.choices else text
    entries = {**ConfigureScreen.entries_of(TrainConfig()), setting.name: entry}
    words = [setting.flag] if setting.switch else [setting.flag, text]
    from_form = assess(TrainConfig(), entries).config
    assert from_form == parse_flags(*words)
    assert from_form != TrainConfig()


@pytest.mark.parametrize(
    "config",
    [TrainConfig(), TrainConfig(hidden=()), EVERYTHING_CHANGED, ADAM, *(config for _, config in PRESETS.values())],
    ids=["defaults", "no-hidden-layer", "everything-changed", "adam", *PRESETS],
)
def test_the_command_line_reads_back_as_the_same_config(config):
    words = shlex.split(config.command_line())
    assert words[:2] == ["tui-mnist", "train"]
    assert parse_flags(*words[2:]) == config


# --- what is wrong, said the same way --------------------------------------------------------


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (whole, "12a", '"12a" is not a number'),
        (whole, "1.5", '"1.5" is not a whole number'),
        (whole, " ", "a whole number is needed"),
        (number, "fast", '"fast" is not a number'),
        (number, "", "a number is needed"),
        (layer_widths, "64,x", '"x" is not a number'),
        (layer_widths, "64,0", "a layer must have at least 1 unit, not 0"),
        (layer_widths, "-1", "a layer must have at least 1 unit, not -1"),
        (layer_widths, "64,1.5", '"1.5" is not a whole number'),
        (layer_widths, "64,,32", "a layer size is missing between the commas"),
    ],
)
def test_parsers_say_what_is_wrong(parse, text, message):
    with pytest.raises(ConfigError) as refusal:
        parse(text)
    assert str(refusal.value) == message


def test_parsers_accept_numbers():
    assert whole(" 64 ") == 64
    assert number("1e-3") == 0.001
    assert layer_widths(" 512, 256 ") == (512, 256)
    assert layer_widths("") == ()


@pytest.mark.parametrize(
    "words, message",
    [
        (["--batch-size", "abc"], 'argument --batch-size: "abc" is not a number'),
        (["--epochs", "2.5"], 'argument --epochs: "2.5" is not a whole number'),
        (["--hidden", "12a"], 'argument --hidden: "12a" is not a number'),
        (["--activation", "swish"], 'argument --activation: "swish" is not one of relu, leaky_relu, sigmoid, tanh'),
        (["--data-dir", "/no/such/dir"], 'argument --data-dir: "/no/such/dir" is not a directory'),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_flag(words, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_flags(*words)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"tui-mnist train: error: {message}"


async def test_the_form_shows_the_help_that_the_cli_prints(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_flags("--help")
    assert stopped.value.code == 0
    cli_help = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#lr", Input).focus()
        await pilot.pause()
        form_help = str(app.screen.query_one("#help", Static).render())
    assert form_help == "Step size, e.g. 0.1 for momentum, 0.001 for adam."
    assert f"--lr LR {form_help} (default 0.1)" in cli_help


def test_building_the_parser_loads_no_numpy():
    """The CLI fixes the BLAS thread count from the flags, before numpy is loaded."""
    probe = "import sys; from tui_mnist.cli.parser import build_parser; build_parser(); print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout == "False\n"


# --- the network's ends come from the data ---------------------------------------------------


def test_data_sizes_reads_the_image_header(tmp_path):
    write_images_header(tmp_path, 5, 4)
    assert data_sizes(tmp_path) == (20, 10)


def test_the_form_counts_parameters_for_the_data_it_names(tmp_path):
    write_images_header(tmp_path, 5, 4)
    assert describe_network("16", str(tmp_path)) == "network 20-16-10: 506 parameters"
    assert describe_network("16", str(tmp_path / "gone")) == "network: fix the data directory to see its size"
    assert describe_network("1x", str(tmp_path)) == "network: fix the hidden layers to see its size"


def test_the_ledger_takes_a_runs_ends_from_its_data(tmp_path):
    write_images_header(tmp_path, 5, 4)
    assert run_architecture(TrainConfig(hidden=(16,), data_dir=str(tmp_path))) == "20-16-10"
    assert run_architecture(TrainConfig(hidden=(16,), data_dir=str(tmp_path / "gone"))) == "?-16-?"
