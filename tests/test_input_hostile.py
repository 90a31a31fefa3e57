"""Careless input (issue 14): each case a tester found, where a setting's text, a flag or a run
reference gave a traceback or a silent surprise. Now each is a clean refusal naming the field
and the rule, or the value meant. Numbers are ASCII digits only, everywhere text is read."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import retype, until
from test_app_configure import Host, shown
from textual.widgets import TextArea

from tui_mnist.cli import main
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.dropout import Dropout
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import SETTINGS, directory, layer_widths, number, whole
from tui_mnist.runs import RunError
from tui_mnist.runs.resume import parse_reference
from tui_mnist.sweeps.space import space_from_flags
from tui_mnist.tui.screens.jump_dialog import JumpDialog

FLOAT_FLAGS = [setting.flag for setting in SETTINGS if setting.parse is number]
# Digits str.isdigit or int()/float() take that nobody types as a number: superscript two,
# Arabic-Indic three, fullwidth three, circled one, fullwidth 1.5.
UNICODE_DIGITS = ["²", "٣", "３", "①", "１.５"]


def refusal(capsys, *argv: str) -> str:
    """The last line of the usage error `tui-mnist ARGV` exits with (status 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    assert stopped.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


def train_refusal(capsys, tmp_path, *flags: str) -> str:
    return refusal(capsys, "train", "--runs-dir", str(tmp_path), *flags)


# --- numbers are ASCII ----------------------------------------------------------------------


@pytest.mark.parametrize("text", UNICODE_DIGITS)
@pytest.mark.parametrize("parse", [whole, number, layer_widths])
def test_unicode_digits_are_not_numbers(parse, text):
    """'²' passed str.isdigit and crashed int() in the hidden layers field; '٣' and '３' were
    silently read as 3."""
    with pytest.raises(ConfigError, match=f'^"{text}" is not a number$'):
        parse(text)


@pytest.mark.parametrize("text", ["1_0", "0x10", "1e5.5", "--1", "+"])
def test_python_only_spellings_are_not_numbers(text):
    with pytest.raises(ConfigError, match="is not a number"):
        number(text)


def test_a_flag_reads_only_ascii_digits(capsys, tmp_path):
    line = train_refusal(capsys, tmp_path, "--epochs", "３")
    assert line == 'tui-mnist train: error: argument --epochs: "３" is not a number'


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e999"])
@pytest.mark.parametrize("flag", FLOAT_FLAGS)
def test_no_float_flag_takes_nan_or_infinity(flag, text, capsys, tmp_path):
    line = train_refusal(capsys, tmp_path, f"{flag}={text}")  # "-inf" alone would read as a flag
    assert line.startswith(f"tui-mnist train: error: argument {flag}: ")
    assert line.endswith(("is not a number", "is too large"))


def test_a_huge_whole_number_is_refused_not_a_traceback():
    with pytest.raises(ConfigError, match="is too large"):
        whole("9" * 5000)  # int() itself refuses 4,300 digits with a ValueError


# --- bounds ---------------------------------------------------------------------------------


def test_dropout_near_1_is_refused_by_the_table(capsys, tmp_path):
    """It ended in an OverflowError in the 1/(1 - rate) scaling."""
    line = train_refusal(capsys, tmp_path, "--dropout", "0.9999999999")
    assert line == "tui-mnist: error: dropout must be in [0, 0.95]"


def test_dropout_arithmetic_stays_finite_up_to_1():
    dropout = Dropout(0.9999999999, (4,), capacity=2, dtype=np.float32)
    assert np.isfinite(dropout.scale) and dropout.scale == 65536  # one level in 65536 kept
    with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\), not 1.0"):
        Dropout(1.0, (4,), capacity=2, dtype=np.float32)


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--seed", "tui-mnist: error: seed must be 0 or more"),
        ("--val", "tui-mnist: error: validation size must be 0 or more"),
        ("--threads", "tui-mnist: error: threads must be 0 or more"),
        ("--keep-checkpoints",
         "tui-mnist train: error: argument --keep-checkpoints: checkpoints to keep must be 0 or more, not -1"),
    ],
)
def test_a_refusal_states_the_real_bound(flag, message, capsys, tmp_path):
    assert train_refusal(capsys, tmp_path, flag, "-1") == message


def test_minus_zero_weight_decay_is_zero():
    assert number("-0") == 0.0
    assert str(number("-0")) == "0.0"
    assert TrainConfig(weight_decay=number("-0")).problems() == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("1e-320", 'argument --lr: "1e-320" is too close to 0'),  # a subnormal
        ("1e-9", "learning rate must be a positive number, at least 1e-08"),
        ("0", "learning rate must be a positive number, at least 1e-08"),
    ],
)
def test_a_learning_rate_too_small_to_move_a_weight_is_refused(text, message, capsys, tmp_path):
    assert message in train_refusal(capsys, tmp_path, "--lr", text)


# --- flags the optimizer ignores --------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--optimizer", "sgd", "--nesterov"], "--nesterov is not used by --optimizer sgd, only by momentum"),
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum is not used by --optimizer adam, only by momentum"),
    ],
)
def test_a_flag_the_optimizer_ignores_is_refused(flags, message, capsys, tmp_path):
    assert train_refusal(capsys, tmp_path, *flags) == f"tui-mnist: error: {message}"


async def test_the_form_marks_a_setting_the_optimizer_ignores():
    """Shown, not refused: the form still holds what it had for the optimizer before."""
    app = Host(TrainConfig(optimizer="adam", lr=0.001))
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "#momentum", "0.5")
        assert str(app.screen.query_one("#label-momentum").render()) == "⚠ momentum"
        assert shown(app, "#problems") == "✓ all settings valid\n⚠ momentum: not used by adam"
        # The command line it offers leaves the setting out, as `train` would refuse it.
        assert "--momentum" not in app.screen.query_one("#command", TextArea).text
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.started, what="the start")
    assert app.started[0].momentum == 0.5


# --- run references -------------------------------------------------------------------------


def test_export_refuses_an_epoch_the_run_has_not_kept(runs_env, one_blas_thread, tmp_path, capsys):
    """`--epoch 99` of a 1-epoch run exported epoch 1."""
    from fakes import small_config

    from tui_mnist.runs.execute import execute_run
    from tui_mnist.runs.store import RunFolder, resolve_runs_dir

    folder = RunFolder.create(resolve_runs_dir(None), small_config(epochs=1))
    execute_run(folder)
    model = tmp_path / "model.npz"
    assert main(["export", folder.id, "--model", str(model), "--epoch", "99"]) == 1
    assert capsys.readouterr().err == f"tui-mnist: run {folder.id} has no checkpoint of epoch 99 (it keeps epochs: 1)\n"
    assert not model.exists()


@pytest.mark.parametrize("argv", [["export", "", "--csv"], ["runs", "--delete", " "], ["attach", ""]])
def test_an_empty_run_reference_names_no_run(argv, capsys):
    line = refusal(capsys, *argv)
    assert line.endswith(': an empty reference names nothing: give an id, any unique part of one, or "last"')


def test_a_resume_epoch_is_ascii_digits():
    with pytest.raises(RunError, match=r'^"r@²": the epoch after @: "²" is not a number$'):
        parse_reference("r@²")
    assert parse_reference("r@ 3") == ("r", 3)


@pytest.mark.parametrize("text", ["٣", "３", "1_0", ""])
def test_the_inspectors_go_to_reads_ascii_digits_only(text):
    with pytest.raises(ValueError, match="is not between 0 and 9"):
        JumpDialog(10).answer(text)


# --- the sweep syntax and the data folder -------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"lr": "0.01..１"}, r'--lr "0\.01\.\.１": "１" is not a number'),
        ({"lr": "nan..0.1"}, r'"nan" is not a number'),
        ({"batch_size": "1_0|20"}, r'"1_0" is not a number'),
        ({"epochs": "²..5"}, r'"²" is not a number'),
    ],
)
def test_the_sweep_syntax_reads_numbers_alike(flags, message):
    with pytest.raises(ConfigError, match=message):
        space_from_flags(flags)


@pytest.mark.parametrize(
    "text, message",
    [
        ("~nobody\0", "a folder name cannot hold a NUL character"),
        ("~no-such-user-here", '"~no-such-user-here" is not a directory'),
        ("x" * 300, r'"x{79}…" cannot be looked up \(File name too long\)'),
        ("a\nb", r'"a\\nb" is not a directory'),
    ],
)
def test_a_data_folder_the_system_cannot_look_up_is_refused_not_a_traceback(text, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        directory(text)


@pytest.mark.parametrize("argv", [
    ["train", "--data-dir", ""], ["--data-dir", ""], ["eval", "model.npz", "--data-dir", " "],
    ["inspect", "model.npz", "--data-dir", ""],
], ids=["train", "app", "eval", "inspect"])
def test_a_data_dir_given_empty_is_refused_not_read_as_the_default(argv, capsys):
    """`--data-dir "$UNSET"` would otherwise train on the shipped MNIST without a word."""
    assert refusal(capsys, *argv).endswith(": is empty: leave the flag out for its default")
