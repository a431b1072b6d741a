"""Schemathesis hooks for tests/test_openapi_fuzz.py (named in tests/schemathesis.toml).

gunicorn refuses a request line over 4094 bytes (414) or a header line over 8190 (431)
with its own HTML page, before the app sees the request: HTTP framing, not the API this
document describes. The fuzzer's longest query strings pass that, so such cases are left out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import schemathesis

GUNICORN_REQUEST_LINE_BYTES = 4094
GUNICORN_HEADER_LINE_BYTES = 8190


@schemathesis.hook
def filter_case(context: Any, case: schemathesis.Case) -> bool:
    """Keep the cases gunicorn hands to the app."""
    query = urlencode(case.query or {}, doseq=True)
    target = quote(case.formatted_path, safe="/%") + (f"?{query}" if query else "")
    if len(f"{case.method} {target} HTTP/1.1".encode()) > GUNICORN_REQUEST_LINE_BYTES:
        return False
    return all(len(f"{name}: {value}".encode()) <= GUNICORN_HEADER_LINE_BYTES
               for name, value in (case.headers or {}).items())
