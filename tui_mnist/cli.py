"""Command line: `tui-mnist` opens the app; `train`, `eval`, `inspect`, `runs`, `export` and
`attach` are the headless and direct entry points. numpy is imported only after the BLAS thread
count is fixed. Every `train` is a run folder (see tui_mnist.runs): stdout carries the epoch
lines, the final line and "model saved"; the run id and notices go to stderr."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

from tui_mnist import __version__
from tui_mnist.engine.threads import auto_threads, set_blas_threads

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else _positive_int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a number') from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def _non_negative_float(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else _positive_float(text)


def _hidden(text: str) -> tuple[int, ...]:
    from tui_mnist.engine.config import parse_hidden
    from tui_mnist.engine.errors import ConfigError

    try:
        return parse_hidden(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_train_parser(commands) -> None:
    from tui_mnist.engine import choices
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.presets import PRESETS

    d = TrainConfig()
    train = commands.add_parser(
        "train",
        help="train headless, one line per epoch",
        description="Train a network on MNIST without the app. Flags given after --preset "
        "override the preset's values.",
    )
    # Every setting defaults to None so that only flags the user typed override the preset.
    add = train.add_argument
    add("--preset", choices=PRESETS, help="start from a named preset (seed, fast, best)")
    add("--hidden", type=_hidden, help=f'hidden layer widths, e.g. "512,256"; "" for none (default {",".join(map(str, d.hidden))})')
    add("--activation", choices=choices.ACTIVATION_NAMES, help=f"hidden activation (default {d.activation})")
    add("--epochs", type=_positive_int, help=f"passes over the training set (default {d.epochs})")
    add("--batch-size", type=_positive_int, help=f"images per gradient step (default {d.batch_size})")
    add("--lr", type=_positive_float, help=f"learning rate (default {d.lr})")
    add("--optimizer", choices=choices.OPTIMIZER_NAMES, help=f"update rule (default {d.optimizer})")
    add("--momentum", type=float, help=f"momentum coefficient (default {d.momentum})")
    add("--nesterov", action="store_true", default=None, help="Nesterov momentum")
    add("--weight-decay", type=_non_negative_float, help="L2 weight decay on weights (default 0)")
    add("--dropout", type=float, help="chance of zeroing each hidden unit's output while training, in [0, 1) (default 0)")
    add("--schedule", choices=choices.SCHEDULE_NAMES, help=f"learning-rate schedule (default {d.schedule})")
    add("--warmup-epochs", type=_non_negative_float, help="linear warmup length in epochs (default 0)")
    add("--seed", type=_non_negative_int, help=f"random seed: same seed, same numbers (default {d.seed})")
    add("--val", type=_non_negative_int, help=f"validation images taken from the end of the training set (default {d.val})")
    add("--standardize", action="store_true", default=None, help="standardize pixels to mean 0, std 1 (default: scale to [0, 1])")
    add("--augment", choices=choices.AUGMENTATIONS, help="training augmentation: random ±1-pixel shifts (default none)")
    add("--dtype", choices=choices.DTYPE_NAMES, help=f"floating point precision (default {d.dtype})")
    add("--test-each-epoch", action="store_true", default=None, help="also evaluate the test set after every epoch")
    add("--data-dir", help="directory of the four IDX files (default: $TUI_MNIST_DATA, then the shipped MNIST)")
    add("--threads", type=_non_negative_int, help="BLAS threads; 0 = automatic: 1 for batches <= 32, else all cores")
    add("--save", type=Path, metavar="PATH", help="write the trained model (.npz) here")
    add("--metrics", type=Path, metavar="PATH", help="write per-epoch metrics as JSON Lines here")
    _add_runs_dir(train)
    add("--resume", metavar="RUN[@EPOCH]", help="continue a run from its newest (or the given) checkpoint; with changed settings or an earlier epoch, as a new run")
    add("--keep-checkpoints", type=_non_negative_int, metavar="K", help="checkpoints to keep, newest first; 0 keeps all (default 5)")
    add("--run-id", help=argparse.SUPPRESS)  # internal: train an existing run folder (detached trainers)


def _add_runs_dir(parser) -> None:
    parser.add_argument("--runs-dir", help="where runs are kept (default: $TUI_MNIST_RUNS, then the user data directory)")


def _add_runs_parsers(commands) -> None:
    runs = commands.add_parser("runs", help="list the runs: id, architecture, accuracy, state")
    _add_runs_dir(runs)
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    export = commands.add_parser("export", help="a run's metrics as CSV, or a checkpoint as a model file")
    export.add_argument("run", metavar="RUN", help='run id, unique prefix, or "last"')
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--csv", nargs="?", const="-", metavar="PATH", help="per-epoch metrics as CSV (to stdout without PATH)")
    what.add_argument("--model", type=Path, metavar="PATH", help="write a model file (.npz) for `tui-mnist eval` / `inspect`")
    export.add_argument("--epoch", type=_positive_int, help="the checkpoint to export (default: the newest)")
    _add_runs_dir(export)
    attach = commands.add_parser("attach", help="reconnect the app to a running run")
    attach.add_argument("run", metavar="RUN", nargs="?", help="run id, unique prefix, or \"last\" (default: the newest live run)")
    _add_runs_dir(attach)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-mnist",
        description="Train a from-scratch NumPy network on MNIST and watch it learn. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"tui-mnist {__version__}")
    parser.add_argument("--data-dir", dest="app_data_dir", help="data directory for the app")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train_parser(commands)
    evaluate = commands.add_parser("eval", help="test accuracy and loss of a saved model")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--data-dir", help="directory of the four IDX files")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    inspect = commands.add_parser("inspect", help="open the app's inspector on a saved model")
    inspect.add_argument("model", type=Path)
    inspect.add_argument("--data-dir", help="directory of the four IDX files")
    _add_runs_parsers(commands)
    return parser


def typed_settings(args: argparse.Namespace) -> dict:
    from tui_mnist.engine.config import TrainConfig

    return {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }


def config_from_args(args: argparse.Namespace, base=None):
    """The preset (else `base`, else the defaults) with every flag the user typed on top."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.presets import PRESETS

    if args.preset:
        base = PRESETS[args.preset][1]
    return (base or TrainConfig()).with_changes(**typed_settings(args))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train_command(parser, args)
    if args.command == "eval":
        return _run_guarded(lambda: _evaluate(args.model, args.data_dir, args.json))
    if args.command == "runs":
        return _run_guarded(lambda: _list_runs(args.runs_dir, args.json))
    if args.command == "export":
        return _run_guarded(lambda: _export(args))
    if args.command == "attach":
        return _run_guarded(lambda: _attach(args.run, args.runs_dir))
    from tui_mnist.tui.app import run_app

    if args.command == "inspect":
        return run_app(inspect_model=args.model, data_dir=args.data_dir)
    return run_app(data_dir=args.app_data_dir)


def _run_guarded(command) -> int:
    """Run a command; a user-facing error becomes one line on stderr and exit code 1."""
    from tui_mnist.engine.errors import EngineError

    try:
        return command()
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
    except OSError as error:
        print(f"tui-mnist: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
    return EXIT_ERROR


def _train_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
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
    return _run_guarded(lambda: _train(target, runs_dir, args))


def _say(text: str, stream=None) -> None:
    """Print; if the terminal has gone (SSH dropped, pipe closed), carry on without output."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except OSError:
        _drop_output()


def _warn(message: str) -> None:
    _say(f"tui-mnist: {message}", sys.stderr)


def _drop_output(*_signal) -> None:
    """Point stdout and stderr at /dev/null: training goes on when the terminal disappears."""
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)


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
        handlers = {signal.SIGINT: self, signal.SIGTERM: self, signal.SIGHUP: _drop_output}
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}


def _train(target, runs_dir: Path, args: argparse.Namespace) -> int:
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.model_io import save_model
    from tui_mnist.engine.progress import EpochProgress, RunFinished
    from tui_mnist.report import ProgressBar, epoch_line, final_line
    from tui_mnist.runs.execute import execute_run
    from tui_mnist.runs.resume import ResumePlan, materialize
    from tui_mnist.runs.store import DEFAULT_KEEP_CHECKPOINTS, RunFolder
    from tui_mnist.events import Batches

    if isinstance(target, ResumePlan):
        folder = materialize(target, _warn, args.keep_checkpoints)
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
        _warn(f"run {folder.id} (in {folder.path})")

    def observe(event) -> None:
        if type(event) is Batches:
            if bar:
                bar.update(event.records[-1])
            return
        if not isinstance(event, (EpochProgress, RunFinished)):
            return
        if bar:
            bar.clear()
        _say(epoch_line(event) if isinstance(event, EpochProgress) else final_line(event))
        if metrics_file:
            metrics_file.write(json.dumps(event.to_json()) + "\n")
            metrics_file.flush()

    previous = interrupts.install()
    try:
        finished = execute_run(folder, observe, _warn, args.keep_checkpoints, on_host=started)
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
        _say(f"model saved to {args.save}")
    return 128 + interrupts.signal if interrupts.signal else 0


def _list_runs(runs_dir: str | None, as_json: bool) -> int:
    from tui_mnist.report import runs_table
    from tui_mnist.runs.ledger import list_runs
    from tui_mnist.runs.store import resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    summaries = list_runs(directory)
    if as_json:
        print(json.dumps([s.to_json() for s in summaries], indent=1))
    elif summaries:
        print(runs_table(summaries))
    else:
        print(f"no runs yet in {directory}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from tui_mnist.runs.export import export_model, write_metrics_csv
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    folder = find_run(resolve_runs_dir(args.runs_dir), args.run)
    if args.csv == "-":
        write_metrics_csv(folder, sys.stdout)
    elif args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as stream:
            rows = write_metrics_csv(folder, stream)
        print(f"{rows} epochs written to {args.csv}", file=sys.stderr)
    else:
        set_blas_threads(1)  # loading one checkpoint needs no parallel BLAS
        epoch = export_model(folder, args.model, args.epoch, _warn)
        print(f"model of run {folder.id} epoch {epoch} saved to {args.model}")
    return 0


def _attach(reference: str | None, runs_dir: str | None) -> int:
    from tui_mnist.runs import RunError
    from tui_mnist.runs.ledger import LIVE_STATES, derived_state, list_runs
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    if reference is None:
        live = [s for s in list_runs(directory) if s.state in LIVE_STATES]
        if not live:
            raise RunError("no run is training right now (see `tui-mnist runs`)")
        folder = find_run(directory, live[-1].id)
    else:
        folder = find_run(directory, reference)
        state = derived_state(folder)
        if state not in LIVE_STATES:
            raise RunError(f"run {folder.id} is {state}: only a running or paused run can be attached")
    from tui_mnist.tui.app import run_app

    return run_app(attach=folder.path)


def _evaluate(model_path: Path, data_dir: str | None, as_json: bool) -> int:
    from tui_mnist.engine.data import load_dataset
    from tui_mnist.engine.errors import ModelFileError
    from tui_mnist.engine.metrics import evaluate
    from tui_mnist.engine.model_io import load_model

    model = load_model(model_path)
    data = load_dataset(data_dir, val=0)
    if model.network.sizes[0] != data.n_features:
        raise ModelFileError(
            f"{model_path}: expects {model.network.sizes[0]} pixels per image, "
            f"the data has {data.n_features}"
        )
    loss, accuracy = evaluate(model.network, data.x_test, data.y_test, model.normalizer)
    if as_json:
        print(json.dumps({"test_acc": accuracy, "test_loss": loss, "n": len(data.y_test)}))
    else:
        print(f"test accuracy {100 * accuracy:.2f}%  (loss {loss:.4f}, {len(data.y_test)} images)")
    return 0
