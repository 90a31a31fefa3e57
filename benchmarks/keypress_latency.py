"""Keypress-to-repaint latency of the real app in a real terminal, during training, and its cold
start; goal: p95 <= 50 ms for a key press.

The app runs as its own process (`python -m tui_mnist`, what the `tui-mnist` script runs) in an
80x24 pane of a private tmux server. Keys go in with `send-keys`; the repaint is found by polling
`capture-pane` until the screen shows the change a key must cause. Both go through one tmux
control-mode client, so no process is spawned per poll; polls are about POLL_SECONDS apart, and
every figure includes up to one polling interval (the mean interval is printed).

The run: `tui-mnist train --epochs 1000` in the background (784-128-10, batch 128; a real run
folder with its control socket, trained by the same code as the detached trainer the app
starts), attached with `tui-mnist attach`. The trainer uses the BLAS threads it picks by itself,
as in the app (--threads N: that many). Needs tmux (3.2 or newer) on the PATH.

- space: pause, then resume, of the live run; the repaint is the state label flipping between
  "running" and "paused". It includes the command's trip to the trainer process and back:
  the screen shows a state once the trainer has taken it.
- ?: the key help over the training screen, opened and closed again: a repaint with no trip
  to the trainer, the app's own share of a key press.
- i: the inspector opening on a snapshot of the live weights: first drawn ("Inspector ·"), and
  its predictions for the 10,000 test images shown ("misclassified:"); q back to the run (esc
  does the same 100 ms later: Textual waits ESCDELAY for the rest of an escape sequence).
- cold start: from asking tmux to start `tui-mnist` until the settings screen is drawn.

    python benchmarks/keypress_latency.py [--presses 40] [--helps 10] [--inspects 5]
                                          [--starts 10]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 50.0
POLL_SECONDS = 0.004
TIMEOUT = 20.0
APP = [sys.executable, "-m", "tui_mnist"]
SETTINGS_MARK = "hidden layers"  # a label of the settings screen


class Tmux:
    """A private tmux server, driven through one control-mode client."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.socket = f"tui-mnist-bench-{os.getpid()}"
        self.base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        # A placeholder session keeps the server up and gives the control client a home; the
        # app's panes live in sessions of their own, so their output never reaches the client.
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "home", "-x", "80", "-y", "24", "cat"],
            check=True, env=environment,
        )
        self.client = subprocess.Popen(
            [*self.base, "-C", "attach", "-t", "home"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=environment,
        )
        self.polls = 0
        self.poll_seconds = 0.0  # spent in capture-pane
        self.gaps = 0
        self.gap_seconds = 0.0  # between two polls of one wait
        self.read_block()  # the attach command's own (empty) answer

    def read_block(self) -> tuple[bool, list[str]]:
        """The next command answer, %begin to %end (or %error); notifications are skipped."""
        output: list[str] = []
        inside = False
        while True:
            text = self.client.stdout.readline()
            if not text:
                raise RuntimeError("the tmux control client went away")
            text = text.rstrip("\n")
            if not inside:
                inside = text.startswith("%begin")
            elif text.startswith(("%end", "%error")):
                return text.startswith("%end"), output
            else:
                output.append(text)

    def command(self, line: str) -> tuple[bool, list[str]]:
        """Run one tmux command; (succeeded, its output lines)."""
        self.client.stdin.write(line + "\n")
        self.client.stdin.flush()
        return self.read_block()

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        variables = " ".join(f"-e {key}={quote(value)}" for key, value in environment.items())
        program = " ".join(quote(part) for part in command)
        self.command(f"new-session -d -s {name} -x 80 -y 24 {variables} {quote('exec ' + program)}")

    def keys(self, name: str, *keys: str) -> None:
        self.command(f"send-keys -t {name} {' '.join(keys)}")

    def screen(self, name: str) -> list[str]:
        started = time.perf_counter()
        ok, lines = self.command(f"capture-pane -p -t {name}")
        self.polls += 1
        self.poll_seconds += time.perf_counter() - started
        return lines if ok else []

    def alive(self, name: str) -> bool:
        return self.command(f"has-session -t {name}")[0]

    def wait(self, name: str, condition: Callable[[list[str]], bool], what: str) -> float:
        """Poll until `condition(screen)`; the perf_counter time of the poll that saw it."""
        deadline = time.perf_counter() + TIMEOUT
        previous = None
        while True:
            lines = self.screen(name)
            seen = time.perf_counter()
            if previous is not None:
                self.gaps += 1
                self.gap_seconds += seen - previous
            previous = seen
            if condition(lines):
                return seen
            if seen > deadline:
                raise RuntimeError(f"never saw {what}; the screen:\n" + "\n".join(lines))
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)
        self.client.wait(timeout=10)


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def top(lines: list[str]) -> str:
    return lines[0] if lines else ""


def state_is(state: str) -> Callable[[list[str]], bool]:
    return lambda lines: top(lines).split()[:1] == [state]


def help_shown(lines: list[str]) -> bool:
    return any("Keys:" in line for line in lines)


def help_is(shown: bool) -> Callable[[list[str]], bool]:
    return lambda lines: help_shown(lines) == shown


def inspector_drawn(lines: list[str]) -> bool:
    return "Inspector ·" in top(lines)


def predictions_shown(lines: list[str]) -> bool:
    return any("misclassified:" in line for line in lines[:3])


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile: the smallest value at or above 95 % of the samples."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def report(what: str, seconds: list[float], goal: bool = False) -> None:
    ms = [1000 * s for s in seconds]
    line = (f"{what:<38} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
            f"p95 {p95(ms):7.1f} ms   max {max(ms):7.1f} ms")
    if goal:
        line += f"   (goal p95 <= {GOAL_MS:.0f} ms: {'met' if p95(ms) <= GOAL_MS else 'NOT met'})"
    print(line, flush=True)


def start_training(runs: Path, threads: int, environment: dict[str, str], log: Path) -> subprocess.Popen:
    command = [*APP, "train", "--epochs", "1000", "--threads", str(threads), "--runs-dir", str(runs)]
    with log.open("w") as stderr:
        trainer = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True,  # our own group: stopped below by its id, never by name
        )
    deadline = time.monotonic() + TIMEOUT
    while "run " not in log.read_text():  # "run ID (in PATH)": its control socket is up
        if trainer.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the background run did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return trainer


def cold_starts(tmux: Tmux, count: int, environment: dict[str, str]) -> list[float]:
    times = []
    for number in range(count + 1):  # the first start is a warm-up (bytecode, page cache)
        name = f"cold{number}"
        started = time.perf_counter()
        tmux.start(name, APP, environment)
        drawn = tmux.wait(name, lambda lines: any(SETTINGS_MARK in line for line in lines),
                          "the settings screen")
        if number:
            times.append(drawn - started)
        tmux.keys(name, "C-q")
        deadline = time.monotonic() + TIMEOUT
        while tmux.alive(name) and time.monotonic() < deadline:
            time.sleep(0.05)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40, help="space presses (pause, resume)")
    parser.add_argument("--helps", type=int, default=10, help="times the key help is opened")
    parser.add_argument("--inspects", type=int, default=5, help="times the inspector is opened")
    parser.add_argument("--starts", type=int, default=10, help="cold starts timed")
    parser.add_argument("--threads", type=int, default=0, help="the trainer's BLAS threads (0: its own choice)")
    parser.add_argument("--seed", type=int, default=0, help="for the pauses between keys")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("keypress_latency.py needs tmux on the PATH", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _bench

    print(_bench.machine_line())
    print(f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}; "
          f"app: {' '.join(APP)}; trainer: 784-128-10, batch 128, "
          f"{args.threads or 'automatic'} BLAS threads", flush=True)
    rng = random.Random(args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="tui-mnist-keypress-"))
    runs = scratch / "runs"
    # PYTHONPATH: the checkout this script belongs to, whichever directory it is run from.
    environment = {"TUI_MNIST_RUNS": str(runs), "PYTHONPATH": str(ROOT)}
    child_environment = dict(os.environ, **environment)
    child_environment.pop("TMUX", None)
    tmux = Tmux(child_environment)
    trainer = None
    try:
        starts = cold_starts(tmux, args.starts, environment)

        trainer = start_training(runs, args.threads, child_environment, scratch / "train.log")
        tmux.start("app", [*APP, "attach", "--runs-dir", str(runs)], environment)
        tmux.wait("app", state_is("running"), "the attached run")
        time.sleep(1.0)  # past the attach's first repaints

        space: list[float] = []
        for _ in range(args.presses):
            time.sleep(rng.uniform(0.15, 0.35))  # out of step with the screen's 0.25 s ticks
            state = "running" if state_is("paused")(tmux.screen("app")) else "paused"
            pressed = time.perf_counter()
            tmux.keys("app", "Space")
            space.append(tmux.wait("app", state_is(state), f"the state {state}") - pressed)
        if state_is("paused")(tmux.screen("app")):
            tmux.keys("app", "Space")
            tmux.wait("app", state_is("running"), "the run going again")

        helps: list[float] = []
        for _ in range(args.helps):
            for shown in (True, False):
                time.sleep(rng.uniform(0.15, 0.35))
                pressed = time.perf_counter()
                tmux.keys("app", "?")
                seen = tmux.wait("app", help_is(shown), "the key help " + ("open" if shown else "closed"))
                helps.append(seen - pressed)

        opened: list[float] = []
        predicted: list[float] = []
        back: list[float] = []
        for _ in range(args.inspects):
            time.sleep(rng.uniform(0.5, 1.0))
            pressed = time.perf_counter()
            tmux.keys("app", "i")
            opened.append(tmux.wait("app", inspector_drawn, "the inspector") - pressed)
            predicted.append(tmux.wait("app", predictions_shown, "the predictions") - pressed)
            time.sleep(rng.uniform(0.3, 0.6))
            pressed = time.perf_counter()
            tmux.keys("app", "q")
            back.append(tmux.wait("app", state_is("running"), "the run again") - pressed)
        tmux.keys("app", "C-q")  # an attached run goes on: it is stopped below

        print(f"polls: {tmux.polls}, one every {1000 * tmux.gap_seconds / max(1, tmux.gaps):.1f} ms "
              f"on average (a capture-pane takes {1000 * tmux.poll_seconds / tmux.polls:.2f} ms)")
        report("space (pause / resume), to repaint", space, goal=True)
        report("? (key help open / closed), to repaint", helps, goal=True)
        report("i, to the inspector drawn", opened, goal=True)
        report("i, to its predictions shown", predicted)
        report("q, from the inspector back to the run", back, goal=True)
        report("cold start, to the settings drawn", starts)
    finally:
        if trainer is not None and trainer.poll() is None:
            os.killpg(trainer.pid, signal.SIGTERM)  # the run stops cleanly after its batch
            trainer.wait(timeout=30)
        tmux.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
