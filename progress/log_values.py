"""Values written into the log's `key=value` lines, escaped so that no value can forge a line (issue 15).

A request path arrives URL-decoded and an owner's name may come from an embedding app, so
either may hold a line break (a fake line would follow) or a space (a fake field). Control
characters, spaces and backslashes are written as `\\xNN` (line and paragraph separators as
`\\uNNNN`): each value stays one token of one line, and reads back without doubt.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")


def log_value(value: object) -> str:
    """`value` as one token of a log line."""
    return _UNSAFE.sub(_escaped, str(value))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
