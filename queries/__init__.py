"""SQL files shipped with wafad: ``athena/waf_logs.sql`` (the table's DDL) and the saved queries (``*.sql``).

Saved queries are written for both engines (Athena/Trino and DuckDB); ``{{name}}`` placeholders are filled in by
:mod:`wafad.sql_saved` (time window, interval, and the "bad" value lists generated from :mod:`wafad.catalogue`).
"""
