"""Copying text, and saying honestly what happened: Textual's copy_to_clipboard sends the text
to the terminal as an OSC 52 sequence, which a terminal (or tmux without `set-clipboard on`)
may drop without a word. No answer comes back, so the app cannot know whether it worked: the
notice says where the text went and shows it, to select by hand when it did not arrive."""

from __future__ import annotations

import os

from textual.app import App

NOTICE_SECONDS = 12.0  # long enough to select the text shown
TMUX_HINT = "(in tmux this needs `set -g set-clipboard on`)"


def copy_notice(what: str, text: str, in_tmux: bool = False) -> str:
    """What the user is told after `what` (e.g. "command line") was sent to be copied."""
    hint = f" {TMUX_HINT}" if in_tmux else ""
    return (
        f"{what} sent to the terminal's clipboard (OSC 52){hint}; "
        f"if your terminal ignores it, select the text below:\n{text}"
    )


def copy_text(app: App, what: str, text: str) -> str:
    """Send `text` to the terminal's clipboard and notify what happened; returns the notice.
    Every copy key goes through here."""
    app.copy_to_clipboard(text)
    notice = copy_notice(what, text, in_tmux=bool(os.environ.get("TMUX")))
    app.notify(notice, title="copy", timeout=NOTICE_SECONDS, markup=False)
    return notice
