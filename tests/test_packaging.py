"""What a user installs: the wheel `pip install .` builds, the package list it is built from, and
the README's two commands that CI runs. Builds happen in a copy of the source tree, so no test
writes into the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tui_mnist"
TEST_COMMAND = "python -m pip install -e '.[test]' && python -m pytest"
NOT_SOURCE = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", "dist", ".*cache")


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # in the standard library from Python 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def source_packages() -> set[str]:
    """Every folder of tui_mnist/ that holds an __init__.py, as a dotted name."""
    return {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_the_hand_written_package_list_names_every_package():
    """setuptools cannot discover packages in this layout, so pyproject.toml lists them by
    hand: a package missing there is missing from the wheel."""
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    assert listed == source_packages() | {"tui_mnist.assets"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of the checkout, with build isolation as `pip install .`
    uses (a new venv's own setuptools is not asked to build anything)."""
    root = tmp_path_factory.mktemp("wheel")
    source, out = root / "source", root / "dist"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("tui_mnist-*.whl")
    return wheel


def test_the_wheel_carries_every_module_style_and_mnist_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in PACKAGE.rglob("*"):
        if path.suffix in (".py", ".tcss"):
            assert path.relative_to(ROOT).as_posix() in names
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f"tui_mnist/assets/mnist/{stem}.gz" in names
    assert "tui_mnist/assets/mnist/SHA256SUMS" in names


def test_the_installed_wheel_trains_from_another_directory(wheel, tmp_path):
    """Installed apart from the checkout and run elsewhere, it finds its own MNIST and code."""
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "OPENBLAS_NUM_THREADS": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "import tui_mnist.tui.app, tui_mnist; print(tui_mnist.__file__)"],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(target)
    trained = subprocess.run(
        [sys.executable, "-m", "tui_mnist", "train", "--hidden", "8", "--epochs", "1",
         "--val", "1000", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert "test accuracy" in trained.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_ci_runs_exactly_the_readme_test_command_in_a_new_venv():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\n{TEST_COMMAND}\n" in readme
    assert "python3 -m venv" in ci
    assert f"\n{TEST_COMMAND}" in ci
