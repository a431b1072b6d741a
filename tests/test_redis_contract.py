"""The contract's core paths against THREE gunicorn workers on Redis (issue #7).

The in-memory server's contract tests are collected again here, with `server` replaced by
a three-worker server on a real redis-server: each request may land on any worker.
"""

from collections.abc import Iterator

import pytest

from tests.conftest import Server
from tests.redis_fixtures import RedisServer, module_redis_server, start_workers_on  # noqa: F401 - a fixture
from tests.test_api_jobs import *  # noqa: F403
from tests.test_api_results import *  # noqa: F403
from tests.test_cancel import *  # noqa: F403
from tests.test_resume import *  # noqa: F403
from tests.test_retries_and_timing import *  # noqa: F403
from tests.test_streams_events import *  # noqa: F403


@pytest.fixture(scope="module")
def server(module_redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Replaces the shared in-memory server for the tests collected in this module."""
    server = start_workers_on(module_redis_server, tmp_path_factory.mktemp("redis-workers"))
    yield server
    server.stop()
