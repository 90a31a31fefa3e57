"""The command line's grammar: every command and flag, and the settings they give.

Imports no numpy (the BLAS thread count is fixed only once the flags are read): the settings
table is stdlib only, and other engine modules are imported inside the functions that need them.
Every training setting's flag is built from engine/settings.py, like the app's settings form."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from tui_mnist import __version__
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import SETTINGS, Bounds, Setting, directory, whole_in

# eval and inspect read only the test split: a folder of one's own drawn digits will do.
TEST_FILES_HELP = "directory of the IDX files (only the two t10k test files are read)"


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """`parse` as an argparse type: its ConfigError becomes a usage error naming the flag."""

    def argument(text: str) -> object:
        try:
            value = parse(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if value is None:  # the form's "empty: the default", typed as a flag: --data-dir "$UNSET"
            raise argparse.ArgumentTypeError("is empty: leave the flag out for its default")
        return value

    return argument


def _whole_from(minimum: int, what: str) -> Callable[[str], int]:
    """A whole number of at least `minimum`, for the flags that are not settings; a refusal
    names `what` it counts and the real bound ("checkpoints to keep must be 0 or more")."""
    return _argument(lambda text: whole_in(text, Bounds(minimum), what))


def _reference(text: str) -> str:
    """A run or sweep reference: "" would be a part of every id, so it names none."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            'an empty reference names nothing: give an id, any unique part of one, or "last"'
        )
    return text


def _setting_help(setting: Setting, default: object) -> str:
    """The form's help, then the default; argparse %-formats help, so a % is doubled."""
    text = setting.help
    if not setting.switch and default is not None:
        text += f" (default {setting.show(default)})"
    return text.replace("%", "%%")


def _add_settings(train: argparse.ArgumentParser) -> None:
    """A flag for every setting. Each defaults to None, so that only the flags the user typed
    override a preset."""
    from tui_mnist.engine.config import TrainConfig

    defaults = TrainConfig()
    for setting in SETTINGS:
        text = _setting_help(setting, getattr(defaults, setting.name))
        if setting.switch:
            train.add_argument(setting.flag, action="store_true", default=None, help=text)
        else:
            train.add_argument(
                setting.flag, type=_argument(setting.parse), choices=setting.choices or None, help=text
            )


def _add_train_parser(commands) -> None:
    from tui_mnist.engine.presets import PRESETS

    train = commands.add_parser(
        "train",
        help="train headless, one line per epoch",
        description="Train a network on MNIST without the app. Flags given after --preset "
        "override the preset's values.",
    )
    add = train.add_argument
    add("--preset", choices=PRESETS, help=f"start from a named preset ({', '.join(PRESETS)})")
    _add_settings(train)
    add("--save", type=Path, metavar="PATH", help="write the trained model (.npz) here")
    add("--metrics", type=Path, metavar="PATH", help="write per-epoch metrics as JSON Lines here")
    _add_runs_dir(train)
    add("--resume", metavar="RUN[@EPOCH]", help="continue a run from its newest (or the given) checkpoint; "
        "with changed settings or an earlier epoch, as a new run")
    add("--keep-checkpoints", type=_whole_from(0, "checkpoints to keep"), metavar="K",
        help="checkpoints to keep, newest first; 0 keeps all (default 5)")
    add("--run-id", help=argparse.SUPPRESS)  # internal: train an existing run folder (detached trainers)


def _add_sweep_parser(commands) -> None:
    from tui_mnist.engine.presets import PRESETS
    from tui_mnist.sweeps.folder import METRICS, PRUNERS, SAMPLERS

    sweep = commands.add_parser(
        "sweep",
        help="search settings with Optuna, trials trained on Dask",
        description="Search settings: each training flag takes one value, choices (a|b|c; for "
        "all but --hidden also a,b,c) or a range (a..b, a..b:log). Each trial is a normal run. "
        "Flags given after --preset override the preset's values.",
    )
    add = sweep.add_argument
    add("--preset", choices=PRESETS, help=f"start from a named preset ({', '.join(PRESETS)})")
    for setting in SETTINGS:  # raw text: sweeps.space reads the search syntax
        add(setting.flag, metavar="VALUES", help=setting.help.replace("%", "%%"))
    add("--space", type=Path, metavar="TOML", help="the search space as a TOML file (flags win)")
    add("--trials", type=_whole_from(1, "trials"), default=20, help="trials to run (default 20)")
    add("--budget", type=_argument(_positive_seconds), metavar="SECONDS",
        help="wall time for the whole sweep; running trials stop when it is spent")
    add("--metric", choices=METRICS, default="val_acc", help="what is maximised (on validation)")
    add("--sampler", choices=SAMPLERS, default="tpe", help="how settings are chosen (default tpe)")
    add("--pruner", choices=PRUNERS, default="halving",
        help="how trials are stopped early on their per-epoch validation accuracy (default halving)")
    add("--workers", type=_whole_from(1, "workers"), help="local worker processes (default: one per core)")
    add("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786) instead")
    add("--keep-checkpoints", type=_whole_from(0, "checkpoints to keep"), default=2, metavar="K",
        help="checkpoints each trial keeps (default 2)")
    add("--detach", action="store_true", help="run in the background; print the sweep's id")
    add("--resume", metavar="SWEEP", type=_reference,
        help='continue a stopped or killed sweep: id, any unique part, or "last"')
    _add_runs_dir(sweep)


def _positive_seconds(text: str) -> float:
    from tui_mnist.engine.settings import number

    value = number(text)
    if not value > 0:
        raise ConfigError(f"{text} seconds: a budget must be more than 0")
    return value


def _add_runs_dir(parser) -> None:
    parser.add_argument(
        "--runs-dir", help="where runs are kept (default: $TUI_MNIST_RUNS, then the user data directory)"
    )


def _add_runs_parsers(commands) -> None:
    runs = commands.add_parser("runs", help="list the runs: id, architecture, accuracy, state")
    _add_runs_dir(runs)
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    runs.add_argument(
        "--delete", metavar="RUN", type=_reference,
        help="delete a run's folder (never a live run's): id or any unique part of one",
    )
    export = commands.add_parser("export", help="a run's metrics as CSV, or a checkpoint as a model file")
    export.add_argument("run", metavar="RUN", type=_reference, help='run id, any unique part of one, or "last"')
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--csv", nargs="?", const="-", metavar="PATH", help="per-epoch metrics as CSV (to stdout without PATH)"
    )
    what.add_argument(
        "--model", type=Path, metavar="PATH", help="write a model file (.npz) for `tui-mnist eval` / `inspect`"
    )
    export.add_argument(
        "--epoch", type=_whole_from(1, "the epoch"), help="the checkpoint to export (default: the newest)"
    )
    _add_runs_dir(export)
    attach = commands.add_parser("attach", help="reconnect the app to a running run, or open a sweep")
    attach.add_argument(
        "run", metavar="RUN", nargs="?", type=_reference,
        help='run id, any unique part of one, or "last" (default: the newest live run); or a sweep: '
        '"sweep", "sweep-ID" or any unique part after "sweep-", for its screen'
    )
    _add_runs_dir(attach)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-mnist",
        description="Train a from-scratch NumPy network on MNIST and watch it learn. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"tui-mnist {__version__}")
    parser.add_argument("--data-dir", dest="app_data_dir", type=_argument(directory), help="data directory for the app")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train_parser(commands)
    evaluate = commands.add_parser("eval", help="test accuracy and loss of a saved model")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--data-dir", type=_argument(directory), help=TEST_FILES_HELP)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    inspect = commands.add_parser("inspect", help="open the app's inspector on a saved model")
    inspect.add_argument("model", type=Path)
    inspect.add_argument("--data-dir", type=_argument(directory), help=TEST_FILES_HELP)
    _add_runs_parsers(commands)
    _add_sweep_parser(commands)
    serve = commands.add_parser(
        "serve", help="the app in a browser: prints the URL to open (with its token)",
        description="Serve the app to browsers, an app process per tab (the global --data-dir "
        "is theirs). Runs started in a tab go on without it.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other is reachable by others)")
    serve.add_argument("--port", type=_argument(lambda text: whole_in(text, Bounds(0, 65535), "a port")),
                       default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--public-url", metavar="URL",
                       help="the address browsers use, when not host:port (behind a TLS reverse proxy)")
    _add_runs_dir(serve)
    return parser


def typed_settings(args: argparse.Namespace) -> dict:
    from tui_mnist.engine.config import TrainConfig

    return {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }


def config_from_args(args: argparse.Namespace, base=None):
    """The preset (else `base`, else the defaults) with every flag the user typed on top. A flag
    typed for a setting the optimizer ignores (--momentum with adam) is a ConfigError: it would
    change nothing."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.presets import PRESETS

    if args.preset:
        base = PRESETS[args.preset][1]
    typed = typed_settings(args)
    config = (base or TrainConfig()).with_changes(**typed)
    config.check_given(typed)
    return config
