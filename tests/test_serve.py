"""`tui-mnist serve`: a real server in a subprocess (conftest's `served`, one for the module),
driven over HTTP and its WebSocket as a browser would, and stopped by the last test; plus
its one-line refusals to listen, and the helpers that choose its addresses and command line.

The refusals are also the alarm for the hook into textual-serve's private `_make_app`: if the
guard stopped being installed, requests without the token would get the page."""

from __future__ import annotations

import asyncio
import http.cookies
import re
import shlex
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from fakes import PATIENCE, tui_mnist, wait_for

from tui_mnist.cli.serve import app_command, is_loopback, url_of
from tui_mnist.runs.client import RunClient
from tui_mnist.runs.ledger import is_live, process_alive
from tui_mnist.runs.store import run_folders

ANSI = re.compile(r"\x1b(\[[0-9;?<>=$ ]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")
SETTINGS_TITLE = "Configure a run"
BEST_WIDTH = "1024"  # the hidden layer of the "best" preset: a run of a minute, still going when checked
CTRL_R = "\x12"


def session() -> aiohttp.ClientSession:
    """A client that keeps cookies, as a browser does (aiohttp's jar refuses IP hosts' by default)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def websocket_url(page: str) -> str:
    return re.search(r'data-session-websocket-url="([^"]+)"', page).group(1)


class Tab:
    """A browser tab's side of the WebSocket: what the app drew, without the escape codes."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse):
        self.websocket = websocket
        self.text = ""

    async def press(self, keys: str) -> None:
        await self.websocket.send_json(["stdin", keys])

    async def read_until(self, condition, what: str) -> None:
        """Read the app's output until `condition()`; the tab keeps reading meanwhile, so the
        app is never held up by a full socket."""
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {PATIENCE:g} s waiting for {what}: {self.text[-500:]!r}")
            try:
                message = await asyncio.wait_for(self.websocket.receive(), 0.05)
            except asyncio.TimeoutError:
                continue
            assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
            if message.type == aiohttp.WSMsgType.BINARY:
                self.text += ANSI.sub("", message.data.decode("utf-8", "replace"))

    async def read_until_closed(self) -> None:
        async for _message in self.websocket:  # answers the server's close, then ends
            pass


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.add(int(entry.name))
    return found


# --- refused -----------------------------------------------------------------------------


async def test_requests_without_the_token_are_refused(served):
    async with session() as client:
        for path in ("/", "/static/js/textual.js", "/ws"):
            async with client.get(served.origin + path) as response:
                assert response.status == 401, f"{path} served without the token: is the guard still in _make_app?"
        with pytest.raises(aiohttp.WSServerHandshakeError, match="401"):
            await client.ws_connect(served.origin.replace("http", "ws") + "/ws")


async def test_a_wrong_token_or_cookie_is_refused(served):
    async with session() as client:
        async with client.get(served.origin + "/?token=not-the-token") as response:
            assert response.status == 401
            assert "Set-Cookie" not in response.headers
        async with client.get(served.url) as response:
            (name,) = response.cookies
    async with aiohttp.ClientSession() as client:
        async with client.get(served.origin + "/", headers={"Cookie": f"{name}=not-the-token"}) as response:
            assert response.status == 401


async def test_a_request_from_another_origin_is_refused(served):
    async with session() as client:
        async with client.get(served.url, headers={"Origin": served.origin}) as response:
            assert response.status == 200
            ws_url = websocket_url(await response.text())
        async with client.get(served.url, headers={"Origin": "http://evil.example"}) as response:
            assert response.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError, match="403"):
            await client.ws_connect(ws_url, origin="http://evil.example")


def test_a_port_in_use_is_one_line_and_exit_1():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = tui_mnist("serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == f"tui-mnist: cannot listen on 127.0.0.1 port {port}: address already in use\n"
    assert result.stdout == ""


def test_a_host_that_cannot_be_bound_is_one_line_and_exit_1():
    result = tui_mnist("serve", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1: no machine's own
    assert result.returncode == 1
    assert result.stderr == "tui-mnist: cannot listen on 192.0.2.1 port 0: cannot assign requested address\n"


# --- addresses and command line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("box.example", False)],
)
def test_only_loopback_hosts_go_without_a_warning(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8000"), ("::1", "http://[::1]:8000"),
     ("box.example", "http://box.example:8000"), ("0.0.0.0", f"http://{socket.gethostname()}:8000")],
)
def test_the_public_url_is_one_a_browser_can_open(host, url):
    assert url_of(host, 8000) == url


def test_a_tabs_command_line_quotes_its_paths(tmp_path):
    """textual-serve runs it through a shell: a space, quote or $ in a path stays in it."""
    runs = tmp_path / "runs it's $HOME"
    assert shlex.split(app_command(runs, "my digits")) == [
        "exec", "env", f"TUI_MNIST_RUNS={runs}", sys.executable, "-m", "tui_mnist", "--data-dir", "my digits",
    ]


# --- a tab, its run, and the end of the server (last: it stops the module's server) ------


async def test_the_token_opens_the_page_for_good_with_a_strict_cookie(served):
    async with session() as client:
        async with client.get(served.url) as response:
            assert response.status == 200
            (cookie,) = http.cookies.SimpleCookie(response.headers["Set-Cookie"]).values()
        async with client.get(served.origin + "/static/js/textual.js") as response:
            assert response.status == 200  # the cookie alone, as the page's own requests have
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"


async def test_a_tab_starts_a_detached_run_that_outlives_the_server(served):
    async with session() as client:
        async with client.get(served.url) as response:
            ws_url = websocket_url(await response.text())
        async with client.ws_connect(ws_url + "?width=80&height=24") as websocket:
            tab = Tab(websocket)
            await tab.read_until(lambda: SETTINGS_TITLE in tab.text, "the settings screen")
            apps = children(served.process.pid)
            assert apps  # the tab's app, the server's own child

            shown = len(tab.text)
            await tab.press("3")  # the "best" preset
            await tab.read_until(lambda: BEST_WIDTH in tab.text[shown:], "the best preset's settings")
            await tab.press(CTRL_R)
            await tab.read_until(lambda: run_folders(served.runs_dir), "a run folder")
            (folder,) = run_folders(served.runs_dir)
            await tab.read_until(lambda: is_live(folder) and folder.read_status().get("pid"), "the trainer")
            # Paused, the trainer keeps its process but leaves the cores to the rest of the suite.
            await tab.press(" ")
            await tab.read_until(lambda: folder.read_status().get("state") == "paused", "the run paused")
            status = folder.read_status()

            stopping = asyncio.create_task(asyncio.to_thread(served.stop))
            await asyncio.wait_for(tab.read_until_closed(), PATIENCE)  # the server closes the tab
            assert await stopping == 0
    assert "server stopped" in served.output.read_text()
    assert not [pid for pid in apps if process_alive(pid)]
    assert process_alive(status["pid"], status["proc_start"])
    assert is_live(folder)

    RunClient(folder.path).stop()
    wait_for(lambda: not process_alive(status["pid"], status["proc_start"]), what="the trainer to end")
