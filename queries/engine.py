"""Run SQL over the raw WAF logs with DuckDB, as table ``waf_logs`` (same columns as the Athena table).

:func:`open_waf_logs` lists the source's objects (only those whose key date path can hold the window's records),
fetches S3 objects to a temporary folder (see :mod:`queries.source`: DuckDB's httpfs extension is not bundled,
boto3 reads S3), and defines the view::

    waf_logs = read_json(files, columns = <the DDL's columns>)  +  log_time (the key's yyyy/MM/dd/HH/mm)

restricted to ``[start, end)`` on the record's ``timestamp`` when a window is given. DuckDB's JSON reader is
built into the wheel; extension auto-install and auto-load are switched off, so DuckDB never goes to the network.
A few Athena (Trino) functions are defined as macros so queries move unchanged: ``from_unixtime``,
``to_unixtime``, ``from_iso8601_timestamp``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from queries.schema import LOG_TIME_FORMAT, PARTITION_COLUMN, TABLE_NAME, duckdb_columns
from queries.source import SourceError, fetch_objects, list_objects, parse_source
from queries.sqltext import quote
from wafad.settings import Settings

TRINO_MACROS = (
    "CREATE MACRO from_unixtime(x) AS make_timestamp(CAST(round(x * 1000000) AS BIGINT))",
    "CREATE MACRO to_unixtime(t) AS epoch(t)",
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
)
_DUCKDB_LOG_TIME = LOG_TIME_FORMAT  # DuckDB's strftime speaks the same pattern language


class SqlError(RuntimeError):
    """The query failed (syntax, unknown column, type error...): the engine's first line."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def connect() -> Any:
    """A DuckDB connection that never downloads an extension, in UTC, with the Trino-compatible macros."""
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    for macro in TRINO_MACROS:
        con.execute(macro)
    return con


def waf_logs_sql(files: list[Path], start: datetime | None = None, end: datetime | None = None) -> str:
    """The ``SELECT`` behind the view (file names are quoted as data)."""
    columns = ", ".join(f"{quote(name)}: {quote(typ)}" for name, typ in duckdb_columns().items())
    file_list = ", ".join(quote(str(f)) for f in files)
    where = []
    if start is not None:
        where.append(f'"timestamp" >= {int(start.timestamp() * 1000)}')
    if end is not None:
        where.append(f'"timestamp" < {int(end.timestamp() * 1000)}')
    # log_time: the key's date path; files outside WAF's layout get the record's own minute
    log_time = (
        "coalesce(nullif(regexp_extract(replace(filename, '\\', '/'), "
        "'/(\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{2})/', 1), ''), "
        f"strftime(make_timestamp(\"timestamp\" * 1000), '{_DUCKDB_LOG_TIME}'))"
    )
    return (
        f"SELECT * EXCLUDE (filename), {log_time} AS {PARTITION_COLUMN} "
        f"FROM read_json([{file_list}], format = 'auto', compression = 'auto', filename = true, "
        f"columns = {{{columns}}})" + (f" WHERE {' AND '.join(where)}" if where else "")
    )


def run(con: Any, sql: str) -> QueryResult:
    """Run ``sql``; engine errors become a one-line :class:`SqlError`."""
    import duckdb

    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if columns else []
    except duckdb.Error as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise SqlError(first.strip()) from None
    return QueryResult(columns, rows)


def _window_text(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return ""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f" between {start.strftime(fmt) if start else '…'} and {end.strftime(fmt) if end else '…'}"


@contextmanager
def open_waf_logs(
    settings: Settings,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    s3: Any = None,
) -> Iterator[Any]:
    """A DuckDB connection with the ``waf_logs`` view over ``source`` (default: the configured bucket/prefix)."""
    src = parse_source(source, settings)
    keys = list_objects(src, settings, start, end, s3=s3)
    if not keys:
        raise SourceError(f"no WAF log objects in {src}{_window_text(start, end)}")
    with tempfile.TemporaryDirectory(prefix="wafad-sql-") as tmp:
        files = fetch_objects(src, keys, Path(tmp), settings, s3=s3)
        con = connect()
        try:
            run(con, f"CREATE TEMP VIEW {TABLE_NAME} AS {waf_logs_sql(files, start, end)}")
            yield con
        finally:
            con.close()


def query(
    settings: Settings,
    sql: str,
    *,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QueryResult:
    """Run one SQL statement over ``waf_logs``."""
    with open_waf_logs(settings, source, start, end) as con:
        return run(con, sql)
