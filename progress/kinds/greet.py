"""`greet`: waits three seconds, then greets the user in a text file."""

import time

from ..context import JobContext
from ..registry import job_kind

SECONDS = 3
TICKS_PER_SECOND = 10


@job_kind(
    "greet",
    title="Greet",
    description="Waits 3 seconds, then writes a greeting for `user` as a text file.",
    params={"user": {"type": "string", "minLength": 1, "maxLength": 100, "default": "Guest"}},
    total=lambda params: SECONDS * TICKS_PER_SECOND,
)
def greet(ctx: JobContext, user: str) -> None:
    ticks = SECONDS * TICKS_PER_SECOND
    started = time.monotonic()
    for done in range(1, ticks + 1):
        ctx.sleep(started + done / TICKS_PER_SECOND - time.monotonic())  # to each tick's deadline
        ctx.report(done, message=f"Greeting {user} in {(ticks - done) / TICKS_PER_SECOND:.1f} s")
    ctx.write_text(f"Hello, {user}! Task finished.")
