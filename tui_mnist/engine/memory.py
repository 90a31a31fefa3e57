"""Refuse a network that would not fit, before allocating any of it."""

from __future__ import annotations

import os

from tui_mnist.engine.errors import MemoryGuardError

# Leave room for the data, the interpreter and the rest of the machine.
USABLE_FRACTION = 0.8


def available_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(needed: int, what: str, available: int | None = None) -> None:
    available = available_bytes() if available is None else available
    if needed > USABLE_FRACTION * available:
        raise MemoryGuardError(
            f"{what} needs about {needed / 1e9:.1f} GB, more than the "
            f"{USABLE_FRACTION * available / 1e9:.1f} GB that can be used here: "
            "use fewer or narrower hidden layers, or a smaller batch"
        )
