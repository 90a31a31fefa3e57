"""Configure: the training settings as a form that validates as you type.

Its fields are the rows of the settings table (engine/settings.py) that have a form column (all
of them), read by the table's parsers, and every range rule lives in TrainConfig.problems(): the
form and the CLI refuse the same settings. Beyond those rules, the form checks what the run
itself would trip on, before it starts: the four IDX files the loader reads, a validation set
smaller than the training set, and the memory guard's estimate (engine/memory.py, numpy-free),
with a warning well before the guard would refuse. A setting the chosen optimizer ignores (momentum
under adam) is marked ⚠ rather than refused: it is what the form had for the optimizer before.

Focus starts on the presets, so the screen's own keys (1-3, y, ?) work on arrival; in a text
field they are typed, and esc goes back to the presets. Back from another screen, focus returns
to the field it left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError, DataError, MemoryGuardError
from tui_mnist.engine.idx import NUM_CLASSES, SPLITS, data_sizes, find_data_dir, idx_path, training_images
from tui_mnist.engine.layer_sizes import architecture, parameter_count
from tui_mnist.engine.memory import check_fits, memory_warning, run_bytes, size_text
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.settings import SETTINGS, Setting
from tui_mnist.tui.clipboard import copy_text

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
    warnings: list[str] = field(default_factory=list)  # worth a word, no reason to refuse
    needed: int | None = None  # bytes the run will allocate (memory guard's estimate), once known
    unused: dict[str, str] = field(default_factory=dict)  # setting name -> why the run ignores it

    def mark(self, name: str) -> str:
        """What stands before a field's label: ✗ a problem, ⚠ set but ignored, else a space."""
        return "✗" if name in self.problems else "⚠" if name in self.unused else " "


def data_problem(data_dir: str | None) -> str | None:
    """What would stop a run from reading its data, as the loader looks for it: a missing
    directory, any of the four IDX files missing, a training-images header that is not one."""
    try:
        directory = find_data_dir(data_dir)
        missing = []
        for stem in (*SPLITS["train"], *SPLITS["test"]):
            try:
                idx_path(directory, stem)
            except DataError:
                missing.append(stem)
        if len(missing) == len(SPLITS) * 2:
            return f"data directory: no MNIST IDX files in {directory}"
        if missing:
            return f"data directory: {directory} has no {', '.join(missing)} (.gz or plain)"
        training_images(directory)
    except DataError as error:
        return f"data directory: {error}"
    return None


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
    if "data_dir" in values and "data_dir" not in problems:
        trouble = data_problem(values["data_dir"])
        if trouble:
            problems["data_dir"] = trouble
    if problems:
        return Assessment(None, problems, [])
    config = base.with_changes(**values)
    general = config.problems()
    if general:
        return Assessment(None, {}, general)
    images, pixels = training_images(config.data_dir)
    if config.val >= images:  # as data.split refuses it
        return Assessment(None, {"val": f"validation size must be less than the {images:,} training images"}, [])
    needed = run_bytes(config, pixels, NUM_CLASSES, images - config.val)
    try:
        check_fits(needed, f"training a {architecture(config.layer_sizes(pixels, NUM_CLASSES))} network")
    except MemoryGuardError as refusal:
        return Assessment(None, {}, [str(refusal)], needed=needed)
    # Set for the optimizer the form had before, say: shown, as the command line refuses it.
    unused = config.unused()
    notes = [f"{FORM_SETTINGS[name].label}: {why}" for name, why in unused.items()]
    warning = memory_warning(needed)
    return Assessment(config, {}, [], [*notes, *([warning] if warning else [])], needed, unused)


def describe_network(hidden_text: str, data_dir_text: str, needed: int | None = None) -> str:
    """The network the form describes and its size, "network 784-128-10: 101,770 parameters"
    (the input and output sizes from the data's header), then the memory its training needs
    when known; or which field to fix to see it."""
    try:
        hidden = FORM_SETTINGS["hidden"].parse(hidden_text)
    except ConfigError:
        return "network: fix the hidden layers to see its size"
    try:
        ends = data_sizes(FORM_SETTINGS["data_dir"].parse(data_dir_text))
    except (ConfigError, DataError):
        return "network: fix the data directory to see its size"
    sizes = TrainConfig(hidden=hidden).layer_sizes(*ends)
    memory = "" if needed is None else f" · needs about {size_text(needed)}"
    return f"network {architecture(sizes)}: {parameter_count(sizes):,} parameters{memory}"


class ConfigureScreen(Screen):
    CSS_PATH = "configure.tcss"
    # On the presets, not in a text field: there 1-3, y and ? would be typed, not obeyed.
    AUTO_FOCUS = "#presets Button"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-wide")]

    TITLE = "Configure a run"
    ESCAPABLE = {*FORM_SETTINGS, "command", "start"}  # where esc goes back to the presets
    BINDINGS = [
        Binding("ctrl+r", "start", "start", tooltip="Start training with these settings"),
        *(
            Binding(str(number), f"preset('{name}')", name, tooltip=f"Preset {name}: {description}")
            for number, (name, (description, _)) in enumerate(PRESETS.items(), start=1)
        ),
        Binding("y", "copy_command", "copy",
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
        self.assessment = self.assess(self.entries_of(initial))
        self.drawn = False  # until the first revalidate has drawn everything
        self.shown_texts: dict[str, str] = {}
        self.last_focused: Widget | None = None  # the field (or button) focus goes back to

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
                yield Label(f"{self.TITLE} · presets:")
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
            yield from self.compose_options()
            yield Static("", id="help")
            yield Static("", id="problems")
            yield Static("", id="parameters")
            yield TextArea("", id="command", read_only=True, soft_wrap=True, compact=True)
            yield Button("Start  ctrl+r", id="start", variant="success", compact=True)
        yield Footer(compact=True)

    def compose_options(self) -> ComposeResult:
        """Fields of what the form starts, beside the settings (the sweep form's)."""
        yield from ()

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
        before, self.assessment = self.assessment, self.assess(entries)
        self.mark_fields(before)
        self.show_problems()
        parameters = describe_network(entries["hidden"], entries["data_dir"], self.assessment.needed)
        self.show_text("#parameters", parameters)
        self.show_command()
        self.enable_start(before)
        self.drawn = True

    def assess(self, entries: dict[str, object]) -> Assessment:
        return assess(self.base, entries)

    def mark_fields(self, before: Assessment) -> None:
        """A ✗ before the label of each field with a problem (its widget marked -invalid), a ⚠
        before one the run would ignore."""
        for name, setting in FORM_SETTINGS.items():
            mark = self.assessment.mark(name)
            if self.drawn and mark == before.mark(name):
                continue
            self.query_one(f"#{name}").set_class(mark == "✗", "-invalid")
            self.query_one(f"#label-{name}", Label).update(f"{mark} {setting.label}")

    def show_problems(self) -> None:
        """Every problem (✗), else "all settings valid" (✓) and any warning (⚠) below it."""
        assessment = self.assessment
        lines = [f"✗ {message}" for message in (*assessment.problems.values(), *assessment.general)]
        warnings = [f"⚠ {message}" for message in assessment.warnings]
        self.show_text("#problems", "\n".join(lines or ["✓ all settings valid", *warnings]))
        problems = self.query_one("#problems")
        problems.set_class(bool(lines), "-invalid")
        problems.set_class(bool(warnings) and not lines, "-warning")

    def command_line(self) -> str | None:
        """The equivalent command, while the settings are valid."""
        config = self.assessment.config
        return config.command_line() if config else None

    def show_command(self) -> None:
        command = self.command_line() or "(fix the settings marked ✗)"
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

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Show the help of the field (or button) now focused, mark its label, and remember it.
        A part of a widget (a Select's open list) counts as the widget."""
        owner = next(
            (node for node in event.widget.ancestors_with_self if node.id in FORM_SETTINGS or node.id in HELP),
            None,
        )
        if not isinstance(owner, Widget):
            return
        key = owner.id or ""
        self.show_text("#help", FORM_SETTINGS[key].help if key in FORM_SETTINGS else HELP[key])
        if self.last_focused is not None and self.last_focused.id in FORM_SETTINGS:
            self.query_one(f"#label-{self.last_focused.id}").remove_class("-focused")
        if key in FORM_SETTINGS:
            self.query_one(f"#label-{key}").add_class("-focused")
        self.last_focused = owner

    def on_key(self, event: events.Key) -> None:
        """Esc in a field (or on start, or the command line) takes focus back to the presets,
        where the screen's own keys act. A key reaches bindings only after bubbling up to here,
        so it is not a binding: on the presets, esc is left to the screen's (back, in
        EditSettingsScreen), and an open Select's list (focused, with no id) closes itself."""
        if event.key == "escape" and self.focused is not None and self.focused.id in self.ESCAPABLE:
            event.stop()
            event.prevent_default()
            self.query_one("#presets Button").focus()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Back from the runs list, the help or a run: focus goes back where it was, not to
        # wherever Textual settles it.
        if self.last_focused is not None and self.last_focused.is_attached and self.focused is not self.last_focused:
            self.set_focus(self.last_focused, scroll_visible=False)

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
            copy_text(self.app, "command line", self.command_line())
