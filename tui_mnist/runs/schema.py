"""What each JSON document of a run folder may hold, checked where it is read: a hand-edited or
damaged file is named with its field in one line (a RunError), never a TypeError further on.

A schema maps field names to kinds; a field the document lacks is left to the reader's default
unless the schema's caller requires it. Never imports numpy. The documents, and what a misfit
becomes:

    config.json        store.CONFIG_FIELDS        a RunError naming the file and the field
    status.json        store.STATUS_FIELDS        no status (the run reads as stale)
    changes.json       store.CHANGE_FIELDS        that change left out
    metrics.jsonl      store.EPOCH_RECORD_FIELDS, FINAL_RECORD_FIELDS: that line left out
    note.json          notes.NOTE_FIELDS          no note
    a checkpoint's history (its metadata's extra): history.EPOCH_FIELDS, BATCH_FIELDS,
                       COUNTER_FIELDS             that checkpoint skipped, with a warning
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from tui_mnist.runs import RunError

SHOWN = 60  # characters of a wrong value quoted in the message


@dataclass(frozen=True)
class Kind:
    description: str  # completes "FIELD must be ..."
    accepts: Callable[[object], bool]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TEXT = Kind("text", lambda value: isinstance(value, str))
NUMBER = Kind("a number", _is_number)
FLAG = Kind("true or false", lambda value: isinstance(value, bool))
OBJECT = Kind("an object", lambda value: isinstance(value, dict))
LIST = Kind("a list", lambda value: isinstance(value, list))
POSITIVE = Kind("a number above 0", lambda value: _is_number(value) and value > 0)


def whole(minimum: int = 0, maximum: int | None = None) -> Kind:
    """A whole number from `minimum` (to `maximum`, when given)."""
    upto = "" if maximum is None else f" to {maximum}"
    return Kind(
        f"a whole number from {minimum}{upto}",
        lambda value: isinstance(value, int) and not isinstance(value, bool)
        and value >= minimum and (maximum is None or value <= maximum),
    )


def one_of(names: Collection[str]) -> Kind:
    return Kind("one of " + ", ".join(names), lambda value: isinstance(value, str) and value in names)


def optional(kind: Kind) -> Kind:
    return Kind(f"{kind.description} or null", lambda value: value is None or kind.accepts(value))


def obj(schema: Mapping[str, Kind]) -> Kind:
    """An object holding every field of `schema`, each of its kind."""
    shown = ", ".join(f'"{name}": {kind.description}' for name, kind in schema.items())
    return Kind(
        "{" + shown + "}",
        lambda value: isinstance(value, dict)
        and all(name in value and kind.accepts(value[name]) for name, kind in schema.items()),
    )


def problem(
    document: object, schema: Mapping[str, Kind], required: Collection[str] = (),
    closed: bool = False,
) -> str | None:
    """What is wrong with `document` ("not an object", "FIELD is missing", "FIELD must be ...,
    not ...", for a `closed` schema "FIELD is not expected"), or None when it is an object,
    every field of `schema` it holds is of its kind and none of `required` is missing."""
    if not isinstance(document, Mapping):
        return "not an object"
    for name in required:
        if name not in document:
            return f"{name} is missing"
    if closed:
        for name in document:
            if name not in schema:
                return f"{name} is not expected"
    for name, kind in schema.items():
        if name in document and not kind.accepts(document[name]):
            shown = json.dumps(document[name])
            shown = shown if len(shown) <= SHOWN else shown[: SHOWN - 1] + "…"
            return f"{name} must be {kind.description}, not {shown}"
    return None


def checked(
    path: Path, document: Mapping, schema: Mapping[str, Kind], required: Collection[str] = ()
) -> Mapping:
    """`document` when it fits `schema` (see problem); a RunError naming `path` and the field
    otherwise."""
    found = problem(document, schema, required)
    if found:
        raise RunError(f"{path}: {found}")
    return document
