"""`csv_summary`: validate an uploaded CSV file and summarise each column, with progress in bytes.

Upload the file first (`POST /api/uploads`, the file as the body), then start this
kind with the upload's id. Parsing runs in a thread a few megabytes at a time;
between chunks the job reports the bytes read and checks for cancel.
"""

from __future__ import annotations

import os

from ..context import JobContext
from ..registry import job_kind
from .csv_stats import CsvStats, MalformedFile
from .upload_store import UPLOAD_ID, upload_path

CHUNK_BYTES = 4 * 1024 * 1024
"""Bytes parsed per step: a few tens of milliseconds of work."""


@job_kind(
    "csv_summary",
    title="Summarise an uploaded CSV",
    progress_unit="bytes",
    description="Checks an uploaded CSV file and counts its rows, with each column's filled and "
                "empty cells and, for numeric columns, min, max and mean. Upload with POST /api/uploads.",
    params={
        # `format` and `contentMediaType` are annotations (JSON Schema 2020-12): the server
        # validates only the pattern; the page shows a file picker and uploads the file first.
        "upload": {"type": "string", "pattern": UPLOAD_ID.pattern, "title": "CSV file",
                   "format": "upload", "contentMediaType": "text/csv",
                   "description": "The id POST /api/uploads answered with."},
        "delimiter": {"type": "string", "enum": [",", ";", "\t", "|"], "default": ","},
    },
)
def csv_summary(ctx: JobContext, upload: str, delimiter: str) -> dict:
    path = upload_path(upload, ctx.job.owner)  # only its owner's: someone else's id finds nothing
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise FileNotFoundError("there is no upload with this id; uploads are removed by "
                                "cleanup after a while") from None
    stats = CsvStats(delimiter)
    ctx.report(0, total=size, message="Reading the file")
    while stats.offset < size:
        done = ctx.run_blocking(stats.feed, path, CHUNK_BYTES)
        ctx.report(done, message=f"{stats.rows:,} rows read")
    if not stats.columns:
        raise MalformedFile("the file is empty: a CSV file needs at least a header line")
    return stats.summary()
