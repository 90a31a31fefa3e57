"""Faults the runs already survive, each proved here once: a second trainer for a run that is
training, and references that reach outside the runs folder (docs/reliability.md lists them)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from fakes import PATIENCE, SLOW, TUI_MNIST, cli_flags, environment, tui_mnist, wait_for

from tui_mnist.runs.ledger import derived_state
from tui_mnist.runs.store import RunFolder


@pytest.fixture
def env(tmp_path, small_data):
    return environment(tmp_path, small_data)


def test_a_second_resume_of_a_run_in_training_is_refused_and_leaves_it_training(env):
    first = subprocess.Popen([*TUI_MNIST, "train", *cli_flags(SLOW.with_changes(epochs=500))],
                             env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_id = first.stderr.readline().split()[2]
    folder = RunFolder(os.path.join(env["TUI_MNIST_RUNS"], run_id))
    try:
        wait_for(lambda: folder.checkpoint_file(1).exists(), what="the first epoch")
        second = tui_mnist("train", "--resume", run_id, env=env)
        assert second.returncode == 1
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        assert f"run {run_id}" in second.stderr and "running" in second.stderr
        assert first.poll() is None and derived_state(folder) == "running"
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=PATIENCE)
    assert derived_state(folder) == "stopped"


@pytest.mark.parametrize("command", [
    ["train", "--resume"], ["export", "--csv", "metrics.csv"], ["attach"], ["runs", "--delete"],
], ids=["resume", "export", "attach", "delete"])
def test_a_reference_that_climbs_out_of_the_runs_folder_is_refused(env, tmp_path, command):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.makedirs(env["TUI_MNIST_RUNS"], exist_ok=True)
    (outside / "precious.txt").write_text("keep me")
    reference = os.path.relpath(outside, env["TUI_MNIST_RUNS"])  # ../outside
    refused = tui_mnist(*command, reference, env=env, cwd=env["TUI_MNIST_RUNS"])
    assert refused.returncode == 1
    assert f'no run "{reference}"' in refused.stderr
    assert (outside / "precious.txt").read_text() == "keep me"
