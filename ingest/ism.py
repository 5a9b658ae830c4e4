"""The ISM policy for the daily WAF indices (production OpenSearch; osmem has no ISM plugin).

Hot for ``hot_days`` (read-write, force-merged when it rolls out), read-only until ``delete_days``, then
deleted. Attached automatically to new ``<index_prefix>-*`` indices through ``ism_template``.
"""

from __future__ import annotations

from typing import Any

from wafad.settings import Settings


def policy_id(settings: Settings) -> str:
    return f"{settings.index_prefix}-retention"


def policy_body(settings: Settings, *, hot_days: int = 2, delete_days: int = 30) -> dict[str, Any]:
    if not 0 < hot_days < delete_days:
        raise ValueError(f"need 0 < hot_days ({hot_days}) < delete_days ({delete_days})")
    return {
        "policy": {
            "description": (
                f"wafad: WAF indices {settings.index_prefix}-* hot {hot_days}d, deleted after {delete_days}d"
            ),
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [{"state_name": "warm", "conditions": {"min_index_age": f"{hot_days}d"}}],
                },
                {
                    "name": "warm",
                    "actions": [{"read_only": {}}, {"force_merge": {"max_num_segments": 1}}],
                    "transitions": [{"state_name": "delete", "conditions": {"min_index_age": f"{delete_days}d"}}],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [f"{settings.index_prefix}-*"], "priority": 100}],
        }
    }


def ensure_ism_policy(client: Any, settings: Settings) -> str:
    """Create or update the policy through the ISM REST API; ``skipped`` when the cluster has no ISM plugin."""
    from opensearchpy.exceptions import NotFoundError, RequestError

    path = f"/_plugins/_ism/policies/{policy_id(settings)}"
    try:
        current = client.transport.perform_request("GET", path)
    except NotFoundError:
        current = None
    except RequestError as exc:
        if "no handler found" in str(exc):
            return "skipped (no ISM plugin on this cluster)"
        raise
    body = policy_body(settings)
    if current is None:
        client.transport.perform_request("PUT", path, body=body)
        return "created"
    params = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
    client.transport.perform_request("PUT", path, body=body, params=params)
    return "updated"
