"""The terminal client's command line: job ids that start with a dash are still ids (issue 4)."""

from __future__ import annotations

import pytest

from progress.client.cli import build_parser, shield_job_ids

DASHED = "-Jx0cQmYl3Bq9sUu1vT2wA"


@pytest.mark.parametrize("argv", [
    ["follow", DASHED],
    ["follow", DASHED, "-o", "out"],
    ["--url", "http://h:1", "follow", "-o", "out", DASHED],
    ["follow", "--", DASHED],
])
def test_a_job_id_starting_with_a_dash_is_read_as_the_job_id(argv: list[str]) -> None:
    args = build_parser().parse_args(shield_job_ids(argv))
    assert args.job_id == DASHED


@pytest.mark.parametrize("argv", [
    ["start", "greet", "user=-Jx0cQmYl3Bq9sUu1vT2wA"],
    ["follow", "Jx0cQmYl3Bq9sUu1vT2wAA"],
    ["watch", "--until-idle"],
])
def test_other_command_lines_are_left_as_they_are(argv: list[str]) -> None:
    assert shield_job_ids(argv) == argv
