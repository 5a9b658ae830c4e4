"""Settings for every part of wafad, read from ``WAFAD_*`` environment variables and ``.env``.

Defaults serve the local, embedded target (moto server + osmem-server on loopback). For real AWS and
OpenSearch set ``WAFAD_TARGET=aws`` plus the endpoints and credentials you need::

    WAFAD_TARGET=aws
    WAFAD_AWS_REGION=eu-west-1
    WAFAD_OPENSEARCH_URL=https://search-waf.eu-west-1.es.amazonaws.com
    WAFAD_OPENSEARCH_AUTH=sigv4

Secrets are ``SecretStr``: they never appear in ``repr``, logs or ``wafad settings`` output.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_ACCESS_KEY = "testing"  # moto accepts any key; these are not secrets
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account


class Settings(BaseSettings):
    """Everything configurable, with defaults for the local stack."""

    model_config = SettingsConfigDict(env_prefix="WAFAD_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    target: Literal["local", "aws"] = "local"

    # --- AWS -------------------------------------------------------------------------------
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = Field(
        default=None, description="AWS endpoint override; local target defaults to the moto server"
    )
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_profile: str | None = None
    aws_account_id: str = LOCAL_ACCOUNT_ID

    # --- OpenSearch ------------------------------------------------------------------------
    opensearch_url: str | None = Field(
        default=None, description="OpenSearch endpoint; local target defaults to osmem-server"
    )
    opensearch_auth: Literal["none", "basic", "sigv4"] = "none"
    opensearch_username: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_verify_certs: bool = True
    opensearch_sigv4_service: Literal["es", "aoss"] = "es"
    opensearch_timeout_s: float = 60.0

    # --- resource names --------------------------------------------------------------------
    bucket: str = "wafad-waf-logs"
    log_prefix: str = "AWSLogs/"
    webacl_name: str = Field(default="wafad-demo", description="web ACL whose logs the Athena table reads")
    dead_letter_prefix: str = "dead-letter/"
    kinesis_stream: str = "wafad-waf-events"
    kinesis_shards: int = Field(default=8, ge=1, le=500)
    firehose_stream: str = "wafad-waf-delivery"
    index_prefix: str = "waf-logs"
    results_index: str = "opensearch-ad-plugin-result-wafad"
    sns_topic: str = "wafad-alerts"
    s3_events_queue: str = "wafad-s3-events"
    alerts_queue: str = "wafad-alerts-inbox"

    # --- detectors -------------------------------------------------------------------------
    detector_interval_minutes: int = Field(default=1, ge=1, le=60)
    window_delay_minutes: int = Field(
        default=2, ge=0, description="above the measured ingestion lag (S3 object cadence + delivery)"
    )
    shingle_size: int = Field(default=8, ge=1, le=128)
    detector_engine: Literal["auto", "plugin", "local"] = Field(
        default="auto", description="plugin = OpenSearch AD REST API; local = offline_rcf writing AD results"
    )
    alert_min_grade: float = Field(default=0.0, ge=0.0, le=1.0, description="alert when grade > this")
    alert_min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    alert_cooldown_minutes: int = Field(default=10, ge=0)
    warm_start_hours: float = Field(
        default=3.0, ge=0, le=168, description="history a new local detector is warmed on (detectors.warm_start)"
    )
    dashboard_url: str | None = None

    # --- fan-out (Prefect's DaskTaskRunner: flows.runners) -----------------------------------
    task_runner: Literal["serial", "dask"] = Field(
        default="dask", description="fan-out work (backfill hours, detectors, entities, seeds) on Dask or serially"
    )
    dask_address: str | None = Field(
        default=None, description="an existing Dask scheduler (tcp://host:8786); unset: a LocalCluster on this machine"
    )
    dask_workers: int | None = Field(default=None, ge=1, description="LocalCluster worker processes (default: cores)")

    # --- local stack -----------------------------------------------------------------------
    state_dir: Path = Path(".wafad")
    host: str = "127.0.0.1"
    moto_port: int = 4566
    osmem_port: int = 9200
    prefect_port: int = 4200

    @model_validator(mode="after")
    def _check_target(self) -> Settings:
        if self.target == "aws" and not self.opensearch_url:
            raise ValueError("WAFAD_TARGET=aws needs WAFAD_OPENSEARCH_URL (the OpenSearch domain endpoint)")
        if self.opensearch_auth == "basic" and not (self.opensearch_username and self.opensearch_password):
            raise ValueError(
                "WAFAD_OPENSEARCH_AUTH=basic needs WAFAD_OPENSEARCH_USERNAME and WAFAD_OPENSEARCH_PASSWORD"
            )
        return self

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    @property
    def osmem_url(self) -> str:
        return f"http://{self.host}:{self.osmem_port}"

    @property
    def prefect_api_url(self) -> str:
        return f"http://{self.host}:{self.prefect_port}/api"

    @property
    def effective_aws_endpoint(self) -> str | None:
        """Where boto3 should talk to: the override, else moto locally, else AWS itself."""
        if self.aws_endpoint_url:
            return self.aws_endpoint_url
        return self.moto_url if self.is_local else None

    @property
    def effective_opensearch_url(self) -> str:
        return self.opensearch_url or self.osmem_url

    @property
    def uses_ad_plugin(self) -> bool:
        """osmem has no AD plugin: locally the offline engine plays the detector."""
        if self.detector_engine == "auto":
            return not self.is_local
        return self.detector_engine == "plugin"

    def redacted(self) -> dict[str, object]:
        """Settings as a dict that is safe to print (secrets masked)."""
        out: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "**********" if value.get_secret_value() else ""
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached); tests build their own ``Settings(...)`` instead."""
    return Settings()
