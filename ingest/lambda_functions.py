"""Ensure the two ingest Lambda functions from the packaged zips of :mod:`ingest.package`, idempotently.

Code is uploaded only when its SHA-256 differs from the deployed ``CodeSha256`` (the zips are reproducible); the
configuration (role, handler, runtime, timeout, memory, environment) is updated when it differs. Locally moto
stores the functions but cannot run them; the handlers run in-process there.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.resource_names import function_name, role_arn
from wafad.clients import aws_client
from wafad.settings import Settings


@dataclass(frozen=True)
class FunctionSpec:
    key: str  # the packager's zip name
    name: str
    role_key: str
    timeout: int
    memory: int
    environment: dict[str, str]


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
