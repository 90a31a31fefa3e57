"""Any text in any settings field, any string after any numeric flag: the answer is a value
within the settings table's bounds, or the project's own refusal (a ConfigError in the form, a
usage error with exit status 2 on the command line), never another exception (issue 14)."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest
from fakes import retype
from hypothesis import given
from hypothesis import strategies as st
from test_app_configure import Host, shown
from textual.widgets import Input

from tui_mnist.cli.parser import build_parser, config_from_args
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import SETTINGS, layer_widths, number, whole
from tui_mnist.tui.screens.configure import FORM_SETTINGS, ConfigureScreen, assess, is_typed

# Pieces careless or hostile text is made of: digits int() or isdigit() take that are not ASCII,
# what float() takes that is no setting, and the separators of the settings' own syntax.
PIECES = [
    "²", "٣", "３", "①", "１.５", "nan", "inf", "-inf", "1e999", "1e-320", "1_0", " 1 ", "-0", "+",
    "0x10", "\0", "9" * 25, "/" + "x" * 300, "~", "\u3000", "\t", ",", ".", "e", "-", "0", "1", "5", "9",
]
TEXTS = st.one_of(st.text(max_size=12), st.lists(st.sampled_from(PIECES), max_size=6).map("".join))
TYPED = [setting for setting in FORM_SETTINGS.values() if is_typed(setting)]
NUMERIC_FLAGS = [setting for setting in SETTINGS if setting.parse in (whole, number, layer_widths)]
PARSER = build_parser()  # argparse keeps no state between parses: one for every example


def in_bounds(config: TrainConfig, name: str) -> bool:
    bounds = FORM_SETTINGS[name].bounds
    return bounds is None or getattr(config, name) in bounds


@pytest.mark.parametrize("setting", TYPED, ids=lambda setting: setting.name)
@given(text=TEXTS)
def test_any_text_in_a_field_is_a_valid_value_or_that_fields_problem(setting, text):
    """What the form runs on every key press, with this field's text and the others valid."""
    entries = {**ConfigureScreen.entries_of(TrainConfig()), setting.name: text}
    assessment = assess(TrainConfig(), entries)
    if assessment.config is None:
        assert setting.name in assessment.problems or assessment.general
    else:
        assert in_bounds(assessment.config, setting.name)
        assert assessment.config.problems() == []


@pytest.mark.parametrize("setting", TYPED, ids=lambda setting: setting.name)
@given(text=TEXTS)
def test_a_fields_parser_gives_a_value_or_a_config_error(setting, text):
    try:
        setting.parse(text)
    except ConfigError as error:
        assert str(error) and "\n" not in str(error)


@pytest.mark.parametrize("setting", NUMERIC_FLAGS, ids=lambda setting: setting.name)
@given(text=TEXTS)
def test_any_string_after_a_numeric_flag_is_a_value_in_bounds_or_exit_2(setting, text):
    """The parse and train's preflight (config_from_args, then validated(): a ConfigError there
    is a usage error, exit 2), in-process."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = PARSER.parse_args(["train", f"{setting.flag}={text}"])
        config = config_from_args(args).validated()
    except SystemExit as stopped:
        assert stopped.code == 2
        assert f"argument {setting.flag}: " in errors.getvalue().splitlines()[-1]
    except ConfigError as error:
        assert str(error)
    else:
        assert isinstance(args, argparse.Namespace)
        assert setting.bounds is None or getattr(config, setting.name) in setting.bounds


async def test_typing_a_superscript_two_in_the_hidden_layers_is_that_fields_error():
    """'²' passed str.isdigit and crashed the app (AltGr+2 on many keyboards)."""
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await retype(pilot, "#hidden", "128²")  # key by key, as typed
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfigureScreen)
        assert app.screen.query_one("#hidden", Input).value == "128²"
        assert shown(app, "#problems") == '✗ hidden layers: "128²" is not a number'
        assert str(app.screen.query_one("#label-hidden").render()) == "✗ hidden layers"
