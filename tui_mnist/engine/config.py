"""Training settings: one frozen record, its validation, and its `tui-mnist train` command line."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from tui_mnist.engine.choices import (
    ACTIVATION_NAMES,
    AUGMENTATIONS,
    DTYPE_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
)
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import BY_NAME, SETTINGS

# Settings only some optimizers read: setting -> those optimizers.
OPTIMIZER_ONLY: dict[str, tuple[str, ...]] = {"momentum": ("momentum",), "nesterov": ("momentum",)}


@dataclass(frozen=True)
class TrainConfig:
    hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    epochs: int = 5
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "momentum"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    dropout: float = 0.0  # probability of zeroing a hidden unit's output while training
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    seed: int = 0
    val: int = 5000
    standardize: bool = False
    augment: str = "none"
    dtype: str = "float32"
    test_each_epoch: bool = False
    data_dir: str | None = None
    threads: int = 0  # 0: automatic, see engine.threads

    def validated(self) -> TrainConfig:
        """Self, or a ConfigError naming the first bad setting and why."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems[0])
        return self

    def problems(self) -> list[str]:
        found = []

        def need(ok: bool, message: str) -> None:
            if not ok:
                found.append(message)

        need(
            all(isinstance(n, int) and n > 0 for n in self.hidden),
            "hidden layer sizes must be positive whole numbers",
        )
        need(
            self.activation in ACTIVATION_NAMES,
            f"activation must be one of {', '.join(ACTIVATION_NAMES)}",
        )
        for setting in SETTINGS:
            if setting.bounds is not None:
                value = getattr(self, setting.name)
                need(_is_number(value) and value in setting.bounds, f"{setting.label} {setting.bounds.rule()}")
        need(
            self.optimizer in OPTIMIZER_NAMES,
            f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}",
        )
        need(self.schedule in SCHEDULE_NAMES, f"schedule must be one of {', '.join(SCHEDULE_NAMES)}")
        need(
            not (_is_number(self.warmup_epochs) and _is_number(self.epochs)) or self.warmup_epochs < self.epochs,
            "warmup must be shorter than the run",
        )
        need(self.augment in AUGMENTATIONS, f"augment must be one of {', '.join(AUGMENTATIONS)}")
        need(self.dtype in DTYPE_NAMES, f"dtype must be one of {', '.join(DTYPE_NAMES)}")
        return found

    def ignores(self, name: str) -> bool:
        """Whether this config's optimizer never reads setting `name` (momentum under adam)."""
        return name in OPTIMIZER_ONLY and self.optimizer not in OPTIMIZER_ONLY[name]

    def check_given(self, names) -> None:
        """A ConfigError for the first of the settings `names` (those the user gave) that this
        config's optimizer ignores: --momentum with adam would change nothing."""
        for name in names:
            if self.ignores(name):
                users = " or ".join(OPTIMIZER_ONLY[name])
                raise ConfigError(f"{BY_NAME[name].flag} is not used by --optimizer {self.optimizer}, only by {users}")

    def unused(self) -> dict[str, str]:
        """The settings the optimizer ignores that are set away from their default (they would
        matter to another optimizer): name -> "not used by adam"."""
        return {
            name: f"not used by {self.optimizer}"
            for name in OPTIMIZER_ONLY
            if self.ignores(name) and getattr(self, name) != getattr(TrainConfig, name)
        }

    def layer_sizes(self, n_inputs: int, n_classes: int) -> tuple[int, ...]:
        """The network's layer sizes for data of `n_inputs` pixels and `n_classes` labels."""
        return (n_inputs, *self.hidden, n_classes)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The settings a JSON document holds (a run's config.json, a checkpoint's, a sweep's
        base): a ConfigError names an unknown setting, or one not of its default's kind, before
        a wrong type could fail further on. Bounds are `validated`'s."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        for setting in fields(cls):
            words, test = _json_kind(setting.default)
            if setting.name in data and not test(data[setting.name]):
                shown = repr(data[setting.name])
                shown = shown if len(shown) <= 60 else shown[:59] + "…"
                raise ConfigError(f"{setting.name} must be {words} (got {shown})")
        values = dict(data)
        if "hidden" in values:
            values["hidden"] = tuple(values["hidden"])
        return cls(**values)

    def command_line(self, base: TrainConfig | None = None) -> str:
        """The `tui-mnist train ...` command that reproduces this run: a flag for every setting
        that differs from `base` (default: the defaults). A switch turned off relative to `base`
        has no flag to say so and is left out, and so is a setting the optimizer ignores (the
        command line refuses it)."""
        base = base or TrainConfig()
        words = ["tui-mnist", "train"]
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(base, f.name) or self.ignores(f.name):
                continue
            setting = BY_NAME[f.name]
            if setting.switch:
                if value:
                    words.append(setting.flag)
            else:
                words += [setting.flag, setting.show(value)]
        return shlex.join(words)

    def with_changes(self, **changes) -> TrainConfig:
        return replace(self, **changes)


def _is_number(value: object) -> bool:
    """An int or a finite float (a config read from a file may hold anything)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json_kind(default: object) -> tuple[str, Callable[[object], bool]]:
    """What JSON must hold for a setting of this default, in words and as a test."""
    if default is None:  # the data folder
        return "text or null", lambda value: value is None or isinstance(value, str)
    if isinstance(default, bool):
        return "true or false", lambda value: isinstance(value, bool)
    if isinstance(default, int):  # 2**53: the largest whole number every JSON reader keeps exact
        return "a whole number", lambda value: type(value) is int and abs(value) <= 2**53
    if isinstance(default, float):
        return "a number", lambda value: type(value) in (int, float)
    if isinstance(default, str):
        return "text", lambda value: isinstance(value, str)
    return "a list of whole numbers", lambda value: isinstance(value, list) and all(type(n) is int for n in value)
