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
from tui_mnist.engine.threads import auto_threads  # noqa: E402


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
    """--threads N, or the engine's automatic choice when N is 0."""
    return requested or auto_threads(batch_size)


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
