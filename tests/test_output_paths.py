"""Files the commands write never replace what is not a regular file (issue 14, part 1): a save
target is absent, a regular file, or a symlink to one (written through, in its real folder);
a device, a FIFO or a directory is refused, and so is a folder that does not exist, before any
work starts and without leaving a run folder behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fakes import tui_mnist

from tui_mnist.engine.errors import OutputPathError
from tui_mnist.engine.files import output_path, write_atomically
from tui_mnist.runs.store import run_folders

TINY = ["--epochs", "1", "--hidden", "8", "--val", "1000", "--batch-size", "500"]


def test_an_absent_or_regular_file_is_written_where_it_is(tmp_path):
    assert output_path(tmp_path / "new.npz") == tmp_path / "new.npz"
    (tmp_path / "old.npz").write_bytes(b"old")
    assert output_path(tmp_path / "old.npz") == tmp_path / "old.npz"


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    target.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    write_atomically(link, lambda stream: stream.write(b"new"))
    assert link.is_symlink() and link.resolve() == target
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["model.npz"]  # no temporary left


@pytest.mark.parametrize("kind", ["character device", "FIFO", "directory"])
def test_what_is_not_a_regular_file_is_refused_and_left_as_it_was(tmp_path, kind):
    if kind == "character device":
        path = "/dev/null"
    elif kind == "FIFO":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    else:
        path = tmp_path / "folder"
        path.mkdir()
    before = os.stat(path).st_mode
    with pytest.raises(OutputPathError, match=f"{path}: is a {kind}"):
        write_atomically(path, lambda stream: stream.write(b"x"))
    assert os.stat(path).st_mode == before


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(OutputPathError, match=r"cannot write \(the folder .*missing does not exist\)"):
        output_path(tmp_path / "missing" / "model.npz")


def test_a_stream_may_go_into_a_device_or_a_fifo_but_not_a_directory(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    assert output_path("/dev/null", stream=True) == Path("/dev/null")
    assert output_path(tmp_path / "pipe", stream=True) == tmp_path / "pipe"
    with pytest.raises(OutputPathError, match="is a directory"):
        output_path(tmp_path, stream=True)


@pytest.mark.parametrize(("flag", "refused"), [("--save", "/dev/null"), ("--metrics", "/tmp")])
def test_train_refuses_a_bad_output_before_it_starts_and_leaves_no_run(runs_env, tmp_path, flag, refused):
    for target in (refused, str(tmp_path / "missing" / "out")):
        result = tui_mnist("train", *TINY, flag, target, env=runs_env)
        assert result.returncode == 2
        assert target in result.stderr and "Traceback" not in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert run_folders(tmp_path / "runs") == []


def test_export_model_refuses_a_fifo(runs_env, tmp_path):
    assert tui_mnist("train", *TINY, env=runs_env).returncode == 0
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = tui_mnist("export", "last", "--model", str(pipe), env=runs_env, timeout=30)
    assert result.returncode == 1
    assert f"{pipe}: is a FIFO" in result.stderr
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
