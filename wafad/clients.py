"""boto3 and opensearch-py clients built from :class:`~wafad.settings.Settings`.

Every part of wafad gets its clients here, so the local target (moto, osmem) and real AWS differ only in
settings. Nothing here makes a network call until a client is used.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from opensearchpy import OpenSearch, RequestsHttpConnection

from wafad.settings import LOCAL_ACCESS_KEY, Settings, get_settings

_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)


def boto_session(settings: Settings | None = None) -> boto3.session.Session:
    s = settings or get_settings()
    if s.aws_access_key_id and s.aws_secret_access_key:
        return boto3.session.Session(
            aws_access_key_id=s.aws_access_key_id.get_secret_value(),
            aws_secret_access_key=s.aws_secret_access_key.get_secret_value(),
            region_name=s.aws_region,
        )
    if s.is_local:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_ACCESS_KEY, region_name=s.aws_region
        )
    return boto3.session.Session(profile_name=s.aws_profile, region_name=s.aws_region)


def aws_client(service: str, settings: Settings | None = None, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` pointed at moto locally, at AWS otherwise."""
    s = settings or get_settings()
    return boto_session(s).client(
        service, endpoint_url=s.effective_aws_endpoint, config=kwargs.pop("config", _BOTO_CONFIG), **kwargs
    )


def opensearch_client(settings: Settings | None = None, **kwargs: Any) -> OpenSearch:
    """An opensearch-py client with basic, SigV4 or no auth, as the settings say."""
    s = settings or get_settings()
    url = s.effective_opensearch_url
    opts: dict[str, Any] = {
        "hosts": [url],
        "timeout": s.opensearch_timeout_s,
        "verify_certs": s.opensearch_verify_certs,
        "ssl_show_warn": s.opensearch_verify_certs,
        "http_compress": not s.is_local,
    }
    if s.opensearch_auth == "basic":
        assert s.opensearch_password is not None  # validated by Settings
        opts["http_auth"] = (s.opensearch_username, s.opensearch_password.get_secret_value())
    elif s.opensearch_auth == "sigv4":
        from opensearchpy import AWSV4SignerAuth

        creds = boto_session(s).get_credentials()
        if creds is None:
            raise RuntimeError("WAFAD_OPENSEARCH_AUTH=sigv4 but boto3 found no AWS credentials")
        opts["http_auth"] = AWSV4SignerAuth(creds, s.aws_region, s.opensearch_sigv4_service)
        opts["connection_class"] = RequestsHttpConnection
    opts.update(kwargs)
    return OpenSearch(**opts)
