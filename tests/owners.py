"""Servers with API tokens, and a client per owner, for the tests of what one owner may do to another."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.conftest import Server, start_server

ADMINS = {"root"}


def new_tokens(*names: str) -> dict[str, str]:
    """A secret per name, as the README says to make them (43 characters)."""
    return {name: secrets.token_urlsafe(32) for name in names}


def write_token_file(folder: Path, tokens: dict[str, str]) -> Path:
    path = folder / "tokens"
    path.write_text("".join(f"{name} {secret}{' admin' if name in ADMINS else ''}\n"
                            for name, secret in tokens.items()))
    return path


def start_secured(folder: Path, tokens: dict[str, str], env: dict[str, str] | None = None) -> Server:
    """A server with these tokens (`root` an admin), its token file and log in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return start_server(folder, {"API_TOKENS_FILE": str(write_token_file(folder, tokens)), **(env or {})})


def client_as(server: Server, tokens: dict[str, str], name: str | None, **kwargs: object) -> httpx.Client:
    """A client sending `name`'s token (None: no credentials)."""
    headers = {"Authorization": f"Bearer {tokens[name]}"} if name else {}
    return server.client(headers=headers, **kwargs)
