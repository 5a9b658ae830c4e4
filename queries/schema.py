"""The ``waf_logs`` table, read from its one definition: the Athena DDL in ``queries/athena/waf_logs.sql``.

:func:`table` parses that file into columns with Hive types (what Glue stores), and renders the same types for
DuckDB (:func:`duckdb_type`), so the local view and the Athena table cannot drift apart.

>>> duckdb_type(parse_type("array<struct<name:string,value:string>>"))
'STRUCT("name" VARCHAR, "value" VARCHAR)[]'
>>> [c.name for c in table().partition_keys]
['log_time']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from queries.sqltext import PLACEHOLDER

TABLE_NAME = "waf_logs"
PARTITION_COLUMN = "log_time"
#: the partition's format, as a strftime pattern (the DDL's ``projection.log_time.format`` is ``yyyy/MM/dd/HH/mm``)
LOG_TIME_FORMAT = "%Y/%m/%d/%H/%M"
_SCALARS = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
}


class SchemaError(ValueError):
    """The DDL file does not have the shape this parser reads."""


@dataclass(frozen=True)
class HiveType:
    """``kind``: a scalar name, ``array`` (one item in ``children``) or ``struct`` (named ``fields``)."""

    kind: str
    children: tuple[HiveType, ...] = ()
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "array":
            return f"array<{self.children[0]}>"
        if self.kind == "struct":
            return "struct<" + ",".join(f"{n}:{t}" for n, t in zip(self.fields, self.children, strict=True)) + ">"
        return self.kind


@dataclass(frozen=True)
class Column:
    name: str
    type: HiveType
    comment: str = ""


@dataclass(frozen=True)
class TableDef:
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    serde: str
    input_format: str
    output_format: str
    properties: dict[str, str]


def _tokens(text: str) -> list[str]:
    return re.findall(r"[<>,:]|[^<>,:\s]+", text)


def parse_type(text: str) -> HiveType:
    """A Hive type string (``struct<a:string,b:array<int>>``) as a :class:`HiveType`."""
    toks = _tokens(text)
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(toks) or (expected is not None and toks[pos] != expected):
            got = toks[pos] if pos < len(toks) else "end"
            raise SchemaError(f"bad type {text[:80]!r}: expected {expected or 'a name'}, got {got!r}")
        pos += 1
        return toks[pos - 1]

    def parse() -> HiveType:
        name = take().lower()
        if name == "array":
            take("<")
            item = parse()
            take(">")
            return HiveType("array", (item,))
        if name == "struct":
            take("<")
            names, types = [], []
            while True:
                names.append(take().strip("`"))
                take(":")
                types.append(parse())
                if take() == ">":
                    break
            return HiveType("struct", tuple(types), tuple(names))
        if name not in _SCALARS:
            raise SchemaError(f"unsupported type {name!r} in {text[:80]!r}")
        return HiveType(name)

    out = parse()
    if pos != len(toks):
        raise SchemaError(f"trailing text after type {text[:80]!r}")
    return out


def duckdb_type(t: HiveType) -> str:
    """The DuckDB spelling of a Hive type (struct field names quoted, keeping their case)."""
    if t.kind == "array":
        return f"{duckdb_type(t.children[0])}[]"
    if t.kind == "struct":
        inner = ", ".join(f'"{n}" {duckdb_type(c)}' for n, c in zip(t.fields, t.children, strict=True))
        return f"STRUCT({inner})"
    return _SCALARS[t.kind]


def _split_top(text: str) -> list[str]:
    """Split on commas outside ``<>``/``()`` and quotes."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'`":
            quote = ch
        elif ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def _columns(block: str) -> tuple[Column, ...]:
    out = []
    for item in _split_top(block):
        m = re.fullmatch(r"`?(\w+)`?\s+(.+?)(?:\s+COMMENT\s+'([^']*)')?", item, re.S | re.I)
        if not m:
            raise SchemaError(f"cannot read column definition {item[:80]!r}")
        out.append(Column(m.group(1), parse_type(m.group(2)), m.group(3) or ""))
    return tuple(out)


def _paren_block(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opening at ``text[start]`` and the index after its close."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise SchemaError("unbalanced parentheses in the DDL")


def ddl_template() -> str:
    return resources.files("queries").joinpath("athena/waf_logs.sql").read_text(encoding="utf-8")


def render_ddl(database: str, location: str) -> str:
    """The DDL with its ``{{database}}`` and ``{{location}}`` filled in (valid Athena DDL)."""
    values = {"database": database, "location": location}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], ddl_template())


def parse_ddl(ddl: str) -> TableDef:
    text = "\n".join(line.split("--", 1)[0] if line.lstrip().startswith("--") else line for line in ddl.splitlines())
    m = re.search(r"CREATE\s+EXTERNAL\s+TABLE[^(]*\(", text, re.I)
    if not m:
        raise SchemaError("no CREATE EXTERNAL TABLE in the DDL")
    cols, after = _paren_block(text, m.end() - 1)
    rest = text[after:]
    p = re.search(r"PARTITIONED\s+BY\s*\(", rest, re.I)
    parts = _columns(_paren_block(rest, p.end() - 1)[0]) if p else ()
    props_m = re.search(r"TBLPROPERTIES\s*\(", rest, re.I)
    props = dict(re.findall(r"'([^']*)'\s*=\s*'([^']*)'", _paren_block(rest, props_m.end() - 1)[0])) if props_m else {}

    def quoted(keyword: str) -> str:
        q = re.search(keyword + r"\s+'([^']*)'", rest, re.I)
        if not q:
            raise SchemaError(f"no {keyword} in the DDL")
        return q.group(1)

    return TableDef(
        columns=_columns(cols),
        partition_keys=parts,
        serde=quoted(r"ROW\s+FORMAT\s+SERDE"),
        input_format=quoted("INPUTFORMAT"),
        output_format=quoted("OUTPUTFORMAT"),
        properties=props,
    )


@lru_cache(maxsize=1)
def table() -> TableDef:
    """The waf_logs table as the DDL file defines it (placeholders left in the properties)."""
    return parse_ddl(ddl_template())


def duckdb_columns() -> dict[str, str]:
    """``{json key: DuckDB type}`` for DuckDB's ``read_json(columns=...)``."""
    return {c.name: duckdb_type(c.type) for c in table().columns}
