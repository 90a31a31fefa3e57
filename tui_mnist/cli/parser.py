"""The command line's grammar: every command and flag, and the settings they give.

Imports no numpy (the BLAS thread count is fixed only once the flags are read): engine
modules are imported inside the functions that need them."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from tui_mnist import __version__


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
