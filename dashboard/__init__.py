"""Dashboards for wafad.

* :func:`dashboard.render.write_dashboard` writes one self-contained HTML file (Jinja2 templates in
  ``dashboard/templates/``, autoescaped; inline CSS; interactive uPlot charts, vendored in ``dashboard/vendor/``;
  inline scripts allowed by their hashes in a Content-Security-Policy that forbids all network access): per
  detector the feature series with expected values, anomaly grade and confidence, alerts and ground-truth
  windows; the seed's historical view (block action) and live trends (HTTP status, unknown countries); the
  cross-check of the detectors against the offline replica; top countries / IPs / URIs and the latest
  suspicious requests. :mod:`dashboard.data` runs the queries (one module per source), :mod:`dashboard.views`
  turns them into data per section, :mod:`dashboard.chartspec` describes the charts, :mod:`dashboard.render`
  assembles the page (:mod:`dashboard.safety`: JSON embedding and the CSP; :mod:`dashboard.assets`: CSS/JS).
* :mod:`dashboard.dashboards_objects` renders the OpenSearch Dashboards saved objects (ndjson) for the configured
  index names and imports them (``ensure_saved_objects`` for ensure-infrastructure); the committed default
  rendering is the data file ``dashboard/saved_objects/wafad.ndjson``.
* :mod:`dashboard.executive` writes the one-page executive KPI report (``wafad report``): Jinja2 HTML with no
  script, printed to an A4 PDF by headless chromium.
* :mod:`dashboard.browser` drives headless chromium (screenshots, DOM dumps; selenium + Debian's chromedriver for
  the interactive checks) for the browser tests and ``scripts/browser_check.py``.
"""
