"""Configure: the training settings as a form that validates as you type.

Its fields are the rows of the settings table (engine/settings.py) that have a form column, read
by the table's parsers, and every range rule lives in TrainConfig.problems(): the form and the
CLI refuse exactly the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError, DataError
from tui_mnist.engine.idx import data_sizes
from tui_mnist.engine.layer_sizes import architecture, parameter_count
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.settings import SETTINGS, Setting

FORM_SETTINGS = {setting.name: setting for setting in SETTINGS if setting.form_column}
COLUMNS = tuple(
    tuple(setting for setting in FORM_SETTINGS.values() if setting.form_column == side)
    for side in ("left", "right")
)
FULL_WIDTH = tuple(setting for setting in FORM_SETTINGS.values() if setting.form_column == "full")


def is_typed(setting: Setting) -> bool:
    """Typed into an Input, as text; a setting with choices is picked from a Select, as a value."""
    return not setting.choices


def options(setting: Setting) -> list[tuple[str, object]]:
    """A Select's (shown, value) pairs."""
    return [(setting.show(value), value) for value in setting.choices]


HELP = {
    "start": "Start training with these settings (ctrl+r).",
    "command": "The equivalent command line: select text, or press y to copy it.",
    **{f"preset-{name}": f"Preset {name}: {text}." for name, (text, _) in PRESETS.items()},
}


@dataclass(frozen=True)
class Assessment:
    config: TrainConfig | None  # None while anything is invalid
    problems: dict[str, str]  # setting name -> what is wrong with it
    general: list[str]  # problems of the whole config no single field explains


def assess(base: TrainConfig, entries: dict[str, object]) -> Assessment:
    """Check the form's entries (text for typed settings, values otherwise) over `base`."""
    values, problems = {}, {}
    for name, entry in entries.items():
        setting = FORM_SETTINGS[name]
        try:
            values[name] = setting.parse(entry) if is_typed(setting) else entry
        except ConfigError as error:
            problems[name] = f"{setting.label}: {error}"
            continue
        # Against the (valid) defaults, any problem is this field's own.
        own = TrainConfig().with_changes(**{name: values[name]}).problems()
        if own:
            problems[name] = own[0]
    if problems:
        return Assessment(None, problems, [])
    config = base.with_changes(**values)
    general = config.problems()
    return Assessment(None if general else config, {}, general)


def describe_network(hidden_text: str, data_dir_text: str) -> str:
    """The network the form describes and its size, "network 784-128-10: 101,770 parameters"
    (the input and output sizes from the data's header), or which field to fix to see it."""
    try:
        hidden = FORM_SETTINGS["hidden"].parse(hidden_text)
    except ConfigError:
        return "network: fix the hidden layers to see its size"
    try:
        ends = data_sizes(FORM_SETTINGS["data_dir"].parse(data_dir_text))
    except (ConfigError, DataError):
        return "network: fix the data directory to see its size"
    sizes = TrainConfig(hidden=hidden).layer_sizes(*ends)
    return f"network {architecture(sizes)}: {parameter_count(sizes):,} parameters"


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
        """What each field shows for `config`: text for typed settings, values otherwise."""
        return {
            name: setting.show(getattr(config, name)) if is_typed(setting) else getattr(config, name)
            for name, setting in FORM_SETTINGS.items()
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
                for column in COLUMNS:
                    with Grid(classes="column"):
                        for setting in column:
                            yield from self.field(setting, entries[setting.name])
            with Horizontal(id="data-row"):  # the settings that take the full width (data_dir)
                for setting in FULL_WIDTH:
                    yield from self.field(setting, entries[setting.name])
            yield Static("", id="help")
            yield Static("", id="problems")
            yield Static("", id="parameters")
            yield TextArea("", id="command", read_only=True, soft_wrap=True, compact=True)
            yield Button("Start  ctrl+r", id="start", variant="success", compact=True)
        yield Footer(compact=True)

    @staticmethod
    def field(setting: Setting, entry: object) -> ComposeResult:
        """A setting's label, then its Input or Select (both with the setting's name as id)."""
        yield Label(setting.label, id=f"label-{setting.name}", classes="label")
        if is_typed(setting):
            placeholder = "empty: shipped MNIST" if setting.name == "data_dir" else ""
            yield Input(str(entry), placeholder=placeholder, id=setting.name, compact=True)
        else:
            yield Select(options(setting), value=entry, allow_blank=False, id=setting.name, compact=True)

    def on_mount(self) -> None:
        self.revalidate()

    def read_entries(self) -> dict[str, object]:
        return {name: self.query_one(f"#{name}").value for name in FORM_SETTINGS}

    def revalidate(self) -> None:
        """Re-check the form and refresh only what changed: this runs on every key press."""
        entries = self.read_entries()
        before, self.assessment = self.assessment, assess(self.base, entries)
        self.mark_fields(before)
        self.show_problems()
        self.show_text("#parameters", describe_network(entries["hidden"], entries["data_dir"]))
        self.show_command()
        self.enable_start(before)
        self.drawn = True

    def mark_fields(self, before: Assessment) -> None:
        """A ✗ before the label of each field with a problem, and its widget marked -invalid."""
        problems = self.assessment.problems
        for name, setting in FORM_SETTINGS.items():
            bad = name in problems
            if self.drawn and bad == (name in before.problems):
                continue
            self.query_one(f"#{name}").set_class(bad, "-invalid")
            self.query_one(f"#label-{name}", Label).update(f"{'✗' if bad else ' '} {setting.label}")

    def show_problems(self) -> None:
        assessment = self.assessment
        lines = [f"✗ {message}" for message in (*assessment.problems.values(), *assessment.general)]
        self.show_text("#problems", "\n".join(lines) or "✓ all settings valid")
        self.query_one("#problems").set_class(bool(lines), "-invalid")

    def show_command(self) -> None:
        config = self.assessment.config
        command = config.command_line() if config else "(fix the settings marked ✗)"
        area = self.query_one("#command", TextArea)
        if area.text != command:
            area.load_text(command)

    def enable_start(self, before: Assessment) -> None:
        """Start (button and ctrl+r) only while the settings are valid."""
        valid = self.assessment.config is not None
        if not self.drawn or valid != (before.config is not None):
            self.query_one("#start", Button).disabled = not valid
            self.refresh_bindings()

    def show_text(self, selector: str, text: str) -> None:
        """Static.update relayouts the screen, so skip it when nothing changed."""
        static = self.query_one(selector, Static)
        if self.shown_texts.get(selector) != text:
            self.shown_texts[selector] = text
            static.update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.revalidate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def on_descendant_focus(self, event) -> None:
        # Parts of a widget (a Select's open list) have no help of their own: keep the field's.
        key = event.widget.id or ""
        text = FORM_SETTINGS[key].help if key in FORM_SETTINGS else HELP.get(key)
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
