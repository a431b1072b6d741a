"""API_TOKENS_FILE, read again when it changes: a deleted line stops working without a restart (issue 14).

Each worker has a greenlet that looks at the file once a second (one `stat`; no request ever
waits on the file) and reads it again, with the parser the start used, when its inode, size
or times changed. A good file replaces the tokens in use, and owners whose token went, got a
new secret or lost `admin` have their open streams ended, so a reconnect meets 401. A file
that is wrong or gone keeps the last good tokens, said in one log line, not one a second.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import gevent

from progress import defaults

from .tokens import Token, parse_token_file

log = logging.getLogger("web.token_watch")

RECENT_CHANGE_S = 2.0
"""A file this freshly changed may change again within its timestamps' granularity, unseen by
`stat` (git's "racily clean" entries), so it is read again at the next look until it is older."""


@dataclass(frozen=True)
class FileStamp:
    """What `stat` tells of one version of the file: an edit, a rename over it or a `touch`
    changes at least one of these."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: str) -> FileStamp | None:
        """None when the file cannot be looked at (gone, or a folder on its way is)."""
        try:
            found = os.stat(path)
        except OSError:
            return None
        return cls(found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


class Book(Protocol):
    """The tokens in use, which the watch replaces (`web.auth.TokenBook`)."""

    @property
    def tokens(self) -> tuple[Token, ...]: ...

    def replace(self, tokens: tuple[Token, ...]) -> None: ...


def revoked_names(before: Collection[Token], after: Collection[Token]) -> set[str]:
    """Owners whose token is gone or no longer the same (another secret, `admin` added or taken)."""
    kept = set(after)
    return {token.name for token in before if token not in kept}


class TokenFileWatch:
    """Looks at the token file when asked (`look`), or once a second from a greenlet (`start`)."""

    def __init__(self, path: str, book: Book, end_streams_of: Callable[[set[str]], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._book = book
        self._end_streams_of = end_streams_of
        self._clock = clock
        self._seen: FileStamp | None = None
        self._settled = False  # the first look reads: the file may have changed since the settings read it
        self._problem: str | None = None

    def start(self, every_s: float = defaults.TOKEN_FILE_CHECK_S) -> gevent.Greenlet:
        return gevent.spawn(self._look_forever, every_s)

    def _look_forever(self, every_s: float) -> None:
        while True:
            gevent.sleep(every_s)
            self.look()

    def look(self) -> None:
        """Read the file again if its stamp changed since the last read, or was too fresh to trust."""
        stamp = FileStamp.of(self.path)
        if stamp == self._seen and self._settled:
            return
        self._seen = stamp
        self._settled = stamp is None or self._clock() - stamp.mtime_ns / 1e9 >= RECENT_CHANGE_S
        try:
            tokens = parse_token_file(self.path)
        except ValueError as error:
            self._keep_last_good(str(error))
        else:
            self._use(tokens)

    def _use(self, tokens: tuple[Token, ...]) -> None:
        before, had_problem, self._problem = self._book.tokens, self._problem, None
        if tokens == before:
            if had_problem:
                log.info("API_TOKENS_FILE %s is readable again; tokens in use, unchanged: %d", self.path, len(tokens))
            return
        self._book.replace(tokens)
        log.info("API_TOKENS_FILE %s changed; tokens in use now: %d", self.path, len(tokens))
        revoked = revoked_names(before, tokens)
        if revoked:
            self._end_streams_of(revoked)

    def _keep_last_good(self, problem: str) -> None:
        """One line per problem: a file left broken is not logged again every second."""
        if problem != self._problem:
            log.error("API_TOKENS_FILE %s: %s; the last good tokens (%d) stay in use until it is fixed",
                      self.path, problem, len(self._book.tokens))
        self._problem = problem
