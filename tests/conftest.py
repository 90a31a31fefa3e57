"""Shared fixtures: the real MNIST, loaded once per test session into a private cache."""

from __future__ import annotations

import dataclasses

import pytest

from tui_mnist.engine.data import Dataset, RawData, load_raw, shipped_data_dir, split


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs(tmp_path_factory):
    """Runs and caches of this test session (and of the processes it starts) go to temporary
    folders, never into the user's own."""
    root = tmp_path_factory.mktemp("user-dirs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUI_MNIST_RUNS", str(root / "runs"))
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        patch.setenv("XDG_DATA_HOME", str(root / "data"))
        yield root


@pytest.fixture(scope="session")
def mnist_cache_dir(tmp_path_factory):
    """A .npy cache of the test session's own, so tests never touch the user's cache."""
    return tmp_path_factory.mktemp("mnist-cache")


@pytest.fixture(scope="session")
def mnist_raw(mnist_cache_dir) -> RawData:
    return load_raw(shipped_data_dir(), cache_dir=mnist_cache_dir)


@pytest.fixture(scope="session")
def mnist(mnist_raw) -> Dataset:
    """The default split: 55000 train, 5000 validation, 10000 test (arrays are shared: never
    write into them)."""
    return split(mnist_raw)


@pytest.fixture(scope="session")
def mnist_small(mnist) -> Dataset:
    """A tenth of MNIST, for tests about the training loop's behaviour rather than accuracy."""
    return dataclasses.replace(
        mnist,
        x_train=mnist.x_train[:5000],
        y_train=mnist.y_train[:5000],
        x_val=mnist.x_val[:1000],
        y_val=mnist.y_val[:1000],
        x_test=mnist.x_test[:2000],
        y_test=mnist.y_test[:2000],
    )
