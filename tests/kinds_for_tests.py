"""Kinds that only the tests load (through JOB_KINDS_MODULES), to reach paths the shipped kinds don't."""

import time

from progress import JobContext, job_kind


def burn_cpu(seconds: float) -> int:
    """Pure-Python CPU work holding the GIL except at the interpreter's switch interval."""
    deadline = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < deadline:
        count += sum(range(1000))
    return count


@job_kind("fail", params={"message": {"type": "string", "default": "disk full\nsecond line"}})
def fail(ctx: JobContext, message: str) -> None:
    """Raises after one progress report."""
    ctx.report(1, total=2)
    raise RuntimeError(message)


@job_kind("cpu_off_loop", params={"seconds": {"type": "number", "default": 2}})
def cpu_off_loop(ctx: JobContext, seconds: float) -> None:
    """CPU-heavy work run the right way: through the context's threadpool helper."""
    ctx.report(0, total=1)
    ctx.run_blocking(burn_cpu, seconds)
    ctx.report(1)


@job_kind("cpu_on_loop", params={"seconds": {"type": "number", "default": 0.3}})
def cpu_on_loop(ctx: JobContext, seconds: float) -> None:
    """The same work run the wrong way, on the event loop."""
    burn_cpu(seconds)


@job_kind("unknown_total", params={"steps": {"type": "integer", "default": 3}})
def unknown_total(ctx: JobContext, steps: int) -> None:
    """Progress with no known total."""
    for done in range(1, steps + 1):
        ctx.sleep(0.05)
        ctx.report(done, total=None, message=f"step {done}")


@job_kind("stubborn", params={"seconds": {"type": "number", "default": 30}})
def stubborn(ctx: JobContext, seconds: float) -> None:
    """Never looks at cancellation; only the runner's forced stop ends it early."""
    import gevent

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gevent.sleep(0.05)


@job_kind("report_and_wait", params={
    "done": {"type": "integer", "default": 0},
    "total": {"type": ["integer", "null"], "default": None},
})
def report_and_wait(ctx: JobContext, done: int, total: int | None) -> None:
    """Reports once, then runs until cancelled: a job whose progress tests can read at leisure."""
    ctx.report(done, total=total)
    ctx.sleep(3600)


@job_kind("chatty", params={
    "steps": {"type": "integer", "default": 1000},
    "message_size": {"type": "integer", "default": 10000},
})
def chatty(ctx: JobContext, steps: int, message_size: int) -> None:
    """Many large progress events quickly: megabytes that a reader who never reads can't take."""
    for done in range(1, steps + 1):
        ctx.sleep(0.001)
        ctx.report(done, total=steps, message=f"{done:>{message_size}}")


@job_kind("flaky", retries=2, retry_backoff_s=0.2, params={
    "succeed_on": {"type": "integer", "default": 3},
    "hold_s": {"type": "number", "default": 0},
})
def flaky(ctx: JobContext, succeed_on: int, hold_s: float) -> dict:
    """Fails every attempt before `succeed_on`, each after `hold_s` seconds: retries to watch."""
    if ctx.job.attempt < succeed_on:
        ctx.sleep(hold_s)
        raise ConnectionError(f"attempt {ctx.job.attempt} could not reach the service")
    return {"attempt": ctx.job.attempt}


@job_kind("limited", timeout_s=30, params={"seconds": {"type": "number", "default": 60}})
def limited(ctx: JobContext, seconds: float) -> None:
    """Has a time limit of its own, and never checks for cancellation."""
    stubborn(ctx, seconds)


@job_kind("batch", params={"failed": {"type": "integer", "default": 0},
                           "of": {"type": "integer", "default": 40}})
def batch(ctx: JobContext, failed: int, of: int) -> dict:
    """A batch whose first `failed` items of `of` fail: the honest outcome of each mix."""
    ctx.tally_items(failed, of, "item 1: the address was refused" if failed else None)
    return {"failed": failed, "of": of}


@job_kind("wording", params={
    "label": {"type": "string", "minLength": 1, "default": "x"},
    "code": {"type": "string", "minLength": 3, "maxLength": 3, "default": "abc"},
})
def wording(ctx: JobContext, label: str, code: str) -> None:
    """Does nothing: its params show the page's hint for each kind of length limit (issue #16)."""
