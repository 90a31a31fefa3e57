"""`tui-mnist train`: decide what to train from JSON alone, fix the BLAS threads, then train a
run folder with one line per epoch on stdout; the run id and notices go to stderr."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from tui_mnist.cli.lines import ProgressBar, epoch_line, final_line
from tui_mnist.cli.output import EXIT_ERROR, EXIT_INTERRUPTED, drop_output, handling, run_guarded, say, warn
from tui_mnist.cli.parser import config_from_args, typed_settings
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.engine.threads import pool_threads, set_blas_threads
from tui_mnist.live.events import Batches, Event


def train_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Decide what to train from JSON alone, fix the BLAS threads, then train."""
    from tui_mnist.engine.errors import ConfigError, EngineError, OutputPathError
    from tui_mnist.runs.resume import plan_resume
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    if args.run_id and (args.resume or args.preset or typed_settings(args)):
        parser.error("--run-id trains a run folder as it is: it takes no settings")
    try:
        runs_dir = resolve_runs_dir(args.runs_dir)
        if args.run_id:
            target = find_run(runs_dir, args.run_id)
            config = target.train_config()
        elif args.resume:
            target = plan_resume(runs_dir, args.resume, lambda saved: config_from_args(args, saved))
            config = target.config
        else:
            target = config = config_from_args(args).validated()
        check_outputs(args)
    except (ConfigError, OutputPathError) as error:
        parser.error(str(error))
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
        return EXIT_ERROR
    set_blas_threads(pool_threads(config.threads))
    return run_guarded(lambda: _train(target, runs_dir, args))


def check_outputs(args: argparse.Namespace) -> None:
    """The files the run will write can be written, before any work (OutputPathError)."""
    from tui_mnist.engine.files import output_path

    if args.save is not None:
        output_path(args.save)
    if args.metrics is not None:
        output_path(args.metrics, stream=True)


def _train(target, runs_dir: Path, args: argparse.Namespace) -> int:
    """Train `target` (a run folder, a TrainConfig or a ResumePlan) to its end; the exit code."""
    from tui_mnist.runs.execute import execute_run

    folder = _run_folder(target, runs_dir, args.keep_checkpoints)
    terminal = _TerminalLines(sys.stdout)
    interrupts = _Interrupts()

    def started(host) -> None:
        interrupts.host = host
        warn(f"run {folder.id} (in {folder.path})")

    with _metrics_writer(args.metrics) as write_metrics, interrupts.installed():

        def observe(event: Event) -> None:
            terminal.show(event)
            write_metrics(event)

        try:
            finished = execute_run(folder, observe, warn, args.keep_checkpoints, on_host=started)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    if args.save:
        _save_model(args.save, interrupts.host.trainer, finished)
    return 128 + interrupts.signal if interrupts.signal else 0


def _run_folder(target, runs_dir: Path, keep_checkpoints: int | None):
    """The RunFolder to train: `target` itself, the folder a ResumePlan resumes in (the run or a
    new child of it), or a new run of a TrainConfig."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.runs.resume import ResumePlan, materialize
    from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, RunFolder

    if isinstance(target, ResumePlan):
        return materialize(target, warn, keep_checkpoints)
    if isinstance(target, TrainConfig):
        keep = DEFAULT_KEEP_CHECKPOINTS if keep_checkpoints is None else keep_checkpoints
        return RunFolder.create(runs_dir, target, keep_checkpoints=keep)
    return target


class _TerminalLines:
    """stdout: one line per epoch and one at the end, and on a terminal a bar within the epoch."""

    def __init__(self, stream: TextIO):
        self.bar = ProgressBar(stream) if stream.isatty() else None

    def show(self, event: Event) -> None:
        if type(event) is Batches:
            if self.bar:
                self.bar.update(event.latest)
        elif isinstance(event, (EpochProgress, RunFinished)):
            if self.bar:
                self.bar.clear()
            say(epoch_line(event) if isinstance(event, EpochProgress) else final_line(event))


@contextmanager
def _metrics_writer(path: Path | None) -> Iterator[Callable[[Event], None]]:
    """A function writing each epoch record and the final one to `path` as JSON lines, flushed
    as they come (one that writes nothing without a path); the file is closed on leaving."""
    if path is None:
        yield lambda event: None
        return
    from tui_mnist.engine.files import naming, output_path

    with naming(path), output_path(path, stream=True).open("w", encoding="utf-8") as stream:

        def write(event: Event) -> None:
            if isinstance(event, (EpochProgress, RunFinished)):
                with naming(path):  # (a full disk names no file)
                    stream.write(json.dumps(event.to_json()) + "\n")
                    stream.flush()

        yield write


class _Interrupts:
    """The first ctrl+c (or SIGTERM) stops the run cleanly after the current batch; a second
    one, or one before training has begun, interrupts at once."""

    def __init__(self):
        self.host = None
        self.signal: int | None = None

    def __call__(self, signum, _frame) -> None:
        if self.host is None or self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        # Not here: a signal handler may run while the training thread holds the controls' lock.
        threading.Thread(target=self.host.stop, daemon=True).start()

    def installed(self):
        """These handlers (and SIGHUP dropping the output) while inside; the previous ones after."""
        return handling({signal.SIGINT: self, signal.SIGTERM: self, signal.SIGHUP: drop_output})


def _save_model(path: Path, trainer, finished: RunFinished) -> None:
    """Write the trained weights as a model file, its results those of the final record."""
    from tui_mnist.engine.model_io import save_model

    config = trainer.config.to_dict()
    save_model(path, trainer.network, trainer.data.normalizer, config, finished.to_json())
    say(f"model saved to {path}")
