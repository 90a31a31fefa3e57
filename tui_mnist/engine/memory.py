"""Refuse a network that would not fit, before allocating any of it.

No numpy: the settings form shows a run's memory, and warns about it, as you type, before
numpy is loaded. The Trainer checks the same estimate (run_bytes) with check_fits.
"""

from __future__ import annotations

import os

from tui_mnist.engine.errors import MemoryGuardError
from tui_mnist.engine.layer_sizes import parameter_count

# Leave room for the data, the interpreter and the rest of the machine.
USABLE_FRACTION = 0.8
# The settings form warns from this share of what check_fits allows: well before a refusal,
# while a run that size still slows the rest of the machine.
WARN_FRACTION = 0.25
EVAL_CHUNK = 1000  # rows per evaluation batch: bounded memory, still large GEMMs
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2}  # state arrays kept per parameter array
ITEMSIZES = {"float32": 4, "float64": 8}  # bytes per number, by TrainConfig.dtype


def training_bytes(sizes: tuple[int, ...], batch_size: int, optimizer_slots: int, itemsize: int) -> int:
    """Memory that training will allocate: parameters, their gradients and optimizer state,
    plus batch buffers (inputs, activations, deltas) and the evaluation buffers."""
    params = parameter_count(sizes) * (2 + optimizer_slots)
    rows = batch_size + EVAL_CHUNK
    buffers = rows * (sizes[0] + 2 * sum(sizes[1:]))
    return (params + buffers) * itemsize


def dropout_bytes(hidden: tuple[int, ...], capacity: int, itemsize: int) -> int:
    """Memory a Dropout allocates: two float buffers and one boolean buffer per hidden layer."""
    return capacity * sum(hidden) * (2 * itemsize + 1)


def run_bytes(config, n_inputs: int, n_classes: int, n_train: int) -> int:
    """What a Trainer of `config` (a TrainConfig) allocates for data of `n_inputs` pixels,
    `n_classes` labels and `n_train` training images: the figure check_fits is given."""
    itemsize = ITEMSIZES[config.dtype]
    rows = min(config.batch_size, n_train)
    sizes = config.layer_sizes(n_inputs, n_classes)
    needed = training_bytes(sizes, rows, OPTIMIZER_SLOTS[config.optimizer], itemsize)
    if config.dropout:
        needed += dropout_bytes(config.hidden, rows, itemsize)
    return needed


def size_text(count: int) -> str:
    """Bytes as the form and the guard say them: "3.9 GB", "12 MB"."""
    return f"{count / 1e9:.1f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"


def memory_warning(needed: int, available: int | None = None) -> str | None:
    """A warning when `needed` is over WARN_FRACTION of what check_fits allows, else None."""
    usable = USABLE_FRACTION * (available_bytes() if available is None else available)
    if needed <= WARN_FRACTION * usable:
        return None
    return (
        f"training needs about {size_text(needed)}, over {WARN_FRACTION:.0%} of the "
        f"{size_text(int(usable))} that can be used here"
    )


def available_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def beyond_usable(needed: int) -> str | None:
    """"more than the 18.9 GB that can be used here" when `needed` bytes, claimed by a file,
    would not fit in what the guard lets a run use; None when they would."""
    usable = int(USABLE_FRACTION * available_bytes())
    return f"more than the {size_text(usable)} that can be used here" if needed > usable else None


def check_fits(needed: int, what: str, available: int | None = None) -> None:
    available = available_bytes() if available is None else available
    if needed > USABLE_FRACTION * available:
        raise MemoryGuardError(
            f"{what} needs about {needed / 1e9:.1f} GB, more than the "
            f"{USABLE_FRACTION * available / 1e9:.1f} GB that can be used here: "
            "use fewer or narrower hidden layers, or a smaller batch"
        )
