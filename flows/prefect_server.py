"""Which Prefect server the ``wafad`` commands talk to: ``PREFECT_API_URL`` when set, else the local server when it
runs, else (where allowed) a temporary one that Prefect starts for the process.

:func:`prefect_environment` sets the variables in ``os.environ``: call it before prefect is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from wafad.settings import Settings


def prefect_environment(settings: Settings, *, allow_ephemeral: bool) -> str:
    """Point Prefect at the local server when it runs, else (``allow_ephemeral``) at a temporary one.

    Returns a description for the user.
    """
    from wafad.stack import LocalStack, prefect_env

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if os.environ.get("PREFECT_API_URL"):
        return f"Prefect server {os.environ['PREFECT_API_URL']} (PREFECT_API_URL)"
    prefect_up = any(s.name == "prefect" and s.running for s in LocalStack(settings).status(with_prefect=True))
    env = prefect_env(settings)
    if prefect_up or not allow_ephemeral:
        os.environ.update(env)
        return f"Prefect server {settings.prefect_api_url}"
    os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)  # the temporary server's database lives there
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    return "a temporary Prefect server (start `wafad serve` to keep runs in the UI)"
