"""A kind only the benches load (`JOB_KINDS_MODULES=bench.kinds`): progress at a set rate.

Each report carries the wall-clock time it was made as its message, so a client on the
same machine reads publish-to-receipt latency off every event.
"""

import time

import gevent

from progress import JobContext, job_kind


@job_kind("bench_fanout", title="Bench: fan-out", params={
    "rate": {"type": "number", "minimum": 0, "maximum": 100000, "default": 50,
             "description": "Reports per second; 0 reports as fast as the loop allows."},
    "count": {"type": "integer", "minimum": 1, "maximum": 10_000_000, "default": 500},
    "wait_s": {"type": "number", "minimum": 0, "maximum": 600, "default": 2,
               "description": "Seconds to wait before the first report, while subscribers connect."},
})
def bench_fanout(ctx: JobContext, rate: float, count: int, wait_s: float) -> None:
    """Sleeps (`ctx.sleep`) to each report's deadline, so a loop too busy to keep up shows as a
    slower publisher. Sleeping `1 / rate` after each report instead capped the rate at about
    45/s with no subscriber at all: every timer wakes 1-2 ms late on this machine."""
    ctx.sleep(wait_s)
    started = time.monotonic()
    for done in range(1, count + 1):
        if rate:
            ctx.sleep(started + done / rate - time.monotonic())
        else:
            gevent.sleep(0)
        ctx.report(done, total=count, message=f"{time.time():.6f}")
    ctx.write_json({"count": count})
