"""IAM roles, Lambda functions and the S3 → Lambda trigger of the ingest path, idempotently.

Three roles, each with one inline least-privilege policy (:func:`policy_documents`) and a trust policy for its
service principal (:func:`trust_documents`): the ``s3_to_kinesis`` Lambda, the Firehose transform Lambda and the
Firehose delivery stream. The functions are the zips of :mod:`ingest.package`; their code is uploaded only when
its SHA-256 differs from the deployed ``CodeSha256`` (the zips are reproducible). Locally moto stores roles and
functions but cannot run them, so there S3 events keep going to SQS (:mod:`ingest.infra`) and the handlers run
in-process; :func:`ensure_s3_lambda_notification` wires S3 → Lambda on the aws target only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wafad.clients import aws_client
from wafad.settings import Settings

POLICY_NAME = "wafad-least-privilege"
PERMISSION_ID = "wafad-s3-invoke"
LAMBDA_NOTIFICATION_ID = "wafad-s3-to-kinesis"
#: Where Firehose sets records aside, under the S3 backup prefix: transform failures, and documents OpenSearch
#: rejected (the contract's ``opensearch-failed/``; Firehose itself appends ``AmazonOpenSearchService-failed/``).
FIREHOSE_FAILURE_FOLDERS = ("processing-failed/", "opensearch-failed/", "AmazonOpenSearchService-failed/")
ROLE_KEYS = ("s3_to_kinesis", "firehose_transform", "firehose")
_DOMAIN_HOST = re.compile(
    r"^(?:https?://)?(?:search|vpc)-(?P<name>[a-z][a-z0-9-]+)-[a-z0-9]+\.[a-z0-9-]+\.es\.amazonaws\.com"
)


@dataclass(frozen=True)
class FunctionSpec:
    key: str  # the packager's zip name
    name: str
    role_key: str
    timeout: int
    memory: int
    environment: dict[str, str]


# --- names and ARNs ------------------------------------------------------------------------------------------


def function_name(settings: Settings, key: str) -> str:
    """``<kinesis_stream>-s3-to-kinesis`` and ``<firehose_stream>-transform``: unique per set of settings."""
    if key == "s3_to_kinesis":
        return f"{settings.kinesis_stream}-s3-to-kinesis"
    return f"{settings.firehose_stream}-transform"


def role_name(settings: Settings, key: str) -> str:
    if key == "firehose":
        return f"{settings.firehose_stream}-firehose-role"
    return f"{function_name(settings, key)}-role"


def role_arn(settings: Settings, key: str) -> str:
    return f"arn:aws:iam::{settings.aws_account_id}:role/{role_name(settings, key)}"


def function_arn(settings: Settings, key: str) -> str:
    return f"arn:aws:lambda:{settings.aws_region}:{settings.aws_account_id}:function:{function_name(settings, key)}"


def _log_group_arn(settings: Settings, key: str) -> str:
    name = function_name(settings, key)
    return f"arn:aws:logs:{settings.aws_region}:{settings.aws_account_id}:log-group:/aws/lambda/{name}"


def domain_arn(settings: Settings) -> str | None:
    """``WAFAD_OPENSEARCH_DOMAIN_ARN``, else read from an ``*.es.amazonaws.com`` endpoint, else unknown."""
    if arn := os.environ.get("WAFAD_OPENSEARCH_DOMAIN_ARN"):
        return arn
    match = _DOMAIN_HOST.match(settings.opensearch_url or "")
    if match is None:
        return None
    return f"arn:aws:es:{settings.aws_region}:{settings.aws_account_id}:domain/{match['name']}"


# --- policy documents ----------------------------------------------------------------------------------------


def _statement(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _logs_statements(settings: Settings, key: str) -> list[dict[str, Any]]:
    group = _log_group_arn(settings, key)
    return [
        _statement(["logs:CreateLogGroup"], [group]),
        _statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{group}:*"]),
    ]


def _s3_to_kinesis_policy(settings: Settings) -> dict[str, Any]:
    from ingest.infra import stream_arn

    bucket = f"arn:aws:s3:::{settings.bucket}"
    statements = [
        _statement(["s3:GetObject"], [f"{bucket}/{settings.log_prefix}*"]),
        _statement(["s3:PutObject"], [f"{bucket}/{settings.dead_letter_prefix}*"]),
        _statement(["kinesis:PutRecord", "kinesis:PutRecords"], [stream_arn(settings)]),
    ]
    if settings.is_local:  # the S3 events queue exists (and is drained for this function) on the local target only
        queue = f"arn:aws:sqs:{settings.aws_region}:{settings.aws_account_id}:{settings.s3_events_queue}"
        statements.append(_statement(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue]))
    return _doc(statements + _logs_statements(settings, "s3_to_kinesis"))


def _firehose_policy(settings: Settings) -> dict[str, Any]:
    from ingest.infra import FIREHOSE_BACKUP_PREFIX, stream_arn

    bucket = f"arn:aws:s3:::{settings.bucket}"
    statements = [
        _statement(
            ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
            [stream_arn(settings)],
        ),
        _statement(
            ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], [function_arn(settings, "firehose_transform")]
        ),
        _statement(
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [f"{bucket}/{FIREHOSE_BACKUP_PREFIX}{folder}*" for folder in FIREHOSE_FAILURE_FOLDERS],
        ),
    ]
    if domain := domain_arn(settings):
        statements.append(_statement(["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig"], [domain]))
        statements.append(_statement(["es:ESHttpPost", "es:ESHttpPut", "es:ESHttpGet"], [domain, f"{domain}/*"]))
    return _doc(statements)


def policy_documents(settings: Settings) -> dict[str, dict[str, Any]]:
    """Role key (``s3_to_kinesis``, ``firehose_transform``, ``firehose``) → its inline permission policy."""
    return {
        "s3_to_kinesis": _s3_to_kinesis_policy(settings),
        "firehose_transform": _doc(_logs_statements(settings, "firehose_transform")),
        "firehose": _firehose_policy(settings),
    }


def trust_documents(settings: Settings) -> dict[str, dict[str, Any]]:
    """Role key → its trust policy: the Lambda or Firehose service of this account may assume it."""
    out = {}
    for key in ROLE_KEYS:
        service = "firehose.amazonaws.com" if key == "firehose" else "lambda.amazonaws.com"
        out[key] = _doc(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": settings.aws_account_id}},
                }
            ]
        )
    return out


# --- roles ---------------------------------------------------------------------------------------------------


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


# --- functions -----------------------------------------------------------------------------------------------


def function_specs(settings: Settings) -> list[FunctionSpec]:
    """What each function is configured with; the handlers read only these ``WAFAD_*`` variables."""
    relay_env = {
        "WAFAD_KINESIS_STREAM": settings.kinesis_stream,
        "WAFAD_BUCKET": settings.bucket,
        "WAFAD_DEAD_LETTER_PREFIX": settings.dead_letter_prefix,
        "WAFAD_AWS_REGION": settings.aws_region,
    }
    if settings.aws_endpoint_url:
        relay_env["WAFAD_AWS_ENDPOINT_URL"] = settings.aws_endpoint_url
    transform_env = {
        k: v for k, v in sorted(os.environ.items()) if k.startswith("WAFAD_ALLOW_") or k == "WAFAD_DROP_ACTIONS"
    }
    return [
        FunctionSpec("s3_to_kinesis", function_name(settings, "s3_to_kinesis"), "s3_to_kinesis", 300, 512, relay_env),
        FunctionSpec(
            "firehose_transform",
            function_name(settings, "firehose_transform"),
            "firehose_transform",
            120,
            512,
            transform_env,
        ),
    ]


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's ``CodeSha256``: base64 of the SHA-256 digest of the zip."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def _manifest(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as zf:
        return json.loads(zf.read("wafad-lambda.json"))


def runtime_config(manifest: dict[str, Any]) -> tuple[str, str, str]:
    """(handler, runtime, architecture): the runtime matching the bundled native wheels when Lambda has it."""
    built = manifest.get("built_for", {})
    python = built.get("python", "")
    runtime = f"python{python}" if python in ("3.11", "3.12") else manifest.get("runtime", "python3.11")
    arch = "arm64" if str(built.get("platform", "")).endswith(("aarch64", "arm64")) else "x86_64"
    return manifest["handler"], runtime, arch


@contextlib.contextmanager
def _zips(zips_dir: Path | None) -> Iterator[Path]:
    if zips_dir is not None:
        yield Path(zips_dir)
        return
    from ingest.package import build_all

    with tempfile.TemporaryDirectory(prefix="wafad-lambdas-") as tmp:
        build_all(Path(tmp))
        yield Path(tmp)


def _configuration(settings: Settings, spec: FunctionSpec, manifest: dict[str, Any]) -> dict[str, Any]:
    handler, runtime, _arch = runtime_config(manifest)
    return {
        "Role": role_arn(settings, spec.role_key),
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": spec.timeout,
        "MemorySize": spec.memory,
        "Environment": {"Variables": spec.environment},
        "Description": f"wafad {spec.key}",
    }


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        have = current.get(key)
        if key == "Environment":
            have = {"Variables": (have or {}).get("Variables", {})}
        if have != value:
            return True
    return False


def _wait_updated(lam: Any, name: str) -> None:
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})


def _create_function(
    lam: Any, settings: Settings, spec: FunctionSpec, code: bytes, config: dict[str, Any], arch: str
) -> None:
    deadline = time.monotonic() + (0 if settings.is_local else 90)
    while True:  # a new role takes a few seconds to become assumable on AWS
        try:
            lam.create_function(FunctionName=spec.name, Code={"ZipFile": code}, Architectures=[arch], **config)
            break
        except lam.exceptions.InvalidParameterValueException as exc:
            if "assumed" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(5)
    lam.get_waiter("function_active_v2").wait(FunctionName=spec.name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})


def _ensure_function(lam: Any, settings: Settings, spec: FunctionSpec, zip_path: Path) -> str:
    code, manifest = zip_path.read_bytes(), _manifest(zip_path)
    config = _configuration(settings, spec, manifest)
    try:
        current = lam.get_function_configuration(FunctionName=spec.name)
    except lam.exceptions.ResourceNotFoundException:
        _create_function(lam, settings, spec, code, config, runtime_config(manifest)[2])
        return "created"
    changed = []
    if current.get("CodeSha256") != code_sha256(code):
        lam.update_function_code(FunctionName=spec.name, ZipFile=code)
        _wait_updated(lam, spec.name)
        changed.append("code")
    if _differs(current, config):
        lam.update_function_configuration(FunctionName=spec.name, **config)
        _wait_updated(lam, spec.name)
        changed.append("configuration")
    return f"updated ({', '.join(changed)})" if changed else "unchanged"


def ensure_lambda_functions(settings: Settings, zips_dir: Path | None = None) -> dict[str, str]:
    """Both functions from the packaged zips (built into a temp folder unless ``zips_dir`` holds them);
    ``lambda.<key>`` → created / updated (code, configuration) / unchanged. The roles must exist."""
    lam = aws_client("lambda", settings)
    out: dict[str, str] = {}
    with _zips(zips_dir) as folder:
        for spec in function_specs(settings):
            out[f"lambda.{spec.key}"] = _ensure_function(lam, settings, spec, folder / f"{spec.key}.zip")
    return out


# --- S3 → Lambda (aws target) --------------------------------------------------------------------------------


def _has_permission(lam: Any, name: str) -> bool:
    try:
        policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        return False
    return any(st.get("Sid") == PERMISSION_ID for st in policy.get("Statement", []))


def _ensure_permission(lam: Any, settings: Settings) -> str:
    name = function_name(settings, "s3_to_kinesis")
    if _has_permission(lam, name):
        return "exists"
    lam.add_permission(
        FunctionName=name,
        StatementId=PERMISSION_ID,
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{settings.bucket}",
        SourceAccount=settings.aws_account_id,
    )
    return "created"


def _filter_prefix(config: dict[str, Any]) -> str | None:
    rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {r["Name"].lower(): r["Value"] for r in rules}.get("prefix")


def _ensure_bucket_notification(s3: Any, settings: Settings) -> str:
    arn = function_arn(settings, "s3_to_kinesis")
    current = s3.get_bucket_notification_configuration(Bucket=settings.bucket)
    lambdas = current.get("LambdaFunctionConfigurations", [])
    for cfg in lambdas:
        same = cfg.get("Id") == LAMBDA_NOTIFICATION_ID and cfg.get("LambdaFunctionArn") == arn
        if same and _filter_prefix(cfg) == settings.log_prefix and cfg.get("Events") == ["s3:ObjectCreated:*"]:
            return "exists"
    wanted = {
        "Id": LAMBDA_NOTIFICATION_ID,
        "LambdaFunctionArn": arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": settings.log_prefix}]}},
    }
    config = {k: v for k, v in current.items() if k in ("TopicConfigurations", "QueueConfigurations")}
    config["LambdaFunctionConfigurations"] = [c for c in lambdas if c.get("Id") != LAMBDA_NOTIFICATION_ID] + [wanted]
    s3.put_bucket_notification_configuration(Bucket=settings.bucket, NotificationConfiguration=config)
    return "configured"


def ensure_s3_lambda_notification(settings: Settings) -> dict[str, str]:
    """aws target: S3 may invoke ``s3_to_kinesis`` and ObjectCreated under ``log_prefix`` does. Locally skipped
    (moto would try to run the function in Docker; the local path is S3 → SQS → the in-process relay)."""
    if settings.is_local:
        return {"s3_lambda_notification": "skipped (local: S3 events go to SQS)"}
    permission = _ensure_permission(aws_client("lambda", settings), settings)
    return {
        "s3_lambda_permission": permission,
        "s3_lambda_notification": _ensure_bucket_notification(aws_client("s3", settings), settings),
    }
