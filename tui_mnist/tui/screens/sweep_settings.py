"""The settings form for a sweep: every field takes one value, choices (`relu|tanh`, `64,128`)
or a range (`0.01..0.3:log`), as `tui-mnist sweep`'s flags do (sweeps.space), with the sweep's
own options under the settings (trials, budget, sampler, pruner). It validates as you type, like
the run's form; ctrl+r starts the sweep detached (it outlives the app), and the screen is
dismissed with the new sweep's id.

Only the fields that differ from the preset (or the defaults) are the sweep's: the rest come from
the preset, so the threads field, which a sweep fixes at one per trial, is never in the way.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError, EngineError
from tui_mnist.engine.settings import Setting, number, whole
from tui_mnist.runs.store import resolve_runs_dir
from tui_mnist.sweeps.folder import PRUNERS, SAMPLERS, SweepFolder, planned
from tui_mnist.sweeps.launch import start_detached
from tui_mnist.sweeps.space import Space, space_from_flags
from tui_mnist.tui.screens.configure import FORM_SETTINGS, Assessment, ConfigureScreen

DEFAULT_TRIALS = 20
OPTION_HELP = {
    "trials": "Trials to run: the sweep ends when this many have ended (finished, pruned or failed).",
    "budget": "Wall time for the whole sweep in seconds; empty: none. Running trials stop when it is spent.",
    "sampler": "How settings are chosen: tpe learns from the trials so far; grid needs choices only.",
    "pruner": "How trials are stopped early on their per-epoch validation accuracy.",
}


class SweepSettingsScreen(ConfigureScreen):
    TITLE = "Configure a sweep (a|b, a..b)"
    CSS_PATH = ["configure.tcss", "sweep_settings.tcss"]
    BINDINGS = [Binding("escape", "back", "back", tooltip="Back, starting no sweep")]
    ESCAPABLE = {*ConfigureScreen.ESCAPABLE, *OPTION_HELP}  # esc there: to the presets first

    def __init__(self, initial: TrainConfig, runs_dir=None, **kwargs) -> None:
        self.runs_dir = runs_dir  # None: $TUI_MNIST_RUNS or the user's data directory
        self.space: Space | None = None  # with the assessment: the sweep's, once valid
        self.options: dict[str, object] = {"trials": DEFAULT_TRIALS, "budget": None,
                                           "sampler": "tpe", "pruner": "halving"}
        super().__init__(initial, **kwargs)

    # --- the fields: all text -----------------------------------------------------------------

    @staticmethod
    def entries_of(config: TrainConfig) -> dict[str, object]:
        return {name: setting.show(getattr(config, name)) for name, setting in FORM_SETTINGS.items()}

    @staticmethod
    def field(setting: Setting, entry: object) -> ComposeResult:
        yield Label(setting.label, id=f"label-{setting.name}", classes="label")
        yield Input(str(entry), id=setting.name, compact=True)

    def compose_options(self) -> ComposeResult:
        with Horizontal(id="sweep-options"):
            yield Label("trials", classes="label")
            yield Input(str(DEFAULT_TRIALS), id="trials", compact=True)
            yield Label("budget", classes="label")
            yield Input("", id="budget", placeholder="none", compact=True)
            yield Label("sampler", classes="label")
            yield Select([(name, name) for name in SAMPLERS], value="tpe", allow_blank=False,
                         id="sampler", compact=True)
            yield Label("pruner", classes="label")
            yield Select([(name, name) for name in PRUNERS], value="halving", allow_blank=False,
                         id="pruner", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        for name, text in OPTION_HELP.items():
            self.query_one(f"#{name}").tooltip = text

    # --- checking ------------------------------------------------------------------------------

    def changed(self, entries: dict[str, object]) -> dict[str, str]:
        """The fields whose text differs from the preset's: the sweep's own settings."""
        shown = self.entries_of(self.base)
        return {name: str(text).strip() for name, text in entries.items() if str(text).strip() != shown[name]}

    def assess(self, entries: dict[str, object]) -> Assessment:
        self.space = None
        texts = self.changed(entries)
        problems = {}
        for name, text in texts.items():
            try:
                space_from_flags({name: text})
            except ConfigError as error:
                problems[name] = str(error)
        if problems:
            return Assessment(None, problems, [])
        general = []
        try:
            self.options = self.read_options()
        except ConfigError as error:
            general.append(str(error))
        try:
            space = space_from_flags(texts)
            planned(space, self.base, self.options["trials"], Path(), **self.sweep_options())  # checks
        except EngineError as error:
            general.append(str(error))
        if general:
            return Assessment(None, {}, general)
        self.space = space
        return Assessment(space.config_for(self.base, {}), {}, [])

    def read_options(self) -> dict[str, object]:
        if not self.query("#trials"):  # before the fields exist: the defaults
            return dict(self.options)
        texts = {name: self.query_one(f"#{name}").value for name in OPTION_HELP}
        trials = whole(texts["trials"])
        if trials < 1:
            raise ConfigError("trials: at least 1")
        budget = number(texts["budget"]) if texts["budget"].strip() else None
        if budget is not None and not budget > 0:
            raise ConfigError("budget: more than 0 seconds, or empty for none")
        return {"trials": trials, "budget": budget, "sampler": texts["sampler"], "pruner": texts["pruner"]}

    def sweep_options(self) -> dict[str, object]:
        return {name: self.options[name] for name in ("budget", "sampler", "pruner")}

    def on_select_changed(self, event: Select.Changed) -> None:
        self.revalidate()

    def command_line(self) -> str | None:
        if self.space is None:
            return None
        flags = [f"{FORM_SETTINGS[name].flag} {shlex.quote(text)}"
                 for name, text in self.changed(self.read_entries()).items()]
        options = self.options
        flags.append(f"--trials {options['trials']}")
        if options["budget"] is not None:
            flags.append(f"--budget {options['budget']:g}")
        flags += [f"--sampler {options['sampler']}", f"--pruner {options['pruner']}"]
        return "tui-mnist sweep " + " ".join(flags)

    # --- starting ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_start(self) -> None:
        if self.space is None:
            return
        try:
            runs_dir = resolve_runs_dir(self.runs_dir)
            make_spec = planned(self.space, self.base, self.options["trials"], runs_dir, **self.sweep_options())
            folder, _ = SweepFolder.create(runs_dir, make_spec)
            start_detached(folder, runs_dir)
        except (EngineError, OSError) as error:
            self.notify(str(error), title="The sweep did not start", severity="error", timeout=10)
            return
        self.dismiss(folder.id)
