"""The other commands: `eval`, `runs`, `export` and `attach`, each a function returning an
exit code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tui_mnist.cli.output import warn
from tui_mnist.engine.threads import set_blas_threads


def list_runs_command(runs_dir: str | None, as_json: bool, delete: str | None = None) -> int:
    from tui_mnist.cli.lines import runs_table
    from tui_mnist.runs.ledger import delete_run, list_runs
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    if delete is not None:
        folder = find_run(directory, delete)
        delete_run(folder)  # refuses a live run
        print(f"run {folder.id} deleted")
        return 0
    summaries = list_runs(directory)
    if as_json:
        print(json.dumps([s.to_json() for s in summaries], indent=1))
    elif summaries:
        print(runs_table(summaries))
    else:
        print(f"no runs yet in {directory}")
    say_left_out(directory, {summary.id for summary in summaries})
    return 0


def say_left_out(directory, listed: set[str]) -> None:
    """A run folder the list leaves out (its config.json damaged or hand-edited) is named on
    stderr with why, rather than vanishing without a word."""
    from tui_mnist.runs import RunError
    from tui_mnist.runs.store import run_folders

    for folder in run_folders(directory):
        if folder.id not in listed:
            try:
                folder.train_config()
            except RunError as error:
                warn(f"left out of the list: {error}")


def export_command(args: argparse.Namespace) -> int:
    from tui_mnist.engine.files import naming, output_path
    from tui_mnist.runs.export import export_model, write_metrics_csv
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    folder = find_run(resolve_runs_dir(args.runs_dir), args.run)
    if args.csv == "-":
        write_metrics_csv(folder, sys.stdout)
    elif args.csv:
        with naming(args.csv), output_path(args.csv, stream=True).open("w", encoding="utf-8", newline="") as stream:
            rows = write_metrics_csv(folder, stream)
        print(f"{rows} epochs written to {args.csv}", file=sys.stderr)
    else:
        set_blas_threads(1)  # loading one checkpoint needs no parallel BLAS
        epoch = export_model(folder, args.model, args.epoch, warn)
        print(f"model of run {folder.id} epoch {epoch} saved to {args.model}")
    return 0


def attach_command(reference: str | None, runs_dir: str | None) -> int:
    from tui_mnist.runs import RunError
    from tui_mnist.runs.ledger import LIVE_STATES, derived_state, list_runs
    from tui_mnist.runs.store import find_run, resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    if reference is not None and reference.startswith("sweep"):
        from tui_mnist.sweeps.folder import find_sweep
        from tui_mnist.tui.app import run_app

        return run_app(sweep=find_sweep(directory, reference.removeprefix("sweep").lstrip("-") or "last").path)
    if reference is None:
        live = [s for s in list_runs(directory) if s.state in LIVE_STATES]
        if not live:
            raise RunError("no run is training right now (see `tui-mnist runs`)")
        folder = find_run(directory, live[0].id)  # the newest
    else:
        folder = find_run(directory, reference)
        state = derived_state(folder)
        if state not in LIVE_STATES:
            raise RunError(f"run {folder.id} is {state}: only a running or paused run can be attached")
    from tui_mnist.tui.app import run_app

    return run_app(attach=folder.path)


def eval_command(model_path: Path, data_dir: str | None, as_json: bool) -> int:
    """Only the test files are read (a folder of the draw screen's digits will do); the
    pixels are scaled by the model's own normalizer."""
    from tui_mnist.engine.data import load_test_set
    from tui_mnist.engine.metrics import evaluate
    from tui_mnist.engine.model_io import check_fits_data, load_model

    model = load_model(model_path)
    test, _ = load_test_set(data_dir)
    check_fits_data(model_path, model.network, test.images.shape[1])
    loss, accuracy = evaluate(model.network, test.images, test.labels, model.normalizer)
    if as_json:
        print(json.dumps({"test_acc": accuracy, "test_loss": loss, "n": len(test.labels)}))
    else:
        print(f"test accuracy {100 * accuracy:.2f}%  (loss {loss:.4f}, {len(test.labels)} images)")
    return 0
