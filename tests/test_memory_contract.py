"""The contract's core paths on the in-memory store (`JOBS_DB=:memory:`), issue #12.

The contract modules run on the default SQLite store with the shared `server`; these are
collected again here with `server` replaced by one that keeps its jobs in the process only,
as tests/test_redis_contract.py does for Redis. Paths where the stores differ (a restart)
are in tests/test_restart.py.
"""

from collections.abc import Iterator

import pytest

from tests.conftest import Server, start_server
from tests.test_api_jobs import *  # noqa: F403
from tests.test_api_results import *  # noqa: F403
from tests.test_cancel import *  # noqa: F403
from tests.test_resume import *  # noqa: F403
from tests.test_retries_and_timing import *  # noqa: F403
from tests.test_streams_events import *  # noqa: F403


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Replaces the shared SQLite server for the tests collected in this module."""
    server = start_server(tmp_path_factory.mktemp("memory-store"), {"JOBS_DB": ":memory:"})
    yield server
    server.stop()
