"""Shared helpers of the benchmark scripts: machine description, BLAS threads, medians,
and a test-accuracy probe that runs outside the timed region."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path

# Let `python benchmarks/x.py` work from a checkout without installing.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from tui_mnist.engine.metrics import evaluate  # noqa: E402
from tui_mnist.engine.threads import usable_cores  # noqa: E402

# These scripts time the engine directly, without the training loop's automatic tuner: for
# --threads 0 they fix one thread up to this batch size and every core above. Measured on 2
# cores (thread_policy.py, 784-1024-10 / 784-256-10 / 784-128-10): batch 32 runs 0.7-0.9x as
# fast on two threads as on one, batch 10 no faster; from 64 on, two run 1.25-1.6x as fast.
SMALL_BATCH = 32


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def blas_name() -> str:
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and "numpy" in pool["filepath"]:
            return f"{pool['internal_api']} {pool['version']} ({pool.get('architecture', '?')})"
    return "unknown BLAS"


def machine_line() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, numpy {np.__version__} with {blas_name()}, "
        f"Python {platform.python_version()}"
    )


def threads_for(requested: int, batch_size: int) -> int:
    """--threads N, or for 0 the static choice above."""
    if requested:
        return requested
    return 1 if batch_size <= SMALL_BATCH else usable_cores()


@contextmanager
def blas_threads(n: int):
    """numpy's BLAS limited to n threads (threadpoolctl works after numpy is loaded)."""
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def median(values) -> float:
    return statistics.median(values)


def test_accuracy(trainer) -> float:
    """Test-set accuracy of the trainer's current weights; not counted in trainer.seconds."""
    data = trainer.data
    return evaluate(
        trainer.network, data.x_test, data.y_test, data.normalizer, trainer.eval_workspace
    )[1]
