"""Run folders: every training run on disk (config, metrics, checkpoints, status), the trainer
process that hosts a run behind a control socket, and the client that talks to it."""

from tui_mnist.engine.errors import EngineError


class RunError(EngineError):
    """A run cannot be found, read, started or reached."""
