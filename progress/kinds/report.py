"""`report`: a sales report over SQLite, made off the event loop in chunks, as a CSV file.

An example of heavy work done right: every query runs in a thread through
`ctx.run_blocking`, one id range at a time, and the job reports progress and
checks for cancel between ranges, so streams stay prompt and cancel takes effect
within one chunk.
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
"""Rows per query: small enough that one chunk takes a few tens of milliseconds."""

CREATE_CHUNK_ROWS = 100_000
"""Rows inserted per transaction while the data set is made."""


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
)
def report(ctx: JobContext, rows: int, by: str) -> None:
    path = os.path.join(config().folder("report"), data_set_file(rows))
    creating = not os.path.exists(path)
    total = 2 * rows if creating else rows
    if creating:
        _create_data_set(ctx, path, rows, total)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for first in range(1, rows + 1, CHUNK_ROWS):
        last = min(first + CHUNK_ROWS - 1, rows)
        for group, orders, units, cents in ctx.run_blocking(sales_data.aggregate, path, by, first, last):
            line = totals[group]
            line[0] += orders
            line[1] += units
            line[2] += cents
        ctx.report(total - rows + last, total=total, message=f"Reading sales: {last:,} of {rows:,}")
    revenue = sum(line[2] for line in totals.values())
    ctx.write_text(_csv(by, totals), content_type="text/csv; charset=utf-8", extension="csv")
    ctx.report(total, message=f"{rows:,} sales in {len(totals)} lines, revenue {revenue / 100:,.2f}")


def data_set_file(rows: int) -> str:
    """The data set of `rows` sales in the report folder; a data set being made, or its
    journal, starts with this name too (`cleanup` keeps those an unfinished job uses)."""
    return f"sales-{rows}.sqlite3"


def _create_data_set(ctx: JobContext, path: str, rows: int, total: int) -> None:
    """Make the data set in a private file, then move it into place whole."""
    partial = f"{path}.{ctx.job_id}.part"
    try:
        ctx.run_blocking(sales_data.create_schema, partial)
        for first in range(1, rows + 1, CREATE_CHUNK_ROWS):
            last = min(first + CREATE_CHUNK_ROWS - 1, rows)
            ctx.run_blocking(sales_data.insert_sales, partial, first, last)
            ctx.report(last, total=total, message=f"Creating the data set: {last:,} of {rows:,} sales")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _csv(by: str, totals: dict[str, list[int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, "orders", "units", "revenue"])
    for group in sorted(totals):
        orders, units, cents = totals[group]
        writer.writerow([group, orders, units, f"{cents // 100}.{cents % 100:02d}"])
    return out.getvalue()
