"""Exit statuses: how the job ended, or why the client could not tell."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process's exit status; scripts branch on these."""

    SUCCEEDED = 0      # the job succeeded (or the command did what it was asked)
    FAILED = 1         # the job failed; its one-line error is printed
    USAGE = 2          # bad command line (argparse's own status)
    CANCELLED = 3      # the job was cancelled
    INTERRUPTED = 4    # the server stopped before the job finished
    REFUSED = 5        # the server answered with an error (bad params, unknown kind or job, queue full, ...)
    UNREACHABLE = 6    # the server could not be reached, even after retrying
    STOPPED = 130      # Ctrl-C: the client stopped watching; the job goes on


EXIT_OF_STATE = {
    "succeeded": ExitCode.SUCCEEDED,
    "failed": ExitCode.FAILED,
    "cancelled": ExitCode.CANCELLED,
    "interrupted": ExitCode.INTERRUPTED,
}
"""Terminal state → exit status."""

TERMINAL_STATES = frozenset(EXIT_OF_STATE)
