"""Writing SQL text: string literals, and the ``{{name}}`` placeholders of the shipped ``.sql`` files.

>>> quote("it's")
"'it''s'"
>>> PLACEHOLDER.findall("WHERE {{in_window}} LIMIT {{limit}}")
['in_window', 'limit']
"""

from __future__ import annotations

import re

#: a placeholder in a shipped ``.sql`` file: ``{{name}}``
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def quote(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled), for Athena and DuckDB alike."""
    return "'" + text.replace("'", "''") + "'"
