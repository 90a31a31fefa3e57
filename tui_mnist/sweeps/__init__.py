"""Hyper-parameter sweeps (`tui-mnist sweep`): a search space over the training settings
(space.py), sampled by Optuna and run as ordinary training runs on Dask, one trial per run
folder. This package imports engine/, live/ and runs/, never tui/; space.py alone is stdlib plus
engine/, so the CLI can build its parser and check a space before Optuna or Dask are loaded."""
