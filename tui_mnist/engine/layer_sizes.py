"""A network's layer sizes in words and numbers, without numpy (the settings screen shows them
as you type, before numpy is loaded)."""

from __future__ import annotations


def architecture(sizes: tuple[int, ...]) -> str:
    """Layer sizes as the app and the CLI show them: "784-128-10"."""
    return "-".join(map(str, sizes))


def parameter_count(sizes: tuple[int, ...]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
