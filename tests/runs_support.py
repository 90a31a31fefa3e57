"""Shared by the run-folder tests: a small MNIST-format data set on disk, an environment that
keeps every run, cache and data file inside the test's tmp folder, and a waiting helper."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import IMAGE_MAGIC, LABEL_MAGIC, SPLITS

TRAIN_IMAGES = 3000  # 1000 of them become the validation split
TEST_IMAGES = 500


def write_idx(path: Path, magic: int, array) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


@pytest.fixture(autouse=True)
def one_blas_thread():
    """In-process training on one BLAS thread: fast on a shared machine, and deterministic."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def small_data(mnist_raw, tmp_path_factory) -> Path:
    """A data directory in IDX format: 3000 training and 500 test images of the real MNIST."""
    folder = tmp_path_factory.mktemp("small-mnist")
    for split, count in (("train", TRAIN_IMAGES), ("test", TEST_IMAGES)):
        part = getattr(mnist_raw, split)
        images = part.images[:count].reshape(count, *mnist_raw.shape)
        image_name, label_name = SPLITS[split]
        write_idx(folder / image_name, IMAGE_MAGIC, images)
        write_idx(folder / label_name, LABEL_MAGIC, part.labels[:count])
    return folder


def environment(root: Path, data: Path) -> dict:
    """Runs, data and caches of a test (and of the processes it starts) under `root`."""
    return {
        **os.environ,
        "TUI_MNIST_RUNS": str(root / "runs"),
        "TUI_MNIST_DATA": str(data),
        "XDG_CACHE_HOME": str(root / "cache"),
    }


@pytest.fixture
def runs_env(tmp_path, monkeypatch, small_data) -> dict:
    """environment() for this process too (in-process hosts, runs dir resolution)."""
    env = environment(tmp_path, small_data)
    for name in ("TUI_MNIST_RUNS", "TUI_MNIST_DATA", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, env[name])
    return env


def small_config(**changes) -> TrainConfig:
    """Single-threaded (deterministic, and fair to the other tests on a shared machine)."""
    return TrainConfig(hidden=(16,), epochs=2, val=1000, threads=1).with_changes(**changes)


def cli_flags(config: TrainConfig) -> list[str]:
    return config.command_line().split()[2:]


TUI_MNIST = [sys.executable, "-m", "tui_mnist"]


def tui_mnist(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TUI_MNIST, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    """Poll until `condition()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
