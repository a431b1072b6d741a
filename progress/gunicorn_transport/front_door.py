"""Opening a stream before gunicorn reads the request (issue 14 part 8).

A reconnect storm is thousands of stream requests at once, and once the app's own side of
an open was cheap, most of what was left was gunicorn's: its pure-Python request parser,
the environ and response objects, its keep-alive and HTTP/2 checks (docs/performance.md).
An app that can open a stream from the environ alone (web's stream shortcut) registers a
`StreamOpener`; then each new connection's first request is peeked at, without taking it
off the socket. A plain stream request (a complete `GET` over HTTP/1.1 with no body, no
upgrade, nothing behind it) is parsed by llhttp (`httptools`) into the environ gunicorn
would have made, and if the opener answers it with a `Stream`, the request is taken off
the socket and the stream served detached (takeover.py). Anything else, the opener's
every refusal included, is left on the socket untouched for gunicorn to read and answer.

Beyond the take-over's, it leans on the worker's `handle(listener, client, addr)`, its
settings (`keepalive`, the `limit_request_*` ones, and those that change the environ, which
turn it off), and `gunicorn.http.wsgi.base_environ`. gunicorn's `pre_request` hook and its
`max_requests` count never see the streams it opens.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

import httptools
from gunicorn.http.wsgi import base_environ
from gunicorn.util import unquote_to_wsgi_str

from ..log_values import log_value
from ..streams import Stream
from .chunked import WILL_DETACH
from .takeover import keeps_alive

StreamOpener = Callable[[dict[str, Any], Callable[..., Any]], "Stream | None"]
"""A WSGI app that answers only what it can answer with a `Stream` body, and returns None
without calling `start_response` (or changing anything) for every other request."""

Handle = Callable[[Any, Any, Any], None]
Detach = Callable[[Stream, Any, tuple[Any, Any], str, list[tuple[str, str]], bool], None]

PEEK_BYTES = 4096
"""A stream request's head is a few hundred bytes; a longer one (or one still arriving)
goes to gunicorn, whose limits then apply as ever."""

log = logging.getLogger("progress.gunicorn_transport")


class FrontDoor:
    """Installed on one gunicorn gevent worker: a connection's first request goes to the
    opener when it is a plain stream request, to gunicorn's `handle` otherwise."""

    def __init__(self, worker: Any, opener: StreamOpener, detach: Detach) -> None:
        self._worker = worker
        self._opener = opener
        self._detach = detach
        cfg = worker.cfg
        self._timeout = cfg.keepalive or None  # gunicorn waits as long for a request
        self._max_head = min(limit for limit in (PEEK_BYTES, cfg.limit_request_line, cfg.limit_request_field_size)
                             if limit > 0)
        """A head this long keeps every line within gunicorn's limits."""
        self._max_fields = cfg.limit_request_fields
        self._base_environ = {**base_environ(cfg), "wsgi.multithread": True}

    @staticmethod
    def applies_to(cfg: Any) -> bool:
        """Only where gunicorn itself would make the plain environ built here: no TLS, no
        PROXY protocol, no uWSGI, no cleartext HTTP/2, no SCRIPT_NAME (settings older
        gunicorns lack count as off)."""
        return not (cfg.is_ssl or os.environ.get("SCRIPT_NAME")
                    or getattr(cfg, "proxy_protocol", "off") not in ("off", False)
                    or getattr(cfg, "protocol", "http") != "http"
                    or getattr(cfg, "http2_cleartext", "off") != "off")

    def wrap(self, handle: Handle) -> Handle:
        def serve_streams_first(listener: Any, client: Any, addr: Any) -> None:
            if self._worker.alive and isinstance(addr, tuple) and self._opened(listener, client, addr):
                return
            handle(listener, client, addr)

        return serve_streams_first

    def _opened(self, listener: Any, client: Any, addr: tuple[Any, ...]) -> bool:
        """Serve the first request if it is a stream the opener gives; False leaves the
        connection as it came (its bytes unread) to gunicorn."""
        client.settimeout(self._timeout)
        try:
            head = client.recv(self._max_head, socket.MSG_PEEK)
        except OSError:  # silent for the keep-alive timeout, or reset: gunicorn would close it too
            return True
        finally:
            client.setblocking(True)
        if not head:
            return True  # the client left (or the server is stopping) before asking anything
        request = plain_stream_request(head, self._max_fields)
        environ = None if request is None else self._environ(listener, client, addr, *request)
        if environ is None:
            return False
        answer: list[Any] = []
        try:
            body = self._opener(environ, lambda status, headers, exc_info=None: answer.extend((status, headers)))
        except Exception:  # a bug in the opener: the app's own route answers it (a 500 at worst)
            log.exception("a StreamOpener failed on %s; gunicorn serves the request", log_value(environ["PATH_INFO"]))
            return False
        if body is None:
            return False
        try:
            client.recv(len(head))  # the request, now answered, taken off the socket
        except OSError:
            body.close()
            return True
        status, headers = answer
        self._detach(body, client, (listener, addr), status, headers, keeps_alive(environ))
        return True

    def _environ(self, listener: Any, client: Any, addr: tuple[Any, ...], target: bytes,
                 headers: list[tuple[bytes, bytes]]) -> dict[str, Any] | None:
        """What gunicorn's `wsgi.create` makes of this request (None: leave it to gunicorn)."""
        url = httptools.parse_url(target)  # origin form: a path, a query, perhaps a fragment
        if url.fragment is not None:
            return None
        environ = {**self._base_environ}
        for name, value in headers:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        server_name, server_port = _server_address(listener)
        environ.update({
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "gunicorn.socket": client,
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": (url.query or b"").decode("latin-1"),
            "RAW_URI": target.decode("latin-1"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": addr[0],
            "REMOTE_PORT": str(addr[1]),
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
            "PATH_INFO": unquote_to_wsgi_str(url.path),
            "SCRIPT_NAME": "",
            WILL_DETACH: True,
        })
        return environ


@functools.lru_cache(maxsize=64)
def _server_address(listener: Any) -> tuple[str, str]:
    """`SERVER_NAME` and `SERVER_PORT` of a listening socket, asked once (gunicorn asks the
    kernel on every connection)."""
    host, port = listener.getsockname()[:2]
    return host, str(port)


class _Head:
    """llhttp's callbacks for one request head."""

    __slots__ = ("target", "headers", "complete")

    def __init__(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        self.complete = True


PlainRequest = tuple[bytes, list[tuple[bytes, bytes]]]
"""The request target and the headers."""


def plain_stream_request(data: bytes, max_fields: int) -> PlainRequest | None:
    """`data` as one complete GET over HTTP/1.1 with no body and nothing after it, with lines
    ended by CRLF, header names gunicorn keeps (no `_`), no `Expect` or `Upgrade`, at most
    `max_fields` headers; None for anything else, which gunicorn then reads and answers."""
    if (not data.startswith(b"GET /") or data.startswith(b"GET //")  # origin-form only (RFC 9112, 3.2.1)
            or data.find(b"\r\n\r\n") != len(data) - 4 or data.count(b"\n") != data.count(b"\r\n")):
        return None
    head = _Head()
    parser = httptools.HttpRequestParser(head)
    try:
        parser.feed_data(data)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return None
    if not head.complete or parser.get_http_version() != "1.1" or len(head.headers) > max_fields:
        return None
    for name, _value in head.headers:
        lowered = name.lower()
        if b"_" in name or lowered in _NOT_PLAIN:
            return None
    return head.target, head.headers


_NOT_PLAIN = frozenset({b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"http2-settings"})
"""Headers of a request with a body, an interim answer or another protocol."""
