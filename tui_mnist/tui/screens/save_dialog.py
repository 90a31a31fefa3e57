"""Asks where to save the model; dismisses with the path, or None."""

from __future__ import annotations

from tui_mnist.tui.screens.ask_dialog import AskDialog

DEFAULT_MODEL_PATH = "./model.npz"


class SaveDialog(AskDialog[str]):
    def __init__(self, path: str = DEFAULT_MODEL_PATH) -> None:
        super().__init__("Save model", "File (.npz):", path)
        self.path = path

    def answer(self, text: str) -> str:
        if not text.strip():
            raise ValueError("type a file name first")
        return text.strip()
