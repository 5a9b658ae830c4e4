"""The saved-objects export shape, checked line by line (what OpenSearch Dashboards' import accepts)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

KNOWN_TYPES = frozenset({"index-pattern", "visualization", "search", "dashboard", "config", "query"})
TOP_LEVEL_KEYS = frozenset(
    {"type", "id", "attributes", "references", "migrationVersion", "updated_at", "version", "namespaces", "workspaces"}
)


def validate_saved_objects(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Parse ndjson and check the saved-object shape; raises ValueError naming the first problem."""
    objects: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        where = f"line {n} ({obj.get('type')}/{obj.get('id')})"
        for key in ("type", "id", "attributes", "references"):
            if key not in obj:
                raise ValueError(f"{where}: missing {key!r}")
        if obj["type"] not in KNOWN_TYPES:
            raise ValueError(f"{where}: type {obj['type']!r} is not a saved-object type Dashboards imports here")
        unknown = set(obj) - TOP_LEVEL_KEYS
        if unknown:
            raise ValueError(f"{where}: unexpected top-level keys {sorted(unknown)}")
        if not isinstance(obj["id"], str) or not obj["id"]:
            raise ValueError(f"{where}: id must be a non-empty string")
        if not isinstance(obj["attributes"], dict) or not obj["attributes"].get("title"):
            raise ValueError(f"{where}: attributes.title missing")
        for ref in obj["references"]:
            if set(ref) != {"name", "type", "id"}:
                raise ValueError(f"{where}: reference {ref} must have exactly name, type, id")
        attrs = obj["attributes"]
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON"):
            if key in attrs:
                json.loads(attrs[key])
        meta = attrs.get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            ref_name = source.get("indexRefName")
            if ref_name and ref_name not in {r["name"] for r in obj["references"]}:
                raise ValueError(f"{where}: indexRefName {ref_name} has no reference")
        if obj["type"] == "index-pattern" and not attrs.get("timeFieldName"):
            raise ValueError(f"{where}: index pattern without timeFieldName")
        if obj["type"] == "visualization":
            vis = json.loads(attrs["visState"])
            if vis.get("title") != attrs["title"] or not vis.get("type") or "aggs" not in vis:
                raise ValueError(f"{where}: visState needs title (= attributes.title), type and aggs")
        if obj["type"] == "dashboard":
            names = {r["name"] for r in obj["references"]}
            for panel in json.loads(attrs["panelsJSON"]):
                if panel.get("panelRefName") not in names:
                    raise ValueError(f"{where}: panel {panel.get('panelIndex')} has no matching reference")
                if not {"x", "y", "w", "h", "i"} <= set(panel.get("gridData", {})):
                    raise ValueError(f"{where}: panel {panel.get('panelIndex')} gridData incomplete")
        objects.append(obj)
    known = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            if (ref["type"], ref["id"]) not in known:
                raise ValueError(
                    f"{o['type']}/{o['id']}: reference {ref['name']} -> {ref['type']}/{ref['id']} unresolved"
                )
    ids = [(o["type"], o["id"]) for o in objects]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate (type, id) pairs")
    return objects
