# examples/host_app/kinds.py
"""The app's own job kind: a few lines on `@job_kind`, as every shipped kind is."""

from progress import JobContext, job_kind


@job_kind("tally", title="Tally", params={"to": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}})
def tally(ctx: JobContext, to: int) -> None:
    """Adds up 1 to `to`, a number every tenth of a second."""
    total = 0
    for number in range(1, to + 1):
        ctx.sleep(0.1)  # yields to the other greenlets; raises Cancelled on cancel
        total += number
        ctx.report(number, total=to, message=f"total so far: {total}")
    ctx.write_text(f"1 + ... + {to} = {total}\n")
