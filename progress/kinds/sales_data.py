"""The `report` kind's SQLite data set: made on first use, read in id ranges.

Every function here runs in a thread (through `ctx.run_blocking`) and opens its own
connection, so a cancelled job's thread never shares one with anything. The rows
come from SQL alone (a recursive CTE and multiplicative hashing of the row id), so
generation runs in SQLite's C code without the GIL and the same size always gives
the same data set.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from urllib.parse import quote

REGIONS = (("North", 30), ("South", 25), ("East", 20), ("West", 15), ("Central", 10))
"""(name, share of sales in percent)."""
PRODUCTS = (("Notebook", 450), ("Pen", 120), ("Backpack", 3999), ("Desk lamp", 2450),
            ("Stapler", 899), ("Monitor", 18999), ("Keyboard", 4999), ("Mouse", 2199),
            ("Chair", 12900), ("Headphones", 7950), ("Webcam", 5900), ("Cable", 799))
"""(name, price in cents)."""

DAYS = 731
"""Sales spread over two years from 2024-01-01."""

GROUPINGS = {
    "month": "substr(s.sold_on, 1, 7)",
    "region": "s.region",
    "product": "p.name",
}
"""The report's `by` param: the SQL expression each value groups on (never user text)."""

_SCHEMA = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
CREATE TABLE regions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, low INTEGER, high INTEGER);
CREATE TABLE sales (
    id INTEGER PRIMARY KEY,
    sold_on TEXT NOT NULL,
    region TEXT NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL
);
"""

_INSERT_RANGE = f"""
WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO sales (id, sold_on, region, product_id, quantity, amount_cents)
SELECT n.i,
       date('2024-01-01', '+' || ((n.i * 7919) % {DAYS}) || ' days'),
       r.name,
       p.id,
       1 + (n.i * 31) % 7,
       (1 + (n.i * 31) % 7) * p.price_cents
FROM n
JOIN products p ON p.id = 1 + (n.i * 104729) % {len(PRODUCTS)}
JOIN regions r ON (n.i * 2654435761) % 1000003 % 100 BETWEEN r.low AND r.high - 1
"""


def _connect(path: str, mode: str = "ro") -> sqlite3.Connection:
    """`ro` to report, `rw` to add sales to a file that must exist, `rwc` to create one.

    Writing needs no journal: a half-made file is thrown away, never read. And since a
    cancelled job's thread may still be running, only `create_schema` may create the file.
    """
    db = sqlite3.connect(f"file:{quote(path)}?mode={mode}", uri=True, isolation_level=None)
    if mode != "ro":
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
    return db


def create_schema(path: str) -> None:
    """An empty data set with its products and regions."""
    with closing(_connect(path, "rwc")) as db:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO products (id, name, price_cents) VALUES (?, ?, ?)",
                       [(number, name, price) for number, (name, price) in enumerate(PRODUCTS, 1)])
        bounds, low = [], 0
        for number, (name, share) in enumerate(REGIONS, 1):
            bounds.append((number, name, low, low + share))
            low += share
        db.executemany("INSERT INTO regions (id, name, low, high) VALUES (?, ?, ?, ?)", bounds)


def insert_sales(path: str, first: int, last: int) -> None:
    """Add the sales with ids `first`..`last` in one transaction."""
    with closing(_connect(path, "rw")) as db:
        db.execute("BEGIN")
        db.execute(_INSERT_RANGE, (first, last))
        db.execute("COMMIT")


def aggregate(path: str, by: str, first: int, last: int) -> list[tuple[str, int, int, int]]:
    """(group, orders, units, revenue in cents) of the sales with ids `first`..`last`."""
    query = (f"SELECT {GROUPINGS[by]} AS grp, count(*), sum(s.quantity), sum(s.amount_cents) "
             "FROM sales s JOIN products p ON p.id = s.product_id "
             "WHERE s.id BETWEEN ? AND ? GROUP BY grp")
    with closing(_connect(path)) as db:
        return db.execute(query, (first, last)).fetchall()
