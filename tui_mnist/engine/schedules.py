"""Learning rate as a function of the global step: constant, step decay or cosine,
optionally after a linear warmup."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui_mnist.engine.choices import SCHEDULE_NAMES
from tui_mnist.engine.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    kind: str
    base_lr: float
    total_steps: int
    warmup_steps: int = 0
    step_every: int = 1  # steps between decays, for "step"
    gamma: float = 0.1  # decay factor, for "step"

    def __post_init__(self):
        if self.kind not in SCHEDULE_NAMES:
            raise ConfigError(f"unknown schedule {self.kind!r} (choose {', '.join(SCHEDULE_NAMES)})")

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.base_lr
        if self.kind == "step":
            return self.base_lr * self.gamma ** ((step - self.warmup_steps) // self.step_every)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.base_lr * 0.5 * (1 + math.cos(math.pi * progress))
