"""textual-serve's server with a lock on the door, for `tui-mnist serve`.

textual-serve has no authentication and no Origin check: any web page the user visits could
drive the app through ws://127.0.0.1:PORT/ws. Here every request needs the server's random
token, in the URL (`?token=`, traded for an HttpOnly, SameSite=Strict cookie) or in that cookie
(401 otherwise), and a request whose Origin is not the server's own is refused (403); both are
compared in constant time. Stopping the server tells the app of every open tab to quit, as
closing the tab does; the runs those apps started go on (they are detached trainers).

The guard is an aiohttp middleware added to the application textual-serve builds in
`Server._make_app`, which is not part of its public API: pyproject.toml pins textual-serve's
minor version, and tests/test_serve.py fails when a request gets past the guard.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import signal
import socket
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

TOKEN = "token"  # the query parameter
QUIT_GRACE = 10.0  # seconds the apps get to quit (each first lets go of its runs)
CLOSE_GRACE = 2.0  # seconds left to the remaining HTTP connections once the apps are gone


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class GuardedServer(Server):
    """Serves `command` (a shell command line starting the app) to browsers at `public_url`."""

    def __init__(self, command: str, public_url: str):
        super().__init__(command, title="tui-mnist", public_url=public_url.rstrip("/"))
        self.token = secrets.token_urlsafe(32)
        address = urlsplit(self.public_url)
        self.origin = f"{address.scheme}://{address.netloc}".lower()
        self.secure = address.scheme == "https"
        # Cookies are shared by every port of a host: one name per port, so two servers on
        # one machine do not log each other out.
        self.cookie = f"tui-mnist-{address.port or address.scheme}"
        self.tabs: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        """What the user opens: the public URL with the token."""
        return f"{self.public_url}/?{TOKEN}={self.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not same(origin.lower(), self.origin):
            raise web.HTTPForbidden(text="tui-mnist: requests from other sites' pages are refused\n")
        given = request.query.get(TOKEN)
        if not same(given or request.cookies.get(self.cookie, ""), self.token):
            raise web.HTTPUnauthorized(text="tui-mnist: open the URL that `tui-mnist serve` printed\n")
        response = await handler(request)
        if given is not None and not response.prepared:  # a WebSocket has sent its headers
            response.set_cookie(
                self.cookie, self.token, path="/", httponly=True, samesite="Strict", secure=self.secure
            )
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its app process lives as long as this task (see on_shutdown)."""
        tab = asyncio.current_task()
        self.tabs.add(tab)
        try:
            return await super().handle_websocket(request)
        finally:
            self.tabs.discard(tab)

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: `tui-mnist serve` prints its own lines, once it is listening."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Tell every tab's app to quit, as textual-serve does when a tab closes: a cancelled
        tab sends its app the quit message and waits for the process to end."""
        tabs = list(self.tabs)
        for tab in tabs:
            tab.cancel()
        if tabs:
            await asyncio.wait(tabs, timeout=QUIT_GRACE)

    async def serve_until_stopped(self, listener: socket.socket) -> None:
        """Serve on a bound socket until SIGINT or SIGTERM, then stop the tabs' apps."""
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        runner = web.AppRunner(
            await self._make_app(), handle_signals=False, access_log=None, shutdown_timeout=CLOSE_GRACE
        )
        await runner.setup()
        try:
            await web.SockSite(runner, listener).start()
            await stopped.wait()
        finally:
            await runner.cleanup()
