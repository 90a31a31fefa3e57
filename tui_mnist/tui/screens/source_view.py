"""What the screens made from a network source share: the inspector and the views it and the
training screen open (draw, confusion, weights, gradient check) are each made from a title and
a `fetch` that brings the source (a trip to a live run's trainer, or a source already there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the inspector, which defines the source, is itself such a screen
    from tui_mnist.tui.screens.inspector import InspectSource

SourceFetch = Callable[[], "Awaitable[InspectSource]"]


def already(source: InspectSource) -> SourceFetch:
    """A fetch of a source that is already there (a model file, the inspector's own)."""

    async def fetch() -> InspectSource:
        return source

    return fetch


class SourceView:
    """Mixin for a screen whose constructor takes (title, fetch, ...)."""

    @classmethod
    def of(cls, source: InspectSource, *args, **kwargs):
        """The screen on a source that is already there."""
        return cls(source.title, already(source), *args, **kwargs)
