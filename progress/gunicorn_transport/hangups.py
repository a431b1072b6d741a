"""Clients that hang up, found when they do.

Nobody reads a detached stream's socket, so a client that resets or closes its connection
used to be found only by the next write to it: an event, or the heartbeat within
`SSE_HEARTBEAT_S`. In a reconnect storm the worker held every old socket beside the new
ones until then, and met the open-file limit (docs/performance.md, sixth round).

One epoll set holds every detached stream's socket and one gevent watcher waits on it, so
nothing runs or waits per stream. A reset, or a close both ways, ends the stream at once.
A client that closed only its sending side may still be reading (`nc` does), so it gets a
heartbeat now instead: a client that has really gone answers that with a reset.
"""

from __future__ import annotations

import select
from contextlib import suppress
from typing import Protocol

import gevent
from gevent.monkey import get_original

epoll = get_original("select", "epoll")
"""The kernel's: gevent's patched `select` removes it (the loop itself never blocks in it here)."""

HUNG_UP = select.EPOLLHUP | select.EPOLLERR
"""Always reported by epoll, even when not asked for: the connection is gone."""


class Watched(Protocol):
    def client_gone(self) -> None: ...

    def ping(self, quiet_since: float) -> None: ...


class HangUps:
    """The sockets of one worker's detached streams, each watched for its client hanging up."""

    def __init__(self) -> None:
        self._epoll = epoll()
        self._streams: dict[int, Watched] = {}
        self._watcher = gevent.get_hub().loop.io(self._epoll.fileno(), 1, ref=False)  # 1: readable
        self._watcher.start(self._found)

    def watch(self, fd: int, stream: Watched) -> None:
        """`fd` is the socket `stream` writes to; one already closed is left to the heartbeat."""
        try:
            self._epoll.register(fd, select.EPOLLRDHUP | select.EPOLLONESHOT)
        except OSError:
            return
        self._streams[fd] = stream

    def forget(self, fd: int, stream: Watched) -> None:
        """`stream` has ended (its descriptor may already serve another stream)."""
        if self._streams.get(fd) is stream:
            del self._streams[fd]
            with suppress(OSError):
                self._epoll.unregister(fd)

    def _found(self) -> None:
        """Called by the loop when the epoll set has news; at most 1,023 sockets a turn."""
        for fd, events in self._epoll.poll(0):
            stream = self._streams.get(fd)
            if stream is None:
                continue
            if events & HUNG_UP:
                stream.client_gone()
                continue
            stream.ping(float("inf"))  # only its sending side closed: a gone client resets now
            with suppress(OSError):
                self._epoll.modify(fd, select.EPOLLONESHOT)  # from now on, only a hang-up
