"""``wafad alerts run|inbox``."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(help="Alerts: incidents from detector results, published to SNS.")
    app.add_typer(alerts_app, name="alerts")

    @alerts_app.command("run")
    def run(as_json: bool = typer.Option(False, "--json", help="print the messages sent as JSON")) -> None:
        """Read new detector results since the checkpoint, open/resolve incidents, publish to SNS."""
        from alerting.alerts import process_alerts
        from wafad.settings import get_settings

        with console.status("reading results and publishing alerts"):
            sent = process_alerts(get_settings())
        if as_json:
            print(json.dumps([m.to_dict() for m in sent], indent=1))
            return
        table = Table("event", "severity", "detector", "entity", "window start", "subject")
        for m in sent:
            ent = ",".join(f"{k}={v}" for k, v in (m.entity or {}).items())
            cells = (m.kind, m.severity, m.detector, ent, str(m.window_start_ms), m.subject)
            table.add_row(*(Text(c) for c in cells))  # Text: no rich markup in data
        Console().print(table)
        console.print(f"{len(sent)} message(s) published")

    @alerts_app.command("monitors")
    def monitors(
        role_arn: str = typer.Option(..., help="IAM role OpenSearch assumes to publish to the SNS topic"),
        channel_id: str = typer.Option("wafad-sns", help="Notifications channel id"),
    ) -> None:
        """Production option: OpenSearch Alerting monitors + SNS channel on the AD results (needs the plugins)."""
        from opensearchpy.exceptions import TransportError

        from alerting.infra import ensure_alerting
        from alerting.monitor import ensure_cluster_alerting
        from detectors.ad_client import ADClient
        from detectors.errors import ADError
        from wafad.catalogue import DETECTORS
        from wafad.clients import opensearch_client
        from wafad.settings import get_settings

        settings = get_settings()
        if not settings.uses_ad_plugin:
            console.print("[red]error:[/] cluster monitors need the AD and Alerting plugins (WAFAD_TARGET=aws)")
            raise typer.Exit(1)
        client = opensearch_client(settings)
        try:
            topic_arn, _ = ensure_alerting(settings)
            ad = ADClient(client)
            ids = {s.name: ref.id for s in DETECTORS if (ref := ad.find_by_name(s.name)) is not None}
            out = ensure_cluster_alerting(
                settings,
                client,
                topic_arn=topic_arn,
                role_arn=role_arn,
                detector_ids=ids,
                specs=DETECTORS,
                channel_id=channel_id,
            )
        except (ADError, TransportError) as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        print(json.dumps(out, indent=1))

    @alerts_app.command("inbox")
    def inbox(
        keep: bool = typer.Option(False, "--keep", help="leave the messages in the queue"),
        as_json: bool = typer.Option(False, "--json"),
        full: bool = typer.Option(False, "--full", help="print each message body"),
    ) -> None:
        """Messages delivered to the local SQS subscriber of the alerts topic."""
        from botocore.exceptions import ClientError

        from alerting.inbox import read_inbox
        from wafad.settings import get_settings

        try:
            messages = read_inbox(get_settings(), delete=not keep)
        except ClientError as exc:
            console.print(f"[red]error:[/] {exc} (run 'wafad alerts run' first to create the topic and queue)")
            raise typer.Exit(1) from None
        if as_json:
            print(json.dumps(messages, indent=1))
            return
        for m in messages:
            attrs = m.get("attributes") or {}
            # the subject and body were made inert when the alert was built; markup=False keeps rich from
            # interpreting brackets in them
            Console().print(f"{m.get('timestamp')}  [{attrs.get('severity')}] {m.get('subject')}", markup=False)
            if full:
                Console().print(m.get("message") or "", markup=False)
                Console().print("")
        console.print(f"{len(messages)} message(s)")
