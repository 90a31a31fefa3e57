"""The training settings as one table: name, label, help, parser, choices and where the form shows
each. `tui-mnist train`'s flags (cli/parser.py) and the app's settings form
(tui/screens/configure.py) are both built from it, so they cannot drift apart.

Stdlib only, like choices.py: the CLI builds its parser before numpy is loaded. Defaults live in
TrainConfig, range rules in TrainConfig.problems(); a parser only turns text into a value.
"""

from __future__ import annotations

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


def whole(text: str) -> int:
    """An int from text such as " 64 "; anything else is a ConfigError saying why."""
    text = text.strip()
    if not text:
        raise ConfigError("a whole number is needed")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        float(text)
    except ValueError:
        raise ConfigError(f'"{text}" is not a number') from None
    raise ConfigError(f'"{text}" is not a whole number')


def number(text: str) -> float:
    """A float from text such as "1e-3"; anything else is a ConfigError saying why."""
    text = text.strip()
    if not text:
        raise ConfigError("a number is needed")
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f'"{text}" is not a number') from None


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
    path = Path(text.strip()).expanduser()
    if not path.is_dir():
        raise ConfigError(f'"{text.strip()}" is not a directory')
    return str(path)


def show_directory(value: str | None) -> str:
    return value or ""


def one_of(names: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in names:
            raise ConfigError(f'"{text}" is not one of {", ".join(names)}')
        return text

    return parse


def yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise ConfigError(f'"{text}" is not yes or no')
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
        number, form_column="left",
    ),
    switch_setting("nesterov", "nesterov", "Nesterov momentum (momentum optimizer only).", form_column="left"),
    Setting(
        "lr", "learning rate", "Step size, e.g. 0.1 for momentum, 0.001 for adam.", number, form_column="left"
    ),
    choice_setting(
        "schedule", "schedule", "How the learning rate changes over the run.", SCHEDULE_NAMES,
        form_column="left",
    ),
    Setting(
        "warmup_epochs", "warmup epochs", "Epochs of linear learning-rate warmup, 0 for none.", number,
        form_column="left",
    ),
    Setting("weight_decay", "weight decay", "L2 penalty on the weights, 0 for none.", number, form_column="left"),
    Setting("batch_size", "batch size", "Images per gradient step.", whole, form_column="right"),
    Setting("epochs", "epochs", "Passes over the training set.", whole, form_column="right"),
    Setting("seed", "seed", "Random seed: the same seed repeats the same run.", whole, form_column="right"),
    Setting(
        "val", "validation size", "Training images held out for validation, 0 for none.", whole,
        form_column="right",
    ),
    choice_setting(
        "augment", "augment", "Random one-pixel shifts of the training images.", AUGMENTATIONS,
        form_column="right",
    ),
    Setting(
        "dropout", "dropout", "Chance of zeroing each hidden unit while training, in [0, 1); 0 for none.",
        number, form_column="right",
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
        whole, form_column="right",
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
# TrainConfig fields that are neither a flag nor in the form (none today): tests/test_settings.py
# checks that every field is in one or the other.
INTERNAL: frozenset[str] = frozenset()
