"""Dashboards for wafad.

* :func:`dashboard.render.write_dashboard` writes one self-contained HTML file (inline CSS, server-side SVG, a
  small script allowed by its hash in a Content-Security-Policy that forbids all network access): per detector
  the feature series with expected values, anomaly grade and confidence, alerts and ground-truth windows; the
  seed's historical view (block action) and live trends (HTTP status, unknown countries); the cross-check of
  the detectors against the offline replica; top countries / IPs / URIs and the latest suspicious requests.
  :mod:`dashboard.data` runs the queries, :mod:`dashboard.charts` draws, :mod:`dashboard.render` escapes and
  assembles.
* :mod:`dashboard.saved_objects` renders the OpenSearch Dashboards saved objects (ndjson) for the configured
  index names and imports them (``ensure_saved_objects`` for ensure-infrastructure).
* :mod:`dashboard.browser` drives headless chromium for the browser tests and ``scripts/browser_check.py``.
"""
