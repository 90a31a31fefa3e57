"""The training settings as one table: name, label, help, parser, choices and where the form shows
each. `tui-mnist train`'s flags (cli/parser.py) and the app's settings form
(tui/screens/configure.py) are both built from it, so they cannot drift apart.

Stdlib only, like choices.py: the CLI builds its parser before numpy is loaded. Defaults live in
TrainConfig; a number's range (`Bounds`) is here, and TrainConfig.problems() holds each value to
it, with the rules between settings. A parser only turns text into a value, by one rule for
every number typed anywhere (here, the dialogs, the sweep syntax): ASCII digits, finite floats.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_mnist.engine.choices import (
    ACTIVATION_NAMES,
    AUGMENTATIONS,
    DTYPE_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
)
from tui_mnist.engine.errors import ConfigError

QUOTED_LENGTH = 80  # characters of the user's text a message repeats


def quoted(text: str) -> str:
    """`text` in double quotes for a message, anything unprintable escaped ("0\\n0") and a long
    text cut short: what the user typed, and still one line."""
    if len(text) > QUOTED_LENGTH:
        text = text[: QUOTED_LENGTH - 1] + "…"
    return '"' + "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text) + '"'


# What a number may be written as, in ASCII only: str.isdigit, int() and float() also take
# "²", "٣", "３", "1_0", "nan" and "inf", which nobody means as a setting (and int() refuses
# the "²" that isdigit takes).
WHOLE_TEXT = re.compile(r"[+-]?[0-9]+")
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_DIGITS = 18  # a whole number beyond this is no setting (and int() refuses 4,300 digits)
MIN_LEARNING_RATE = 1e-8  # why: at the lr row of SETTINGS
MAX_DROPOUT = 0.95  # why: at the dropout row of SETTINGS


def whole(text: str) -> int:
    """An int from ASCII digits, with a sign and surrounding spaces allowed (" 64 ", "-1");
    anything else is a ConfigError saying why."""
    text = text.strip()
    if not text:
        raise ConfigError("a whole number is needed")
    if WHOLE_TEXT.fullmatch(text):
        if len(text.lstrip("+-")) > MAX_DIGITS:
            raise ConfigError(f"{quoted(text)} is too large")
        return int(text)
    if NUMBER_TEXT.fullmatch(text):
        raise ConfigError(f"{quoted(text)} is not a whole number")
    raise ConfigError(f"{quoted(text)} is not a number")


def number(text: str) -> float:
    """A finite float from ASCII text such as "1e-3" (never nan or inf); -0 is 0. Anything else,
    or a number too large or too small for a float, is a ConfigError saying why."""
    text = text.strip()
    if not text:
        raise ConfigError("a number is needed")
    if not NUMBER_TEXT.fullmatch(text):
        raise ConfigError(f"{quoted(text)} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ConfigError(f"{quoted(text)} is too large")
    # Below the smallest normal float, a mantissa that is not all zeros: a number that was meant
    # and was lost (1e-400 is 0.0) or kept imprecise (a subnormal such as 1e-320).
    if abs(value) < sys.float_info.min and re.match(r"[^eE]*[1-9]", text):
        raise ConfigError(f"{quoted(text)} is too close to 0 (below {sys.float_info.min:.3g})")
    return value + 0.0  # -0.0 + 0.0 is 0.0


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take: `low` and up, to `high` if there is one (itself
    allowed unless `open_high`). `rule` says it in the words every message uses."""

    low: float
    high: float | None = None
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        if not self.low <= value:
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def rule(self) -> str:
        if self.high is not None:
            return f"must be in [{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"
        if self.low == 0:
            return "must be 0 or more"
        if isinstance(self.low, float):
            return f"must be a positive number, at least {self.low:g}"
        return f"must be at least {self.low}"


def whole_in(text: str, bounds: Bounds, what: str) -> int:
    """A whole number within `bounds`, for the numbers typed that are not settings (a dialog's,
    a flag such as --trials); a ConfigError names `what` and the rule."""
    try:
        value = whole(text)
    except ConfigError as error:
        raise ConfigError(f"{what}: {error}") from None
    if value not in bounds:
        raise ConfigError(f"{what} {bounds.rule()}, not {value}")
    return value


def layer_widths(text: str) -> tuple[int, ...]:
    """Hidden layer widths from "512,256" (spaces allowed); "" means no hidden layer."""
    if not text.strip():
        return ()
    found = []
    for part in text.split(","):
        if not part.strip():
            raise ConfigError("a layer size is missing between the commas")
        width = whole(part)
        if width < 1:
            raise ConfigError(f"a layer must have at least 1 unit, not {width}")
        found.append(width)
    return tuple(found)


def show_widths(value: tuple[int, ...]) -> str:
    return ",".join(map(str, value))


def directory(text: str) -> str | None:
    """A directory that exists, or None (empty: $TUI_MNIST_DATA, else the shipped MNIST)."""
    if not text.strip():
        return None
    if "\0" in text:  # no path holds one; Path.expanduser would raise ValueError
        raise ConfigError("a folder name cannot hold a NUL character")
    path = Path(os.path.expanduser(text.strip()))  # "~nobody" stays as it is (Path's raises)
    try:
        found = path.is_dir()
    except OSError as error:  # a name too long, a folder that cannot be searched
        raise ConfigError(f"{quoted(text.strip())} cannot be looked up ({error.strerror or error})") from None
    if not found:
        raise ConfigError(f"{quoted(text.strip())} is not a directory")
    return str(path)


def show_directory(value: str | None) -> str:
    return value or ""


def one_of(names: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in names:
            raise ConfigError(f'{quoted(text)} is not one of {", ".join(names)}')
        return text

    return parse


def yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise ConfigError(f"{quoted(text)} is not yes or no")
    return text == "yes"


def show_yes_no(value: bool) -> str:
    return "yes" if value else "no"


@dataclass(frozen=True)
class Setting:
    name: str  # the TrainConfig field; the flag is --name-with-dashes, the form's widget id name
    label: str  # what the form calls it, also before each of parse's messages there
    help: str  # one or two sentences: the form's help line, and --help before "(default ...)"
    parse: Callable[[str], object]  # text to value; a ConfigError says what is wrong with the text
    choices: tuple = ()  # every value it can take, when it is a pick from a list
    show: Callable[[object], str] = str  # value to the text `parse` reads back
    # "left", "right", "full" (a row below both); None: CLI only (every train setting has one)
    form_column: str | None = None
    switch: bool = False  # a flag without a value on the command line (--nesterov): on if given
    bounds: Bounds | None = None  # a number's range; TrainConfig.problems() holds every value to it

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def choice_setting(name: str, label: str, help: str, names: tuple[str, ...], **where) -> Setting:
    """A pick from `names`: a select in the form, a flag with choices on the command line."""
    return Setting(name, label, help, one_of(names), choices=names, **where)


def switch_setting(name: str, label: str, help: str, **where) -> Setting:
    """On or off: no/yes in the form, a flag without a value on the command line."""
    return Setting(name, label, help, yes_no, choices=(False, True), show=show_yes_no, switch=True, **where)


# In the order --help lists them; filtered on form_column, also the order of the form's columns.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "hidden", "hidden layers",
        "Hidden layer sizes, comma separated, e.g. 128,64. Empty: none (softmax regression).",
        layer_widths, show=show_widths, form_column="left",
    ),
    choice_setting(
        "activation", "activation", "Non-linearity between layers.", ACTIVATION_NAMES, form_column="left"
    ),
    choice_setting(
        "optimizer", "optimizer", "How gradients update the weights.", OPTIMIZER_NAMES, form_column="left"
    ),
    Setting(
        "momentum", "momentum", "Momentum coefficient in [0, 1) (momentum optimizer only).",
        number, form_column="left", bounds=Bounds(0.0, 1.0, open_high=True),
    ),
    switch_setting("nesterov", "nesterov", "Nesterov momentum (momentum optimizer only).", form_column="left"),
    # Below 1e-8 a step is under float32's resolution of a typical weight (about 1e-9 at 0.01):
    # the weights would not move at all.
    Setting(
        "lr", "learning rate", "Step size, e.g. 0.1 for momentum, 0.001 for adam.", number, form_column="left",
        bounds=Bounds(MIN_LEARNING_RATE),
    ),
    choice_setting(
        "schedule", "schedule", "How the learning rate changes over the run.", SCHEDULE_NAMES,
        form_column="left",
    ),
    Setting(
        "warmup_epochs", "warmup epochs", "Epochs of linear learning-rate warmup, 0 for none.", number,
        form_column="left", bounds=Bounds(0.0),
    ),
    Setting(
        "weight_decay", "weight decay", "L2 penalty on the weights, 0 for none.", number, form_column="left",
        bounds=Bounds(0.0),
    ),
    Setting("batch_size", "batch size", "Images per gradient step.", whole, form_column="right", bounds=Bounds(1)),
    Setting("epochs", "epochs", "Passes over the training set.", whole, form_column="right", bounds=Bounds(1)),
    Setting(
        "seed", "seed", "Random seed: the same seed repeats the same run.", whole, form_column="right",
        bounds=Bounds(0),
    ),
    Setting(
        "val", "validation size", "Training images held out for validation, 0 for none.", whole,
        form_column="right", bounds=Bounds(0),
    ),
    choice_setting(
        "augment", "augment", "Random one-pixel shifts of the training images.", AUGMENTATIONS,
        form_column="right",
    ),
    # At most 0.95: beyond it fewer than 1 unit in 20 survives, and the survivors' 1/(1 - rate)
    # scaling (20x there) turns each step into noise; near 1 the scale has no float at all.
    Setting(
        "dropout", "dropout",
        f"Chance of zeroing each hidden unit while training, at most {MAX_DROPOUT:g}; 0 for none.",
        number, form_column="right", bounds=Bounds(0.0, MAX_DROPOUT),
    ),
    switch_setting(
        "standardize", "standardize", "Scale pixels to mean 0, std 1 instead of [0, 1].", form_column="right"
    ),
    Setting(
        "data_dir", "data directory",
        "Folder with the four MNIST IDX files (.gz or plain). "
        "Empty: $TUI_MNIST_DATA, else the MNIST shipped with tui-mnist.",
        directory, show=show_directory, form_column="full",
    ),
    choice_setting(
        "dtype", "dtype", "Floating point precision of the weights and the arithmetic.", DTYPE_NAMES,
        form_column="right",
    ),
    switch_setting(
        "test_each_epoch", "test each epoch", "Also measure the test set after every epoch.", form_column="right"
    ),
    Setting(
        "threads", "threads", "BLAS threads; 0: automatic (times the run's own batches on 1, 2, ... cores and keeps "
        "the fastest, again when the machine's load changes). A fixed count repeats a run bit for bit.",
        whole, form_column="right", bounds=Bounds(0),
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
# TrainConfig fields that are neither a flag nor in the form (none today): tests/test_settings.py
# checks that every field is in one or the other.
INTERNAL: frozenset[str] = frozenset()
