"""IAM roles, Lambda functions and the S3 → Lambda trigger (ingest.iam_policies, ingest.iam_roles,
ingest.lambda_functions, ingest.s3_notifications) on the real moto server."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ingest.iam_policies import policy_documents, trust_documents
from ingest.iam_roles import ensure_roles
from ingest.infra import ensure_ingest
from ingest.lambda_functions import ensure_lambda_functions
from ingest.package import build_all
from ingest.resource_names import function_arn, function_name, role_arn, stream_arn
from ingest.s3_notifications import ensure_s3_lambda_notification
from wafad.clients import aws_client
from wafad.settings import Settings


def _resources(doc: dict[str, Any]) -> list[str]:
    return [r for st in doc["Statement"] for r in st["Resource"]]


def _actions(doc: dict[str, Any]) -> list[str]:
    return [a for st in doc["Statement"] for a in st["Action"]]


def test_policies_name_only_this_settings_resources(settings: Settings) -> None:
    docs = json.loads(json.dumps(policy_documents(settings)))  # plain JSON, as IAM gets it
    bucket, stream = f"arn:aws:s3:::{settings.bucket}", stream_arn(settings)
    for doc in docs.values():
        assert all("*" not in a for a in _actions(doc))
        for res in _resources(doc):  # a wildcard only as a trailing prefix match
            assert "*" not in res.rstrip("*") and not res.endswith(":::*") and res != "*"
    relay = _resources(docs["s3_to_kinesis"])
    assert f"{bucket}/{settings.log_prefix}*" in relay and f"{bucket}/{settings.dead_letter_prefix}*" in relay
    assert [r for r in relay if r.startswith("arn:aws:s3")] == [
        f"{bucket}/{settings.log_prefix}*",
        f"{bucket}/{settings.dead_letter_prefix}*",
    ]
    assert [r for r in relay if r.startswith("arn:aws:kinesis")] == [stream]
    assert [r for r in relay if r.startswith("arn:aws:sqs")] == [
        f"arn:aws:sqs:{settings.aws_region}:{settings.aws_account_id}:{settings.s3_events_queue}"
    ]
    logs = [r for r in relay if r.startswith("arn:aws:logs")]
    assert logs and all(f"/aws/lambda/{function_name(settings, 's3_to_kinesis')}" in r for r in logs)
    assert all(a.startswith("logs:") for a in _actions(docs["firehose_transform"]))
    firehose = docs["firehose"]
    assert set(_actions(firehose)) >= {"kinesis:GetRecords", "lambda:InvokeFunction", "s3:PutObject"}
    assert not any(a.startswith("es:") for a in _actions(firehose))  # local: no domain ARN known
    res = _resources(firehose)
    assert [r for r in res if r.startswith("arn:aws:kinesis")] == [stream]
    assert [r for r in res if r.startswith("arn:aws:lambda")] == [function_arn(settings, "firehose_transform")]
    s3 = [r for r in res if r.startswith("arn:aws:s3")]
    assert len(s3) == 3 and all(r.startswith(f"{bucket}/firehose-backup/") for r in s3)
    assert any("processing-failed/" in r for r in s3) and any("opensearch-failed/" in r for r in s3)
    trust = trust_documents(settings)
    principals = {k: [st["Principal"]["Service"] for st in d["Statement"]] for k, d in trust.items()}
    assert principals == {
        "s3_to_kinesis": ["lambda.amazonaws.com"],
        "firehose_transform": ["lambda.amazonaws.com"],
        "firehose": ["firehose.amazonaws.com"],
    }


def test_domain_arn_from_the_opensearch_endpoint() -> None:
    aws = Settings(
        _env_file=None,
        target="aws",
        opensearch_url="https://search-waf-abcdefghijklmnopqrstuvwxyz.eu-west-1.es.amazonaws.com",
    )
    firehose = policy_documents(aws)["firehose"]
    domain = f"arn:aws:es:{aws.aws_region}:{aws.aws_account_id}:domain/waf"
    es = [st for st in firehose["Statement"] if any(a.startswith("es:ESHttp") for a in st["Action"])]
    assert es and es[0]["Resource"] == [domain, f"{domain}/*"]
    assert not any(r.startswith("arn:aws:sqs") for r in _resources(policy_documents(aws)["s3_to_kinesis"]))


def test_roles_and_functions_idempotent_and_code_updates(settings: Settings, tmp_path: Path) -> None:
    zips = tmp_path / "zips"
    build_all(zips)
    roles = ensure_roles(settings)
    assert set(roles.values()) == {"created"}
    first = ensure_lambda_functions(settings, zips)
    assert first == {"lambda.s3_to_kinesis": "created", "lambda.firehose_transform": "created"}
    assert set(ensure_roles(settings).values()) == {"exists"}
    assert set(ensure_lambda_functions(settings, zips).values()) == {"unchanged"}
    iam, lam = aws_client("iam", settings), aws_client("lambda", settings)
    trust = iam.get_role(RoleName=role_arn(settings, "firehose").split("/")[-1])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "firehose.amazonaws.com"}
    conf = lam.get_function_configuration(FunctionName=function_name(settings, "s3_to_kinesis"))
    assert conf["Handler"] == "lambdas.s3_to_kinesis.handler" and conf["Runtime"] in ("python3.11", "python3.12")
    assert conf["Role"] == role_arn(settings, "s3_to_kinesis")
    assert conf["Environment"]["Variables"]["WAFAD_KINESIS_STREAM"] == settings.kinesis_stream
    assert conf["Environment"]["Variables"]["WAFAD_BUCKET"] == settings.bucket
    with zipfile.ZipFile(zips / "firehose_transform.zip", "a") as zf:  # changed code
        zf.writestr("lambdas/extra.txt", "changed")
    changed = ensure_lambda_functions(settings, zips)
    assert changed == {"lambda.s3_to_kinesis": "unchanged", "lambda.firehose_transform": "updated (code)"}
    assert set(ensure_lambda_functions(settings, zips).values()) == {"unchanged"}
    moved = settings.model_copy(update={"bucket": f"{settings.bucket}-b"})
    assert ensure_lambda_functions(moved, zips)["lambda.s3_to_kinesis"] == "updated (configuration)"
    assert ensure_roles(moved)["iam_role.s3_to_kinesis"] == "updated (permissions)"


def test_ensure_ingest_wires_roles_lambdas_and_firehose(settings: Settings, os_client: Any) -> None:
    first = ensure_ingest(settings)
    assert first["iam_role.firehose"] == "created" and first["lambda.firehose_transform"] == "created"
    assert first["s3_lambda_notification"].startswith("skipped")
    second = ensure_ingest(settings)
    assert second["iam_role.firehose"] == "exists" and second["lambda.s3_to_kinesis"] == "unchanged"
    desc = aws_client("firehose", settings).describe_delivery_stream(DeliveryStreamName=settings.firehose_stream)
    source = desc["DeliveryStreamDescription"]["Source"]["KinesisStreamSourceDescription"]
    assert source["RoleARN"] == role_arn(settings, "firehose")
    dest = desc["DeliveryStreamDescription"]["Destinations"][0]["ElasticsearchDestinationDescription"]
    params = dest["ProcessingConfiguration"]["Processors"][0]["Parameters"]
    assert {"ParameterName": "LambdaArn", "ParameterValue": function_arn(settings, "firehose_transform")} in params
    notification = aws_client("s3", settings).get_bucket_notification_configuration(Bucket=settings.bucket)
    assert not notification.get("LambdaFunctionConfigurations")  # locally S3 → SQS only (moto cannot run lambdas)


def test_s3_lambda_notification_on_aws_target_is_idempotent(
    settings: Settings, aws_settings: Settings, tmp_path: Path
) -> None:
    aws_client("s3", settings).create_bucket(Bucket=settings.bucket)
    ensure_roles(settings)
    ensure_lambda_functions(settings)
    aws = aws_settings
    assert ensure_s3_lambda_notification(aws) == {
        "s3_lambda_permission": "created",
        "s3_lambda_notification": "configured",
    }
    assert ensure_s3_lambda_notification(aws) == {"s3_lambda_permission": "exists", "s3_lambda_notification": "exists"}
    config = aws_client("s3", aws).get_bucket_notification_configuration(Bucket=settings.bucket)
    (wired,) = config["LambdaFunctionConfigurations"]
    assert wired["LambdaFunctionArn"] == function_arn(settings, "s3_to_kinesis")
    rules = wired["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", settings.log_prefix)]
    policy = json.loads(
        aws_client("lambda", aws).get_policy(FunctionName=function_name(settings, "s3_to_kinesis"))["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
