"""A terminal client for a running progress server: start or follow jobs with a live bar.

    python -m progress.client start sleep seconds=10 steps=50 -o result.json
    python -m progress.client follow <job id>
    python -m progress.client watch            # every job, until Ctrl-C (or --until-idle)

It reads the server's Server-Sent Events with httpx-sse, resumes with
`Last-Event-ID` when the connection drops, and never imports Flask. The exit
status says how the followed job ended; see `ExitCode`.
"""

from .outcome import ExitCode

__all__ = ["ExitCode"]
