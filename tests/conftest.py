"""Shared fixtures: private user folders, the real MNIST (loaded once per test session into a
private cache), a small MNIST on disk with an environment for run folders, and determinism.

`one_blas_thread` and `colour` are not autouse: the modules that need them say so with
`pytestmark = pytest.mark.usefixtures(...)`. Plain helpers and test doubles are in fakes.py,
imported inside the fixtures that use them: fakes loads the app, and the engine's tests must
not depend on the UI even to be collected.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

from tui_mnist.engine.data import Dataset, RawData, load_raw, split
from tui_mnist.engine.idx import IMAGE_MAGIC, LABEL_MAGIC, SPLITS, shipped_data_dir
from tui_mnist.runs import RunError
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.ledger import is_live
from tui_mnist.runs.store import run_folders


def pytest_configure(config):
    """A failing snapshot's HTML report goes to the temporary folder: a test run never writes
    into the checkout (pytest-textual-snapshot writes it to the working directory by default)."""
    if config.getoption("--snapshot-report") == "snapshot_report.html":
        config.option.snapshot_report = str(Path(tempfile.gettempdir()) / "tui-mnist-snapshot-report.html")


# Property tests keep no example database and a fixed number of examples, so the suite's time
# does not depend on the machine's speed. What Hypothesis still caches (the constants it finds in
# the code) goes to the temporary folder, not to a .hypothesis folder in the checkout.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "tui-mnist-hypothesis"))
settings.register_profile(
    "tui-mnist", database=None, max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("tui-mnist")

# The longest files (measured: `pytest --durations=0`, summed per file) run first. xdist hands
# each worker a whole file at a time, in the order collected, so a long file collected late kept
# one core busy alone at the end: ~10 s of a 170 s suite on 2 cores.
LONGEST_FILES_FIRST = (
    "test_app_runs.py", "test_sweep_cli.py", "test_app_configure.py", "test_app_training.py",
    "test_cli_runs.py", "test_training.py", "test_app_draw.py", "test_app_replay.py",
    "test_app_inspector.py", "test_app_sweep.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: place for place, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's own order kept


ROOT = Path(__file__).resolve().parent.parent
BYTECODE_AND_INSTALL = ("__pycache__", ".git", "tui_mnist.egg-info")


def checkout_files() -> set[Path]:
    return {
        path for path in ROOT.rglob("*")
        if not any(part in BYTECODE_AND_INSTALL for part in path.relative_to(ROOT).parts)
    }


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_checkout():
    """Fails the run if any test left a file in the source tree (Python's bytecode and the
    editable install's metadata aside)."""
    before = checkout_files()
    yield
    assert sorted(map(str, checkout_files() - before)) == []


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs(tmp_path_factory):
    """Runs, caches, drawn digits and screenshots of this test session (and of the processes it
    starts) go to temporary folders, never into the user's own."""
    root = tmp_path_factory.mktemp("user-dirs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUI_MNIST_RUNS", str(root / "runs"))
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        patch.setenv("XDG_DATA_HOME", str(root / "data"))
        patch.setenv("TUI_MNIST_SCREENSHOTS", str(root / "screenshots"))
        yield root


@pytest.fixture
def one_blas_thread():
    """In-process training on one BLAS thread: fast on a shared machine, and deterministic."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def colour(monkeypatch):
    """Snapshots record colour; NO_COLOR (set by some CI shells) would flatten them."""
    monkeypatch.delenv("NO_COLOR", raising=False)


# --- MNIST ---------------------------------------------------------------------------------


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


# --- run folders -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def small_data(mnist_raw, tmp_path_factory) -> Path:
    """A data directory in IDX format: the first TRAIN_IMAGES training and TEST_IMAGES test
    images of the real MNIST (train with val=1000, as fakes.small_config does)."""
    from fakes import TEST_IMAGES, TRAIN_IMAGES, write_idx

    folder = tmp_path_factory.mktemp("small-mnist")
    for part_name, count in (("train", TRAIN_IMAGES), ("test", TEST_IMAGES)):
        part = getattr(mnist_raw, part_name)
        image_name, label_name = SPLITS[part_name]
        write_idx(folder / image_name, IMAGE_MAGIC, part.images[:count].reshape(count, *mnist_raw.shape))
        write_idx(folder / label_name, LABEL_MAGIC, part.labels[:count])
    return folder


@pytest.fixture
def runs_env(tmp_path, monkeypatch, small_data) -> dict:
    """fakes.environment() for this test's processes and for this one too (in-process hosts,
    the runs directory's resolution, the app's detached sessions). Afterwards, a run that is
    still live (a test that failed half-way) is stopped: no trainer outlives its test."""
    from fakes import environment

    env = environment(tmp_path, small_data)
    for name in ("TUI_MNIST_RUNS", "TUI_MNIST_DATA", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, env[name])
    yield env
    for folder in run_folders(Path(env["TUI_MNIST_RUNS"])):
        if is_live(folder):
            with contextlib.suppress(RunError):
                RunClient(folder.path).stop()


# --- memory ------------------------------------------------------------------------------------


class PeakMemory:
    """`with peak_memory:` traces the block's allocations (tracemalloc, which also sees NumPy's
    arrays); `peak_memory.bytes` is then the most the block held at once, even if it raised."""

    bytes = 0

    def __enter__(self) -> PeakMemory:
        tracemalloc.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.fixture
def peak_memory() -> PeakMemory:
    return PeakMemory()


# --- tui-mnist serve -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Served:
    """A `tui-mnist serve` in a subprocess: the URL it printed (token included), the runs
    directory of the apps it starts, and the file holding what it printed."""

    process: object  # subprocess.Popen
    url: str
    runs_dir: Path
    output: Path

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT"""
        return self.url.split("/?", 1)[0]

    def stop(self) -> int:
        """ctrl+c, as in a terminal (but to the server alone); its exit status."""
        return interrupt(self.process)


def interrupt(process) -> int:
    import signal

    from fakes import PATIENCE

    process.send_signal(signal.SIGINT)
    return process.wait(PATIENCE)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`tui-mnist serve --port 0` with runs and caches of its own, its tabs training on the
    shipped MNIST (the app's default settings hold out 5000 images: more than small_data has).
    Afterwards the server is stopped if a test has not stopped it, and so is every run it
    started that is still live: nothing outlives the module."""
    import re
    import subprocess

    from fakes import TUI_MNIST, environment, wait_for

    root = tmp_path_factory.mktemp("served")
    env = environment(root, shipped_data_dir())
    output = root / "output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen([*TUI_MNIST, "serve", "--port", "0"], env=env, stdout=sink, stderr=sink)

    def printed_url():
        return re.search(r"open (http://\S+)", output.read_text()) or process.poll() is not None

    try:
        found = wait_for(printed_url, what="the URL `tui-mnist serve` prints")
        assert found is not True, output.read_text()
        yield Served(process, found.group(1), Path(env["TUI_MNIST_RUNS"]), output)
    finally:
        if process.poll() is None:
            interrupt(process)
        for folder in run_folders(Path(env["TUI_MNIST_RUNS"])):
            wait_for(lambda folder=folder: not is_live(folder) or stopped(folder), what=f"run {folder.id} to stop")
            wait_for(lambda folder=folder: not is_live(folder), what=f"run {folder.id} to end")


def stopped(folder) -> bool:
    """Whether the run's trainer took a stop (False while it is starting: no socket yet)."""
    try:
        RunClient(folder.path).stop()
    except RunError:
        return False
    return True
