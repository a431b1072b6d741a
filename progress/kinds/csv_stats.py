"""Per-column statistics of a CSV file, read a few megabytes at a time.

`CsvStats.feed` runs in a thread (through `ctx.run_blocking`); between calls the
job reports bytes read and checks for cancel. Each call stops at the end of a
record, so the next one starts cleanly at the returned offset. Memory is bounded
by the longest line allowed, whatever the file's size.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_LINE_BYTES = 1024 * 1024
"""A longer line is refused: one line must never fill the server's memory."""

csv.field_size_limit(MAX_LINE_BYTES)


class MalformedFile(ValueError):
    """The file is not the CSV it claims to be; the message says what and where."""


@dataclass(slots=True)
class ColumnStats:
    name: str
    filled: int = 0
    numbers: int = 0
    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0

    def add(self, value: str) -> None:
        if not value.strip():
            return
        self.filled += 1
        try:
            number = float(value)
        except ValueError:
            return
        if math.isfinite(number):
            self.numbers += 1
            self.low = min(self.low, number)
            self.high = max(self.high, number)
            self.total += number

    def to_dict(self, rows: int) -> dict[str, Any]:
        numeric = self.filled > 0 and self.numbers == self.filled
        summary: dict[str, Any] = {"name": self.name, "filled": self.filled, "empty": rows - self.filled,
                                   "numeric": numeric}
        if numeric:
            summary.update(min=self.low, max=self.high, mean=self.total / self.numbers)
        return summary


class CsvStats:
    """The header, the row count and each column's stats, built up by `feed`."""

    def __init__(self, delimiter: str = ",") -> None:
        self.delimiter = delimiter
        self.columns: list[ColumnStats] = []
        self.rows = 0
        self.offset = 0
        self.line = 0

    def feed(self, path: str, budget: int) -> int:
        """Read whole records from `offset` until about `budget` bytes are read; the new offset."""
        start = self.offset
        with open(path, "rb") as file:
            file.seek(start)
            records = csv.reader(self._lines(file), delimiter=self.delimiter, strict=True)
            try:
                for record in records:
                    self._add(record)
                    if self.offset - start >= budget:
                        break
            except csv.Error as error:
                raise MalformedFile(f"line {self.line}: {error}") from None
        if self.offset == start:
            raise MalformedFile(f"the file ends before byte {start}: it changed while it was read")
        return self.offset

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": [column.to_dict(self.rows) for column in self.columns]}

    def _lines(self, file: IO[bytes]) -> Iterator[str]:
        while raw := file.readline(MAX_LINE_BYTES + 1):
            self.line += 1
            if len(raw) > MAX_LINE_BYTES:
                raise MalformedFile(f"line {self.line}: longer than {MAX_LINE_BYTES // 1024} KiB")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise MalformedFile(f"line {self.line}: not UTF-8 (byte 0x{raw[error.start]:02x} "
                                    f"at column {error.start + 1})") from None
            self.offset += len(raw)
            yield text.lstrip("\ufeff") if self.line == 1 else text

    def _add(self, record: list[str]) -> None:
        if not record:
            return  # a blank line
        if not self.columns:
            self.columns = [ColumnStats(name) for name in record]
            return
        if len(record) != len(self.columns):
            raise MalformedFile(f"line {self.line}: expected {len(self.columns)} fields as in the "
                                f"header, found {len(record)}")
        self.rows += 1
        for column, value in zip(self.columns, record):
            column.add(value)
