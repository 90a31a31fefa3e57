"""`tui-mnist serve`: the app in a browser, one app process per tab, through textual-serve.

Listens on 127.0.0.1 unless told otherwise, and prints the URL to open, token included (see
guarded_server). Each tab runs `tui-mnist` with the runs directory and data directory given
here; the runs it starts are ordinary detached runs, which outlive the tab and the server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tui_mnist.cli.output import say, warn
from tui_mnist.engine.errors import EngineError


class ServeError(EngineError):
    """`serve` cannot start as asked: an address it cannot listen on, a public URL that is not one."""


def serve(host: str, port: int, runs_dir: str | None, data_dir: str | None, public_url: str | None) -> int:
    from tui_mnist.runs.store import resolve_runs_dir

    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        raise ServeError(f"--public-url {public_url}: give the whole address, from http:// or https://")
    command = app_command(resolve_runs_dir(runs_dir), data_dir)
    with listen(host, port) as listener:
        from tui_mnist.cli.guarded_server import GuardedServer  # 0.6 s of aiohttp: once listening

        port = listener.getsockname()[1]  # the one chosen, for --port 0
        server = GuardedServer(command, public_url or url_of(host, port))
        if not is_loopback(host):
            warn(
                f"listening on {host}: anyone who can reach port {port} can run the app, and anything "
                "it can do, as this user; outside loopback use TLS through a reverse proxy (see the README)"
            )
        say(f"tui-mnist: open {server.url}")
        say("Each tab is an app of its own; runs started in one go on without it. ctrl+c stops the server.")
        asyncio.run(server.serve_until_stopped(listener))
    say("tui-mnist: server stopped (its runs go on: tui-mnist runs)")
    return 0


def app_command(runs_dir: Path, data_dir: str | None) -> str:
    """The shell command line of a tab's app (textual-serve starts it through a shell), which
    `exec`s into Python, so that the app is the server's own child."""
    from tui_mnist.runs.store import RUNS_ENV

    words = ["exec", "env", f"{RUNS_ENV}={runs_dir}", sys.executable, "-m", "tui_mnist"]
    if data_dir is not None:
        words += ["--data-dir", data_dir]
    return shlex.join(words)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening; ServeError, in one line, if it cannot be."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family)
    except OSError as error:  # its own text adds the address as a tuple: the errno's alone
        reason = os.strerror(error.errno) if (error.errno or 0) > 0 else error.strerror or str(error)
        raise ServeError(f"cannot listen on {host} port {port}: {reason[0].lower()}{reason[1:]}") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    """The URL browsers use for host:port; for a wildcard address (all interfaces), this
    machine's name."""
    try:
        address = ipaddress.ip_address(host or "0.0.0.0")  # "" is every interface too
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:
        return f"http://{socket.gethostname()}:{port}"
    return f"http://[{host}]:{port}" if address.version == 6 else f"http://{host}:{port}"
