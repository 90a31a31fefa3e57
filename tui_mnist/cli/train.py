"""`tui-mnist train`: decide what to train from JSON alone, fix the BLAS threads, then train a
run folder with one line per epoch on stdout; the run id and notices go to stderr."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from tui_mnist.cli.output import EXIT_ERROR, EXIT_INTERRUPTED, drop_output, run_guarded, say, warn
from tui_mnist.cli.parser import config_from_args, typed_settings
from tui_mnist.engine.threads import auto_threads, set_blas_threads


def train_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Decide what to train from JSON alone, fix the BLAS threads, then train."""
    from tui_mnist.engine.errors import ConfigError, EngineError
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
    except ConfigError as error:
        parser.error(str(error))
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
        return EXIT_ERROR
    set_blas_threads(config.threads or auto_threads(config.batch_size))
    return run_guarded(lambda: _train(target, runs_dir, args))


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

    def install(self) -> dict:
        handlers = {signal.SIGINT: self, signal.SIGTERM: self, signal.SIGHUP: drop_output}
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}


def _train(target, runs_dir: Path, args: argparse.Namespace) -> int:
    from tui_mnist.cli.lines import ProgressBar, epoch_line, final_line
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.model_io import save_model
    from tui_mnist.engine.progress import EpochProgress, RunFinished
    from tui_mnist.live.events import Batches
    from tui_mnist.runs.execute import execute_run
    from tui_mnist.runs.resume import ResumePlan, materialize
    from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, RunFolder

    if isinstance(target, ResumePlan):
        folder = materialize(target, warn, args.keep_checkpoints)
    elif isinstance(target, TrainConfig):
        keep = DEFAULT_KEEP_CHECKPOINTS if args.keep_checkpoints is None else args.keep_checkpoints
        folder = RunFolder.create(runs_dir, target, keep_checkpoints=keep)
    else:
        folder = target
    bar = ProgressBar(sys.stdout) if sys.stdout.isatty() else None
    metrics_file = args.metrics.open("w", encoding="utf-8") if args.metrics else None
    interrupts = _Interrupts()

    def started(host) -> None:
        interrupts.host = host
        warn(f"run {folder.id} (in {folder.path})")

    def observe(event) -> None:
        if type(event) is Batches:
            if bar:
                bar.update(event.records[-1])
            return
        if not isinstance(event, (EpochProgress, RunFinished)):
            return
        if bar:
            bar.clear()
        say(epoch_line(event) if isinstance(event, EpochProgress) else final_line(event))
        if metrics_file:
            metrics_file.write(json.dumps(event.to_json()) + "\n")
            metrics_file.flush()

    previous = interrupts.install()
    try:
        finished = execute_run(folder, observe, warn, args.keep_checkpoints, on_host=started)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if metrics_file:
            metrics_file.close()
    if args.save:
        trainer = interrupts.host.trainer
        save_model(args.save, trainer.network, trainer.data.normalizer, trainer.config.to_dict(), finished.to_json())
        say(f"model saved to {args.save}")
    return 128 + interrupts.signal if interrupts.signal else 0
