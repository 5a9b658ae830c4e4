"""``wafad sql``: SQL over the raw WAF logs as table ``waf_logs``, and the SQL files shipped with wafad.

SQL files: ``athena/waf_logs.sql`` (the table's DDL, its one definition) and the saved queries (``*.sql``), written
for both engines (Athena/Trino and DuckDB); their ``{{name}}`` placeholders are filled in by :mod:`queries.saved`
(time window, interval, and the "bad" value lists generated from :mod:`wafad.catalogue`).

Modules: :mod:`queries.schema` (the DDL parsed into columns), :mod:`queries.source` (where the logs are read
from), :mod:`queries.engine` (DuckDB over them), :mod:`queries.saved` and :mod:`queries.distribution` (saved
queries), :mod:`queries.run` (a saved query end to end), :mod:`queries.glue` (the Athena table in Glue),
:mod:`queries.output` (printing results) and :mod:`queries.cli` (``wafad sql``).
"""
