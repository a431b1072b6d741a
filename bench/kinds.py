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
    """Sleeps between reports like a real job (`ctx.sleep`), so a busy loop shows as a slower publisher."""
    ctx.sleep(wait_s)
    for done in range(1, count + 1):
        if rate:
            ctx.sleep(1 / rate)
        else:
            gevent.sleep(0)
        ctx.report(done, total=count, message=f"{time.time():.6f}")
    ctx.write_json({"count": count})
