"""API tokens from a file: a name, a secret and an optional admin flag each. Stdlib only.

The file has one token a line, `NAME SECRET` or `NAME SECRET admin`; blank lines and
lines starting with `#` are skipped. Make a secret with
`python -c "import secrets; print(secrets.token_urlsafe(32))"`. The file is read at start
(`web.settings`) and again whenever it changes (`web.token_watch`), by the one parser here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_SECRET = re.compile(r"^[\x21-\x7e]{32,256}$")
"""32 characters at least: too many to guess, even at a guess a second for years (issue 15)."""


@dataclass(frozen=True)
class Token:
    name: str
    secret: str = field(repr=False)
    admin: bool = False


@dataclass(frozen=True)
class TokenFile:
    """`API_TOKENS_FILE`: where the file is, and the tokens it held when the settings were read."""

    path: str
    tokens: tuple[Token, ...] = field(repr=False)


def read_token_file(path: str) -> TokenFile:
    """The setting's parser: a file that is unreadable or wrong stops the start (ValueError)."""
    return TokenFile(path, parse_token_file(path))


def parse_token_file(path: str) -> tuple[Token, ...]:
    """Every token of the file, or ValueError naming the line that is wrong (never its secret)."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the token file ({error.__class__.__name__})") from None
    tokens: list[Token] = []
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) not in (2, 3) or (len(words) == 3 and words[2] != "admin"):
            raise ValueError(f"line {number} of the token file is not 'NAME SECRET' or 'NAME SECRET admin'")
        name, secret = words[0], words[1]
        if not _NAME.match(name):
            raise ValueError(f"line {number} of the token file: a name is 1 to 64 of A-Z a-z 0-9 _ . @ -")
        if not _SECRET.match(secret):
            raise ValueError(f"line {number} of the token file: a secret is 32 to 256 printable ASCII characters")
        if any(token.name == name or token.secret == secret for token in tokens):
            raise ValueError(f"line {number} of the token file repeats a name or a secret")
        tokens.append(Token(name, secret, admin=len(words) == 3))
    if not tokens:
        raise ValueError("the token file holds no token")
    return tuple(tokens)
