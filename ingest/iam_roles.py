"""Ensure the three ingest roles, idempotently: each with its trust policy and one inline least-privilege policy
(the documents of :mod:`ingest.iam_policies`); what differs is updated in place."""

from __future__ import annotations

import json
from typing import Any

from ingest.iam_policies import policy_documents, trust_documents
from ingest.resource_names import ROLE_KEYS, role_name
from wafad.clients import aws_client
from wafad.settings import Settings

POLICY_NAME = "wafad-least-privilege"


def _as_dict(document: Any) -> dict[str, Any]:
    """IAM returns policies URL-encoded JSON (botocore decodes them); accept either."""
    if isinstance(document, str):
        from urllib.parse import unquote

        return json.loads(unquote(document))
    return document


def _ensure_role(iam: Any, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> str:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="wafad ingest")
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        return "created"
    changed = []
    if _as_dict(role["AssumeRolePolicyDocument"]) != trust:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        changed.append("trust policy")
    try:
        current = _as_dict(iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"])
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current != policy:
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        changed.append("permissions")
    return f"updated ({', '.join(changed)})" if changed else "exists"


def ensure_roles(settings: Settings) -> dict[str, str]:
    """The three roles with their trust and inline policies; ``iam_role.<key>`` → created/updated/exists."""
    iam = aws_client("iam", settings)
    policies, trusts = policy_documents(settings), trust_documents(settings)
    return {
        f"iam_role.{key}": _ensure_role(iam, role_name(settings, key), trusts[key], policies[key]) for key in ROLE_KEYS
    }
