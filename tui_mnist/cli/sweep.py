"""`tui-mnist sweep`: a hyper-parameter search, its trials trained on Dask, one line per trial,
then the best trials and the best one's test accuracy.

What to search comes from the settings' flags in the search syntax (sweeps.space) and/or a
TOML file (--space); everything else is a normal `train` setting or preset. A bad space or flag
is refused before anything starts, with exit code 2 and a message naming it. `--detach` starts
the sweep in the background (it prints its id); a sweep in the foreground whose terminal closes
goes on, its lines kept in its folder's sweep.log; `--resume SWEEP` continues a stopped or
killed one. The first ctrl+c (or SIGTERM) stops the running trials at their next batch.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tui_mnist.cli.output import EXIT_ERROR, EXIT_INTERRUPTED, drop_output, handling, run_guarded, say


def sweep_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from tui_mnist.engine.errors import ConfigError, EngineError
    from tui_mnist.runs import RunError
    from tui_mnist.runs.store import resolve_runs_dir
    from tui_mnist.sweeps.folder import SweepFolder, find_sweep

    try:
        runs_dir = resolve_runs_dir(args.runs_dir)
        if args.resume:
            if searched_texts(args) or args.space or args.preset:
                parser.error("--resume continues a sweep as it was asked: it takes no settings")
            folder = find_sweep(runs_dir, args.resume)
            spec = folder.read_spec()
            if folder.process_alive():
                raise RunError(f"sweep {folder.id} is running (pid {folder.read_state()['pid']}): "
                               "it cannot be resumed twice")
        else:
            make_spec = new_spec(args, runs_dir)
            folder, spec = SweepFolder.create(runs_dir, make_spec)
    except ConfigError as error:
        parser.error(str(error))
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.detach:
        from tui_mnist.sweeps.launch import start_detached

        start_detached(folder, runs_dir, args.workers, args.scheduler)
        print(folder.id)
        return 0
    return run_guarded(lambda: run_sweep(folder, spec, args))


def searched_texts(args: argparse.Namespace) -> dict[str, str]:
    from tui_mnist.engine.settings import SETTINGS

    return {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None}


def new_spec(args: argparse.Namespace, runs_dir: Path):
    """A function of the sweep's id giving its spec, once the space checks out (ConfigError
    says what is wrong, before any folder exists)."""
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.engine.presets import PRESETS
    from tui_mnist.sweeps.folder import planned
    from tui_mnist.sweeps.space import space_from_flags, space_from_toml

    space = space_from_flags(searched_texts(args))
    if args.space:
        space = space_from_toml(args.space).merged(space)
    return planned(
        space, PRESETS[args.preset][1] if args.preset else TrainConfig(), args.trials, runs_dir,
        budget=args.budget, metric=args.metric, sampler=args.sampler, pruner=args.pruner,
        keep_checkpoints=args.keep_checkpoints,
    )


def run_sweep(folder, spec, args: argparse.Namespace) -> int:
    import os
    import time

    from tui_mnist.runs.ledger import this_host
    from tui_mnist.sweeps.runner import SweepRun, best_table, dask_client

    def tell(line: str) -> None:
        folder.log(line)
        say(line)

    where = f"scheduler {args.scheduler}" if args.scheduler else "a local cluster"
    tell(f"sweep {spec.id}: {spec.trials} trials on {where}; folder {folder.path}")
    for param in spec.space.params:
        tell(f"  searching {param.describe()}")
    folder.release_stale_journal_lock()
    # Kept in every state: the app reads a cluster's sweep through its scheduler.
    where_kept = {"scheduler": args.scheduler} if args.scheduler else {}
    folder.write_state({"state": "running", "pid": os.getpid(), "hostname": this_host(), "started": time.time(),
                        **where_kept})
    try:
        with dask_client(args.workers, args.scheduler) as client:
            run = SweepRun(spec, folder, client, tell)
            if args.scheduler:
                tell(f"the sweep's journal is kept by the scheduler's process, on its host: {run.journal}")
            with stopped_by_signals(run):
                outcome = run.run()
    except KeyboardInterrupt:
        folder.write_state({"state": "stopped", **where_kept})
        return EXIT_INTERRUPTED
    except BaseException as error:  # the folder must not claim a sweep that is not running
        folder.write_state({"state": "failed", "error": str(error), **where_kept})
        raise
    if outcome.best is not None:
        for line in best_table(outcome.trials):
            tell(line)
        test = "not measured" if outcome.test_acc is None else f"{100 * outcome.test_acc:.2f}%"
        tell(f"best: trial {outcome.best.number}, val {100 * outcome.best.value:.2f}%, test {test} "
             f"(run {outcome.best.user_attrs.get('run')})")
    else:
        tell("no trial finished")
    state = "stopped" if outcome.stopped else "finished"
    folder.write_state({"state": state, "ended": outcome.ended, **where_kept})
    tell(f"{state}: {outcome.ended} of {spec.trials} trials ended")
    # A spent budget is the sweep's end as asked; a signal is not.
    return EXIT_INTERRUPTED if run.stop_requested and outcome.ended < spec.trials else 0


def stopped_by_signals(run):
    """The first ctrl+c or SIGTERM asks the sweep to stop (its loop acts on it: a signal
    handler must not talk to Dask); a second one interrupts at once. SIGHUP (the terminal gone)
    drops the output: the sweep goes on, its lines in sweep.log."""

    def stop(signum, _frame) -> None:
        if run.stop_requested:
            raise KeyboardInterrupt
        run.stop_requested = "ctrl+c" if signum == signal.SIGINT else signal.Signals(signum).name

    return handling({signal.SIGINT: stop, signal.SIGTERM: stop, signal.SIGHUP: drop_output})
