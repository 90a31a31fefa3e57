"""`tui-mnist sweep` end to end: real subprocesses, a real Dask cluster (local, or a scheduler
and a worker started as their own processes), the Optuna journal read back as Optuna reads it.

Every sweep is tiny (the small data set, 8 hidden units, a few epochs of large batches), so the
trials take a fraction of a second and the cluster's start-up is most of each test's time.

What makes the outcomes certain rather than likely:
- A trial's settings come from a sampler seeded with the sweep's seed and the trial's index,
  so `seed_drawing` finds, in this process, a `--seed` for which the random sampler hands
  the trial indices a chosen pattern of choices (e.g. good, good, bad, bad).
- With 2 workers, trials 2 and 3 are submitted only once trial 0 or 1 has ended, so their
  first epoch is judged by successive halving against at least one good trial's: a learning
  rate of 1e-5 (10% after one epoch) is pruned against 0.5 (45%), whatever the timing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from fakes import TUI_MNIST, environment, tui_mnist, wait_for
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs.notes import read_note
from tui_mnist.runs.store import run_folders
from tui_mnist.sweeps.folder import SweepFolder, SweepSpec
from tui_mnist.sweeps.snapshot import SweepSnapshot
from tui_mnist.sweeps.space import space_from_flags
from tui_mnist.sweeps.study import make_sampler

# Trials of a fraction of a second on the small data set (2000 training images, 1000 for
# validation): 10 batches an epoch.
TINY = ["--hidden", "8", "--epochs", "3", "--val", "1000", "--batch-size", "200"]
GOOD_LR, BAD_LR = "0.5", "1e-05"  # after one epoch: about 45% against 10%
TRIAL_LINE = re.compile(r"^trial +(\d+)  ", re.MULTILINE)
ENDED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@pytest.fixture
def env(tmp_path, small_data) -> dict:
    return environment(tmp_path, small_data)


def runs_dir(env: dict) -> Path:
    return Path(env["TUI_MNIST_RUNS"])


def sweep_folders(env: dict) -> list[Path]:
    return sorted((runs_dir(env) / "sweeps").glob("sweep-*"))


def the_sweep(env: dict) -> Path:
    (folder,) = sweep_folders(env)
    return folder


def study_of(folder: Path) -> optuna.Study:
    storage = JournalStorage(JournalFileBackend(str(folder / "journal.log")))
    return optuna.load_study(study_name="sweep", storage=storage)


def trials_so_far(folder: Path) -> list[optuna.trial.FrozenTrial]:
    """The journal's trials while a sweep may be writing it: none before its study exists."""
    if not (folder / "journal.log").exists():
        return []
    try:
        return study_of(folder).get_trials(deepcopy=False)
    except KeyError:  # the journal has no study yet
        return []


def trial_lines(text: str) -> dict[int, list[str]]:
    """The lines of `text` that report an ended trial, by trial number."""
    lines: dict[int, list[str]] = {}
    for line in text.splitlines():
        found = TRIAL_LINE.match(line)
        if found:
            lines.setdefault(int(found.group(1)), []).append(line)
    return lines


def seed_drawing(flags: dict[str, str], name: str, pattern: list[str]) -> int:
    """The first sweep seed for which the random sampler gives trial index i the value
    pattern[i] of setting `name` (as the setting shows it), the space being `flags`."""
    space = space_from_flags(flags)
    param = next(p for p in space.params if p.name == name)
    for seed in range(500):
        spec = SweepSpec(id="sweep-00000000-000000-0000", space=space, base=TrainConfig(seed=seed),
                         trials=len(pattern), runs_dir="unused", sampler="random", seed=seed)
        drawn = []
        for index in range(len(pattern)):
            study = optuna.create_study(direction="maximize", sampler=make_sampler(spec, index))
            drawn.append(param.setting.show(space.sample(study.ask())[name]))
        if drawn == pattern:
            return seed
    raise AssertionError(f"no seed below 500 draws {pattern}")


def free_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a sweep on a 2-process local cluster ------------------------------------------------------


@pytest.fixture(scope="module")
def four_trials(tmp_path_factory, small_data):
    """A sweep of 4 trials on 2 local workers: indices 0 and 1 draw the good learning rate,
    2 and 3 the bad one (pruned after their first epoch). Returns its environment, its result
    and its folder."""
    env = environment(tmp_path_factory.mktemp("four-trials"), small_data)
    seed = seed_drawing({"lr": f"{GOOD_LR}|{BAD_LR}"}, "lr", [GOOD_LR, GOOD_LR, BAD_LR, BAD_LR])
    result = tui_mnist("sweep", *TINY, "--lr", f"{GOOD_LR}|{BAD_LR}", "--seed", str(seed),
                       "--sampler", "random", "--trials", "4", "--workers", "2", env=env)
    return env, result, the_sweep(env)


def test_a_sweep_runs_its_trials_as_tagged_runs_and_reports_the_best(four_trials):
    env, result, folder = four_trials
    assert result.returncode == 0, result.stderr
    trials = study_of(folder).get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert {t.params["lr"]: t.state for t in trials} == {GOOD_LR: TrialState.COMPLETE, BAD_LR: TrialState.PRUNED}
    assert [len(t.intermediate_values) for t in trials if t.state == TrialState.PRUNED] == [1, 1]

    runs = run_folders(runs_dir(env))
    tags = sorted((run.read_config()["sweep"]["id"], run.read_config()["sweep"]["trial"]) for run in runs)
    assert tags == [(folder.name, n) for n in range(4)]
    notes = sorted(read_note(run) for run in runs)
    assert notes == [f"#{folder.name} trial {n}" for n in range(4)]
    assert sorted(t.user_attrs["run"] for t in trials) == sorted(run.id for run in runs)

    best_value = max(t.value for t in trials if t.state == TrialState.COMPLETE)
    best = re.search(r"^best: trial (\d+), val ([\d.]+)%", result.stdout, re.MULTILINE)
    assert best, result.stdout
    assert trials[int(best.group(1))].state == TrialState.COMPLETE
    assert trials[int(best.group(1))].value == best_value
    assert best.group(2) == f"{100 * best_value:.2f}"


def test_each_ended_trial_prints_one_line_also_kept_in_the_sweep_log(four_trials):
    _, result, folder = four_trials
    assert result.returncode == 0, result.stderr
    printed = trial_lines(result.stdout)
    assert sorted(printed) == [0, 1, 2, 3]
    assert all(len(lines) == 1 for lines in printed.values()), printed
    states = {t.number: t.state for t in study_of(folder).get_trials()}
    ends = {n: lines[0].rsplit("  ", 1)[1] for n, lines in printed.items()}
    assert ends == {n: "finished" if state == TrialState.COMPLETE else "pruned" for n, state in states.items()}
    assert (folder / "sweep.log").read_text().splitlines() == result.stdout.splitlines()
    state = json.loads((folder / "state.json").read_text())
    assert (state["state"], state["ended"]) == ("finished", 4)


def test_n_trials_get_n_distinct_settings(env):
    result = tui_mnist("sweep", *TINY, "--epochs", "1", "--lr", "0.01..0.3:log", "--sampler", "random",
                       "--trials", "6", "--workers", "2", env=env)
    assert result.returncode == 0, result.stderr
    trials = study_of(the_sweep(env)).get_trials()
    assert len(trials) == 6
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 6


def test_a_grid_sweep_tries_every_point_of_its_grid_once(env):
    result = tui_mnist("sweep", *TINY, "--epochs", "1", "--lr", "0.05|0.1|0.2", "--sampler", "grid",
                       "--trials", "3", "--workers", "1", env=env)
    assert result.returncode == 0, result.stderr
    trials = study_of(the_sweep(env)).get_trials()
    assert sorted(t.params["lr"] for t in trials) == ["0.05", "0.1", "0.2"]


# --- refused before anything starts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--lr", "0.3..0.01"], ['--lr "0.3..0.01"', "reversed"]),
        (["--lr", "0..0.1:log"], ['--lr "0..0.1:log"', "log range"]),
        (["--lr", "0.01..0.3", "--threads", "2"], ["threads cannot be set"]),
        (["--hidden", "8"], ["nothing to search"]),
        (["--lr", "0.01..0.3", "--sampler", "grid"], ["grid search needs choices", "lr"]),
        (["--lr", "0.01..0.3", "--budget", "0"], ["budget"]),
        (["--widths", "8|16"], ["--widths"]),
    ],
    ids=["reversed-range", "log-from-zero", "threads", "nothing-searched", "grid-with-range", "zero-budget",
         "unknown-flag"],
)
def test_a_bad_space_or_flag_exits_2_naming_it_before_any_sweep_folder(env, flags, named):
    result = tui_mnist("sweep", "--hidden", "8", *flags, env=env)
    assert result.returncode == 2, result.stderr
    for words in named:
        assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert sweep_folders(env) == []


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('lr = "0.01..0.3:log"\nhidden = [8,\n', "not valid TOML"),
        ('lr = "0.01..0.3:log"\nwidths = [8, 16]\n', "unknown setting 'widths'"),
        ('lr = {low = 0.3, high = 0.01}\n', "reversed"),
    ],
    ids=["not-toml", "unknown-setting", "reversed-range"],
)
def test_a_bad_space_file_exits_2_naming_the_file(env, tmp_path, toml, named):
    space = tmp_path / "space.toml"
    space.write_text(toml)
    result = tui_mnist("sweep", "--hidden", "8", "--space", str(space), env=env)
    assert result.returncode == 2, result.stderr
    assert str(space) in result.stderr
    assert named in result.stderr
    assert sweep_folders(env) == []


# --- failures are contained --------------------------------------------------------------------


def test_a_diverging_trial_fails_with_its_message_and_the_sweep_goes_on(env):
    choices = {"lr": "1000|0.1"}
    seed = seed_drawing(choices, "lr", ["1000.0", "0.1", "0.1"])
    result = tui_mnist("sweep", *TINY, "--optimizer", "sgd", "--lr", choices["lr"], "--seed", str(seed),
                       "--sampler", "random", "--pruner", "none", "--trials", "3", "--workers", "1", env=env)
    assert result.returncode == 0, result.stderr
    trials = study_of(the_sweep(env)).get_trials()
    assert [(t.params["lr"], t.state) for t in trials] == [
        ("1000.0", TrialState.FAIL), ("0.1", TrialState.COMPLETE), ("0.1", TrialState.COMPLETE)
    ]
    error = trials[0].user_attrs["error"]
    assert "loss diverged" in error
    (line,) = trial_lines(result.stdout)[0]
    assert line.endswith(f"failed: {error}")
    assert f"best: trial 1, val {100 * trials[1].value:.2f}%" in result.stdout


def test_a_trial_the_memory_guard_refuses_fails_with_its_message_and_the_sweep_goes_on(env):
    result = tui_mnist("sweep", *TINY, "--hidden", "8|3000000", "--sampler", "grid", "--pruner", "none",
                       "--trials", "2", "--workers", "1", env=env)
    assert result.returncode == 0, result.stderr
    by_width = {t.params["hidden"]: t for t in study_of(the_sweep(env)).get_trials()}
    assert by_width["8"].state == TrialState.COMPLETE
    assert by_width["3000000"].state == TrialState.FAIL
    assert "more than the" in by_width["3000000"].user_attrs["error"]  # the guard's own words


def test_a_spent_budget_ends_the_sweep_with_exit_0_and_its_running_trials_interrupted(env):
    # A thousand trials on one worker cannot all end in 2 s: the budget stops the sweep.
    result = tui_mnist("sweep", *TINY, "--lr", "0.01..0.3", "--trials", "1000", "--workers", "1",
                       "--budget", "2", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "stopping (the budget of 2 s is spent)" in result.stdout
    state = json.loads((the_sweep(env) / "state.json").read_text())
    assert state["state"] == "stopped" and state["ended"] < 1000


def test_an_unreachable_scheduler_is_one_line_on_stderr_and_exit_1(env):
    address = f"tcp://127.0.0.1:{free_closed_port()}"
    # The timeout is the assertion: a refused connection is named at once, never after Dask's 30 s.
    result = tui_mnist("sweep", *TINY, "--lr", "0.1|0.2", "--scheduler", address, env=env, timeout=20)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("tui-mnist: ")
    assert address in line
    (folder,) = sweep_folders(env)  # says it failed, not that it runs
    state = json.loads((folder / "state.json").read_text())
    assert state["state"] == "failed" and address in state["error"]


# --- the cluster path: a scheduler and a worker of their own ----------------------------------


DASK = str(Path(sys.executable).with_name("dask"))


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_sweep_runs_on_an_existing_scheduler_and_worker(env, tmp_path):
    import distributed

    scheduler_file = tmp_path / "scheduler.json"
    started: list[subprocess.Popen] = []
    try:
        started.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        wait_for(scheduler_file.exists, what="the scheduler's file")
        started.append(subprocess.Popen(
            [DASK, "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
             "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
             "--local-directory", str(tmp_path / "worker")],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        address = json.loads(scheduler_file.read_text())["address"]

        result = tui_mnist("sweep", *TINY, "--lr", "0.05..0.5:log", "--pruner", "none",
                           "--trials", "2", "--scheduler", address, env=env)
        assert result.returncode == 0, result.stderr
        # Watched from a machine without the journal (no shared disk): through the scheduler.
        elsewhere = tmp_path / "elsewhere" / "sweeps" / the_sweep(env).name
        elsewhere.mkdir(parents=True)
        for name in ("sweep.json", "state.json"):
            shutil.copy(the_sweep(env) / name, elsewhere / name)
        watched = SweepSnapshot.read(SweepFolder(elsewhere))
        assert [(row.number, row.state) for row in watched.trials] == [(0, "finished"), (1, "finished")]
    finally:
        for process in reversed(started):
            stop_process(process)
    assert result.returncode == 0, result.stderr
    folder = the_sweep(env)
    trials = study_of(folder).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert sorted(trial_lines(result.stdout)) == [0, 1]
    assert sorted(run.read_config()["sweep"]["trial"] for run in run_folders(runs_dir(env))) == [0, 1]


# --- resumed after kill -9 ---------------------------------------------------------------------


def group_gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def slow_sweep(env: dict, log, epochs: int, trials: int) -> subprocess.Popen:
    """A sweep on 1 worker, in a session of its own (as a terminal's job: a process group to
    signal), of single-image batches (an epoch of 2000 takes about 0.2 s), writing to `log`."""
    return subprocess.Popen(
        [*TUI_MNIST, "sweep", "--hidden", "8", "--epochs", str(epochs), "--val", "1000", "--batch-size", "1",
         "--lr", "0.001..0.01:log", "--pruner", "none", "--trials", str(trials), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory, small_data):
    """A 4-trial sweep on 1 worker, killed with its whole process group (the sweep, its local
    cluster's nanny and worker) once one trial is complete and the next one training, then
    resumed. Trials of about a second (an epoch of 2000 single-image batches is 0.2 s) leave
    time to catch one running. Returns the trials before the kill, those after the resume, and
    the resumed sweep's result."""
    root = tmp_path_factory.mktemp("killed")
    env = environment(root, small_data)
    log = (root / "killed.out").open("w")
    sweep = slow_sweep(env, log, epochs=5, trials=4)
    try:
        folder = wait_for(lambda: sweep_folders(env) and sweep_folders(env)[0], what="the sweep's folder")

        def one_complete_one_training():
            trials = trials_so_far(folder)
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            # A run folder: its settings are drawn (a trial killed before has none to queue).
            training = [t for t in trials if t.state == TrialState.RUNNING and "run" in t.user_attrs]
            return complete and training

        wait_for(one_complete_one_training, what="a complete trial and one training")
        os.killpg(sweep.pid, signal.SIGKILL)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
        sweep.wait()
        log.close()
    wait_for(lambda: group_gone(sweep.pid), what="the killed sweep's worker processes to end")
    before = study_of(folder).get_trials()
    result = tui_mnist("sweep", "--resume", folder.name, "--workers", "1", env=env)
    return before, study_of(folder).get_trials(), result


def test_a_killed_sweep_resumes_keeping_its_finished_trials_and_queueing_the_killed_one(killed_and_resumed):
    before, after, result = killed_and_resumed
    assert result.returncode == 0, result.stderr
    complete = [(t.number, t.params, t.value) for t in before if t.state == TrialState.COMPLETE]
    assert complete
    assert [(t.number, t.params, t.value) for t in after if t.number in {n for n, _, _ in complete}] == complete
    (killed,) = [t for t in before if t.state == TrialState.RUNNING]
    assert after[killed.number].state == TrialState.FAIL
    again = [t for t in after if t.user_attrs.get("again") == killed.number]
    assert [(t.params, t.state) for t in again] == [(killed.params, TrialState.COMPLETE)]
    assert "was running when the sweep stopped: queued again" in result.stdout
    assert re.search(r"^finished: 4 of 4 trials ended$", result.stdout, re.MULTILINE), result.stdout


def test_a_killed_trial_is_queued_again_and_does_not_count(killed_and_resumed):
    before, after, result = killed_and_resumed
    assert result.returncode == 0, result.stderr
    (killed,) = [t for t in before if t.state == TrialState.RUNNING]
    assert [t.number for t in after if t.user_attrs.get("again") == killed.number] != []
    others = [t for t in after if t.number != killed.number]
    assert [t.state in ENDED for t in others] == [True] * 4


def test_a_resumed_sweep_writes_nothing_on_stderr(killed_and_resumed):
    _, _, result = killed_and_resumed
    assert result.returncode == 0
    assert result.stderr == ""


def test_ctrl_c_stops_the_running_trial_at_its_next_batch_and_marks_it(tmp_path, small_data):
    """ctrl+c reaches the terminal's whole process group (the sweep and its local workers): the
    trial in training ends interrupted, at its next batch, and the sweep stopped (exit 130)."""
    env = environment(tmp_path, small_data)
    log = (tmp_path / "sweep.out").open("w")
    sweep = slow_sweep(env, log, epochs=50, trials=2)
    try:
        folder = wait_for(lambda: sweep_folders(env) and sweep_folders(env)[0], what="the sweep's folder")
        wait_for(lambda: [t for t in trials_so_far(folder) if t.intermediate_values],
                 what="a trial with an epoch done")
        os.killpg(sweep.pid, signal.SIGINT)
        # 50 epochs take 10 s: stopping at the next batch ends the sweep long before.
        assert sweep.wait(timeout=30) == 130
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
        log.close()
    printed = (tmp_path / "sweep.out").read_text()
    assert "stopping (ctrl+c): running trials stop at their next batch" in printed
    (stopped,) = study_of(folder).get_trials()
    assert stopped.state == TrialState.FAIL and stopped.user_attrs["interrupted"] is True
    assert len(stopped.intermediate_values) < 50
    assert json.loads((folder / "state.json").read_text())["state"] == "stopped"


def test_a_closed_terminal_leaves_the_sweep_going_and_its_lines_in_its_log(tmp_path, small_data):
    """The terminal's hangup reaches the sweep and its local workers: it goes on to its end."""
    env = environment(tmp_path, small_data)
    sweep = subprocess.Popen(
        [*TUI_MNIST, "sweep", *TINY, "--lr", "0.05..0.5:log", "--pruner", "none", "--trials", "3",
         "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        folder = wait_for(lambda: sweep_folders(env) and sweep_folders(env)[0], what="the sweep's folder")
        wait_for(lambda: trials_so_far(folder), what="a first trial")
        os.killpg(sweep.pid, signal.SIGHUP)
        sweep.stdout.close()  # the terminal is gone: nobody reads
        assert sweep.wait(timeout=60) == 0
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    log = (folder / "sweep.log").read_text()
    assert "finished: 3 of 3 trials ended" in log
    assert len(TRIAL_LINE.findall(log)) == 3
