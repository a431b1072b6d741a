"""The contract's submit paths on the in-memory store (`JOBS_DB=:memory:`), issue #12.

The contract modules run on the default SQLite store with the shared `server`. That store is
the in-memory one plus a journal, so only the paths the journal changes are collected again
here, with `server` replaced by one that keeps its jobs in the process only: a submit, whose
202 waits for the journal, and the job lists read after it. Paths where the stores differ
(a restart) are in tests/test_restart.py; the store's own units in tests/test_stores.py.
"""

from collections.abc import Iterator

import pytest

from tests.conftest import Server, start_server
from tests.test_api_jobs import *  # noqa: F403


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Replaces the shared SQLite server for the tests collected in this module."""
    server = start_server(tmp_path_factory.mktemp("memory-store"), {"JOBS_DB": ":memory:"})
    yield server
    server.stop()
