"""Headless Chromium for the page tests, and a TCP proxy that can cut every stream (issue 4).

Debian's chromium is driven by Playwright for Python through `executable_path`;
Playwright's own browser download is never used. Without CI a missing browser
skips the page tests; with `CI=true` it fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCALE = "en-US"
"""The browser's language, whatever the machine's: the page writes numbers as it says (12,345)."""


def missing(reason: str) -> None:
    """Skip a page test for a missing tool (a browser, axe-core); with CI=true, fail it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; with CI=true a missing tool is a failure, not a skip")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (Playwright's sync API allows one at a time, and each module
    imports this fixture anew); each test gets its own context (cookies, cache)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -r requirements-test.txt)")
    if not shutil.which(CHROMIUM):
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    """What a page must never do: throw, open a dialog (an injected script ran), break the CSP."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog opened: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(f"CSP violation: {message.text}")


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """`open_page(url, color_scheme=..., viewport=...)` → a Playwright page; checked for problems after the test.

    `bypass_csp=True` lets a test inject a script (tests/axe.py's audit); the page's own
    Content-Security-Policy is then not enforced, so such a page proves nothing about it."""
    opened: list[tuple[Any, PageProblems]] = []

    def opener(url: str, *, color_scheme: str = "light", viewport: dict[str, int] = DESKTOP,
               reduced_motion: str = "no-preference", bypass_csp: bool = False) -> Any:
        context = browser.new_context(color_scheme=color_scheme, viewport=viewport, locale=LOCALE,
                                      reduced_motion=reduced_motion, accept_downloads=True,
                                      bypass_csp=bypass_csp)
        context.set_default_timeout(20_000)
        page = context.new_page()
        problems = PageProblems()
        problems.watch(page)
        opened.append((context, problems))
        page.goto(url)
        return page

    yield opener
    for context, problems in opened:
        context.close()
        assert not problems.errors, problems.errors


def wait_live(page: Any) -> None:
    """The dashboard's stream is open and its snapshot drawn."""
    page.locator('#connection[data-connection="live"]').wait_for()


class CuttableProxy:
    """A TCP proxy in front of a server: `cut()` drops every connection and refuses new ones
    until `restore()`, as a network outage would. The server itself keeps running."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            if not self._up.is_set():
                _drop(downstream)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _drop(downstream)
                continue
            with self._lock:
                self._sockets.update((downstream, upstream))
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _drop(sock)
                with self._lock:
                    self._sockets.discard(sock)

    def cut(self) -> None:
        self._up.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _drop(sock)

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._listener.close()
        self.cut()


def _drop(sock: socket.socket) -> None:
    """Shut down first: it wakes a thread blocked in `recv` on this socket."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
