"""``wafad package-lambdas``: the zips hold what the handlers import and nothing the Lambda runtime lacks; the
handlers run from the zips alone (the transform even without site-packages)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ingest.package import PackagingError, build_all, import_closure
from wafad.settings import Settings

PURE_TRANSFORM = r"""
import base64, json, sys
sys.path.insert(0, sys.argv[1])
from lambdas.firehose_transform import handler
import ingest.transform_fast as t, ingest.jsoncodec as j, ingest.b64 as b
assert t.__file__.startswith(sys.argv[1]), t.__file__
samples = json.loads(sys.stdin.read())
event = {"invocationId": "i", "records": [
    {"recordId": str(i), "approximateArrivalTimestamp": 0, "data": base64.b64encode(json.dumps(s).encode()).decode()}
    for i, s in enumerate(samples)]}
out = handler(event, None)
natives = [t.HAVE_MSGSPEC, j.HAVE_ORJSON, b.HAVE_PYBASE64]
banned = [m for m in ("pydantic", "wafad.settings", "opensearchpy") if m in sys.modules]
print(json.dumps({"results": [r["result"] for r in out["records"]], "natives": natives, "banned": banned}))
"""

S3_HANDLER = r"""
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("pydantic", "pydantic_settings", "opensearchpy", "prefect") or name == "wafad.settings":
            raise ImportError(f"blocked in the Lambda test: {name}")
        return None
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
from lambdas.s3_to_kinesis import handler
import ingest.s3_to_kinesis_core as core
assert core.__file__.startswith(sys.argv[1]), core.__file__
event = json.loads(sys.stdin.read())
out = handler(event, None)
print(json.dumps({k: out[k] for k in ("objects", "read", "sent", "dead_lettered")}))
"""


def test_zips_hold_the_import_closure_and_nothing_more(tmp_path: Path) -> None:
    zips = {z.name: z for z in build_all(tmp_path, bundle_native=False)}
    names = {n: set(zipfile.ZipFile(z.path).namelist()) for n, z in zips.items()}
    assert {
        "lambdas/firehose_transform.py",
        "ingest/transform.py",
        "ingest/transform_fast.py",
        "wafad/catalogue.py",
        "wafad/__init__.py",
    } <= names["firehose_transform"]
    assert {"lambdas/s3_to_kinesis.py", "ingest/s3_lines.py", "ingest/kinesis_writer.py"} <= names["s3_to_kinesis"]
    for files in names.values():
        assert not any(f.startswith(("wafad/settings", "wafad/clients", "ingest/delivery", "tests/")) for f in files)
    # reproducible: the same bytes twice
    again = build_all(tmp_path / "again", bundle_native=False)
    assert [z.path.read_bytes() for z in again] == [zips[z.name].path.read_bytes() for z in again]


def test_the_closures_are_exactly_the_modules_the_handlers_run() -> None:
    # a split or a new import that pulls more project modules into a Lambda zip must show up here
    transform, transform_natives = import_closure("lambdas.firehose_transform")
    assert transform == [
        "ingest",
        "ingest.b64",
        "ingest.events",
        "ingest.headers",
        "ingest.jsoncodec",
        "ingest.logs",
        "ingest.normalise",
        "ingest.record_values",
        "ingest.transform",
        "ingest.transform_fast",
        "lambdas",
        "lambdas.firehose_transform",
        "wafad",
        "wafad.catalogue",
    ]
    assert transform_natives == {"orjson", "msgspec", "pybase64"}
    relay, relay_natives = import_closure("lambdas.s3_to_kinesis")
    assert relay == [
        "ingest",
        "ingest.dead_letter",
        "ingest.events",
        "ingest.jsoncodec",
        "ingest.kinesis_writer",
        "ingest.kpl",
        "ingest.logs",
        "ingest.s3_lines",
        "ingest.s3_to_kinesis_core",
        "lambdas",
        "lambdas.s3_to_kinesis",
    ]
    assert relay_natives == {"orjson"}


def test_a_closure_that_needs_pydantic_is_refused() -> None:
    with pytest.raises(PackagingError, match="pydantic"):
        import_closure("wafad.settings")  # pydantic-settings: fine locally, not in the Lambda runtime
    with pytest.raises(PackagingError, match="opensearchpy"):
        import_closure("ingest.delivery")


@pytest.mark.parametrize("native", [False, True])
def test_transform_runs_from_the_zip_without_site_packages(
    tmp_path: Path, waf_samples: list[Path], native: bool
) -> None:
    (z,) = [z for z in build_all(tmp_path, bundle_native=native) if z.name == "firehose_transform"]
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(z.path).extractall(unpacked)
    samples = [json.loads(p.read_text()) for p in waf_samples]
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PURE_TRANSFORM, str(unpacked)],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["results"] == ["Ok"] * len(samples)
    assert out["natives"] == [native, native, native]  # bundled accelerators load; without them, the fallbacks
    assert out["banned"] == []


def test_s3_handler_runs_from_the_zip_against_moto(tmp_path: Path, settings: Settings, waf_samples: list[Path]) -> None:
    from ingest.infra import ensure_ingest
    from wafad.clients import aws_client

    ensure_ingest(settings)
    lines = [json.dumps(json.loads(p.read_text())).encode() for p in waf_samples] + [b"not json"]
    key = "AWSLogs/1/WAFLogs/zip test.log.gz"
    aws_client("s3", settings).put_object(Bucket=settings.bucket, Key=key, Body=gzip.compress(b"\n".join(lines)))
    (z,) = [z for z in build_all(tmp_path) if z.name == "s3_to_kinesis"]
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(z.path).extractall(unpacked)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WAFAD_", "AWS_"))},
        "WAFAD_KINESIS_STREAM": settings.kinesis_stream,
        "WAFAD_AWS_ENDPOINT_URL": settings.moto_url,
        "WAFAD_AWS_REGION": settings.aws_region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": settings.bucket}, "object": {"key": key}},
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-c", S3_HANDLER, str(unpacked)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"objects": 1, "read": len(lines), "sent": len(waf_samples), "dead_lettered": 1}


def test_package_lambdas_command(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from ingest.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["package-lambdas", "--out", str(tmp_path), "--pure"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == ["firehose_transform.zip", "s3_to_kinesis.zip"]
    manifest = json.loads(zipfile.ZipFile(tmp_path / "firehose_transform.zip").read("wafad-lambda.json"))
    assert manifest["handler"] == "lambdas.firehose_transform.handler" and manifest["bundled"] == {}
