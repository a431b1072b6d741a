"""The token file's watch, without a server: what a look at the file does (issue 14 part 6)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from web import token_watch
from web.auth import TokenBook
from web.token_watch import RECENT_CHANGE_S, FileStamp, TokenFileWatch, revoked_names
from web.tokens import Token, parse_token_file

SECRETS = {name: name * (64 // len(name)) for name in ("alice", "bob", "carol")}
"""Fixed secrets of 60-odd characters: the file's contents, not their randomness, are under test."""


def line(name: str, secret: str | None = None) -> str:
    return f"{name} {secret or SECRETS[name]}\n"


class Watched:
    """A token file, a book read from it as the settings would, and a watch with a clock that
    the test moves: by default long after every write, so each stamp is settled."""

    def __init__(self, folder: Path, content: str) -> None:
        self.path = folder / "tokens"
        self.path.write_text(content)
        self.book = TokenBook(parse_token_file(str(self.path)))
        self.ended: list[set[str]] = []
        self.now = time.time() + 3600
        self.watch = TokenFileWatch(str(self.path), self.book, self.ended.append, clock=lambda: self.now)
        self.watch.look()  # the first look reads the file, as the server's first second does

    def names(self) -> list[str]:
        return [token.name for token in self.book.tokens]

    def rewrite(self, content: str) -> None:
        """As an editor saves: a new file renamed over the old one."""
        fresh = self.path.with_suffix(".new")
        fresh.write_text(content)
        os.replace(fresh, self.path)


@pytest.fixture
def watched(tmp_path: Path) -> Watched:
    return Watched(tmp_path, line("alice") + line("bob"))


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_deleted_line_is_taken_out_and_its_owners_streams_are_ended(watched):
    watched.rewrite(line("alice"))
    watched.watch.look()
    assert watched.names() == ["alice"]
    assert watched.book.token_for(SECRETS["bob"]) is None and watched.book.token_named("bob") is None
    assert watched.ended == [{"bob"}]


def test_a_line_added_in_place_counts_at_the_next_look_and_ends_no_stream(watched):
    with open(watched.path, "a") as file:
        file.write(line("carol"))
    watched.watch.look()
    assert watched.names() == ["alice", "bob", "carol"]
    assert watched.book.token_for(SECRETS["carol"]).name == "carol"
    assert watched.ended == []


@pytest.mark.parametrize(("after", "revoked"), [
    ([Token("alice", SECRETS["alice"]), Token("bob", SECRETS["bob"])], set()),
    ([Token("alice", SECRETS["alice"])], {"bob"}),
    ([Token("alice", SECRETS["bob"] + "x"), Token("bob", SECRETS["bob"])], {"alice"}),
    ([Token("alice", SECRETS["alice"], admin=True), Token("bob", SECRETS["bob"])], {"alice"}),
    ([Token("bob", SECRETS["bob"]), Token("carol", SECRETS["carol"]), Token("alice", SECRETS["alice"])], set()),
    ([], {"alice", "bob"}),
])
def test_an_owner_is_revoked_when_their_token_goes_or_is_no_longer_the_same(after, revoked):
    before = [Token("alice", SECRETS["alice"]), Token("bob", SECRETS["bob"])]
    assert revoked_names(before, after) == revoked


def test_a_file_made_invalid_keeps_the_last_good_tokens_and_is_logged_once(watched, caplog):
    watched.rewrite(line("alice") + "bob\n")
    with caplog.at_level(logging.INFO, logger="web.token_watch"):
        for _ in range(5):
            watched.watch.look()
            watched.now += 1
    assert watched.names() == ["alice", "bob"] and watched.ended == []
    assert errors(caplog) == [f"API_TOKENS_FILE {watched.path}: line 2 of the token file is not 'NAME SECRET' "
                              "or 'NAME SECRET admin'; the last good tokens (2) stay in use until it is fixed"]


def test_a_file_that_disappears_keeps_the_last_good_tokens_and_is_logged_once(watched, caplog):
    watched.path.unlink()
    with caplog.at_level(logging.INFO, logger="web.token_watch"):
        for _ in range(5):
            watched.watch.look()
    assert watched.names() == ["alice", "bob"]
    assert errors(caplog) == [f"API_TOKENS_FILE {watched.path}: cannot read the token file (FileNotFoundError); "
                              "the last good tokens (2) stay in use until it is fixed"]


def test_another_problem_is_logged_again_and_a_fixed_file_says_so(watched, caplog):
    with caplog.at_level(logging.INFO, logger="web.token_watch"):
        for content in ("", line("alice") + line("alice", SECRETS["bob"]), line("alice") + line("bob")):
            watched.rewrite(content)
            watched.watch.look()
            watched.watch.look()
    kept = "the last good tokens (2) stay in use until it is fixed"
    assert [record.getMessage() for record in caplog.records] == [
        f"API_TOKENS_FILE {watched.path}: the token file holds no token; {kept}",
        f"API_TOKENS_FILE {watched.path}: line 2 of the token file repeats a name or a secret; {kept}",
        f"API_TOKENS_FILE {watched.path} is readable again; tokens in use, unchanged: 2",
    ]
    assert watched.names() == ["alice", "bob"] and watched.ended == []


def reads_of(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the watch parses from now on."""
    reads: list[str] = []

    def counted(path: str) -> tuple[Token, ...]:
        reads.append(path)
        return parse_token_file(path)

    monkeypatch.setattr(token_watch, "parse_token_file", counted)
    return reads


def test_an_unchanged_file_is_only_looked_at_not_read(watched, monkeypatch):
    reads = reads_of(monkeypatch)
    for _ in range(5):
        watched.watch.look()
    assert reads == []


def test_a_freshly_changed_file_is_read_at_each_look_until_it_is_older(watched, monkeypatch):
    """Two same-sized writes within one tick of the file system's clock leave one stamp (git's
    "racily clean" case), so a stamp younger than RECENT_CHANGE_S proves nothing yet."""
    watched.rewrite(line("alice") + line("bob", "b" * 40))
    watched.now = watched.path.stat().st_mtime + 0.5
    reads = reads_of(monkeypatch)
    watched.watch.look()
    watched.watch.look()
    watched.now += RECENT_CHANGE_S
    for _ in range(3):
        watched.watch.look()
    assert len(reads) == 3
    assert watched.book.token_named("bob").secret == "b" * 40
    assert watched.ended == [{"bob"}]


def test_a_stamp_changes_with_a_rename_over_the_file_even_of_the_same_size(watched):
    before = FileStamp.of(str(watched.path))
    watched.rewrite(watched.path.read_text())
    assert FileStamp.of(str(watched.path)) != before
    assert FileStamp.of(str(watched.path.with_name("missing"))) is None
