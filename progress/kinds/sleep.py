"""`sleep`: the reference kind. Equal steps over a time, progress after each."""

import time

from ..context import JobContext
from ..registry import job_kind


@job_kind(
    "sleep",
    title="Sleep",
    description="Waits `seconds` in `steps` equal steps, reporting progress after each.",
    params={
        "seconds": {"type": "number", "minimum": 0, "maximum": 3600, "default": 5},
        "steps": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 100},
    },
    total=lambda params: params["steps"],
)
def sleep(ctx: JobContext, seconds: float, steps: int) -> None:
    started = time.monotonic()
    for done in range(1, steps + 1):
        # Sleep to each step's deadline, not for a step's length, so wake-up delays never add up.
        ctx.sleep(started + seconds * done / steps - time.monotonic())  # raises Cancelled on cancel
        ctx.report(done, total=steps)
    ctx.write_json({"steps": steps})
