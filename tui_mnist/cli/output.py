"""How the commands talk to the user: lines that survive a vanished terminal, one-line errors,
exit codes."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Defined where main() needs it before anything else is imported; the commands take it from here.
from tui_mnist.cli import EXIT_INTERRUPTED as EXIT_INTERRUPTED

EXIT_ERROR = 1


def run_guarded(command) -> int:
    """Run a command; a user-facing error becomes one line on stderr and exit code 1."""
    from tui_mnist.engine.errors import EngineError
    from tui_mnist.engine.files import describe

    try:
        return command()
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
    except OSError as error:  # the writers name their file (engine.files.naming)
        print(f"tui-mnist: {describe(error)}", file=sys.stderr)
    return EXIT_ERROR


def say(text: str, stream=None) -> None:
    """Print; if the terminal has gone (SSH dropped, pipe closed), carry on without output."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except OSError:
        drop_output()


def warn(message: str) -> None:
    say(f"tui-mnist: {message}", sys.stderr)


def drop_output(*_signal) -> None:
    """Point stdout and stderr at /dev/null: training goes on when the terminal disappears."""
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)


@contextmanager
def handling(handlers: dict[int, Callable]) -> Iterator[None]:
    """These signal handlers (signal number: handler) while inside; the previous ones after."""
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

