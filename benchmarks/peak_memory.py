"""Peak resident memory (RSS) of `tui-mnist train` runs, each in its own process.

    python benchmarks/peak_memory.py [--preset best ...]

Runs `python -m tui_mnist train` with the default settings (and then each given preset) in a
fresh subprocess with a throwaway runs directory, and reads the child's peak RSS from
getrusage(RUSAGE_CHILDREN). Budget for the default run: 500 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BUDGET_MB = 500
ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb(arguments: list[str]) -> float:
    """Peak RSS in MB of one `tui-mnist train` process (ru_maxrss is in KiB on Linux)."""
    with tempfile.TemporaryDirectory() as runs:
        environment = dict(os.environ, TUI_MNIST_RUNS=runs, PYTHONPATH=str(ROOT))
        command = [sys.executable, "-m", "tui_mnist", "train", *arguments]
        subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    # RUSAGE_CHILDREN holds the largest peak among waited-for children: one child per process.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_peak(arguments: list[str]) -> float:
    """Measure in a separate interpreter so each run's peak is its own, not the maximum so far."""
    command = [sys.executable, __file__, "--child", *arguments]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(output)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", default=[], help="also measure this preset")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(peak_rss_mb(args.child))
        return 0
    default = child_peak([])
    print(f"tui-mnist train (defaults): peak RSS {default:.0f} MB (budget {BUDGET_MB} MB)")
    for preset in args.preset:
        peak = child_peak(["--preset", preset])
        print(f"tui-mnist train --preset {preset}: peak RSS {peak:.0f} MB")
    return 0 if default <= BUDGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
