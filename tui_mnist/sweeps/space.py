"""A sweep's search space: which training settings are searched, over what, and which are fixed.

A space comes from flags (`--lr 0.01..0.3:log`, `--hidden 128|512,256`, `--batch-size 64,128`)
or from a TOML file, and is stored as JSON in the sweep's folder. Each searched setting is a
`Param`: a list of choices, or a numeric range with an optional log scale. Every value goes
through the setting's own `parse` (engine/settings.py), so a sampled value is exactly what the
same text would give as a `train` flag, and `Space.check` asks `TrainConfig.problems()` about
each choice and both ends of each range before anything starts.

Stdlib and tui_mnist.engine only, never optuna: the CLI builds its parser, and refuses a bad
space, before the heavy imports. A trial object only needs Optuna's `suggest_categorical`,
`suggest_int` and `suggest_float`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import BY_NAME, Setting, number, quoted, whole

# Settings a sweep never searches, and why. data_dir may still be fixed (one folder for every
# trial); threads may not be set at all.
NOT_SEARCHED = {
    "data_dir": "the data folder cannot be searched, only fixed to one folder",
    "threads": "threads cannot be set for a sweep: each trial runs on 1 BLAS thread, "
    "and trials run side by side instead",
}
RANGE_OPTIONS = ("log",)


def _numeric(setting: Setting) -> bool:
    return setting.parse in (whole, number)


@dataclass(frozen=True)
class Param:
    """One searched setting: `choices` (parsed values), or the range `low`..`high`."""

    name: str  # a TrainConfig field
    choices: tuple = ()
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    integer: bool = False  # a range over whole numbers (the setting's parse is `whole`)

    @property
    def setting(self) -> Setting:
        return BY_NAME[self.name]

    @property
    def is_range(self) -> bool:
        return not self.choices

    def shown_choices(self) -> list[str]:
        """The choices as Optuna sees them: the setting's text for each ("512,256", "yes")."""
        return [self.setting.show(value) for value in self.choices]

    def suggest(self, trial):
        """The value `trial` picks for this setting, parsed as the setting's own text would be."""
        if self.choices:
            return self.setting.parse(trial.suggest_categorical(self.name, self.shown_choices()))
        if self.integer:
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def describe(self) -> str:
        """One line for people: "lr 0.01..0.3 log", "hidden 128 | 512,256"."""
        return f"{self.name} {self.span()}"

    def span(self) -> str:
        """What is searched, without the name: "0.01..0.3 log", "128 | 512,256"."""
        if self.choices:
            return " | ".join(self.shown_choices())
        return f"{self.low}..{self.high}" + (" log" if self.log else "")

    def to_json(self) -> dict:
        if self.choices:
            return {"name": self.name, "choices": self.shown_choices()}
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log, "integer": self.integer}


@dataclass(frozen=True)
class Space:
    """The searched settings (`params`) and the settings given one value (`fixed`, parsed)."""

    params: tuple[Param, ...] = ()
    fixed: dict[str, object] = field(default_factory=dict)

    def sample(self, trial) -> dict[str, object]:
        """A value for every searched setting, from `trial`."""
        return {param.name: param.suggest(trial) for param in self.params}

    def config_for(self, base: TrainConfig, values: Mapping[str, object]) -> TrainConfig:
        """`base` with the fixed settings and a trial's `values`, validated: a combination that
        `check` could not see (warmup against a searched epoch count) is a ConfigError."""
        return base.with_changes(**{**self.fixed, **values}).validated()

    def check(self, base: TrainConfig) -> None:
        """Refuse, with a ConfigError naming the setting, a space with nothing to search, fixed
        values that make `base` invalid, or a choice or either end of a range that does."""
        if not self.params:
            raise ConfigError("nothing to search: give at least one setting a range (a..b) or choices (a|b)")
        start = base.with_changes(**self.fixed)
        problems = start.problems()
        if problems:
            raise ConfigError(f"the settings that are not searched are invalid: {problems[0]}")
        searched = [param.name for param in self.params]
        if "optimizer" not in searched:  # else some trials' optimizer may read them
            start.check_given([*self.fixed, *searched])
        for param in self.params:
            values = param.choices or (param.low, param.high)
            for value in values:
                problems = start.with_changes(**{param.name: value}).problems()
                if problems:
                    raise ConfigError(
                        f"{param.setting.flag} {param.span()}: "
                        f"{param.setting.show(value)} is not allowed: {problems[0]}"
                    )

    def grid(self) -> dict[str, list]:
        """The search space for Optuna's GridSampler: every param's choices as suggested."""
        for param in self.params:
            if param.is_range:
                raise ConfigError(f"grid search needs choices: {param.name} is a range ({param.describe()})")
        return {param.name: param.shown_choices() for param in self.params}

    def merged(self, other: Space) -> Space:
        """This space with `other`'s params and fixed values in place of its own for the same
        settings (the CLI merges a TOML file with flags, the flags winning)."""
        items: dict[str, object] = {param.name: param for param in self.params} | self.fixed
        for name in [param.name for param in other.params] + list(other.fixed):
            items.pop(name, None)  # a replaced setting moves to the end, in other's order
        items |= {param.name: param for param in other.params} | other.fixed
        return Space(
            params=tuple(item for item in items.values() if isinstance(item, Param)),
            fixed={name: item for name, item in items.items() if not isinstance(item, Param)},
        )

    def to_json(self) -> dict:
        """Plain JSON: params as their shown choices or their bounds, fixed values as text."""
        return {
            "params": [param.to_json() for param in self.params],
            "fixed": {name: BY_NAME[name].show(value) for name, value in self.fixed.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Space:
        """The space `to_json` wrote; a record that is not one is a ConfigError."""
        where = "the stored sweep space"
        try:
            params = []
            for record in data["params"]:
                setting = _setting(record["name"], where)
                if "choices" in record:
                    params.append(_choices(setting, [str(text) for text in record["choices"]], where))
                else:
                    params.append(
                        _range(setting, str(record["low"]), str(record["high"]), bool(record["log"]), where)
                    )
            fixed = {
                name: _parsed(_setting(name, where), str(text), where) for name, text in data["fixed"].items()
            }
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"{where} is malformed ({type(error).__name__}: {error})") from None
        return cls(params=tuple(params), fixed=fixed)


def parse_param(name: str, text: str) -> Param | object:
    """A Param from one flag's text, or the parsed value when the text gives one value.

    `a..b` is a range and `a..b:log` a log range (numeric settings); `|` separates choices, and
    so does a comma except for hidden, where it separates layers (`128|512,256`: one or two
    hidden layers). Anything wrong is a ConfigError naming the flag and the text."""
    setting = _setting(name, f'--{name.replace("_", "-")} {quoted(text)}')
    return _from_text(setting, text, f"{setting.flag} {quoted(text)}")


def space_from_flags(texts: Mapping[str, str]) -> Space:
    """The space from the command line: setting name (underscores or dashes) → the raw text."""
    params: list[Param] = []
    fixed: dict[str, object] = {}
    for name, text in texts.items():
        found = parse_param(name.replace("-", "_"), text)
        if isinstance(found, Param):
            params.append(found)
        else:
            fixed[name.replace("-", "_")] = found
    return Space(params=tuple(params), fixed=fixed)


def space_from_toml(path: str | Path) -> Space:
    """The space in a TOML file: each top-level key is a setting (dashes or underscores), whose
    value is flag text ("0.01..0.3:log"), a list of choices, one number or bool (fixed), or a
    table {low = ..., high = ..., log = true}. Anything wrong is a ConfigError naming the file."""
    try:
        import tomllib
    except ImportError:  # in the standard library from Python 3.11
        raise ConfigError(f"{path}: reading a TOML space needs Python 3.11 or later; give it as flags") from None
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the sweep space: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    params: list[Param] = []
    fixed: dict[str, object] = {}
    seen: dict[str, str] = {}
    for key, value in document.items():
        where = f"{path}: {key}"
        setting = _setting(key.replace("-", "_"), where)
        if setting.name in seen:
            raise ConfigError(f"{where}: {setting.name} is already given as {seen[setting.name]}")
        seen[setting.name] = key
        found = _from_toml(setting, value, where)
        if isinstance(found, Param):
            params.append(found)
        else:
            fixed[setting.name] = found
    return Space(params=tuple(params), fixed=fixed)


# --- the pieces, each raising ConfigError(f"{where}: ...") ---------------------------------------


def _setting(name: str, where: str) -> Setting:
    setting = BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"{where}: unknown setting {name!r}")
    return setting


def _refuse_search(setting: Setting, where: str) -> None:
    if setting.name in NOT_SEARCHED:
        raise ConfigError(f"{where}: {NOT_SEARCHED[setting.name]}")


def _parsed(setting: Setting, text: str, where: str) -> object:
    """One value, through the setting's own parse (its message, after `where`)."""
    if setting.name == "threads":
        _refuse_search(setting, where)
    try:
        return setting.parse(text if setting.name == "data_dir" else text.strip())
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _from_text(setting: Setting, text: str, where: str) -> Param | object:
    if setting.name == "data_dir":  # a path may hold "..", "|" or ","
        return _parsed(setting, text, where)
    if ".." in text:
        body, colon, option = text.partition(":")
        bounds = body.split("..")
        if len(bounds) != 2:
            raise ConfigError(f"{where}: a range is low..high, with one ..")
        if colon and option.strip() not in RANGE_OPTIONS:
            raise ConfigError(f'{where}: unknown range option {quoted(colon + option)} (only ":log")')
        return _range(setting, bounds[0], bounds[1], bool(colon), where)
    parts = text.split("|") if setting.name == "hidden" else re.split(r"[|,]", text)
    if len(parts) == 1:
        return _parsed(setting, text, where)
    return _choices(setting, parts, where)


def _choices(setting: Setting, texts: list[str], where: str) -> Param | object:
    """Choices from their texts; a single one is a fixed value."""
    _refuse_search(setting, where)
    values = []
    for text in texts:
        if not text.strip():
            raise ConfigError(f"{where}: a choice is empty")
        value = _parsed(setting, text, where)
        if value in values:
            raise ConfigError(f"{where}: {setting.show(value)} is given twice")
        values.append(value)
    if len(values) == 1:
        return values[0]
    return Param(setting.name, choices=tuple(values))


def _range(setting: Setting, low_text: str, high_text: str, log: bool, where: str) -> Param:
    _refuse_search(setting, where)
    if setting.name == "hidden":
        raise ConfigError(f"{where}: hidden takes choices, not a range (e.g. 128|256|512,256)")
    if not _numeric(setting):
        raise ConfigError(f"{where}: {setting.label} is not a number: give choices (a|b), not a range")
    low = _parsed(setting, low_text, where)
    high = _parsed(setting, high_text, where)
    if not low < high:
        raise ConfigError(f"{where}: the range is empty or reversed ({low} is not below {high})")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs a low end above 0, not {low}")
    return Param(setting.name, low=low, high=high, log=log, integer=setting.parse is whole)


def _toml_text(setting: Setting, item: object, where: str) -> str:
    """A TOML scalar as the text the setting's parse reads."""
    if isinstance(item, bool):
        return setting.show(item) if setting.switch else str(item).lower()
    if isinstance(item, int | float):
        return repr(item)
    if isinstance(item, str):
        return item
    raise ConfigError(f"{where}: {item!r} is not a value (give text, a number, true or false)")


def _from_toml(setting: Setting, value: object, where: str) -> Param | object:
    if isinstance(value, str):
        return _from_text(setting, value, where)
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: the list of choices is empty")
        return _choices(setting, [_toml_text(setting, item, where) for item in value], where)
    if isinstance(value, dict):
        unknown = set(value) - {"low", "high", "log"}
        if unknown:
            raise ConfigError(f"{where}: a range takes low, high and log, not {', '.join(sorted(unknown))}")
        if "low" not in value or "high" not in value:
            raise ConfigError(f"{where}: a range needs both low and high")
        log = value.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{where}: log is true or false, not {log!r}")
        low, high = (_toml_text(setting, value[end], where) for end in ("low", "high"))
        return _range(setting, low, high, log, where)
    return _parsed(setting, _toml_text(setting, value, where), where)
