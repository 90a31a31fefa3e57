"""Configure: the training settings as a form that validates as you type.

Hidden layers are parsed by the engine's parse_hidden and every range rule lives in
TrainConfig.problems(), so the form and the CLI refuse exactly the same settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from tui_mnist.engine.choices import (
    ACTIVATION_NAMES,
    AUGMENTATIONS,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
)
from tui_mnist.engine.config import TrainConfig, parse_hidden
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.network import parameter_count
from tui_mnist.engine.presets import PRESETS


def parse_whole(text: str) -> int:
    text = text.strip()
    if not text:
        raise ValueError("a whole number is needed")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        float(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a number') from None
    raise ValueError(f'"{text}" is not a whole number')


def parse_number(text: str) -> float:
    text = text.strip()
    if not text:
        raise ValueError("a number is needed")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a number') from None


def parse_data_dir(text: str) -> str | None:
    """A directory that exists, or None (empty: the shipped MNIST or $TUI_MNIST_DATA)."""
    if not text.strip():
        return None
    path = Path(text.strip()).expanduser()
    if not path.is_dir():
        raise ValueError(f'"{text.strip()}" is not a directory')
    return str(path)


def named(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name, name) for name in names)


@dataclass(frozen=True)
class Field:
    key: str  # the TrainConfig attribute, also the widget id
    label: str
    help: str
    # Text fields: ValueError gives the reason, ConfigError (engine parsers) the whole message.
    parse: Callable[[str], object] | None = None
    choices: tuple[tuple[str, object], ...] = ()  # select fields: (shown, value)
    show: Callable[[object], str] = str

    @property
    def is_text(self) -> bool:
        return self.parse is not None


def join_sizes(sizes: tuple[int, ...]) -> str:
    return ",".join(map(str, sizes))


NO_YES = (("no", False), ("yes", True))

LEFT_FIELDS = (
    Field(
        "hidden",
        "hidden layers",
        "Hidden layer sizes, comma separated, e.g. 128,64. Empty: none (softmax regression).",
        parse=parse_hidden,
        show=join_sizes,
    ),
    Field("activation", "activation", "Non-linearity between layers.",
          choices=named(ACTIVATION_NAMES)),
    Field("optimizer", "optimizer", "How gradients update the weights.",
          choices=named(OPTIMIZER_NAMES)),
    Field("momentum", "momentum", "Momentum coefficient in [0, 1) (momentum optimizer only).",
          parse=parse_number),
    Field("lr", "learning rate", "Step size, e.g. 0.1 for momentum, 0.001 for adam.",
          parse=parse_number),
    Field("schedule", "schedule", "How the learning rate changes over the run.",
          choices=named(SCHEDULE_NAMES)),
    Field("weight_decay", "weight decay", "L2 penalty on the weights, 0 for none.",
          parse=parse_number),
)
RIGHT_FIELDS = (
    Field("batch_size", "batch size", "Images per gradient step.", parse=parse_whole),
    Field("epochs", "epochs", "Passes over the training set.", parse=parse_whole),
    Field("seed", "seed", "Random seed: the same seed repeats the same run.",
          parse=parse_whole),
    Field("val", "validation size", "Training images held out for validation, 0 for none.",
          parse=parse_whole),
    Field("augment", "augment", "Random one-pixel shifts of the training images.",
          choices=named(AUGMENTATIONS)),
    Field("dropout", "dropout", "Chance of zeroing each hidden unit while training, in [0, 1); "
          "0 for none.", parse=parse_number),
    Field("standardize", "standardize", "Scale pixels to mean 0, std 1 instead of [0, 1].",
          choices=NO_YES),
)
DATA_FIELD = Field(
    "data_dir",
    "data directory",
    "Folder with the four MNIST IDX files (.gz or plain). Empty: the MNIST shipped with tui-mnist.",
    parse=parse_data_dir,
    show=lambda value: value or "",
)
FIELDS = {field.key: field for field in (*LEFT_FIELDS, *RIGHT_FIELDS, DATA_FIELD)}
HELP = {
    "start": "Start training with these settings (ctrl+r).",
    "command": "The equivalent command line: select text, or press y to copy it.",
    **{f"preset-{name}": f"Preset {name}: {text}." for name, (text, _) in PRESETS.items()},
}


@dataclass(frozen=True)
class Assessment:
    config: TrainConfig | None  # None while anything is invalid
    problems: dict[str, str]  # field key -> what is wrong with it
    general: list[str]  # problems of the whole config no single field explains


def assess(base: TrainConfig, entries: dict[str, object]) -> Assessment:
    """Check the form's entries (raw text for text fields, values otherwise) over `base`."""
    values, problems = {}, {}
    for key, entry in entries.items():
        field = FIELDS[key]
        try:
            values[key] = field.parse(entry) if field.is_text else entry
        except ConfigError as error:
            problems[key] = str(error)
            continue
        except ValueError as error:
            problems[key] = f"{field.label}: {error}"
            continue
        # Against the (valid) defaults, any problem is this field's own.
        own = TrainConfig().with_changes(**{key: values[key]}).problems()
        if own:
            problems[key] = own[0]
    if problems:
        return Assessment(None, problems, [])
    config = base.with_changes(**values)
    general = config.problems()
    return Assessment(None if general else config, {}, general)


class ConfigureScreen(Screen):
    CSS_PATH = "configure.tcss"
    AUTO_FOCUS = "#hidden"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-wide")]

    TITLE = "Configure a run"
    BINDINGS = [
        Binding("ctrl+r", "start", "start", tooltip="Start training with these settings"),
        *(
            Binding(str(number), f"preset('{name}')", f"{name} preset",
                    tooltip=f"Preset {name}: {description}")
            for number, (name, (description, _)) in enumerate(PRESETS.items(), start=1)
        ),
        Binding("y", "copy_command", "copy command",
                tooltip="Copy the equivalent tui-mnist train command line"),
    ]

    class StartRequested(Message):
        """The user asked to train with `config` (already validated)."""

        def __init__(self, config: TrainConfig) -> None:
            super().__init__()
            self.config = config

    def __init__(self, initial: TrainConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = initial
        self.assessment = assess(initial, self.entries_of(initial))
        self.drawn = False  # until the first revalidate has drawn everything
        self.shown_texts: dict[str, str] = {}

    @staticmethod
    def entries_of(config: TrainConfig) -> dict[str, object]:
        return {
            key: field.show(getattr(config, key)) if field.is_text else getattr(config, key)
            for key, field in FIELDS.items()
        }

    def compose(self) -> ComposeResult:
        entries = self.entries_of(self.base)
        # Not focusable itself: tab goes straight to the fields, and focus scrolls them into view.
        with VerticalScroll(id="form", can_focus=False):
            with Horizontal(id="presets"):
                yield Label("Configure a run · presets:")
                for number, name in enumerate(PRESETS, start=1):
                    yield Button(f"{number} {name}", id=f"preset-{name}", compact=True)
            with Horizontal(id="columns"):
                for column in (LEFT_FIELDS, RIGHT_FIELDS):
                    with Grid(classes="column"):
                        for field in column:
                            yield Label(field.label, id=f"label-{field.key}", classes="label")
                            yield self.field_widget(field, entries[field.key])
            with Horizontal(id="data-row"):
                yield Label(DATA_FIELD.label, id="label-data_dir", classes="label")
                yield self.field_widget(DATA_FIELD, entries["data_dir"])
            yield Static("", id="help")
            yield Static("", id="problems")
            yield Static("", id="parameters")
            yield TextArea("", id="command", read_only=True, soft_wrap=True, compact=True)
            yield Button("Start  ctrl+r", id="start", variant="success", compact=True)
        yield Footer(compact=True)

    @staticmethod
    def field_widget(field: Field, value: object):
        if field.is_text:
            placeholder = "empty: shipped MNIST" if field.key == "data_dir" else ""
            return Input(str(value), placeholder=placeholder, id=field.key, compact=True)
        return Select(field.choices, value=value, allow_blank=False, id=field.key, compact=True)

    def on_mount(self) -> None:
        self.revalidate()

    def read_entries(self) -> dict[str, object]:
        return {key: self.query_one(f"#{key}").value for key in FIELDS}

    def revalidate(self) -> None:
        """Re-check the form and refresh only what changed: this runs on every key press."""
        before, after = self.assessment, assess(self.base, self.read_entries())
        self.assessment = after
        for key, field in FIELDS.items():
            bad = key in after.problems
            if self.drawn and bad == (key in before.problems):
                continue
            self.query_one(f"#{key}").set_class(bad, "-invalid")
            self.query_one(f"#label-{key}", Label).update(f"{'✗' if bad else ' '} {field.label}")
        lines = [f"✗ {message}" for message in (*after.problems.values(), *after.general)]
        self.show_text("#problems", "\n".join(lines) or "✓ all settings valid")
        self.query_one("#problems").set_class(bool(lines), "-invalid")
        self.show_text("#parameters", self.describe_network())
        command = after.config.command_line() if after.config else "(fix the settings marked ✗)"
        area = self.query_one("#command", TextArea)
        if area.text != command:
            area.load_text(command)
        valid = after.config is not None
        if not self.drawn or valid != (before.config is not None):
            self.query_one("#start", Button).disabled = not valid
            self.refresh_bindings()
        self.drawn = True

    def show_text(self, selector: str, text: str) -> None:
        """Static.update relayouts the screen, so skip it when nothing changed."""
        static = self.query_one(selector, Static)
        if self.shown_texts.get(selector) != text:
            self.shown_texts[selector] = text
            static.update(text)

    def describe_network(self) -> str:
        try:
            hidden = parse_hidden(self.query_one("#hidden", Input).value)
        except ConfigError:
            return "network: fix the hidden layers to see its size"
        sizes = (784, *hidden, 10)
        return f"network {'-'.join(map(str, sizes))}: {parameter_count(sizes):,} parameters"

    def on_input_changed(self, event: Input.Changed) -> None:
        self.revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.revalidate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def on_descendant_focus(self, event) -> None:
        # Parts of a widget (a Select's open list) have no help of their own: keep the field's.
        key = event.widget.id or ""
        text = FIELDS[key].help if key in FIELDS else HELP.get(key)
        if text is not None:
            self.show_text("#help", text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "start":
            self.action_start()
        elif button.startswith("preset-"):
            self.action_preset(button.removeprefix("preset-"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None: shown greyed out in the footer. (Textual already hides keys a text field types.)
        if action in ("start", "copy_command"):
            return True if self.assessment.config else None
        return True

    def action_start(self) -> None:
        if self.assessment.config is not None:
            self.post_message(self.StartRequested(self.assessment.config))

    def action_preset(self, name: str) -> None:
        description, config = PRESETS[name]
        self.base = config
        for key, value in self.entries_of(config).items():
            self.query_one(f"#{key}").value = value
        self.revalidate()
        self.notify(f"preset {name}: {description}", timeout=3)

    def action_copy_command(self) -> None:
        if self.assessment.config is not None:
            self.app.copy_to_clipboard(self.assessment.config.command_line())
            self.notify("command line copied to the clipboard", timeout=3)
