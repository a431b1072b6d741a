"""The top-level fields of `POST /api/jobs` beside `kind` and `params`, and its
`Idempotency-Key` header: read and checked here, handed to the runner as plain values."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import defaults
from ..store import IdempotencyKey
from .errors import ApiError

FIELDS = frozenset({"kind", "params", "run_at", "delay_s", "timeout_s"})

MAX_TIMEOUT_S = 365 * 24 * 3600
"""A time limit asked for in a submit may be this long at most."""

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class SubmitOptions:
    run_at: float | None
    """When the job may start, in seconds since the epoch; None: at once."""
    timeout_s: float | None


def submit_options(body: dict[str, Any], now: float | None = None) -> SubmitOptions:
    """`run_at` (RFC 3339 with a zone) or `delay_s` (0 to 30 days), not both, and `timeout_s`;
    400 `bad_request` naming the field otherwise."""
    now = time.time() if now is None else now
    if "run_at" in body and "delay_s" in body:
        raise ApiError("bad_request", "Send run_at or delay_s, not both.")
    run_at = None
    if "delay_s" in body:
        run_at = now + _number(body["delay_s"], "delay_s", 0, defaults.MAX_DELAY_S)
    elif "run_at" in body:
        run_at = _moment(body["run_at"], now)
    timeout_s = None
    if "timeout_s" in body:
        timeout_s = _number(body["timeout_s"], "timeout_s", 0, MAX_TIMEOUT_S, above_low=True)
    return SubmitOptions(run_at, timeout_s)


def _number(value: Any, name: str, low: float, high: float, *, above_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value > high or value < low or (above_low and value == low):
        bound = "above" if above_low else "from"
        raise ApiError("bad_request", f"The field {name} must be a number of seconds {bound} {low:g} up to {high:g}.")
    return float(value)


def _moment(value: Any, now: float) -> float:
    """An RFC 3339 time with a zone, at most 30 days ahead; one in the past means at once."""
    if not isinstance(value, str) or len(value) > 64:
        raise ApiError("bad_request", "The field run_at must be an RFC 3339 time with a zone, as a string.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ApiError("bad_request", "The field run_at must be an RFC 3339 time such as "
                                      "2026-12-03T10:00:00Z.") from None
    if moment.tzinfo is None:
        raise ApiError("bad_request", "The field run_at needs a time zone (Z or +01:00, say).")
    epoch = moment.timestamp()
    if epoch > now + defaults.MAX_DELAY_S:
        raise ApiError("bad_request", "The field run_at may be at most 30 days ahead.")
    return epoch


def idempotency_key(header: str | None, owner: str, body: dict[str, Any]) -> IdempotencyKey | None:
    """The header (1 to 255 printable ASCII characters) with a digest of the body, so a repeat
    with another body is told apart; None without the header."""
    if header is None:
        return None
    if not 1 <= len(header) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in header):
        raise ApiError("bad_request", "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return IdempotencyKey(owner, header, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
