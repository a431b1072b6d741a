"""A lean keep-alive HTTP/1.1 client for the benches' requests (job submits and polls).

httpx costs the load generator a few milliseconds of CPU per request: 200 jobs submitted
at once kept their responses (and so the opening of each job's stream) waiting up to
1.3 s on the client after the server had answered, which the jobs bench then counted as
lateness. This client speaks just what the benches need: a JSON body out, a
`Content-Length` body back, on one connection per caller.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HTTPConnection:
    """One keep-alive connection to 127.0.0.1; reconnects if the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON body or None); retries once on a connection the server closed."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(payload)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "") + "\r\n").encode()
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                self._writer.write(head + payload)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, Any]:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        body = await self._reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            self.close()
        return int(lines[0][9:12]), json.loads(body) if body else None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
