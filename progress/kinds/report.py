"""`report`: a sales report over SQLite, made off the event loop in chunks, as a CSV file.

An example of heavy work done right: every query runs in a thread through
`ctx.run_blocking`, one id range at a time, and the job reports progress and
checks for cancel between ranges, so streams stay prompt and cancel takes effect
within one chunk.

A first report of a size makes its data set as it reads it, a chunk at a time, so
there is one bar over the rows whose total never moves (issue 16: it used to count
every row twice while the data set was made).
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict

from ..context import JobContext
from ..registry import job_kind
from . import sales_data
from .environment import config

CHUNK_ROWS = 50_000
"""Rows per chunk (made in one transaction, then read): small enough that one chunk takes a
few tens of milliseconds."""

Totals = dict[str, list[int]]
"""Per group: orders, units, revenue in cents."""


@job_kind(
    "report",
    title="Sales report",
    description="Totals of a generated sales data set (made on first use) by month, region or "
                "product, as a CSV file.",
    params={
        "rows": {"type": "integer", "minimum": 1000, "maximum": 5_000_000, "default": 100_000,
                 "description": "Size of the sales data set to report on."},
        "by": {"type": "string", "enum": sorted(sales_data.GROUPINGS), "default": "month",
               "description": "What each line of the report totals."},
    },
    total=lambda params: params["rows"],
)
def report(ctx: JobContext, rows: int, by: str) -> None:
    path = os.path.join(config().folder("report"), data_set_file(rows))
    if os.path.exists(path):
        totals = _read(ctx, path, rows, by, making=False)
    else:
        totals = _make_and_read(ctx, path, rows, by)
    revenue = sum(line[2] for line in totals.values())
    ctx.write_text(_csv(by, totals), content_type="text/csv; charset=utf-8", extension="csv")
    ctx.report(rows, message=f"{rows:,} sales in {len(totals)} lines, revenue {revenue / 100:,.2f}")


def data_set_file(rows: int) -> str:
    """The data set of `rows` sales in the report folder; a data set being made, or its
    journal, starts with this name too (`cleanup` keeps those an unfinished job uses)."""
    return f"sales-{rows}.sqlite3"


def _make_and_read(ctx: JobContext, path: str, rows: int, by: str) -> Totals:
    """Make the data set in a private file while reading it, then move it into place whole."""
    partial = f"{path}.{ctx.job_id}.part"
    try:
        ctx.run_blocking(sales_data.create_schema, partial)
        totals = _read(ctx, partial, rows, by, making=True)
        os.replace(partial, path)
        return totals
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _read(ctx: JobContext, path: str, rows: int, by: str, *, making: bool) -> Totals:
    """Every chunk's totals, each chunk made first when `making`; progress counts the rows."""
    totals: Totals = defaultdict(lambda: [0, 0, 0])
    doing = "Making and reading" if making else "Reading"
    for first in range(1, rows + 1, CHUNK_ROWS):
        last = min(first + CHUNK_ROWS - 1, rows)
        if making:
            ctx.run_blocking(sales_data.insert_sales, path, first, last)
        for group, orders, units, cents in ctx.run_blocking(sales_data.aggregate, path, by, first, last):
            line = totals[group]
            line[0] += orders
            line[1] += units
            line[2] += cents
        ctx.report(last, total=rows, message=f"{doing} sales: {last:,} of {rows:,}")
    return totals


def _csv(by: str, totals: Totals) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, "orders", "units", "revenue"])
    for group in sorted(totals):
        orders, units, cents = totals[group]
        writer.writerow([group, orders, units, f"{cents // 100}.{cents % 100:02d}"])
    return out.getvalue()
