"""A run's note: free text kept beside the run, in its folder as note.json ({"note": text,
"updated": when}); the words of a note that start with "#" are its tags ("wide net #keep").

The note is the user's, not the trainer's: writing it while the run trains touches no file the
trainer writes. A missing or damaged note.json reads as no note, never as an error (the list
of runs must show the run anyway). Never imports numpy (store.write_json defers it).
"""

from __future__ import annotations

from pathlib import Path

from tui_mnist.runs.schema import TEXT, problem
from tui_mnist.runs.store import RunFolder, now_iso, read_json, write_json

NOTE_FILE = "note.json"
NOTE_FIELDS = {"note": TEXT, "updated": TEXT}


def note_file(folder: RunFolder) -> Path:
    return folder.path / NOTE_FILE


def read_note(folder: RunFolder) -> str:
    """The run's note, or "" when it has none or its note.json cannot be read."""
    document = read_json(note_file(folder)) or {}
    return document.get("note", "") if problem(document, NOTE_FIELDS) is None else ""


def write_note(folder: RunFolder, note: str) -> None:
    """Keep `note` (stripped) as the run's note, written atomically; an empty note removes the
    file. Raises OSError when the folder cannot be written."""
    note = note.strip()
    if note:
        write_json(note_file(folder), {"note": note, "updated": now_iso()})
    else:
        note_file(folder).unlink(missing_ok=True)


def note_tags(note: str) -> list[str]:
    """The tags of `note`, lowercased, in order: "wide net #Keep #lr-test" -> ["#keep",
    "#lr-test"] (a lone "#" is no tag)."""
    return [word.lower() for word in note.split() if word.startswith("#") and len(word) > 1]
