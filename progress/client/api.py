"""The server's HTTP API and its streams, as seen by a client: JSON calls and resumable SSE."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from httpx_sse import ServerSentEvent, SSEError, connect_sse

TIMEOUT = httpx.Timeout(10.0, read=45.0)
"""Reads wait longer than the server's heartbeat (at most 15 s), so a quiet stream is not a dead one."""

UPLOAD_CHUNK_BYTES = 256 * 1024
"""Bytes of a local file read and sent at a time: memory stays this small for any size."""

DEFAULT_RETRY_S = 2.0
"""Until the stream's `retry:` says otherwise (the HTML standard leaves the first wait to the client)."""


class ServerRefused(Exception):
    """The server answered with the contract's JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ServerRefused:
        try:
            error = response.json()["error"]
            return cls(response.status_code, error["code"], error["message"])
        except (ValueError, KeyError, TypeError):
            return cls(response.status_code, "http_error", f"The server answered HTTP {response.status_code}.")


class Unreachable(Exception):
    """The server stayed out of reach for longer than the client was told to wait."""


class ProgressClient:
    """One server's API over one `httpx.Client`."""

    def __init__(self, base_url: str, give_up_s: float = 60.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=TIMEOUT, headers={"Accept": "application/json"})
        self.give_up_s = give_up_s

    def close(self) -> None:
        self.http.close()

    def kinds(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/kinds")["kinds"]

    def start(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/api/jobs", json={"kind": kind, "params": params})

    def upload(self, path: Path, media_type: str, on_sent: Callable[[int], None]) -> dict[str, Any]:
        """Send a local file as the body of `POST /api/uploads`, in chunks, calling `on_sent`
        with each chunk's size; returns the upload (`{"id", "size"}`). `Content-Length` goes
        first, so a file over the server's limit is refused before it is sent."""
        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as file:
                while chunk := file.read(UPLOAD_CHUNK_BYTES):
                    on_sent(len(chunk))
                    yield chunk

        headers = {"Content-Type": media_type, "Content-Length": str(path.stat().st_size)}
        return self._json("POST", "/api/uploads", content=chunks(), headers=headers)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/jobs/{job_id}/cancel")

    def download(self, job_id: str, target: Path | BinaryIO) -> str:
        """Save the result to `target` (a file, a folder for the server's filename, or a stream); returns where."""
        try:
            with self.http.stream("GET", f"/api/jobs/{job_id}/result") as response:
                if response.status_code != 200:
                    response.read()
                    raise ServerRefused.from_response(response)
                if not isinstance(target, Path):
                    for chunk in response.iter_bytes():
                        target.write(chunk)
                    target.flush()
                    return "standard output"
                path = target / _filename(response, job_id) if target.is_dir() else target
                with open(path, "wb") as file:
                    for chunk in response.iter_bytes():
                        file.write(chunk)
                return str(path)
        except httpx.TransportError as error:
            raise Unreachable(f"The server at {self.http.base_url} cannot be reached ({error}).") from None

    def events(self, path: str, on_reconnect: Callable[[str], None] = lambda reason: None) -> Iterator[ServerSentEvent]:
        """Every event of the stream at `path`, resuming with `Last-Event-ID` after a drop.

        Ends when the server answers 204 (we saw the job's end) or the caller stops
        reading; raises `Unreachable` after `give_up_s` without a connection.
        """
        last_id: str | None = None
        retry_s = DEFAULT_RETRY_S
        down_since: float | None = None
        while True:
            headers = {"Last-Event-ID": last_id} if last_id is not None else {}
            try:
                with connect_sse(self.http, "GET", path, headers=headers) as source:
                    if source.response.status_code == 204:
                        return
                    if source.response.status_code != 200:
                        source.response.read()
                        raise ServerRefused.from_response(source.response)
                    down_since = None
                    for event in source.iter_sse():
                        if event.retry is not None:
                            retry_s = event.retry / 1000
                        if not event.event or not event.data:
                            continue  # a `retry:`-only block dispatches nothing (HTML standard)
                        last_id = event.id or last_id
                        yield event
                reason = "the server ended the stream"
            except (httpx.TransportError, SSEError) as error:
                reason = f"connection lost ({type(error).__name__})"
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > self.give_up_s:
                raise Unreachable(f"The server at {self.http.base_url} stayed unreachable for "
                                  f"{self.give_up_s:g} s.")
            on_reconnect(reason)
            time.sleep(retry_s)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Unreachable(f"The server at {self.http.base_url} cannot be reached ({error}).") from None
        if response.is_error:
            raise ServerRefused.from_response(response)
        return response.json()


def _filename(response: httpx.Response, job_id: str) -> str:
    """The name from `Content-Disposition`, reduced to a plain file name."""
    match = re.search(r'filename="([^"/\\]+)"', response.headers.get("content-disposition", ""))
    return match.group(1) if match and match.group(1) not in (".", "..") else f"result-{job_id}"
