"""What the dashboard shows, read from OpenSearch for one time window, and its parsed optional inputs.

* :mod:`dashboard.data.results`: AD result documents per detector (and HC entity);
* :mod:`dashboard.data.raw`: per-interval aggregates and tops of the raw WAF documents;
* :mod:`dashboard.data.samples`: the latest suspicious requests;
* :mod:`dashboard.data.inputs`: labels, alerts and cross-check reports;
* :mod:`dashboard.data.loader`: :func:`~dashboard.data.loader.load_dashboard_data`, all of it for one window.

Nothing here formats HTML: :mod:`dashboard.page` and the templates do, with autoescaping.
"""
