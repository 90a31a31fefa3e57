"""Command line: `tui-mnist` opens the app; `train`, `eval` and `inspect` are the headless
and direct entry points. numpy is imported only after the BLAS thread count is fixed."""

from __future__ import annotations

import argparse
import json
import sys
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
    return parser


def config_from_args(args: argparse.Namespace):
    """The preset (or the defaults) with every flag the user typed applied on top."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.presets import PRESETS

    base = PRESETS[args.preset][1] if args.preset else TrainConfig()
    typed = {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    return base.with_changes(**typed)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        config = config_from_args(args)
        problems = config.problems()
        if problems:
            parser.error(problems[0])
        set_blas_threads(config.threads or auto_threads(config.batch_size))
        return _run_guarded(lambda: _train(config, args.save, args.metrics))
    if args.command == "eval":
        return _run_guarded(lambda: _evaluate(args.model, args.data_dir, args.json))
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


def _train(config, save: Path | None, metrics: Path | None) -> int:
    from tui_mnist.engine.data import load_dataset
    from tui_mnist.engine.model_io import save_model
    from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
    from tui_mnist.engine.training import Trainer
    from tui_mnist.report import ProgressBar, epoch_line, final_line

    data = load_dataset(config.data_dir, val=config.val, standardize=config.standardize)
    trainer = Trainer(config, data)
    bar = ProgressBar(sys.stdout) if sys.stdout.isatty() else None
    metrics_file = metrics.open("w", encoding="utf-8") if metrics else None
    interrupted = False
    try:
        records = trainer.run()
        while True:
            try:
                record = next(records)
            except KeyboardInterrupt:
                # ctrl+c ends the run cleanly: evaluate and save what was learned so far.
                interrupted = True
                trainer.request_stop()
                record = trainer.finish()
            except StopIteration:
                break
            if isinstance(record, BatchProgress):
                if bar:
                    bar.update(record)
                continue
            if bar:
                bar.clear()
            if isinstance(record, EpochProgress):
                print(epoch_line(record), flush=True)
            if metrics_file:
                metrics_file.write(json.dumps(record.to_json()) + "\n")
                metrics_file.flush()
            if isinstance(record, RunFinished):
                print(final_line(record), flush=True)
                results = record.to_json()
                break
    finally:
        if metrics_file:
            metrics_file.close()
    if save:
        save_model(save, trainer.network, data.normalizer, config.to_dict(), results)
        print(f"model saved to {save}")
    return EXIT_INTERRUPTED if interrupted else 0


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
