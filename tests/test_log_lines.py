"""Nothing a client sends can forge a line, or a field, of the server's log (issue 15).

The request path is logged URL-decoded, so `%0A` used to start a new line that looked like
the server's own; an owner's name (an embedding app's to choose) could do the same in the
job lines.
"""

import logging

from progress.jobs import Job
from progress.log_values import log_value
from progress.runner import log_state
from tests import raw_http

FORGED = "2026-12-03 10:00:00,000 [1] INFO web.requests: method=GET path=/admin status=200 owner=root"


def test_a_request_path_cannot_start_a_log_line_or_a_field(server):
    target = "/api/jobs/x%0D%0A" + FORGED.replace(" ", "%20") + "%1B[2J%E2%80%A8"
    req = raw_http.request("GET", target)
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(req))
        (response,) = raw_http.read_responses(sock, [req])
    assert response.status == 404
    lines = server.log().splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    (logged,) = [line for line in lines if "path=/api/jobs/x" in line]
    assert "path=/api/jobs/x\\x0d\\x0a2026-12-03\\x2010:00:00" in logged and "\\x1b[2J\\u2028 status=404" in logged
    assert logged.count(" owner=") == 1


def test_a_job_state_line_escapes_the_owner_and_the_kind(caplog):
    job = Job("kind\nforged", {}, owner="eve\njob=x owner=root")
    with caplog.at_level(logging.INFO, logger="progress.runner"):
        log_state(job)
    (record,) = caplog.records
    assert "\n" not in record.getMessage() and record.getMessage().count(" owner=") == 1
    assert f"owner={log_value(job.owner)} " in record.getMessage()


def test_every_control_character_space_and_backslash_is_escaped_and_nothing_else():
    assert log_value("a b\\c\x00\x7f\x85é\u2028😀") == "a\\x20b\\x5cc\\x00\\x7f\\x85é\\u2028😀"
